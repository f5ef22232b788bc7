// Links the app hands out.

// pickupPath: the pick-up page's route for a job and its code (what the
// kiosk's QR code opens). The code rides in the fragment, which browsers
// never send to a server.
export function pickupPath(id: string, code: string): string {
  return "#/pickup/" + encodeURIComponent(id) + "/" + encodeURIComponent(code);
}

// pickupUrl: the pick-up page's full address under the app's own, a link
// that opens the portrait for as long as the event keeps it (download URLs
// expire), so it is what the kiosk's QR code and Share give out.
export function pickupUrl(id: string, code: string, base = location.origin + location.pathname): string {
  return base + pickupPath(id, code);
}

// The pick-up code is shown once (the Gateway keeps only its hash), so the
// device that got it keeps it, by job.
const codeKey = (id: string) => "pickup:" + id;

export function rememberPickup(id: string, code: string): void {
  try {
    localStorage.setItem(codeKey(id), code);
  } catch {
    // Storage off (private mode): the link is just not offered again.
  }
}

export function rememberedPickup(id: string): string {
  try {
    return localStorage.getItem(codeKey(id)) ?? "";
  } catch {
    return "";
  }
}
