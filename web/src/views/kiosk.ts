// The booth kiosk (staff only), composed of its parts (./kiosk/): the
// camera with a countdown, the consent, the form that submits as booth with
// the attendee's email, the result panel with a QR code for the result, and
// a board of the booth's recent jobs; and a 10x15 cm print view. Each part
// keeps its own state and has its own teardown, which the kiosk's calls when
// the view is left (another screen, sign-out).
import { signInWithEmailAndPassword } from "firebase/auth";
import { offered } from "../hosted";
import type { Ctx, Teardown } from "../app";
import { h } from "../dom";
import { signInFailure } from "../errors";
import { styles } from "../catalogue";
import { board } from "./kiosk/board";
import { camera } from "./kiosk/camera";
import { consent } from "./kiosk/consent";
import { panel, qrSvg } from "./kiosk/panel";
import { submitForm } from "./kiosk/submit";

export { qrSvg } from "./kiosk/panel";
export { kioskChannels } from "./kiosk/submit";

function staffSignIn(ctx: Ctx, main: HTMLElement) {
  const { t } = ctx.i18n;
  const email = h("input", { id: "staff-email", type: "email", autocomplete: "username", required: true });
  const password = h("input", { id: "staff-password", type: "password", autocomplete: "current-password", required: true });
  const status = h("p", { role: "status" });
  main.append(h("form", {
    class: "card",
    onsubmit: async (e: Event) => {
      e.preventDefault();
      try {
        await signInWithEmailAndPassword(ctx.auth, email.value, password.value);
        // onAuthStateChanged renders the kiosk again, now as staff.
      } catch (err) {
        // Words, never Firebase's code (auth/wrong-password).
        status.textContent = t(signInFailure(err));
      }
    },
  },
    h("h2", {}, t("staff_sign_in")),
    h("label", { for: "staff-email" }, t("email")), email,
    h("label", { for: "staff-password" }, t("password")), password,
    h("button", { class: "button primary", type: "submit" }, t("sign_in_title")),
    status,
  ));
}

export async function kiosk(ctx: Ctx, main: HTMLElement): Promise<Teardown | void> {
  const { t } = ctx.i18n;
  main.append(h("h1", {}, t("kiosk_title")));
  if (!ctx.staff) {
    ctx.boothPanel = undefined;
    main.append(h("p", { role: "alert" }, t("kiosk_forbidden")));
    staffSignIn(ctx, main);
    return;
  }
  main.classList.add("kiosk");
  // The styles the event can take now.
  const catalogue = offered(await styles(ctx));
  const status = h("p", { role: "status", class: "status-line" });
  const shown = panel(ctx, status, () => void jobs.refresh());
  const agreement = consent(t, ctx.cfg.retentionDays, (agreed) => cam.allow(agreed));
  const form = submitForm({
    ctx, catalogue, consent: agreement, status, result: shown.result, photo: () => cam.photo(),
    onSubmitted: (job) => { shown.show(job); void jobs.refresh(); },
  });
  const cam = camera(t, {
    onCapture: () => shown.clear(),
    onTaken: () => form.taken(),
    onRetake: () => { form.retake(); agreement.reset(); shown.clear(); },
  });
  const jobs = board(t, ctx.api, (job) => shown.show(job));
  const teardown = () => {
    for (const part of [cam, form, agreement, shown, jobs]) part.teardown();
    main.classList.remove("kiosk");
  };
  if (!(await cam.open(navigator.mediaDevices))) status.textContent = t("camera_error");
  jobs.start();
  // Back from Print (or another screen): the attendee's QR code again.
  shown.restore();
  main.append(
    h("div", { class: "kiosk-grid" },
      h("section", { "aria-label": t("camera_preview") },
        agreement.box,
        h("div", { class: "camera" }, cam.video, cam.still, cam.count),
        h("div", { class: "row" }, cam.capture, cam.retake),
      ),
      form.form,
    ),
    h("h2", {}, t("recent_jobs")), jobs.list,
    h("p", {}, h("a", { class: "button", href: "#/poster" }, t("poster"))),
  );
  return teardown;
}

// printView: a 10x15 cm print of a result with the event's name.
export async function printView(ctx: Ctx, main: HTMLElement, id: string) {
  const { t } = ctx.i18n;
  if (!ctx.user) { ctx.go("#/"); return; }
  const job = await ctx.api.job(id);
  const out = job.outputs?.[0];
  main.append(
    h("div", { class: "row no-print" },
      h("button", { class: "button primary", type: "button", onclick: () => window.print() }, t("print")),
      h("button", { class: "button", type: "button", onclick: () => history.back() }, t("back")),
    ),
    h("figure", { class: "print-sheet" },
      out ? h("img", { src: out.url, alt: t("result_image") }) : h("p", {}, t("queued")),
      h("figcaption", {}, ctx.cfg.eventName),
    ),
  );
}

// posterView: an A4 poster for the venue with the event's name and the QR
// code of the app's address, which attendees scan to start.
export async function posterView(ctx: Ctx, main: HTMLElement) {
  const { t } = ctx.i18n;
  const url = location.origin + "/";
  const qr = h("div", { class: "qr", role: "img", "aria-label": t("poster_qr") });
  qr.innerHTML = qrSvg(url); // SVG made by the QR library from the URL
  const catalogue = await styles(ctx).catch(() => []);
  main.append(
    h("div", { class: "row no-print" },
      h("button", { class: "button primary", type: "button", onclick: () => window.print() }, t("print")),
      h("button", { class: "button", type: "button", onclick: () => history.back() }, t("back")),
    ),
    h("section", { class: "poster-sheet", "aria-label": t("poster") },
      h("h1", {}, ctx.cfg.eventName),
      h("p", { class: "poster-tagline" }, t("poster_scan")),
      qr,
      h("p", { class: "poster-url" }, url),
      h("ul", { class: "poster-styles", "aria-label": t("styles") }, catalogue.slice(0, 4).map((st) =>
        h("li", {}, st.preview ? h("img", { src: st.preview, alt: t("preview_of", { name: st.name }) }) : null, h("span", {}, st.name)))),
    ),
  );
}
