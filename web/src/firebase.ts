// Firebase wiring: the config from Hosting (src/config.ts), and the local
// emulators when /studio.json names them.
import { initializeApp } from "firebase/app";
import {
  browserLocalPersistence,
  browserSessionPersistence,
  connectAuthEmulator,
  indexedDBLocalPersistence,
  initializeAuth,
  type Auth,
} from "firebase/auth";
import { connectFirestoreEmulator, getFirestore, type Firestore } from "firebase/firestore";
import { initAppCheck, type AppCheckFn } from "./appcheck";
import type { StudioConfig } from "./config";

export function initFirebase(cfg: StudioConfig): { auth: Auth; db: Firestore; appCheck: AppCheckFn } {
  const app = initializeApp(cfg.firebase);
  // getAuth's persistence without its popup/redirect resolver: the app
  // signs in with neither (Google comes as a credential from GIS), and the
  // resolver loads Google's gapi script and an authDomain iframe at start
  // on phones and Safari, which the Hosting CSP (firebase.json) forbids.
  const auth = initializeAuth(app, { persistence: [indexedDBLocalPersistence, browserLocalPersistence, browserSessionPersistence] });
  const db = getFirestore(app);
  if (cfg.authEmulator) {
    connectAuthEmulator(auth, cfg.authEmulator, { disableWarnings: true });
    // Phone verification on the emulator: it shows codes instead of
    // texting them and needs no reCAPTCHA (which cannot load offline).
    auth.settings.appVerificationDisabledForTesting = true;
  }
  if (cfg.firestoreEmulator) {
    const i = cfg.firestoreEmulator.lastIndexOf(":");
    connectFirestoreEmulator(db, cfg.firestoreEmulator.slice(0, i), Number(cfg.firestoreEmulator.slice(i + 1)));
  }
  return { auth, db, appCheck: initAppCheck(app, cfg) };
}
