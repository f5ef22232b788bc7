import { beforeEach, describe, expect, it, vi } from "vitest";

// firebase/auth mocked: which calls googleSignIn makes for a guest, for a
// guest whose Google account already exists, and for anyone else.
const calls: string[] = [];
let linkError: { code: string } | null = null;
vi.mock("firebase/auth", () => ({
  GoogleAuthProvider: { credential: (idToken: string) => ({ idToken }) },
  linkWithCredential: async (user: { uid: string }, cred: { idToken: string }) => {
    calls.push("link:" + cred.idToken);
    if (linkError) throw linkError;
    return { user: { ...user, isAnonymous: false, getIdToken: async () => "t" } };
  },
  signInWithCredential: async (_a: unknown, cred: { idToken: string }) => {
    calls.push("signIn:" + cred.idToken);
    return { user: { uid: "account-1", getIdToken: async () => "t" } };
  },
}));

const { googleSignIn } = await import("../src/google");

function auth(current: unknown) {
  return { currentUser: current, authStateReady: async () => {} } as never;
}
const guest = () => ({ uid: "guest-1", isAnonymous: true, getIdToken: async () => { calls.push("guestToken"); return "guest-token"; } });
const adopt = async (tok: string) => { calls.push("adopt:" + tok); return 3; };

beforeEach(() => { calls.length = 0; linkError = null; });

describe("Google sign-in", () => {
  it("links a guest, keeping the uid and the jobs", async () => {
    const r = await googleSignIn(auth(guest()), "google-id-token", adopt);
    expect(calls).toEqual(["link:google-id-token"]);
    expect(r).toMatchObject({ outcome: "linked", moved: 0 });
    expect(r.user?.uid).toBe("guest-1");
  });
  it.each(["auth/credential-already-in-use", "auth/email-already-in-use"])(
    "signs a guest in to the existing account and brings the jobs (%s)", async (code) => {
      linkError = { code };
      const r = await googleSignIn(auth(guest()), "google-id-token", adopt);
      expect(calls).toEqual(["link:google-id-token", "guestToken", "signIn:google-id-token", "adopt:guest-token"]);
      expect(r).toMatchObject({ outcome: "signed_in", moved: 3, adoptFailed: false });
      expect(r.user?.uid).toBe("account-1");
    });
  it("signs in when the guest account is gone, bringing nothing", async () => {
    linkError = { code: "auth/user-token-expired" };
    const gone = { uid: "guest-1", isAnonymous: true, getIdToken: async () => { calls.push("guestToken"); throw linkError; } };
    const r = await googleSignIn(auth(gone), "google-id-token", adopt);
    expect(calls).toEqual(["link:google-id-token", "guestToken", "signIn:google-id-token"]);
    expect(r).toMatchObject({ outcome: "signed_in", moved: 0, adoptFailed: false });
  });
  it("rethrows other errors and signs nobody in", async () => {
    linkError = { code: "auth/invalid-credential" };
    await expect(googleSignIn(auth(guest()), "bad", adopt)).rejects.toEqual(linkError);
    expect(calls).toEqual(["link:bad"]);
  });
  it("signs in a visitor who was not a guest, with nothing to adopt", async () => {
    const r = await googleSignIn(auth(null), "google-id-token", adopt);
    expect(calls).toEqual(["signIn:google-id-token"]);
    expect(r).toMatchObject({ outcome: "signed_in", moved: 0 });
  });
});

const { GisLoader } = await import("../src/google");

describe("GisLoader", () => {
  const gis = { initialize() {}, renderButton() {} };
  it("loads Google's script once: callers share the load in flight and its result", async () => {
    let injected = 0;
    let done!: (g: typeof gis) => void;
    const loader = new GisLoader(() => { injected++; return new Promise((r) => { done = r; }); });
    const first = loader.load();
    const second = loader.load();
    expect(injected).toBe(1);
    done(gis);
    expect(await first).toBe(gis);
    expect(await second).toBe(gis);
    expect(await loader.load()).toBe(gis);
    expect(injected).toBe(1);
  });
  it("tries again after a failed load (offline, then online)", async () => {
    const answers = [Promise.reject(new Error("unreachable")), Promise.resolve(gis)];
    let injected = 0;
    const loader = new GisLoader(() => answers[injected++]);
    await expect(loader.load()).rejects.toThrow("unreachable");
    expect(await loader.load()).toBe(gis);
    expect(injected).toBe(2);
  });
  it("keeps its load to itself: another loader (another start of the app) loads anew", async () => {
    let injected = 0;
    const inject = async () => { injected++; return gis; };
    await new GisLoader(inject).load();
    await new GisLoader(inject).load();
    expect(injected).toBe(2);
  });
});
