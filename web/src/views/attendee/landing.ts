// The landing screen: the event, the way in, and the styles to pick from.
import type { Ctx } from "../../app";
import { styles } from "../../catalogue";
import { h } from "../../dom";
import { offered } from "../../hosted";
import { nextStep } from "./shared";

export async function landing(ctx: Ctx, main: HTMLElement) {
  const { t } = ctx.i18n;
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
