// Email-link sign-in (Firebase Auth's passwordless email links). A guest
// (anonymous user) who signs in this way is linked, not replaced: the
// credential is added to the anonymous account, so the uid, and with it
// every job the guest submitted, stays the same. The email link verifies
// the address, so the Gateway mails results to it from then on.
import {
  EmailAuthProvider,
  isSignInWithEmailLink,
  linkWithCredential,
  sendSignInLinkToEmail,
  signInWithEmailLink,
  type Auth,
  type User,
} from "firebase/auth";

const EMAIL_KEY = "emailForSignIn";

// sendLink mails a sign-in link that leads back to this app.
export async function sendLink(auth: Auth, email: string): Promise<void> {
  await sendSignInLinkToEmail(auth, email, {
    url: location.origin + "/",
    handleCodeInApp: true,
  });
  localStorage.setItem(EMAIL_KEY, email);
}

// isLink: the page was opened from a sign-in link.
export function isLink(auth: Auth, href = location.href): boolean {
  return isSignInWithEmailLink(auth, href);
}

// rememberedEmail: the address the link was sent to from this browser.
export function rememberedEmail(): string | null {
  return localStorage.getItem(EMAIL_KEY);
}

export type Outcome = "linked" | "signed_in" | "resent";

// Adopt hands a guest's jobs to the account now signed in (the Gateway's
// POST /v1/jobs:adopt, proved by the guest's ID token); it resolves to how
// many moved.
export type Adopt = (guestToken: string) => Promise<number>;

// The address of a guest whose email already had an account: the next link
// signs in to that account instead of linking (see finish).
const SIGNIN_ONLY_KEY = "emailSignInOnly";

export interface Finished {
  user: User | null;
  outcome: Outcome;
  moved: number; // guest jobs brought into the account
  adoptFailed?: boolean; // signed in, but the guest's jobs could not be moved
}

// finish completes the sign-in: a guest is linked (same uid, jobs kept);
// anyone else is signed in. When the address already has an account, the
// guest cannot be linked to it, and the failed attempt has used up the
// link's one-time code: a new link is sent that signs in to that account
// ("resent"). When that link signs the guest in to the account, adopt
// brings the guest's jobs along (moved: how many).
export async function finish(auth: Auth, email: string, href = location.href, adopt?: Adopt): Promise<Finished> {
  await auth.authStateReady();
  const current = auth.currentUser;
  let user: User;
  let outcome: Outcome;
  let moved = 0;
  let adoptFailed = false;
  if (current?.isAnonymous && localStorage.getItem(SIGNIN_ONLY_KEY) !== email) {
    try {
      user = (await linkWithCredential(current, EmailAuthProvider.credentialWithLink(email, href))).user;
      outcome = "linked";
    } catch (e) {
      const code = (e as { code?: string }).code;
      if (code !== "auth/email-already-in-use" && code !== "auth/credential-already-in-use") throw e;
      await sendLink(auth, email);
      localStorage.setItem(SIGNIN_ONLY_KEY, email);
      return { user: current, outcome: "resent", moved };
    }
  } else {
    // The guest's token, taken while the guest is still signed in, is the
    // proof the Gateway asks for to move the guest's jobs.
    const guestToken = current?.isAnonymous && adopt ? await current.getIdToken() : null;
    user = (await signInWithEmailLink(auth, email, href)).user;
    outcome = "signed_in";
    if (guestToken && adopt) {
      // The sign-in stands either way; the app says what did not move.
      try {
        moved = await adopt(guestToken);
      } catch (e) {
        console.warn("adopt", (e as { code?: string }).code ?? (e as Error).message);
        adoptFailed = true;
      }
    }
  }
  localStorage.removeItem(EMAIL_KEY);
  localStorage.removeItem(SIGNIN_ONLY_KEY);
  // A fresh ID token carries email and email_verified for the Gateway.
  await user.getIdToken(true);
  return { user, outcome, moved, adoptFailed };
}
