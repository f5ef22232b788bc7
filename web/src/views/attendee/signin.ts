// The sign-in screen: an email link, Google where the event has an OAuth
// client, or going on as a guest (a guest here may sign in to keep their
// photos).
import { signInAnonymously } from "firebase/auth";
import { hasConsented, type Ctx } from "../../app";
import { h } from "../../dom";
import { sendLink } from "../../emaillink";
import { googleSignIn, mountGoogleButton } from "../../google";
import { signedIn } from "./shared";

export function signin(ctx: Ctx, main: HTMLElement, style: string) {
  const { t } = ctx.i18n;
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
  const { t } = ctx.i18n;
  const clientId = ctx.cfg.googleClientId;
  if (!clientId) return null;
  const slot = h("div", { class: "google-button" });
  const block = h("div", { class: "card google" }, h("h2", {}, t("sign_in_google")), slot);
  mountGoogleButton(ctx.gis, slot, clientId, ctx.i18n.lang, async (idToken) => {
    status.textContent = t("finish_title");
    const wasGuest = ctx.user?.isAnonymous === true;
    try {
      signedIn(ctx, await googleSignIn(ctx.auth, idToken, (token) => ctx.api.adopt(token)));
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
