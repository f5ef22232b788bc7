// The job status screen: the job's live status from Firestore (watchJob),
// its place in the queue while it waits, the time it has been generating,
// and the portrait or what to do about a failure.
import { doc, onSnapshot } from "firebase/firestore";
import type { Job } from "../../api";
import type { Ctx, Teardown } from "../../app";
import { h } from "../../dom";
import { submitFailure } from "../../errors";
import { clock, type Translate } from "../../i18n";
import { failureBlock, queueBlock, resultBlock, showBadge } from "../../jobview";
import { pickupUrl, rememberedPickup } from "../../links";
import { deriveStatus, isFinal, type ErrorDoc, type ResponseDoc, type Status } from "../../status";
import { watchJob } from "../../watch";
import { pushBlock } from "../channels";
import { showNotice } from "./shared";

// statusFrame: the status screen's badge and detail, the push offer, and
// the notice sign-in left.
function statusFrame(ctx: Ctx, main: HTMLElement, id: string) {
  const { t } = ctx.i18n;
  const badge = h("p", { class: "badge", role: "status", "aria-live": "polite" });
  const detail = h("div", { class: "detail" });
  main.append(h("h1", {}, t("status_title")), badge, detail);
  const push = pushBlock(ctx, id);
  if (push) main.append(push);
  showNotice(ctx, main);
  return { badge, detail };
}

// runningBlock: while it generates, an indeterminate bar (the worker
// reports no steps) and the time since it started, every second (the
// caller clears tick).
function runningBlock(t: Translate, started: number): { nodes: Node[]; tick: ReturnType<typeof setInterval> } {
  const bar = h("progress", { class: "generating", "aria-label": t("progress") });
  const since = h("p", { class: "elapsed" });
  const draw = () => { since.textContent = t("running_for", { time: clock((Date.now() - started) / 1000) }); };
  draw();
  return { nodes: [bar, since], tick: setInterval(draw, 1000) };
}

// finishedBlock: the portrait, shared by its pick-up link where this device
// keeps one; undefined while the Gateway lists no output.
async function finishedBlock(ctx: Ctx, id: string): Promise<Node[] | undefined> {
  const { t } = ctx.i18n;
  const out = (await ctx.api.job(id)).outputs?.[0];
  const code = rememberedPickup(id);
  return out ? resultBlock(ctx, id, out, code ? pickupUrl(id, code) : out.url,
    h("a", { class: "button", href: "#/upload" }, t("new_photo"))) : undefined;
}

// fail: a listener's error, for the console; the screen keeps what it shows.
const fail = (e: Error) => { console.warn("listener", (e as { code?: string }).code ?? e.message); };

export function job(ctx: Ctx, main: HTMLElement, id: string): Teardown | void {
  const { t } = ctx.i18n;
  if (!ctx.user) { ctx.go("#/signin"); return; }
  let response: ResponseDoc | null = null;
  let error: ErrorDoc | null = null;
  let shown: Status | "" = "";
  let poll: ReturnType<typeof setTimeout> | undefined;
  let tick: ReturnType<typeof setInterval> | undefined;
  let done = false;
  const { badge, detail } = statusFrame(ctx, main, id);
  const drawQueue = (q?: Job["queue"]) => detail.replaceChildren(...queueBlock(t, q));
  const showQueue = async () => {
    try {
      const j = await ctx.api.job(id);
      if (done || shown !== "queued") return;
      drawQueue(j.queue);
    } catch { /* the listener still tells the status */ }
    if (!done && shown === "queued") poll = setTimeout(showQueue, 5000);
  };
  const showRunning = () => {
    const running = runningBlock(t, response?.startedAt?.toDate?.()?.getTime() ?? Date.now());
    tick = running.tick;
    detail.replaceChildren(...running.nodes);
  };
  const showResult = async () => {
    const nodes = await finishedBlock(ctx, id);
    if (!done && nodes) detail.replaceChildren(...nodes);
  };
  const update = () => show(deriveStatus(response, error));
  const show = (s: Status, q?: Job["queue"]) => {
    if (s === shown) return;
    shown = s;
    showBadge(t, badge, s);
    clearTimeout(poll);
    clearInterval(tick);
    if (s === "queued") { drawQueue(q); void showQueue(); }
    else if (s === "running") showRunning();
    else if (s === "succeeded") showResult().catch((e) => {
      console.warn("result", (e as Error).message);
      detail.replaceChildren(h("p", { role: "alert" }, t(submitFailure(e).key)));
    });
    else detail.replaceChildren(failureBlock(t, error?.code), h("a", { class: "button primary", href: "#/upload" }, t("new_photo")));
    if (isFinal(s)) stop();
  };

  // The job just submitted shows at once, from the Gateway's answer.
  if (ctx.submitted?.id === id && ctx.submitted.status === "queued") show("queued", ctx.submitted.queue);
  ctx.submitted = undefined;
  const unsubs = [
    onSnapshot(doc(ctx.db, "requests", id), () => {}, fail),
    watchJob(ctx.db, id, (d) => { response = d.response; error = d.error; update(); }, fail),
  ];
  let stopped = false;
  function stop() {
    if (stopped) return;
    stopped = true;
    unsubs.forEach((u) => u());
  }
  return () => { done = true; clearTimeout(poll); clearInterval(tick); stop(); };
}
