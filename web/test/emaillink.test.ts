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
  it("when the address already has an account, sends a new link that signs in to it and brings the guest's jobs", async () => {
    linkError = { code: "auth/email-already-in-use" };
    const guest = { uid: "guest-1", isAnonymous: true, getIdToken: async () => { calls.push("guestToken"); return "guest-token"; } };
    const adopted: string[] = [];
    const adopt = async (tok: string) => { calls.push("adopt"); adopted.push(tok); return 2; };
    const r = await finish(auth(guest), "a@b.test", link, adopt);
    expect(calls).toEqual(["link", "send"]);
    expect(r.outcome).toBe("resent");
    calls.length = 0;
    const r2 = await finish(auth(guest), "a@b.test", link, adopt);
    // The guest's token is taken before the sign-in replaces the guest.
    expect(calls).toEqual(["guestToken", "signIn", "adopt"]);
    expect(adopted).toEqual(["guest-token"]);
    expect(r2).toMatchObject({ outcome: "signed_in", moved: 2, adoptFailed: false });
    expect(store.size).toBe(0);
  });
  it("signs in even when the guest's jobs cannot be moved, and says so", async () => {
    store.set("emailSignInOnly", "a@b.test");
    const guest = { uid: "guest-1", isAnonymous: true, getIdToken: async () => "guest-token" };
    const r = await finish(auth(guest), "a@b.test", link, async () => { throw new Error("503"); });
    expect(r).toMatchObject({ outcome: "signed_in", moved: 0, adoptFailed: true });
    expect(r.user?.uid).toBe("other");
  });
  it("rethrows other errors (an expired link)", async () => {
    linkError = { code: "auth/invalid-action-code" };
    await expect(finish(auth({ uid: "guest-1", isAnonymous: true }), "a@b.test", link)).rejects.toEqual(linkError);
  });
  it("signs in a visitor who was not a guest (nothing to adopt)", async () => {
    const r = await finish(auth(null), "a@b.test", link, async () => { calls.push("adopt"); return 0; });
    expect(calls).toEqual(["signIn"]);
    expect(r.outcome).toBe("signed_in");
  });
  it("recognises a sign-in link", () => {
    expect(isLink(auth(null), link)).toBe(true);
    expect(isLink(auth(null), "http://app/#/photos")).toBe(false);
  });
});
