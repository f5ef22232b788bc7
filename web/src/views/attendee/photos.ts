// The "My photos" screen: the user's jobs, newest first.
import type { Job, Style } from "../../api";
import type { Ctx } from "../../app";
import { styles } from "../../catalogue";
import { emptyThumb, h, thumb } from "../../dom";
import type { Key } from "../../i18n";
import { statusKey } from "../../jobview";
import { failureAdvice } from "../../status";
import { showNotice } from "./shared";

export async function photos(ctx: Ctx, main: HTMLElement) {
  const { t } = ctx.i18n;
  main.append(h("h1", {}, t("my_photos")));
  if (!ctx.user) { main.append(h("p", {}, h("a", { href: "#/signin" }, t("sign_in_title")))); return; }
  main.append(ctx.user.isAnonymous
    ? h("p", { class: "note" }, t("signed_in_guest"), " · ", h("a", { href: "#/signin" }, t("sign_in_email")))
    : h("p", { class: "note" }, t("signed_in_as", { email: ctx.user.email ?? "" })));
  showNotice(ctx, main);
  const [{ jobs }, all] = await Promise.all([ctx.api.jobs(30), styles(ctx).catch(() => [] as Style[])]);
  if (jobs.length === 0) { main.append(h("p", {}, t("no_photos"))); return; }
  const styleName = (id: string) => all.find((s) => s.id === id)?.name ?? id;
  main.append(h("ul", { class: "photos" }, jobs.map((j: Job) => {
    const out = j.outputs?.[0];
    // A failed job's tile says why, in words, where its image would be.
    const tile = out ? thumb(out.url, t("result_image"))
      : j.status === "failed" ? h("div", { class: "thumb-failed" }, h("p", {}, t(failureAdvice(j.error?.code) as Key)))
        : emptyThumb();
    return h("li", {}, h("a", { href: "#/job/" + encodeURIComponent(j.id), class: "photo-card" },
      tile,
      h("span", { class: "style-name" }, styleName(j.style)),
      h("span", { class: "badge", "data-status": j.status }, t(statusKey[j.status] ?? "queued")),
      h("time", { datetime: j.createdAt }, new Date(j.createdAt).toLocaleString()),
    ));
  })));
}
