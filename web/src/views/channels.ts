// How the owner hears about a job (issue 19): on the upload screen the
// channels the event offers (/studio.json's channels): email, a text to a
// number the attendee proves with Firebase Auth's phone linking, push on
// this device; after the submission the job's screen asks for the push
// permission (pushBlock).
import { linkWithPhoneNumber, RecaptchaVerifier, type ConfirmationResult, type User } from "firebase/auth";
import type { Ctx } from "../app";
import { h } from "../dom";
import { dropRevoked, enablePush, pushOffer, tokenSource } from "../push";

export interface ChannelChoice {
  el: HTMLElement;
  // notify: the notify field ("email,phone,push" or "none"); phone the
  // number to text (the verified one), "" when no text.
  read(): { notify: string; phone: string };
  wantsPush(): boolean;
}

const box = (id: string, checked: boolean) => h("input", { id, type: "checkbox", checked });

// phoneVerify: a number proved with Firebase Auth's phone linking: the
// number, the code texted to it, and what happened, in words; verified gets
// the number once proved.
function phoneVerify(ctx: Ctx, user: User, verified: (phone: string) => void): HTMLElement {
  const { t } = ctx.i18n;
  const verify = h("div", { class: "phone-verify", hidden: true });
  const number = h("input", { id: "phone-number", type: "tel", autocomplete: "tel", inputMode: "tel", placeholder: "+82 10 1234 5678" });
  const code = h("input", { id: "phone-code", inputMode: "numeric", autocomplete: "one-time-code", maxLength: 6 });
  const note = h("p", { class: "note", role: "status" });
  const codeRow = h("div", { hidden: true }, h("label", { for: "phone-code" }, t("phone_code")), code,
    h("button", { class: "button", type: "button", onclick: () => void confirm() }, t("phone_confirm")));
  const sendButton = h("button", { class: "button", type: "button", onclick: () => void send() }, t("phone_send_code"));
  const captcha = h("div", { id: "phone-captcha" });
  verify.append(h("label", { for: "phone-number" }, t("phone_number")), number, sendButton, captcha, codeRow, note);
  let pending: ConfirmationResult | undefined;
  let verifier: RecaptchaVerifier | undefined;

  async function send() {
    const digits = number.value.replace(/[\s()-]/g, "");
    if (!/^\+[1-9][0-9]{6,14}$/.test(digits)) {
      note.textContent = t("phone_invalid");
      return;
    }
    sendButton.disabled = true;
    note.textContent = t("phone_sending");
    try {
      // Invisible reCAPTCHA in the cloud; the Auth emulator needs none
      // (appVerificationDisabledForTesting, set in firebase.ts for it).
      verifier ??= new RecaptchaVerifier(ctx.auth, captcha, { size: "invisible" });
      pending = await linkWithPhoneNumber(user, digits, verifier);
      codeRow.hidden = false;
      note.textContent = t("phone_code_sent", { phone: digits });
      code.focus();
    } catch (e) {
      const c = (e as { code?: string }).code ?? "";
      console.warn("phone link", c || (e as Error).message);
      note.textContent = c === "auth/provider-already-linked" || c === "auth/credential-already-in-use"
        ? t("phone_in_use") : t("phone_failed");
    } finally {
      sendButton.disabled = false;
    }
  }

  async function confirm() {
    if (!pending) return;
    try {
      const cred = await pending.confirm(code.value.trim());
      // A fresh ID token carries phone_number, which the Gateway checks.
      await cred.user.getIdToken(true);
      verified(cred.user.phoneNumber ?? "");
      verify.hidden = true;
      note.textContent = "";
    } catch (e) {
      console.warn("phone confirm", (e as { code?: string }).code ?? (e as Error).message);
      note.textContent = t("phone_wrong_code");
    }
  }
  return verify;
}

// channelChoice: the upload screen's choice. Email is offered to everyone
// (a guest's address comes through the email link); text when the event
// sends texts; push when the browser can take it.
export function channelChoice(ctx: Ctx): ChannelChoice {
  const { t } = ctx.i18n;
  const ch = ctx.cfg.channels ?? { email: true };
  const user = ctx.user!;
  const email = ch.email !== false ? box("notify-email", true) : null;
  const text = ch.phone ? box("notify-phone", false) : null;
  const offer = pushOffer(ctx.cfg);
  const push = offer !== "off" && offer !== "home-screen" ? box("notify-push", offer === "granted") : null;
  dropRevoked();

  // The number: the account's verified one, or one proved here.
  let verified = user.phoneNumber ?? "";
  const phoneLabel = h("span", {}, verified ? t("notify_text_to", { phone: verified }) : t("notify_text"));
  const verify = phoneVerify(ctx, user, (phone) => {
    verified = phone;
    phoneLabel.textContent = t("notify_text_to", { phone: verified });
  });

  text?.addEventListener("change", () => { verify.hidden = !text.checked || !!verified; });

  const row = (input: HTMLInputElement | null, label: Node | string) => input ? h("div", { class: "check" }, input, " ", h("label", { for: input.id }, label)) : null;
  const el = h("fieldset", { class: "channels" },
    h("legend", {}, t("notify_legend")),
    row(email, t("notify_email")),
    row(text, phoneLabel), text ? verify : null,
    row(push, t("notify_push")),
    offer === "home-screen" ? h("p", { class: "note", id: "push-home-screen" }, t("push_home_screen")) : null,
  );
  return {
    el,
    read() {
      const chosen: string[] = [];
      if (email?.checked) chosen.push("email");
      if (text?.checked && verified) chosen.push("phone");
      if (push?.checked) chosen.push("push");
      return { notify: chosen.join(",") || "none", phone: text?.checked ? verified : "" };
    },
    wantsPush: () => !!push?.checked,
  };
}

// pushWanted remembers, for the job's screen, that its owner chose push
// on the upload screen.
export function rememberPushWanted(jobId: string): void {
  try { sessionStorage.setItem("push-wanted:" + jobId, "1"); } catch { /* off */ }
}

function pushWanted(jobId: string): boolean {
  try { return sessionStorage.getItem("push-wanted:" + jobId) === "1"; } catch { return false; }
}

// pushBlock: on the job's screen right after its submission with push
// chosen, "Tell me when it's ready" (the permission is asked on that tap,
// never on load); or what this browser allows instead.
export function pushBlock(ctx: Ctx, jobId: string): HTMLElement | null {
  const { t } = ctx.i18n;
  if (!pushWanted(jobId)) return null;
  const offer = pushOffer(ctx.cfg);
  const line = h("p", { class: "note", role: "status", id: "push-status" });
  const register = async () => {
    const result = await enablePush(tokenSource(ctx.cfg), (token) => ctx.api.registerDevice(token));
    line.textContent = result === "granted" ? t("push_on") : t("push_off");
    return result;
  };
  switch (offer) {
    case "off":
      return null;
    case "home-screen":
      return h("p", { class: "note", id: "push-home-screen" }, t("push_home_screen"));
    case "denied":
      line.textContent = t("push_off");
      return line;
    case "granted":
      // Asked before: register this job's owner again (tokens rotate).
      register().catch((e) => { console.warn("push", (e as Error).message); line.textContent = t("push_failed"); });
      return line;
  }
  const button = h("button", { class: "button", type: "button", id: "push-ask" }, t("push_ask"));
  button.addEventListener("click", async () => {
    button.disabled = true;
    try {
      if ((await register()) === "granted") button.remove();
    } catch (e) {
      console.warn("push", (e as Error).message);
      line.textContent = t("push_failed");
    } finally {
      button.disabled = false;
    }
  });
  return h("div", { class: "push-offer" }, button, line);
}
