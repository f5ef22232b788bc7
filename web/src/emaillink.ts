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
} from "firebase/auth";
import { linkRefused, signInOverGuest, type Adopt, type Finished } from "./account";

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

// The address of a guest whose email already had an account: the next link
// signs in to that account instead of linking (see finish).
const SIGNIN_ONLY_KEY = "emailSignInOnly";

// finish completes the sign-in: a guest is linked (same uid, jobs kept);
// anyone else is signed in. When the address already has an account, the
// guest cannot be linked to it, and the failed attempt has used up the
// link's one-time code: a new link is sent that signs in to that account
// ("resent"). When that link signs the guest in to the account, adopt
// brings the guest's jobs along (moved: how many).
export async function finish(auth: Auth, email: string, href = location.href, adopt?: Adopt): Promise<Finished> {
  await auth.authStateReady();
  const current = auth.currentUser;
  let result: Finished;
  if (current?.isAnonymous && localStorage.getItem(SIGNIN_ONLY_KEY) !== email) {
    try {
      const user = (await linkWithCredential(current, EmailAuthProvider.credentialWithLink(email, href))).user;
      await user.getIdToken(true);
      result = { user, outcome: "linked", moved: 0 };
    } catch (e) {
      if (!linkRefused(e)) throw e;
      await sendLink(auth, email);
      localStorage.setItem(SIGNIN_ONLY_KEY, email);
      return { user: current, outcome: "resent", moved: 0 };
    }
  } else {
    result = await signInOverGuest(auth, async () => (await signInWithEmailLink(auth, email, href)).user, adopt);
  }
  localStorage.removeItem(EMAIL_KEY);
  localStorage.removeItem(SIGNIN_ONLY_KEY);
  return result;
}
