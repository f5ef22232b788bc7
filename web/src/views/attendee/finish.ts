// The screen an email sign-in link opens (main.ts routes here when the URL
// is one).
import type { Ctx } from "../../app";
import { h } from "../../dom";
import { finish as finishLink, isLink, rememberedEmail } from "../../emaillink";
import { signedIn } from "./shared";

// finish: a guest is linked, keeping the uid and its jobs; a guest signed
// in to an existing account brings its jobs along. While one render
// completes the link, the others (onAuthStateChanged re-renders) leave it
// alone (ctx.finishing).
export async function finish(ctx: Ctx, main: HTMLElement) {
  const { t } = ctx.i18n;
  const status = h("p", { role: "status" });
  main.append(h("h1", {}, t("finish_title")), status);
  if (ctx.finishing) return;
  const href = location.href;
  if (!isLink(ctx.auth, href)) { ctx.go("#/signin"); return; }
  const complete = async (address: string) => {
    ctx.finishing = true;
    try {
      const r = await finishLink(ctx.auth, address, href, (token) => ctx.api.adopt(token));
      // The one-time code leaves the address bar (and the history).
      history.replaceState(null, "", location.pathname + "#/finish");
      if (r.outcome === "resent") {
        status.textContent = t("link_resent", { email: address });
        return;
      }
      signedIn(ctx, r, r.outcome === "linked" ? t("email_confirmed", { email: address }) : undefined);
      ctx.go("#/photos");
    } catch (err) {
      status.textContent = t("error") + ": " + (err as Error).message;
    } finally {
      ctx.finishing = false;
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
