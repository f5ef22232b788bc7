import { beforeEach, describe, expect, it, vi } from "vitest";

// firebase/auth mocked: which call finish makes for a guest and for others.
const calls: string[] = [];
let linkError: { code: string } | null = null;
vi.mock("firebase/auth", () => ({
  EmailAuthProvider: { credentialWithLink: (email: string, link: string) => ({ email, link }) },
  isSignInWithEmailLink: (_a: unknown, href: string) => href.includes("oobCode="),
  sendSignInLinkToEmail: async () => { calls.push("send"); },
  linkWithCredential: async (user: { uid: string }) => {
    calls.push("link");
    if (linkError) throw linkError;
    return { user: { ...user, isAnonymous: false, getIdToken: async () => "t" } };
  },
  signInWithEmailLink: async () => { calls.push("signIn"); return { user: { uid: "other", getIdToken: async () => "t" } }; },
}));

const store = new Map<string, string>();
vi.stubGlobal("location", { origin: "http://app", href: "http://app/" });
vi.stubGlobal("localStorage", {
  getItem: (k: string) => store.get(k) ?? null,
  setItem: (k: string, v: string) => void store.set(k, v),
  removeItem: (k: string) => void store.delete(k),
});

const { finish, isLink } = await import("../src/emaillink");

function auth(current: unknown) {
  return { currentUser: current, authStateReady: async () => {} } as never;
}
const link = "http://app/?mode=signIn&oobCode=abc&apiKey=k";

beforeEach(() => { calls.length = 0; linkError = null; store.clear(); });

describe("email-link sign-in", () => {
  it("links a guest, keeping the uid", async () => {
    store.set("emailForSignIn", "a@b.test");
    const guest = { uid: "guest-1", isAnonymous: true };
    const r = await finish(auth(guest), "a@b.test", link);
    expect(calls).toEqual(["link"]);
    expect(r.outcome).toBe("linked");
    expect(r.user?.uid).toBe("guest-1");
    expect(store.has("emailForSignIn")).toBe(false);
  });
  it("when the address already has an account, sends a new link that signs in to it (the guest's jobs stay)", async () => {
    linkError = { code: "auth/email-already-in-use" };
    const guest = { uid: "guest-1", isAnonymous: true };
    const r = await finish(auth(guest), "a@b.test", link);
    expect(calls).toEqual(["link", "send"]);
    expect(r.outcome).toBe("resent");
    calls.length = 0;
    const r2 = await finish(auth(guest), "a@b.test", link);
    expect(calls).toEqual(["signIn"]);
    expect(r2.outcome).toBe("signed_in");
    expect(store.size).toBe(0);
  });
  it("rethrows other errors (an expired link)", async () => {
    linkError = { code: "auth/invalid-action-code" };
    await expect(finish(auth({ uid: "guest-1", isAnonymous: true }), "a@b.test", link)).rejects.toEqual(linkError);
  });
  it("signs in a visitor who was not a guest", async () => {
    const r = await finish(auth(null), "a@b.test", link);
    expect(calls).toEqual(["signIn"]);
    expect(r.outcome).toBe("signed_in");
  });
  it("recognises a sign-in link", () => {
    expect(isLink(auth(null), link)).toBe(true);
    expect(isLink(auth(null), "http://app/#/photos")).toBe(false);
  });
});
