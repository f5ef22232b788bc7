// Styles a hosted model draws (GET /v1/styles's "generated"): the photo is
// sent to a third party, so the app says so on the picker, asks for that
// consent separately (its own version, kept beside the studio's), and
// offers only the styles the event can still pay for.
import type { Style } from "./api";

// offered: the styles the event can take now; a generated style whose
// budget is spent (available false) is left out, the local ones stay.
export function offered(styles: Style[]): Style[] {
  return styles.filter((s) => !s.generated || s.generated.available);
}

export function isGenerated(s: Style | undefined): boolean {
  return !!s?.generated;
}

// The hosted processor's consent is per processor and studio consent
// version: a new processor or a new text asks again.
function hostedKey(version: string, processor: string): string {
  return `consent-hosted:${version}:${processor}`;
}
export function hasHostedConsent(version: string, processor: string): boolean {
  return localStorage.getItem(hostedKey(version, processor)) === "yes";
}
export function setHostedConsent(version: string, processor: string, yes: boolean) {
  if (yes) localStorage.setItem(hostedKey(version, processor), "yes");
  else localStorage.removeItem(hostedKey(version, processor));
}

// consentField: what a job records as accepted (form field consent): the
// studio's version, and for a generated style that the attendee agreed to
// the hosted processor too.
export function consentField(version: string, style: Style | undefined): string {
  return isGenerated(style) ? `${version}-hosted` : version;
}
