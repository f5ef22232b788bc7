import { start } from "./app";
import { loadConfig } from "./config";
import { initFirebase } from "./firebase";
import { isLink } from "./emaillink";
import { consent } from "./views/attendee/consent";
import { finish } from "./views/attendee/finish";
import { job } from "./views/attendee/job";
import { landing } from "./views/attendee/landing";
import { photos } from "./views/attendee/photos";
import { signin } from "./views/attendee/signin";
import { upload } from "./views/attendee/upload";
import { kiosk, posterView, printView } from "./views/kiosk";
import { pickup } from "./views/pickup";

async function main() {
  const cfg = await loadConfig();
  document.title = cfg.eventName;
  const { auth, db, appCheck } = initFirebase(cfg);
  // Opened from an email sign-in link: finish signing in first.
  if (isLink(auth)) history.replaceState(null, "", location.pathname + location.search + "#/finish");
  await start(cfg, auth, db, { "": landing, signin, finish, consent, upload, job, photos, kiosk, print: printView, poster: posterView, pickup }, appCheck);
}

main().catch((e) => {
  document.getElementById("main")!.textContent = "Could not start: " + (e as Error).message;
});
