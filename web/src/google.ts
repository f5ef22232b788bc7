// Sign-in with Google through Google Identity Services (GIS): Google's
// button gives the app a Google ID token, which Firebase Auth takes as a
// credential. Firebase's own signInWithPopup is not used: it needs Google's
// gapi iframe even against the Auth emulator, while this path is the same
// against the emulator and in the cloud (signInWithCredential). The OAuth
// web client id comes from /studio.json (googleClientId); without one the
// app offers no Google button.
import { GoogleAuthProvider, linkWithCredential, signInWithCredential, type Auth } from "firebase/auth";
import { guestGone, linkRefused, signInOverGuest, type Adopt, type Finished } from "./account";

export const GIS_SRC = "https://accounts.google.com/gsi/client";

// The part of GIS the app uses (google.accounts.id).
export interface Gis {
  initialize(o: { client_id: string; callback: (r: { credential: string }) => void; ux_mode?: "popup" | "redirect"; auto_select?: boolean }): void;
  renderButton(el: HTMLElement, o: Record<string, string | number>): void;
}

declare global {
  interface Window { google?: { accounts?: { id?: Gis } } }
}

// injectGis adds Google's script to the page and resolves to its API.
function injectGis(): Promise<Gis> {
  return new Promise<Gis>((resolve, reject) => {
    const have = window.google?.accounts?.id;
    if (have) return resolve(have);
    const s = document.createElement("script");
    s.src = GIS_SRC;
    s.async = true;
    s.onload = () => {
      const id = window.google?.accounts?.id;
      if (id) resolve(id);
      else reject(new Error("Google Identity Services did not load"));
    };
    s.onerror = () => reject(new Error("Google Identity Services could not be reached"));
    document.head.append(s);
  });
}

// GisLoader loads Google's script once per loader, so once per page:
// start() makes the one the app's context keeps (ctx.gis). Every caller shares the load in flight; a
// load that failed (offline) is tried again by the next caller.
export class GisLoader {
  private loading: Promise<Gis> | undefined;
  constructor(private readonly inject: () => Promise<Gis> = injectGis) {}

  load(): Promise<Gis> {
    this.loading ??= this.inject().catch((e) => { this.loading = undefined; throw e; });
    return this.loading;
  }
}

// mountGoogleButton renders Google's button into el; credential is called
// with the Google ID token after the user chose an account.
export async function mountGoogleButton(loader: GisLoader, el: HTMLElement, clientId: string, lang: string, credential: (idToken: string) => void): Promise<void> {
  const gis = await loader.load();
  gis.initialize({ client_id: clientId, callback: (r) => credential(r.credential), ux_mode: "popup", auto_select: false });
  gis.renderButton(el, { type: "standard", theme: "outline", size: "large", text: "continue_with", shape: "pill", locale: lang, width: 280 });
}

// googleSignIn signs in with a Google ID token. A guest is linked (same
// uid, jobs kept, and Google's verified address gets the results by mail);
// when the Google account already has an account here, the app signs in to
// it and the guest's jobs come along (adopt).
export async function googleSignIn(auth: Auth, idToken: string, adopt?: Adopt): Promise<Finished> {
  await auth.authStateReady();
  const credential = GoogleAuthProvider.credential(idToken);
  const current = auth.currentUser;
  if (current?.isAnonymous) {
    try {
      const user = (await linkWithCredential(current, credential)).user;
      await user.getIdToken(true);
      return { user, outcome: "linked", moved: 0 };
    } catch (e) {
      if (!linkRefused(e) && !guestGone(e)) throw e;
    }
  }
  return signInOverGuest(auth, async () => (await signInWithCredential(auth, credential)).user, adopt);
}
