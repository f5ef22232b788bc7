// The attendee's consent on the kiosk's screen, given before the photo is
// taken (its version travels with the job). A generated style's processor is
// named in it while one is selected, and the attendee agrees again with it
// named.
import { h } from "../../dom";
import type { Translate } from "../../i18n";

export interface Consent {
  box: HTMLElement;
  agreed(): boolean;
  // hosted: a generated style's processor is named (the job needs the
  // attendee's agreement to it).
  hosted(): boolean;
  // name names processor (none: a style made here); a newly named one
  // takes the earlier agreement back.
  name(processor: string | undefined): void;
  reset(): void; // the next attendee agrees for themselves
  teardown(): void;
}

export function consent(t: Translate, retentionDays: number, onChange: (agreed: boolean) => void): Consent {
  const agreed = h("input", { id: "kiosk-consent", type: "checkbox" });
  const hostedItem = h("li", { class: "hosted-consent-item", hidden: true });
  const box = h("div", { class: "card kiosk-consent" },
    h("h2", {}, t("consent_title")),
    h("ul", { class: "consent" }, h("li", {}, t("consent_1")), h("li", {}, t("consent_2", { days: retentionDays })), h("li", {}, t("consent_3")),
      hostedItem),
    h("p", {}, agreed, " ", h("label", { for: "kiosk-consent" }, t("kiosk_consent"))),
  );
  const listening = new AbortController();
  agreed.addEventListener("change", () => onChange(agreed.checked), { signal: listening.signal });
  return {
    box,
    agreed: () => agreed.checked,
    hosted: () => !hostedItem.hidden,
    name(processor) {
      const named = !hostedItem.hidden;
      hostedItem.hidden = !processor;
      if (processor) hostedItem.textContent = t("consent_hosted", { processor });
      if (processor && !named) agreed.checked = false;
    },
    reset() { agreed.checked = false; },
    teardown() { listening.abort(); },
  };
}
