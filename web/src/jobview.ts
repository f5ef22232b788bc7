// How a job looks on every screen that shows one (the attendee's status
// screen, the pick-up page, my photos): its status badge, the queue while it
// waits, the advice when it failed, and the finished portrait to download and
// share. The views differ in where they learn the status (Firestore
// listeners, the Gateway), not in how they draw it.
import type { Ctx } from "./app";
import type { Job, Output } from "./api";
import { h } from "./dom";
import type { Key, Translate } from "./i18n";
import { failureAdvice, queueText, type Status } from "./status";

export const statusKey: Record<Status, Key> = { queued: "queued", running: "running", succeeded: "succeeded", failed: "failed" };

// showBadge: the status in words, and as data-status for the badge's colour.
export function showBadge(t: Translate, badge: HTMLElement, s: Status) {
  badge.textContent = t(statusKey[s]);
  badge.dataset.status = s;
}

// queueBlock: a spinner while the job waits, with how many are ahead when
// the Gateway said.
export function queueBlock(t: Translate, q?: Job["queue"]): (Node | string)[] {
  return [h("div", { class: "spinner", "aria-hidden": "true" }), q ? h("p", { class: "queue" }, queueText(t, q)) : ""];
}

// failureBlock: what the user can do about a failed job, in words.
export function failureBlock(t: Translate, code?: string): HTMLElement {
  return h("p", { role: "alert" }, t(failureAdvice(code) as Key));
}

// saveImage downloads url as a file named name: fetched as a blob and saved
// through a download link of the app's own origin (a link's download name
// counts only on the same origin; across origins the browser opened the
// image on the storage host instead).
export async function saveImage(url: string, name: string): Promise<void> {
  const r = await fetch(url);
  if (!r.ok) throw new Error(`download: HTTP ${r.status}`);
  const blob = await r.blob();
  const href = URL.createObjectURL(blob);
  const a = h("a", { href, download: name, hidden: true });
  document.body.append(a);
  a.click();
  a.remove();
  // After the click has handed the blob to the download.
  setTimeout(() => URL.revokeObjectURL(href), 60_000);
}

// resultBlock: a finished portrait to view, download and share (Web Share
// API where the browser has it: shareUrl, the pick-up link where there is
// one, since download URLs expire), and what else the screen offers.
export function resultBlock(ctx: Ctx, id: string, out: Output, shareUrl: string, ...more: (Node | null)[]): Node[] {
  const { t } = ctx.i18n;
  const note = h("p", { role: "status", class: "note" });
  const share = "share" in navigator
    ? h("button", { class: "button", type: "button", onclick: () => navigator.share({ title: ctx.cfg.eventName, url: shareUrl }).catch(() => {}) }, t("share"))
    : null;
  return [
    h("img", { class: "result", src: out.url, alt: t("result_image"), width: out.width, height: out.height }),
    h("div", { class: "row" },
      h("button", {
        class: "button primary", type: "button",
        onclick: async (e: Event) => {
          const b = e.currentTarget as HTMLButtonElement;
          b.disabled = true;
          try {
            await saveImage(out.url, `portrait-${id}.${out.contentType === "image/png" ? "png" : "jpg"}`);
            note.textContent = "";
          } catch (err) {
            console.warn("download", (err as Error).message);
            note.textContent = t("download_failed");
          } finally {
            b.disabled = false;
          }
        },
      }, t("download")),
      share,
      ...more,
    ),
    note,
  ];
}
