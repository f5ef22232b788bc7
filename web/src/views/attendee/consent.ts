// The consent screen, before the first photo (its version travels with each
// job).
import type { Style } from "../../api";
import { consentVersion, setConsented, type Ctx } from "../../app";
import { styles } from "../../catalogue";
import { h } from "../../dom";
import { setHostedConsent } from "../../hosted";

export async function consent(ctx: Ctx, main: HTMLElement, style: string) {
  const { t } = ctx.i18n;
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
