// The pick-up page: what the kiosk's QR code opens on the attendee's phone,
// without an account. The job is read through the Gateway with its pick-up
// code (POST /v1/pickup), every few seconds until it is done, since Firestore
// listeners need an account the rules know (so no watchJob here: the page
// draws the Gateway's answer with the same pieces as the status screen,
// ../jobview).
import { ApiError, type Job } from "../api";
import type { Ctx, Teardown } from "../app";
import { h } from "../dom";
import { pickupUrl, rememberedPickup, rememberPickup } from "../links";
import { failureBlock, queueBlock, resultBlock, showBadge } from "../jobview";
import { isFinal } from "../status";

// The page asks every POLL_MS while the job waits or runs, backing off to
// MAX_POLL_MS while the network or the Gateway fails, and stops after
// GIVE_UP_MS (a forgotten tab must not poll for days).
const POLL_MS = 5000;
const MAX_POLL_MS = 30000;
const GIVE_UP_MS = 30 * 60 * 1000;

// The code is kept on the device (rememberPickup) and taken out of the
// address bar, so the page survives a reload and the code stays out of the
// history.
export function pickup(ctx: Ctx, main: HTMLElement, arg: string): Teardown {
  const { t } = ctx.i18n;
  const [id = "", fromLink = ""] = arg.split("/");
  let code = fromLink;
  if (fromLink) {
    rememberPickup(id, fromLink);
    // With storage off (private mode) the code stays in the address bar,
    // the only place a reload finds it.
    if (rememberedPickup(id) === fromLink) history.replaceState(null, "", location.pathname + "#/pickup/" + encodeURIComponent(id));
  } else {
    code = rememberedPickup(id);
  }
  const badge = h("p", { class: "badge", role: "status", "aria-live": "polite" });
  const detail = h("div", { class: "detail" });
  const note = h("p", { class: "note", role: "status" });
  main.append(h("h1", {}, t("status_title")), badge, detail, note);
  let timer: ReturnType<typeof setTimeout> | undefined;
  let stopped = false;
  let wait = POLL_MS;
  const started = Date.now();

  const tick = async () => {
    try {
      const job = await ctx.api.pickup(id, code);
      if (stopped) return;
      note.textContent = "";
      showBadge(t, badge, job.status);
      wait = POLL_MS;
      detail.replaceChildren(...drawJob(ctx, id, job, code));
      if (isFinal(job.status)) return;
    } catch (e) {
      if (stopped) return;
      if (e instanceof ApiError && e.status !== 429 && e.status < 500) {
        badge.textContent = "";
        detail.replaceChildren(h("p", { role: "alert" }, t("pickup_invalid")));
        return;
      }
      // Venue Wi-Fi: keep trying, less often, and say so.
      note.textContent = t("waiting_network");
      wait = Math.min(MAX_POLL_MS, wait * 2);
    }
    if (Date.now() - started > GIVE_UP_MS) {
      note.textContent = t("pickup_reload");
      return;
    }
    timer = setTimeout(() => void tick(), wait);
  };
  void tick();
  return () => { stopped = true; clearTimeout(timer); };
}

// drawJob: the pick-up page's detail for the Gateway's answer; a finished
// portrait is shared by its pick-up link (download URLs expire).
function drawJob(ctx: Ctx, id: string, job: Job, code: string): (Node | string)[] {
  const out = job.outputs?.[0];
  if (job.status === "succeeded") return out ? resultBlock(ctx, id, out, code ? pickupUrl(id, code) : out.url) : [];
  if (job.status === "failed") return [failureBlock(ctx.i18n.t, job.error?.code)];
  return queueBlock(ctx.i18n.t, job.queue);
}
