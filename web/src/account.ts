// Signing in over a guest. A guest (anonymous account) who signs in to an
// account that already exists cannot be linked to it (Firebase does not
// merge two accounts), so the sign-in replaces the guest; the guest's jobs
// come along through the Gateway (POST /v1/jobs:adopt), which asks for the
// guest's ID token as proof that the app held the guest.
import type { Auth, User } from "firebase/auth";

// Adopt hands a guest's jobs to the account now signed in and resolves to
// how many moved.
export type Adopt = (guestToken: string) => Promise<number>;

export type Outcome = "linked" | "signed_in" | "resent";

export interface Finished {
  user: User | null;
  outcome: Outcome;
  moved: number; // guest jobs brought into the account
  adoptFailed?: boolean; // signed in, but the guest's jobs could not be moved
}

// signInOverGuest runs signIn and, when it replaced a guest, moves the
// guest's jobs. The guest's token is taken before the sign-in, while the
// guest is still the current user. The sign-in stands even when the move
// fails; the result says so.
export async function signInOverGuest(auth: Auth, signIn: () => Promise<User>, adopt?: Adopt): Promise<Finished> {
  const current = auth.currentUser;
  // A guest whose token cannot be had (the account was cleaned up) has no
  // jobs left to bring; the sign-in goes ahead.
  const guestToken = current?.isAnonymous && adopt ? await current.getIdToken().catch(() => null) : null;
  const user = await signIn();
  let moved = 0;
  let adoptFailed = false;
  if (guestToken && adopt && user.uid !== current?.uid) {
    try {
      moved = await adopt(guestToken);
    } catch (e) {
      console.warn("adopt", (e as { code?: string }).code ?? (e as Error).message);
      adoptFailed = true;
    }
  }
  // A fresh ID token carries email and email_verified for the Gateway.
  await user.getIdToken(true);
  return { user, outcome: "signed_in", moved, adoptFailed };
}

// guestGone: the guest account itself is no longer usable (deleted, e.g. by
// the project's clean-up of old guests, or disabled): sign in instead.
export function guestGone(e: unknown): boolean {
  const code = (e as { code?: string }).code;
  return code === "auth/user-token-expired" || code === "auth/user-not-found" || code === "auth/user-disabled";
}

// linkRefused: linking the guest failed because the credential belongs to
// an account that already exists.
export function linkRefused(e: unknown): boolean {
  const code = (e as { code?: string }).code;
  return code === "auth/email-already-in-use" || code === "auth/credential-already-in-use";
}
