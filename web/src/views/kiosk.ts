// The booth kiosk (staff only): camera preview with a countdown, submit as
// booth with the attendee's email, a QR code for the result, a board of
// the booth's recent jobs, and a 10x15 cm print view.
import { signInWithEmailAndPassword } from "firebase/auth";
import { watchJob } from "../watch";
import qrcode from "qrcode-generator";
import { ApiError, BUDGET_SPENT, newIdempotencyKey, type Job } from "../api";
import { consentField, offered } from "../hosted";
import { consentVersion, type Ctx, type Teardown } from "../app";
import { h } from "../dom";
import { t } from "../i18n";
import { encodeJPEG, type Prepared } from "../image";
import { deriveStatus, failureAdvice, type ErrorDoc, type ResponseDoc } from "../status";
import { pickupUrl } from "../links";
import { signInFailure, submitFailure } from "../errors";
import { styles } from "../catalogue";

// BOARD_POLL_MS: how often the board asks for the booth's jobs (each answer
// signs its images' download URLs).
const BOARD_POLL_MS = 5000;

export function qrSvg(text: string): string {
  const qr = qrcode(0, "M");
  qr.addData(text);
  qr.make();
  return qr.createSvgTag({ cellSize: 4, margin: 2, scalable: true });
}

// kept: the job in the result panel and its pick-up link, so the panel
// comes back when the kiosk is shown again (Print, then Back) while the
// attendee may still be scanning; cleared for the next attendee.
let kept: { job: Job; url: string } | undefined;

function staffSignIn(ctx: Ctx, main: HTMLElement) {
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
  main.append(h("h1", {}, t("kiosk_title")));
  if (!ctx.staff) {
    kept = undefined;
    main.append(h("p", { role: "alert" }, t("kiosk_forbidden")));
    staffSignIn(ctx, main);
    return;
  }
  main.classList.add("kiosk");
  // The styles the event can take now.
  const catalogue = offered(await styles(ctx));
  let stream: MediaStream | undefined;
  let photo: Prepared | undefined;
  let key = "";
  let stopped = false;
  const timers = new Set<ReturnType<typeof setTimeout>>();

  const video = h("video", { autoplay: true, playsInline: true, muted: true, "aria-label": t("camera_preview") });
  const still = h("img", { alt: t("captured_photo"), hidden: true });
  const count = h("div", { class: "countdown", "aria-live": "assertive" });
  // The attendee agrees on the kiosk's screen before the photo is taken;
  // the version of this text travels with the job (consent).
  const agreed = h("input", { id: "kiosk-consent", type: "checkbox" });
  // A generated style's processor, named in the consent while one is
  // selected (syncHosted below).
  const hostedItem = h("li", { class: "hosted-consent-item", hidden: true });
  const consentBox = h("div", { class: "card kiosk-consent" },
    h("h2", {}, t("consent_title")),
    h("ul", { class: "consent" }, h("li", {}, t("consent_1")), h("li", {}, t("consent_2", { days: ctx.cfg.retentionDays })), h("li", {}, t("consent_3")),
      hostedItem),
    h("p", {}, agreed, " ", h("label", { for: "kiosk-consent" }, t("kiosk_consent"))),
  );
  const capture = h("button", { class: "button primary", type: "button", disabled: true }, t("capture"));
  const retake = h("button", { class: "button", type: "button", hidden: true }, t("retake"));
  const style = h("select", { id: "kiosk-style" }, catalogue.map((s) => h("option", { value: s.id }, s.generated ? `${s.name} (${t("hosted_tag")})` : s.name)));
  // Optional: an attendee without an address picks up by QR code.
  const email = h("input", { id: "attendee-email", type: "email", autocomplete: "off", inputMode: "email" });
  // Optional too, where the event sends texts: staff type the attendee's
  // number as they type an email (the Gateway takes any number from staff).
  const phone = ctx.cfg.channels?.phone
    ? h("input", { id: "attendee-phone", type: "tel", autocomplete: "off", inputMode: "tel", placeholder: "+82 10 1234 5678" })
    : null;
  const submit = h("button", { class: "button primary", type: "submit", disabled: true }, t("submit"));
  const status = h("p", { role: "status", class: "status-line" });
  const result = h("div", { class: "kiosk-result" });
  const board = h("ul", { class: "board", "aria-label": t("recent_jobs") });

  // Choosing a generated style names its processor in the consent, and the
  // attendee agrees again with it named before the job goes.
  const syncHosted = () => {
    const processor = catalogue.find((s) => s.id === style.value)?.generated?.processor;
    const named = !hostedItem.hidden;
    hostedItem.hidden = !processor;
    if (processor) hostedItem.textContent = t("consent_hosted", { processor });
    if (processor && !named) agreed.checked = false;
  };
  style.addEventListener("change", syncHosted);
  syncHosted();
  let cameraOK = false;
  agreed.addEventListener("change", () => { capture.disabled = !(agreed.checked && cameraOK); });
  try {
    stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: "user", width: { ideal: 1280 }, height: { ideal: 960 } }, audio: false });
    video.srcObject = stream;
    cameraOK = true;
  } catch (e) {
    status.textContent = t("camera_error");
    capture.disabled = true;
    console.warn("camera", (e as Error).name);
  }

  const sleep = (ms: number) => new Promise<void>((r) => { const id = setTimeout(() => { timers.delete(id); r(); }, ms); timers.add(id); });
  capture.addEventListener("click", async () => {
    capture.disabled = true;
    // A new attendee: the last one's panel (kept across Print) goes.
    clearPanel();
    for (const n of [3, 2, 1]) {
      count.textContent = String(n);
      await sleep(1000);
      if (stopped) return;
    }
    count.textContent = "";
    photo = await encodeJPEG(video, video.videoWidth, video.videoHeight);
    key = newIdempotencyKey();
    if (still.src) URL.revokeObjectURL(still.src);
    still.src = URL.createObjectURL(photo.blob);
    still.hidden = false;
    video.hidden = true;
    capture.hidden = true;
    retake.hidden = false;
    submit.disabled = false;
  });
  retake.addEventListener("click", () => {
    photo = undefined;
    still.hidden = true;
    video.hidden = false;
    capture.hidden = false;
    retake.hidden = true;
    submit.disabled = true;
    // The next attendee agrees for themselves.
    agreed.checked = false;
    if (phone) phone.value = "";
    capture.disabled = true;
    // The next attendee must not see the last one's portrait or QR code.
    clearPanel();
  });
  function clearPanel() {
    kept = undefined;
    unwatch?.();
    status.textContent = "";
    result.replaceChildren();
  }

  // The job shown in the result panel: its QR code from the moment it is
  // submitted (the attendee can scan and walk away; the pick-up page follows
  // it), the portrait and the print link once done.
  let unwatch: (() => void) | undefined;
  let showing = 0; // which show() owns the panel: a late answer for another job must not draw
  const show = (job: Job, keptUrl = "") => {
    unwatch?.();
    const mine = ++showing;
    const current = () => mine === showing && !stopped;
    const id = job.id;
    // The code comes once, with the submission; a job shown again from
    // the board gets a new one (the old stops working), so the board never
    // holds attendees' codes.
    let url = keptUrl || (job.pickup ? pickupUrl(id, job.pickup) : "");
    if (url) kept = { job, url };
    // The QR code keeps its place in the panel's first column when the
    // portrait arrives beside it: on a 1280x800 kiosk nothing pushes it
    // down while the attendee scans.
    const pickupBlock = () => {
      if (!url) return [];
      const qr = h("div", { class: "qr", role: "img", "aria-label": t("scan_to_get") });
      qr.innerHTML = qrSvg(url); // SVG made by the QR library from the URL
      return [h("div", { class: "kiosk-pickup" },
        h("p", {}, t("scan_to_get")), qr, h("a", { class: "pickup-link", href: url, target: "_blank", rel: "noopener" }, t("open_pickup")))];
    };
    result.replaceChildren(...pickupBlock());
    let response: ResponseDoc | null = null;
    let error: ErrorDoc | null = null;
    let shown = "";
    const update = async () => {
      if (!current()) return;
      const s = deriveStatus(response, error);
      if (s === shown) return;
      shown = s;
      status.textContent = t(s);
      if (s === "failed") result.replaceChildren(h("p", { role: "alert" }, t(failureAdvice(error?.code) as never)));
      if (s !== "succeeded") return;
      void refreshBoard();
      const done = await ctx.api.job(id);
      const out = done.outputs?.[0];
      if (!out || !current() || shown !== s) return;
      result.replaceChildren(
        ...pickupBlock(),
        h("div", { class: "kiosk-portrait" },
          h("img", { class: "result", src: out.url, alt: t("result_image") }),
          h("a", { class: "button", href: "#/print/" + encodeURIComponent(id) }, t("print"))),
      );
    };
    if (!url) {
      void ctx.api.newPickup(id).then((code) => {
        if (!current()) return;
        url = pickupUrl(id, code);
        kept = { job, url };
        if (shown === "succeeded") {
          shown = ""; // draw the result again, with the QR code
          void update();
        } else if (shown !== "failed") {
          result.replaceChildren(...pickupBlock());
        }
      }).catch((err) => console.warn("pick-up code", (err as Error).message));
    }
    const stopWatching = watchJob(ctx.db, id, (d) => { response = d.response; error = d.error; void update(); });
    unwatch = () => {
      stopWatching();
      if (mine === showing) showing++; // nothing owns the panel until the next show()
    };
  };

  const form = h("form", {
    class: "card",
    onsubmit: async (e: Event) => {
      e.preventDefault();
      if (!photo) return;
      if (!hostedItem.hidden && !agreed.checked) {
        status.textContent = t("kiosk_agree_hosted");
        return;
      }
      submit.disabled = true;
      status.textContent = t("submitting");
      try {
        const job = await ctx.api.submit(
          { photo: photo.blob, style: style.value, consent: consentField(consentVersion(ctx.cfg), catalogue.find((s) => s.id === style.value)), priority: "booth", email: email.value.trim() || undefined, key, ...kioskChannels(email.value, phone?.value ?? "") },
          { onWaiting: (w) => { if (!stopped) status.textContent = w ? t("waiting_network") : t("submitting"); } },
        );
        if (stopped) return;
        status.textContent = t("queued");
        show(job);
        void refreshBoard();
      } catch (err) {
        if (err instanceof ApiError && err.reason === BUDGET_SPENT) {
          // The event's budget for generated styles is spent: the local
          // ones remain, the photo kept.
          for (const o of [...style.options]) if (catalogue.find((s) => s.id === o.value)?.generated) o.remove();
          key = newIdempotencyKey();
          status.textContent = t("budget_spent");
          submit.disabled = false;
          return;
        }
        const f = submitFailure(err);
        console.warn("submit", err instanceof Error ? err.message : err);
        status.textContent = t(f.key);
        submit.disabled = false;
      }
    },
  },
    h("label", { for: "kiosk-style" }, t("choose_style")), style,
    h("label", { for: "attendee-email" }, t("attendee_email_optional")), email,
    phone ? h("label", { for: "attendee-phone" }, t("kiosk_phone")) : null, phone,
    submit, status, result,
  );

  // The board: the event's booth jobs from every kiosk (staff only), kept
  // fresh by polling (and at once when this kiosk submits or a job of its
  // finishes); a tap shows a job's QR code again. An item whose status did
  // not change is kept as it is, so its image is not fetched again and a
  // tap in progress is not lost.
  const items = new Map<string, { status: string; li: HTMLElement }>();
  const refreshBoard = async () => {
    try {
      const { jobs } = await ctx.api.boothJobs(12);
      if (stopped) return;
      const next = jobs.map((j: Job) => {
        const kept = items.get(j.id);
        if (kept && kept.status === j.status) return [j.id, kept] as const;
        const out = j.outputs?.[0];
        const li = h("li", { "data-job": j.id },
          h("button", { type: "button", class: "board-item", "aria-label": `${t("show_job")}: ${t(j.status)} ${new Date(j.createdAt).toLocaleTimeString()}`, onclick: () => show(j) },
            out ? h("img", { src: out.url, alt: "", loading: "lazy" }) : h("div", { class: "thumb-empty", "aria-hidden": "true" }),
            h("span", { class: "badge", "data-status": j.status }, t(j.status)),
          ),
        );
        return [j.id, { status: j.status, li }] as const;
      });
      items.clear();
      for (const [id, item] of next) items.set(id, item);
      board.replaceChildren(...next.map(([, item]) => item.li));
    } catch { /* the next refresh tries again */ }
  };
  const poll = setInterval(refreshBoard, BOARD_POLL_MS);
  void refreshBoard();
  // Back from Print (or another screen): the attendee's QR code again.
  if (kept) show(kept.job, kept.url);

  main.append(
    h("div", { class: "kiosk-grid" },
      h("section", { "aria-label": t("camera_preview") },
        consentBox,
        h("div", { class: "camera" }, video, still, count),
        h("div", { class: "row" }, capture, retake),
      ),
      form,
    ),
    h("h2", {}, t("recent_jobs")), board,
    h("p", {}, h("a", { class: "button", href: "#/poster" }, t("poster"))),
  );

  return () => {
    stopped = true;
    clearInterval(poll);
    timers.forEach(clearTimeout);
    unwatch?.();
    stream?.getTracks().forEach((tr) => tr.stop());
    if (still.src) URL.revokeObjectURL(still.src);
    main.classList.remove("kiosk");
  };
}

// printView: a 10x15 cm print of a result with the event's name.
export async function printView(ctx: Ctx, main: HTMLElement, id: string) {
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
// kioskChannels: a booth job's channels as staff typed them: a text when a
// number was typed (spaces, dashes and brackets dropped), an email when an
// address was; without either the Gateway's defaults (the QR code alone).
export function kioskChannels(email: string, phone: string): { notify?: string; phone?: string } {
  const number = phone.replace(/[\s()-]/g, "");
  if (!number) return {};
  return { notify: email.trim() ? "email,phone" : "phone", phone: number };
}
