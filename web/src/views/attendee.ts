// The attendee's screens: landing, sign-in, consent, upload, job status,
// my photos.
import { signInAnonymously } from "firebase/auth";
import { finish as finishLink, isLink, rememberedEmail, sendLink } from "../emaillink";
import { doc, onSnapshot } from "firebase/firestore";
import { ApiError, BUDGET_SPENT, newIdempotencyKey, type Job, type PhotoLimits, type Style } from "../api";
import { consentField, hasHostedConsent, isGenerated, offered, setHostedConsent } from "../hosted";
import { consentVersion, hasConsented, setConsented, type Ctx, type Teardown } from "../app";
import { h } from "../dom";
import { clock, currentLang, t, type Key } from "../i18n";
import { pickupUrl, rememberedPickup, rememberPickup } from "../links";
import { googleSignIn, mountGoogleButton } from "../google";
import { photoProblem, prepareImage, type Prepared } from "../image";
import { submitFailure } from "../errors";
import { channelChoice, pushBlock, rememberPushWanted } from "./channels";
import { deriveStatus, failureAdvice, isFinal, type ErrorDoc, type ResponseDoc, type Status } from "../status";
import { watchJob } from "../watch";
import { catalogue, freshCatalogue, styles } from "../catalogue";
import { failureBlock, queueBlock, resultBlock, showBadge, statusKey } from "../jobview";


// next: where "Take my portrait" leads, given sign-in and consent.
function nextStep(ctx: Ctx, style = ""): string {
  const q = style ? "/" + encodeURIComponent(style) : "";
  if (!ctx.user) return "#/signin" + q;
  if (!hasConsented(ctx.cfg)) return "#/consent" + q;
  return "#/upload" + q;
}

export async function landing(ctx: Ctx, main: HTMLElement) {
  main.append(
    h("section", { class: "hero" },
      h("h1", {}, ctx.cfg.eventName),
      h("p", {}, t("tagline")),
      h("a", { class: "button primary", href: nextStep(ctx) }, t("start")),
    ),
    h("h2", {}, t("styles")),
  );
  const list = h("ul", { class: "styles", "aria-label": t("styles") });
  main.append(list);
  for (const s of offered(await styles(ctx))) {
    list.append(h("li", {},
      h("a", { href: nextStep(ctx, s.id), class: "style-card" },
        s.preview ? h("img", { src: s.preview, alt: t("preview_of", { name: s.name }), loading: "lazy", width: 512, height: 512 }) : null,
        h("span", { class: "name" }, s.name),
        s.generated ? h("span", { class: "hosted-tag" }, t("hosted_tag")) : null,
        h("span", { class: "desc" }, s.description),
      ),
    ));
  }
}

export function signin(ctx: Ctx, main: HTMLElement, style: string) {
  const status = h("p", { role: "status" });
  const after = () => ctx.go(hasConsented(ctx.cfg) ? "#/upload/" + encodeURIComponent(style) : "#/consent/" + encodeURIComponent(style));
  const guest = ctx.user?.isAnonymous === true;
  if (ctx.user && !guest) { after(); return; }
  const email = h("input", { id: "signin-email", type: "email", autocomplete: "email", required: true, inputMode: "email" });
  const send = h("button", { class: "button", type: "submit" }, t("send_link"));
  const form = h("form", {
    class: "card",
    onsubmit: async (e: Event) => {
      e.preventDefault();
      if (!email.value) return;
      send.disabled = true;
      try {
        await sendLink(ctx.auth, email.value);
        status.textContent = t("link_sent", { email: email.value });
      } catch (err) {
        status.textContent = t("error") + ": " + (err as Error).message;
      } finally {
        send.disabled = false;
      }
    },
  },
    h("h2", {}, t("sign_in_email")),
    h("label", { for: "signin-email" }, t("email")), email,
    send,
  );
  main.append(
    h("h1", {}, t("sign_in_title")),
    h("p", {}, guest ? t("guest_keep") : t("sign_in_why")),
    googleBlock(ctx, status) ?? "",
    form,
    status,
  );
  if (guest) return;
  main.append(
    h("p", { class: "note" }, t("or")),
    h("button", {
      class: "button primary", type: "button",
      onclick: async (e: Event) => {
        (e.currentTarget as HTMLButtonElement).disabled = true;
        try {
          await signInAnonymously(ctx.auth);
          // onAuthStateChanged re-renders; go on from here.
          after();
        } catch (err) {
          status.textContent = t("error") + ": " + (err as Error).message;
          (e.currentTarget as HTMLButtonElement).disabled = false;
        }
      },
    }, t("continue_guest")),
    h("p", { class: "note" }, t("guest_email_note")),
  );
}

// googleBlock: "Continue with Google" (Google's own button), when the event
// has an OAuth client; a guest who uses it keeps (or brings) their jobs.
function googleBlock(ctx: Ctx, status: HTMLElement): HTMLElement | null {
  const clientId = ctx.cfg.googleClientId;
  if (!clientId) return null;
  const slot = h("div", { class: "google-button" });
  const block = h("div", { class: "card google" }, h("h2", {}, t("sign_in_google")), slot);
  mountGoogleButton(slot, clientId, currentLang(), async (idToken) => {
    status.textContent = t("finish_title");
    const wasGuest = ctx.user?.isAnonymous === true;
    try {
      const r = await googleSignIn(ctx.auth, idToken, (token) => ctx.api.adopt(token));
      ctx.user = r.user;
      if (r.moved > 0) ctx.notice = t("guest_moved", { count: r.moved });
      else if (r.adoptFailed) ctx.notice = t("guest_move_failed");
      ctx.refreshHeader();
      ctx.go(wasGuest ? "#/photos" : hasConsented(ctx.cfg) ? "#/upload" : "#/consent");
    } catch (err) {
      status.textContent = t("error") + ": " + ((err as { code?: string }).code ?? (err as Error).message);
    }
  }).catch((e) => {
    // Google unreachable (offline, blocked): email and guest still work.
    console.warn("google", (e as Error).message);
    block.hidden = true;
  });
  return block;
}

// finishing: a sign-in link is being completed. Signing in re-renders the
// view (onAuthStateChanged) while the first render still works on the
// link, whose one-time code must be used once.
let finishing = false;

// finish: the page opened from an email sign-in link (main.ts routes here
// when the URL is one). A guest is linked, keeping the uid and its jobs; a
// guest signed in to an existing account brings its jobs along.
export async function finish(ctx: Ctx, main: HTMLElement) {
  const status = h("p", { role: "status" });
  main.append(h("h1", {}, t("finish_title")), status);
  if (finishing) return;
  const href = location.href;
  if (!isLink(ctx.auth, href)) { ctx.go("#/signin"); return; }
  const complete = async (address: string) => {
    finishing = true;
    try {
      const r = await finishLink(ctx.auth, address, href, (token) => ctx.api.adopt(token));
      // The one-time code leaves the address bar (and the history).
      history.replaceState(null, "", location.pathname + "#/finish");
      if (r.outcome === "resent") {
        status.textContent = t("link_resent", { email: address });
        return;
      }
      ctx.user = r.user;
      if (r.moved > 0) ctx.notice = t("guest_moved", { count: r.moved });
      else if (r.adoptFailed) ctx.notice = t("guest_move_failed");
      else if (r.outcome === "linked") ctx.notice = t("email_confirmed", { email: address });
      ctx.refreshHeader();
      ctx.go("#/photos");
    } catch (err) {
      status.textContent = t("error") + ": " + (err as Error).message;
    } finally {
      finishing = false;
    }
  };
  const remembered = rememberedEmail();
  if (remembered) { await complete(remembered); return; }
  // Opened on another device: ask for the address the link was sent to.
  const email = h("input", { id: "finish-email", type: "email", autocomplete: "email", required: true, inputMode: "email" });
  main.append(h("form", {
    class: "card",
    onsubmit: (e: Event) => { e.preventDefault(); if (email.value) void complete(email.value); },
  },
    h("label", { for: "finish-email" }, t("finish_confirm")), email,
    h("button", { class: "button primary", type: "submit" }, t("finish_button")),
  ));
}

export async function consent(ctx: Ctx, main: HTMLElement, style: string) {
  // A style a hosted model draws sends the photo to its processor: the
  // consent names it, and accepting here covers it for that style.
  const chosen = style ? (await styles(ctx).catch(() => [] as Style[])).find((s) => s.id === style) : undefined;
  const processor = chosen?.generated?.processor;
  main.append(
    h("h1", {}, t("consent_title")),
    h("ul", { class: "consent" }, h("li", {}, t("consent_1")), h("li", {}, t("consent_2", { days: ctx.cfg.retentionDays })), h("li", {}, t("consent_3")),
      processor ? h("li", { class: "hosted-consent-item" }, t("consent_hosted", { processor })) : null),
    h("p", { class: "note" }, "v" + consentVersion(ctx.cfg)),
    h("div", { class: "row" },
      h("button", { class: "button primary", type: "button", onclick: () => {
        setConsented(ctx.cfg);
        if (processor) setHostedConsent(consentVersion(ctx.cfg), processor, true);
        ctx.go("#/upload/" + encodeURIComponent(style));
      } }, t("consent_accept")),
      h("a", { class: "button", href: "#/" }, t("consent_decline")),
    ),
  );
}

// hostedChoice: a generated style's processor, named before the photo goes
// to it; the box remembers the answer per processor (hosted.ts). sync shows
// the chosen style's; false: the attendee has not agreed to it yet.
function hostedChoice(ctx: Ctx, chosen: () => Style | undefined, changed: () => void) {
  const note = h("p", { class: "note", id: "hosted-note" });
  const box = h("input", { id: "hosted-consent", type: "checkbox" });
  const label = h("span");
  const block = h("div", { class: "hosted-consent", hidden: true }, note, h("label", { for: "hosted-consent" }, box, " ", label));
  box.addEventListener("change", () => {
    const processor = chosen()?.generated?.processor;
    if (processor) setHostedConsent(consentVersion(ctx.cfg), processor, box.checked);
    changed();
  });
  const sync = (): boolean => {
    const processor = chosen()?.generated?.processor;
    block.hidden = !processor;
    if (processor) {
      note.textContent = t("consent_hosted", { processor });
      label.textContent = t("consent_hosted_accept", { processor });
      box.checked = hasHostedConsent(consentVersion(ctx.cfg), processor);
    }
    return !processor || box.checked;
  };
  return { block, sync };
}

// showAlert: the status line says what went wrong, as an alert.
const showAlert = (status: HTMLElement, text: string) => {
  status.setAttribute("role", "alert");
  status.textContent = text;
};

// checkedPhoto: the photo resized, or undefined with why in words on status
// (refused here, with the Gateway's own limits, rather than after the upload
// with its message).
async function checkedPhoto(f: File, limits: PhotoLimits | undefined, status: HTMLElement): Promise<Prepared | undefined> {
  try {
    const p = await prepareImage(f);
    const problem = photoProblem(p.width, p.height, p.blob.size, limits);
    if (!problem) return p;
    showAlert(status, t(problem.key, problem.vars));
  } catch (e) {
    showAlert(status, t("advice_invalid_input"));
    console.warn("prepare", (e as Error).message);
  }
  return undefined;
}

// photoPicker: the file input and the photo's preview. picked(undefined):
// a new photo starts over (the last one's failure and "Try again" go);
// picked(p): it is ready to send.
function photoPicker(limits: PhotoLimits | undefined, status: HTMLElement, picked: (p: Prepared | undefined) => void) {
  const file = h("input", { id: "photo", type: "file", accept: "image/*", capture: "user", class: "file" });
  const preview = h("img", { class: "preview", alt: "", hidden: true });
  file.addEventListener("change", async () => {
    const f = file.files?.[0];
    if (!f) return;
    // Emptied, so picking the same file again (after a failure) is a
    // change too.
    file.value = "";
    picked(undefined);
    status.setAttribute("role", "status");
    status.textContent = t("preparing");
    if (preview.src) URL.revokeObjectURL(preview.src);
    preview.removeAttribute("src");
    preview.hidden = true;
    const p = await checkedPhoto(f, limits, status);
    if (!p) return;
    preview.src = URL.createObjectURL(p.blob);
    preview.hidden = false;
    status.textContent = `${p.width}×${p.height}, ${Math.round(p.blob.size / 1024)} KB`;
    picked(p);
  });
  return { file, preview, teardown: () => { if (preview.src) URL.revokeObjectURL(preview.src); } };
}

// styleChoice: the style picker with its generated styles' consent.
// agreed: whether the chosen style may take the photo; localOnly: only the
// styles made here (the event's budget for generated ones is spent).
function styleChoice(ctx: Ctx, all: Style[], styleId: string, changed: () => void) {
  let list = offered(all);
  const option = (s: Style) => h("option", { value: s.id, selected: s.id === styleId }, s.generated ? `${s.name} · ${t("hosted_short")}` : s.name);
  const select = h("select", { id: "style", name: "style" }, list.map(option));
  const chosen = () => list.find((s) => s.id === select.value);
  const hosted = hostedChoice(ctx, chosen, changed);
  select.addEventListener("change", changed);
  return {
    select, block: hosted.block, chosen,
    agreed: () => hosted.sync(),
    localOnly(styles: Style[]) {
      list = styles.filter((s) => !s.generated);
      select.replaceChildren(...list.map(option));
      select.value = list[0]?.id ?? "";
    },
  };
}

const onOnline = () => new Promise<void>((res) => {
  if (navigator.onLine) return res();
  window.addEventListener("online", () => res(), { once: true });
});

// submittedJob: what a new job leaves on this device: its pick-up code, the
// wish for a push, and for a guest who gave an address the sign-in link
// sent there (the notice says which).
async function submittedJob(ctx: Ctx, job: Job, wantsPush: boolean, address: string | undefined) {
  if (job.pickup) rememberPickup(job.id, job.pickup);
  if (wantsPush) rememberPushWanted(job.id);
  if (!address) return;
  try {
    await sendLink(ctx.auth, address);
    ctx.notice = t("confirm_email_sent", { email: address });
  } catch (err) {
    console.warn("send link", (err as { code?: string }).code ?? (err as Error).message);
    ctx.notice = t("confirm_email_failed");
  }
}

// Upload: the upload screen's parts and state, which its helpers share.
interface Upload {
  ctx: Ctx;
  all: Style[];
  status: HTMLElement;
  submit: HTMLButtonElement;
  style: ReturnType<typeof styleChoice>;
  channels: ReturnType<typeof channelChoice>;
  email: HTMLInputElement | null;
  key: string; // one per photo; reused by every retry and by "Try again"
  cancelled: boolean;
  sync: () => void; // Send works with a photo and the chosen style's consent
}

// offerLocal: refused for a generated style, the event's budget may be
// spent. Then the app offers what still works, the photo kept (every
// generated style costs about the same: none fits now).
async function offerLocal(u: Upload) {
  u.style.localOnly((await freshCatalogue(u.ctx).catch(() => ({ styles: u.all }))).styles);
  u.key = newIdempotencyKey();
  showAlert(u.status, t("budget_spent"));
  u.submit.textContent = t("submit");
  u.sync();
}

async function send(u: Upload, photo: Prepared) {
  const { ctx, status, submit } = u;
  submit.disabled = true;
  submit.textContent = t("submitting");
  status.textContent = t("submitting");
  try {
    const job = await ctx.api.submit(
      { photo: photo.blob, style: u.style.select.value, consent: consentField(consentVersion(ctx.cfg), u.style.chosen()), key: u.key, ...u.channels.read() },
      { onWaiting: (w) => { if (!u.cancelled) status.textContent = w ? t("waiting_network") : t("submitting"); }, online: onOnline },
    );
    await submittedJob(ctx, job, u.channels.wantsPush(), u.email?.value.trim());
    ctx.submitted = job;
    if (!u.cancelled) ctx.go("#/job/" + encodeURIComponent(job.id));
  } catch (err) {
    if (u.cancelled) return;
    if (err instanceof ApiError && err.reason === BUDGET_SPENT && isGenerated(u.style.chosen())) return offerLocal(u);
    // Words for the Gateway's code; "Try again" only where sending the
    // same photo again can help, else a new photo is needed.
    const f = submitFailure(err);
    console.warn("submit", err instanceof Error ? err.message : err);
    showAlert(status, t(f.key));
    submit.textContent = f.retry ? t("retry") : t("submit");
    submit.disabled = !f.retry;
  }
}

export async function upload(ctx: Ctx, main: HTMLElement, styleId: string): Promise<Teardown | void> {
  if (!ctx.user || !hasConsented(ctx.cfg)) { ctx.go(nextStep(ctx, styleId)); return; }
  const { photo: limits } = await catalogue(ctx);
  const all = await styles(ctx);
  let prepared: Prepared | undefined;
  const submit = h("button", { class: "button primary", type: "submit", disabled: true }, t("submit"));
  const sync = () => {
    const agreed = u.style.agreed();
    submit.disabled = !prepared || !agreed;
  };
  const u: Upload = {
    ctx, all, submit, sync, key: "", cancelled: false,
    status: h("p", { role: "status", class: "status-line" }),
    style: styleChoice(ctx, all, styleId, () => sync()),
    channels: channelChoice(ctx),
    // A guest may give an address for the result: it gets a sign-in link,
    // and once the guest opens it the address is verified (the account
    // keeps the guest's jobs) and Notify mails the result there.
    email: ctx.user.isAnonymous ? h("input", { id: "result-email", type: "email", autocomplete: "email", inputMode: "email" }) : null,
  };
  sync();
  const picker = photoPicker(limits, u.status, (p) => {
    prepared = p;
    if (p) { u.key = newIdempotencyKey(); sync(); return; }
    submit.disabled = true;
    submit.textContent = t("submit");
  });
  const { email } = u;
  main.append(h("h1", {}, t("upload_title")), h("form", {
    class: "card",
    onsubmit: (e: Event) => {
      e.preventDefault();
      if (prepared) void send(u, prepared);
    },
  },
    h("label", { for: "style" }, t("choose_style")), u.style.select, u.style.block,
    // The input (visually hidden, still focusable) before its label, which
    // looks like a button: keyboard focus on the input shows on the label.
    picker.file, h("label", { for: "photo", class: "button" }, t("take_photo")),
    picker.preview,
    email ? h("label", { for: "result-email" }, t("result_email")) : null, email,
    email ? h("p", { class: "note" }, t("result_email_note")) : null,
    u.channels.el,
    u.status, submit,
  ));
  return () => {
    u.cancelled = true;
    picker.teardown();
  };
}


// statusFrame: the status screen's badge and detail, the push offer, and
// the notice sign-in left.
function statusFrame(ctx: Ctx, main: HTMLElement, id: string) {
  const badge = h("p", { class: "badge", role: "status", "aria-live": "polite" });
  const detail = h("div", { class: "detail" });
  main.append(h("h1", {}, t("status_title")), badge, detail);
  const push = pushBlock(ctx, id);
  if (push) main.append(push);
  if (ctx.notice) {
    main.append(h("p", { role: "status", class: "notice" }, ctx.notice));
    ctx.notice = undefined;
  }
  return { badge, detail };
}

// runningBlock: while it generates, an indeterminate bar (the worker
// reports no steps) and the time since it started, every second (the
// caller clears tick).
function runningBlock(started: number): { nodes: Node[]; tick: ReturnType<typeof setInterval> } {
  const bar = h("progress", { class: "generating", "aria-label": t("progress") });
  const since = h("p", { class: "elapsed" });
  const draw = () => { since.textContent = t("running_for", { time: clock((Date.now() - started) / 1000) }); };
  draw();
  return { nodes: [bar, since], tick: setInterval(draw, 1000) };
}

// finishedBlock: the portrait, shared by its pick-up link where this device
// keeps one; undefined while the Gateway lists no output.
async function finishedBlock(ctx: Ctx, id: string): Promise<Node[] | undefined> {
  const out = (await ctx.api.job(id)).outputs?.[0];
  const code = rememberedPickup(id);
  return out ? resultBlock(ctx, id, out, code ? pickupUrl(id, code) : out.url,
    h("a", { class: "button", href: "#/upload" }, t("new_photo"))) : undefined;
}

export function job(ctx: Ctx, main: HTMLElement, id: string): Teardown | void {
  if (!ctx.user) { ctx.go("#/signin"); return; }
  let response: ResponseDoc | null = null;
  let error: ErrorDoc | null = null;
  let shown: Status | "" = "";
  let poll: ReturnType<typeof setTimeout> | undefined;
  let tick: ReturnType<typeof setInterval> | undefined;
  let done = false;
  const { badge, detail } = statusFrame(ctx, main, id);
  const drawQueue = (q?: Job["queue"]) => detail.replaceChildren(...queueBlock(q));
  const showQueue = async () => {
    try {
      const j = await ctx.api.job(id);
      if (done || shown !== "queued") return;
      drawQueue(j.queue);
    } catch { /* the listener still tells the status */ }
    if (!done && shown === "queued") poll = setTimeout(showQueue, 5000);
  };
  const showRunning = () => {
    const running = runningBlock(response?.startedAt?.toDate?.()?.getTime() ?? Date.now());
    tick = running.tick;
    detail.replaceChildren(...running.nodes);
  };
  const showResult = async () => {
    const nodes = await finishedBlock(ctx, id);
    if (!done && nodes) detail.replaceChildren(...nodes);
  };
  const update = () => show(deriveStatus(response, error));
  const show = (s: Status, q?: Job["queue"]) => {
    if (s === shown) return;
    shown = s;
    showBadge(badge, s);
    clearTimeout(poll);
    clearInterval(tick);
    if (s === "queued") { drawQueue(q); void showQueue(); }
    else if (s === "running") showRunning();
    else if (s === "succeeded") showResult().catch((e) => {
      console.warn("result", (e as Error).message);
      detail.replaceChildren(h("p", { role: "alert" }, t(submitFailure(e).key)));
    });
    else detail.replaceChildren(failureBlock(error?.code), h("a", { class: "button primary", href: "#/upload" }, t("new_photo")));
    if (isFinal(s)) stop();
  };

  // The job just submitted shows at once, from the Gateway's answer.
  if (ctx.submitted?.id === id && ctx.submitted.status === "queued") show("queued", ctx.submitted.queue);
  ctx.submitted = undefined;
  const fail = (e: Error) => { console.warn("listener", (e as { code?: string }).code ?? e.message); };
  const unsubs = [
    onSnapshot(doc(ctx.db, "requests", id), () => {}, fail),
    watchJob(ctx.db, id, (d) => { response = d.response; error = d.error; update(); }, fail),
  ];
  let stopped = false;
  function stop() {
    if (stopped) return;
    stopped = true;
    unsubs.forEach((u) => u());
  }
  return () => { done = true; clearTimeout(poll); clearInterval(tick); stop(); };
}

export async function photos(ctx: Ctx, main: HTMLElement) {
  main.append(h("h1", {}, t("my_photos")));
  if (!ctx.user) { main.append(h("p", {}, h("a", { href: "#/signin" }, t("sign_in_title")))); return; }
  main.append(ctx.user.isAnonymous
    ? h("p", { class: "note" }, t("signed_in_guest"), " · ", h("a", { href: "#/signin" }, t("sign_in_email")))
    : h("p", { class: "note" }, t("signed_in_as", { email: ctx.user.email ?? "" })));
  if (ctx.notice) {
    main.append(h("p", { role: "status", class: "notice" }, ctx.notice));
    ctx.notice = undefined;
  }
  const [{ jobs }, all] = await Promise.all([ctx.api.jobs(30), styles(ctx).catch(() => [] as Style[])]);
  if (jobs.length === 0) { main.append(h("p", {}, t("no_photos"))); return; }
  const styleName = (id: string) => all.find((s) => s.id === id)?.name ?? id;
  main.append(h("ul", { class: "photos" }, jobs.map((j: Job) => {
    const out = j.outputs?.[0];
    // A failed job's tile says why, in words, where its image would be.
    const thumb = out ? h("img", { src: out.url, alt: t("result_image"), loading: "lazy" })
      : j.status === "failed" ? h("div", { class: "thumb-failed" }, h("p", {}, t(failureAdvice(j.error?.code) as Key)))
        : h("div", { class: "thumb-empty", "aria-hidden": "true" });
    return h("li", {}, h("a", { href: "#/job/" + encodeURIComponent(j.id), class: "photo-card" },
      thumb,
      h("span", { class: "style-name" }, styleName(j.style)),
      h("span", { class: "badge", "data-status": j.status }, t(statusKey[j.status] ?? "queued")),
      h("time", { datetime: j.createdAt }, new Date(j.createdAt).toLocaleString()),
    ));
  })));
}
