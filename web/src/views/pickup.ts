// The pick-up page: what the kiosk's QR code opens on the attendee's phone,
// without an account. The job is read through the Gateway with its pick-up
// code (POST /v1/pickup), every few seconds until it is done, since Firestore
// listeners need an account the rules know.
import { ApiError } from "../api";
import type { Ctx, Teardown } from "../app";
import { h } from "../dom";
import { t, type Key } from "../i18n";
import { failureAdvice, queueText } from "../status";
import { resultBlock, statusKey } from "./attendee";

const POLL_MS = 3000;

// pickupPath: the page's route for a job and its code (the QR code's
// target, under the app's origin). The code rides in the fragment, which
// browsers never send to a server.
export function pickupPath(id: string, code: string): string {
  return "#/pickup/" + encodeURIComponent(id) + "/" + encodeURIComponent(code);
}

// The code is kept on the device and taken out of the address bar, so the
// page survives a reload and the code stays out of the history.
const codeKey = (id: string) => "pickup:" + id;

export function pickup(ctx: Ctx, main: HTMLElement, arg: string): Teardown {
  const [id = "", fromLink = ""] = arg.split("/");
  if (fromLink) {
    localStorage.setItem(codeKey(id), fromLink);
    history.replaceState(null, "", location.pathname + "#/pickup/" + encodeURIComponent(id));
  }
  const code = localStorage.getItem(codeKey(id)) ?? "";
  const badge = h("p", { class: "badge", role: "status", "aria-live": "polite" });
  const detail = h("div", { class: "detail" });
  const note = h("p", { class: "note", role: "status" });
  main.append(h("h1", {}, t("status_title")), badge, detail, note);
  let timer: ReturnType<typeof setTimeout> | undefined;
  let stopped = false;

  const tick = async () => {
    try {
      const job = await ctx.api.pickup(id, code);
      if (stopped) return;
      note.textContent = "";
      badge.textContent = t(statusKey[job.status]);
      badge.dataset.status = job.status;
      const out = job.outputs?.[0];
      if (job.status === "succeeded" && out) {
        detail.replaceChildren(...resultBlock(ctx, id, out));
        return;
      }
      if (job.status === "failed") {
        detail.replaceChildren(h("p", { role: "alert" }, t(failureAdvice(job.error?.code) as Key)));
        return;
      }
      detail.replaceChildren(h("div", { class: "spinner", "aria-hidden": "true" }),
        job.queue ? h("p", { class: "queue" }, queueText(job.queue)) : "");
    } catch (e) {
      if (stopped) return;
      if (e instanceof ApiError && e.status !== 429 && e.status < 500) {
        badge.textContent = "";
        detail.replaceChildren(h("p", { role: "alert" }, t("pickup_invalid")));
        return;
      }
      // Venue Wi-Fi: keep trying, and say so.
      note.textContent = t("waiting_network");
    }
    timer = setTimeout(() => void tick(), POLL_MS);
  };
  void tick();
  return () => { stopped = true; clearTimeout(timer); };
}
