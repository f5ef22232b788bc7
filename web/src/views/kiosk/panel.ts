// The kiosk's result panel: the job just submitted (or tapped on the board),
// its QR code from the moment it is submitted (the attendee can scan and
// walk away; the pick-up page follows it), the portrait and the print link
// once done. It follows the job with watchJob; its teardown ends those
// listeners, and an answer that comes after draws nothing.
import qrcode from "qrcode-generator";
import type { Job, Output } from "../../api";
import type { Ctx } from "../../app";
import { h } from "../../dom";
import type { Translate } from "../../i18n";
import { pickupUrl } from "../../links";
import { failureAdvice, type Status } from "../../status";
import { watchJob, type JobDocs } from "../../watch";

export function qrSvg(text: string): string {
  const qr = qrcode(0, "M");
  qr.addData(text);
  qr.make();
  return qr.createSvgTag({ cellSize: 4, margin: 2, scalable: true });
}

export interface Panel {
  result: HTMLElement;
  show(job: Job, keptUrl?: string): void;
  clear(): void; // a new attendee: the last one's portrait and QR code go
  restore(): void; // back from Print: the attendee's QR code again
  teardown(): void;
}

// The QR code keeps its place in the panel's first column when the portrait
// arrives beside it: on a 1280x800 kiosk nothing pushes it down while the
// attendee scans.
function pickupBlock(t: Translate, url: string): Node[] {
  if (!url) return [];
  const qr = h("div", { class: "qr", role: "img", "aria-label": t("scan_to_get") });
  qr.innerHTML = qrSvg(url); // SVG made by the QR library from the URL
  return [h("div", { class: "kiosk-pickup" },
    h("p", {}, t("scan_to_get")), qr, h("a", { class: "pickup-link", href: url, target: "_blank", rel: "noopener" }, t("open_pickup")))];
}

function portraitBlock(t: Translate, id: string, out: Output): Node {
  return h("div", { class: "kiosk-portrait" },
    h("img", { class: "result", src: out.url, alt: t("result_image") }),
    h("a", { class: "button", href: "#/print/" + encodeURIComponent(id) }, t("print")));
}

interface Drawing {
  ctx: Ctx;
  status: HTMLElement;
  result: HTMLElement;
  onDone: () => void;
  current: () => boolean; // whether the panel is still this job's
}

// follow draws one job in the panel as its documents change (the function
// it returns takes watchJob's changes).
function follow(d: Drawing, job: Job, keptUrl: string): (docs: JobDocs) => void {
  const { ctx, status, result, current } = d;
  const { t } = ctx.i18n;
  const id = job.id;
  // The code comes once, with the submission; a job shown again from the
  // board gets a new one (the old stops working), so the board never holds
  // attendees' codes.
  let url = keptUrl || (job.pickup ? pickupUrl(id, job.pickup) : "");
  if (url) ctx.boothPanel = { job, url };
  result.replaceChildren(...pickupBlock(t, url));
  let last: JobDocs | undefined;
  let shown: Status | "" = "";
  const update = async (docs: JobDocs) => {
    if (!current() || docs.status === shown) return;
    const s = (shown = docs.status);
    status.textContent = t(s);
    if (s === "failed") result.replaceChildren(h("p", { role: "alert" }, t(failureAdvice(docs.error?.code) as never)));
    if (s !== "succeeded") return;
    d.onDone();
    const out = (await ctx.api.job(id)).outputs?.[0];
    if (!out || !current() || shown !== s) return;
    result.replaceChildren(...pickupBlock(t, url), portraitBlock(t, id, out));
  };
  if (!url) {
    void ctx.api.newPickup(id).then((code) => {
      if (!current()) return;
      url = pickupUrl(id, code);
      ctx.boothPanel = { job, url };
      if (shown === "succeeded" && last) {
        shown = ""; // draw the result again, with the QR code
        void update(last);
      } else if (shown !== "failed") {
        result.replaceChildren(...pickupBlock(t, url));
      }
    }).catch((err) => console.warn("pick-up code", (err as Error).message));
  }
  return (docs) => { last = docs; void update(docs); };
}

// ctx.boothPanel keeps the job in the panel and its pick-up link, so the
// panel comes back when the kiosk is shown again (Print, then Back) while
// the attendee may still be scanning; cleared for the next attendee.
export function panel(ctx: Ctx, status: HTMLElement, onDone: () => void): Panel {
  const result = h("div", { class: "kiosk-result" });
  let unwatch: (() => void) | undefined;
  let showing = 0; // which show() owns the panel: a late answer for another job must not draw
  let stopped = false;

  const show = (job: Job, keptUrl = "") => {
    if (stopped) return;
    unwatch?.();
    const mine = ++showing;
    const drawn = follow({ ctx, status, result, onDone, current: () => mine === showing }, job, keptUrl);
    const stopWatching = watchJob(ctx.db, job.id, drawn);
    unwatch = () => {
      stopWatching();
      if (mine === showing) showing++; // nothing owns the panel until the next show()
    };
  };

  return {
    result,
    show,
    clear() {
      ctx.boothPanel = undefined;
      unwatch?.();
      status.textContent = "";
      result.replaceChildren();
    },
    restore() {
      if (ctx.boothPanel) show(ctx.boothPanel.job, ctx.boothPanel.url);
    },
    teardown() {
      stopped = true;
      unwatch?.();
    },
  };
}
