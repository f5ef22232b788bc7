import type { Ctx } from "../app";
import { h } from "../dom";
import { t } from "../i18n";

export function kiosk(ctx: Ctx, main: HTMLElement) {
  main.append(h("h1", {}, t("kiosk_title")));
  if (!ctx.staff) main.append(h("p", { role: "alert" }, t("kiosk_forbidden")));
}

export function printView(_ctx: Ctx, main: HTMLElement) {
  main.append(h("h1", {}, t("print")));
}
