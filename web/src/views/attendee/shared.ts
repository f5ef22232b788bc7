// What the attendee's screens share: where "Take my portrait" leads, the
// one-time notice sign-in leaves for the next screen, and a status line's
// alert.
import type { Finished } from "../../account";
import { hasConsented, type Ctx } from "../../app";
import { h } from "../../dom";

// nextStep: where "Take my portrait" leads, given sign-in and consent.
export function nextStep(ctx: Ctx, style = ""): string {
  const q = style ? "/" + encodeURIComponent(style) : "";
  if (!ctx.user) return "#/signin" + q;
  if (!hasConsented(ctx.cfg)) return "#/consent" + q;
  return "#/upload" + q;
}

// signedIn: the user a sign-in (Google or an email link) left, with the
// notice of what it did with a guest's jobs, else the notice otherwise
// names.
export function signedIn(ctx: Ctx, r: Finished, otherwise?: string) {
  const { t } = ctx.i18n;
  ctx.user = r.user;
  if (r.moved > 0) ctx.notice = t("guest_moved", { count: r.moved });
  else if (r.adoptFailed) ctx.notice = t("guest_move_failed");
  else if (otherwise) ctx.notice = otherwise;
  ctx.refreshHeader();
}

// showNotice: the notice sign-in left, shown once.
export function showNotice(ctx: Ctx, main: HTMLElement) {
  if (!ctx.notice) return;
  main.append(h("p", { role: "status", class: "notice" }, ctx.notice));
  ctx.notice = undefined;
}

// showAlert: the status line says what went wrong, as an alert.
export function showAlert(status: HTMLElement, text: string) {
  status.setAttribute("role", "alert");
  status.textContent = text;
}
