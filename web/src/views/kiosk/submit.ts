// The kiosk's form: the style, the attendee's email and number (optional),
// and Make my portrait, which submits the photo as a booth job with one
// Idempotency-Key per photo. Its teardown ends its listeners; an answer that
// comes after draws nothing.
import { ApiError, BUDGET_SPENT, newIdempotencyKey, type Job, type Style } from "../../api";
import { consentVersion, type Ctx } from "../../app";
import { h } from "../../dom";
import { submitFailure } from "../../errors";
import { consentField } from "../../hosted";
import type { Prepared } from "../../image";
import type { Consent } from "./consent";

export interface SubmitParts {
  ctx: Ctx;
  catalogue: Style[];
  consent: Consent;
  status: HTMLElement; // the kiosk's status line, shared with the panel
  result: HTMLElement; // the panel, shown under the form
  photo: () => Prepared | undefined;
  onSubmitted: (job: Job) => void;
}

export interface Submit {
  form: HTMLFormElement;
  taken(): void; // a new photo: a new key, and it may go
  retake(): void; // no photo: nothing to send, the number goes with the attendee
  teardown(): void;
}

// kioskChannels: a booth job's channels as staff typed them: a text when a
// number was typed (spaces, dashes and brackets dropped), an email when an
// address was; without either the Gateway's defaults (the QR code alone).
export function kioskChannels(email: string, phone: string): { notify?: string; phone?: string } {
  const number = phone.replace(/[\s()-]/g, "");
  if (!number) return {};
  return { notify: email.trim() ? "email,phone" : "phone", phone: number };
}

function fields(p: SubmitParts) {
  const { ctx, catalogue } = p;
  const { t } = ctx.i18n;
  const f = {
    style: h("select", { id: "kiosk-style" }, catalogue.map((s) => h("option", { value: s.id }, s.generated ? `${s.name} · ${t("hosted_short")}` : s.name))),
    // Optional: an attendee without an address picks up by QR code.
    email: h("input", { id: "attendee-email", type: "email", autocomplete: "off", inputMode: "email" }),
    // Optional too, where the event sends texts: staff type the attendee's
    // number as they type an email (the Gateway takes any number from staff).
    phone: ctx.cfg.channels?.phone
      ? h("input", { id: "attendee-phone", type: "tel", autocomplete: "off", inputMode: "tel", placeholder: "+82 10 1234 5678" })
      : null,
    submit: h("button", { class: "button primary", type: "submit", disabled: true }, t("submit")),
  };
  const form = h("form", { class: "card" },
    h("label", { for: "kiosk-style" }, t("choose_style")), f.style,
    h("label", { for: "attendee-email" }, t("attendee_email_optional")), f.email,
    f.phone ? h("label", { for: "attendee-phone" }, t("kiosk_phone")) : null, f.phone,
    f.submit, p.status, p.result,
  );
  return { ...f, form };
}

export function submitForm(p: SubmitParts): Submit {
  const { ctx, catalogue, status } = p;
  const { t } = ctx.i18n;
  const { form, style, email, phone, submit } = fields(p);
  const listening = new AbortController();
  const chosen = () => catalogue.find((s) => s.id === style.value);
  let key = "";
  let stopped = false;

  // The event's budget for generated styles is spent: the local ones remain,
  // the photo kept.
  const budgetSpent = () => {
    for (const o of [...style.options]) if (catalogue.find((s) => s.id === o.value)?.generated) o.remove();
    key = newIdempotencyKey();
    status.textContent = t("budget_spent");
  };
  const send = async (photo: Prepared) => {
    submit.disabled = true;
    status.textContent = t("submitting");
    try {
      const job = await ctx.api.submit(
        { photo: photo.blob, style: style.value, consent: consentField(consentVersion(ctx.cfg), chosen()), priority: "booth", email: email.value.trim() || undefined, key, ...kioskChannels(email.value, phone?.value ?? "") },
        { onWaiting: (w) => { if (!stopped) status.textContent = w ? t("waiting_network") : t("submitting"); } },
      );
      if (stopped) return;
      status.textContent = t("queued");
      p.onSubmitted(job);
    } catch (err) {
      if (err instanceof ApiError && err.reason === BUDGET_SPENT) budgetSpent();
      else {
        console.warn("submit", err instanceof Error ? err.message : err);
        status.textContent = t(submitFailure(err).key);
      }
      submit.disabled = false;
    }
  };
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    const photo = p.photo();
    if (!photo) return;
    if (p.consent.hosted() && !p.consent.agreed()) {
      status.textContent = t("kiosk_agree_hosted");
      return;
    }
    void send(photo);
  }, { signal: listening.signal });
  // Choosing a generated style names its processor in the consent.
  const nameProcessor = () => p.consent.name(chosen()?.generated?.processor);
  style.addEventListener("change", nameProcessor, { signal: listening.signal });
  nameProcessor();

  return {
    form,
    taken() { key = newIdempotencyKey(); submit.disabled = false; },
    retake() { submit.disabled = true; if (phone) phone.value = ""; },
    teardown() { stopped = true; listening.abort(); },
  };
}
