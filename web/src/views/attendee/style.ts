// The upload screen's style picker, with the consent a generated style's
// processor needs.
import type { Style } from "../../api";
import { consentVersion, type Ctx } from "../../app";
import { h } from "../../dom";
import { hasHostedConsent, offered, setHostedConsent } from "../../hosted";

// hostedChoice: a generated style's processor, named before the photo goes
// to it; the box remembers the answer per processor (hosted.ts). sync shows
// the chosen style's; false: the attendee has not agreed to it yet.
function hostedChoice(ctx: Ctx, chosen: () => Style | undefined, changed: () => void) {
  const { t } = ctx.i18n;
  const note = h("p", { class: "note", id: "hosted-note" });
  const box = h("input", { id: "hosted-consent", type: "checkbox" });
  const label = h("span");
  const block = h("div", { class: "hosted-consent", hidden: true }, note, h("label", { for: "hosted-consent" }, box, " ", label));
  box.addEventListener("change", () => {
    const processor = chosen()?.generated?.processor;
    if (processor) setHostedConsent(consentVersion(ctx.cfg), processor, box.checked);
    changed();
  });
  const sync = (): boolean => {
    const processor = chosen()?.generated?.processor;
    block.hidden = !processor;
    if (processor) {
      note.textContent = t("consent_hosted", { processor });
      label.textContent = t("consent_hosted_accept", { processor });
      box.checked = hasHostedConsent(consentVersion(ctx.cfg), processor);
    }
    return !processor || box.checked;
  };
  return { block, sync };
}

// styleChoice: the style picker with its generated styles' consent.
// agreed: whether the chosen style may take the photo; localOnly: only the
// styles made here (the event's budget for generated ones is spent).
export function styleChoice(ctx: Ctx, all: Style[], styleId: string, changed: () => void) {
  const { t } = ctx.i18n;
  let list = offered(all);
  const option = (s: Style) => h("option", { value: s.id, selected: s.id === styleId }, s.generated ? `${s.name} · ${t("hosted_short")}` : s.name);
  const select = h("select", { id: "style", name: "style" }, list.map(option));
  const chosen = () => list.find((s) => s.id === select.value);
  const hosted = hostedChoice(ctx, chosen, changed);
  select.addEventListener("change", changed);
  return {
    select, block: hosted.block, chosen,
    agreed: () => hosted.sync(),
    localOnly(styles: Style[]) {
      list = styles.filter((s) => !s.generated);
      select.replaceChildren(...list.map(option));
      select.value = list[0]?.id ?? "";
    },
  };
}
