// The upload screen: the style, the photo, where to be told, and sending
// it (retried through network loss with one idempotency key per photo).
import { ApiError, BUDGET_SPENT, newIdempotencyKey, type Job, type Style } from "../../api";
import { consentVersion, hasConsented, type Ctx, type Teardown } from "../../app";
import { catalogue, freshCatalogue, styles } from "../../catalogue";
import { h } from "../../dom";
import { sendLink } from "../../emaillink";
import { submitFailure } from "../../errors";
import { consentField, isGenerated } from "../../hosted";
import type { Prepared } from "../../image";
import { rememberPickup } from "../../links";
import { channelChoice, rememberPushWanted } from "../channels";
import { photoPicker } from "./photo";
import { nextStep, showAlert } from "./shared";
import { styleChoice } from "./style";

const onOnline = () => new Promise<void>((res) => {
  if (navigator.onLine) return res();
  window.addEventListener("online", () => res(), { once: true });
});

// submittedJob: what a new job leaves on this device: its pick-up code, the
// wish for a push, and for a guest who gave an address the sign-in link
// sent there (the notice says which).
async function submittedJob(ctx: Ctx, job: Job, wantsPush: boolean, address: string | undefined) {
  const { t } = ctx.i18n;
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
  const { t } = u.ctx.i18n;
  u.style.localOnly((await freshCatalogue(u.ctx).catch(() => ({ styles: u.all }))).styles);
  u.key = newIdempotencyKey();
  showAlert(u.status, t("budget_spent"));
  u.submit.textContent = t("submit");
  u.sync();
}

async function send(u: Upload, photo: Prepared) {
  const { ctx, status, submit } = u;
  const { t } = ctx.i18n;
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
  const { t } = ctx.i18n;
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
  const picker = photoPicker(t, limits, u.status, (p) => {
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
