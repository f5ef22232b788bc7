// @vitest-environment happy-dom
//
// The kiosk's parts and their teardowns: leaving the kiosk (another screen,
// sign-out) must turn the camera off, end the Firestore listeners, stop the
// board's polling and its countdown, and nothing answered later may draw.
// The app's own code runs as it is (the real Api, watchJob, the parts); only
// what the browser and the cloud provide is faked: getUserMedia and its
// tracks, fetch (answering in the Gateway's shapes), and the Firestore SDK's
// doc/onSnapshot (recording which listeners are open).
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { Auth } from "firebase/auth";
import type { Firestore } from "firebase/firestore";
import { Api, type Job } from "../src/api";
import type { Ctx } from "../src/app";
import type { StudioConfig } from "../src/config";
import { GisLoader } from "../src/google";
import { I18n } from "../src/i18n";
import { kiosk } from "../src/views/kiosk";
import { board, BOARD_POLL_MS } from "../src/views/kiosk/board";
import { camera } from "../src/views/kiosk/camera";
import { consent } from "../src/views/kiosk/consent";
import { submitForm } from "../src/views/kiosk/submit";
import { panel } from "../src/views/kiosk/panel";

// Firestore stand-in: each onSnapshot is recorded with its path, whether it
// is still open, and its callback, so a test can deliver a snapshot.
const fs = vi.hoisted(() => ({
  listeners: [] as { path: string; open: boolean; next: (snap: { data(): unknown }) => void }[],
}));
vi.mock("firebase/firestore", () => ({
  doc: (_db: unknown, ...path: string[]) => ({ path: path.join("/") }),
  onSnapshot: (ref: { path: string }, next: (snap: { data(): unknown }) => void) => {
    const l = { path: ref.path, open: true, next };
    fs.listeners.push(l);
    return () => { l.open = false; };
  },
}));
const open = () => fs.listeners.filter((l) => l.open).map((l) => l.path).sort();

// A camera: a stream (the DOM's MediaStream, so a video takes it) whose
// tracks count their stop() calls.
function fakeStream() {
  const tracks = [{ stopped: 0, stop() { this.stopped++; } }, { stopped: 0, stop() { this.stopped++; } }];
  const stream = Object.assign(new MediaStream(), { getTracks: () => tracks as unknown as MediaStreamTrack[] });
  return { tracks, stream };
}

function deferred<T>() {
  let resolve!: (v: T) => void;
  const promise = new Promise<T>((r) => { resolve = r; });
  return { promise, resolve };
}

const job = (id: string, extra: Partial<Job> = {}): Job =>
  ({ id, status: "queued", style: "studio", priority: "booth", createdAt: "2026-01-01T10:00:00Z", ...extra });

// The Gateway's answers, by method and path; held: paths whose answer the
// test releases itself.
function gateway(held: Record<string, Promise<unknown>> = {}) {
  const calls: string[] = [];
  const answers: Record<string, unknown> = {
    "GET /v1/styles": { styles: [{ id: "studio", name: "Studio", description: "" }] },
    "GET /v1/jobs": { jobs: [job("board-1")] },
  };
  const fetchFn = async (url: string, init?: RequestInit) => {
    const u = new URL(url);
    const key = `${init?.method ?? "GET"} ${u.pathname}`;
    calls.push(key);
    let body = key in held ? await held[key] : answers[key];
    if (body === undefined && key.endsWith("/pickup")) body = { pickup: "C".repeat(22) };
    if (body === undefined && key.startsWith("GET /v1/jobs/")) body = { job: job(u.pathname.split("/").pop()!) };
    return new Response(JSON.stringify(body), { status: 200, headers: { "Content-Type": "application/json" } });
  };
  return { calls, api: new Api("https://gw.test", async () => "id-token", fetchFn) };
}

function context(api: Api, extra: Partial<Ctx> = {}): Ctx {
  const cfg: StudioConfig = { gatewayUrl: "https://gw.test", event: "ev", eventName: "Event", retentionDays: 7, firebase: {} };
  return { cfg, api, auth: {} as Auth, db: {} as Firestore, user: null, staff: true, go: () => {}, refreshHeader: () => {}, gis: new GisLoader(), i18n: new I18n("en"), ...extra };
}

const { t: en } = new I18n("en");
const flush = async () => { for (let i = 0; i < 20; i++) await Promise.resolve(); };

beforeEach(() => {
  fs.listeners.length = 0;
  vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "setInterval", "clearInterval"] });
  vi.spyOn(console, "warn").mockImplementation(() => {});
});
afterEach(() => {
  vi.useRealTimers();
  vi.restoreAllMocks();
});

describe("kiosk teardown", () => {
  it("leaving the kiosk turns the camera off, ends the panel's listeners and stops the board's polling", async () => {
    const cam = fakeStream();
    Object.defineProperty(navigator, "mediaDevices", { configurable: true, value: { getUserMedia: async () => cam.stream } });
    const { calls, api } = gateway();
    // Back from Print: the panel shows the kept job again, with listeners.
    const ctx = context(api, { boothPanel: { job: job("kept-1"), url: "https://app.test/#/pickup/kept-1/" + "K".repeat(22) } });
    const main = document.createElement("main");
    const teardown = await kiosk(ctx, main);
    expect(teardown).toBeTypeOf("function");
    expect(open()).toEqual(["errors/kept-1", "responses/kept-1"]);
    expect(cam.tracks.map((t) => t.stopped)).toEqual([0, 0]);
    expect(main.classList.contains("kiosk")).toBe(true);
    expect(vi.getTimerCount()).toBeGreaterThan(0); // the board's polling

    teardown!();
    expect(cam.tracks.map((t) => t.stopped)).toEqual([1, 1]);
    expect(open()).toEqual([]);
    expect(vi.getTimerCount()).toBe(0);
    expect(main.classList.contains("kiosk")).toBe(false);
    const asked = calls.filter((c) => c === "GET /v1/jobs").length;
    await vi.advanceTimersByTimeAsync(3 * BOARD_POLL_MS);
    expect(calls.filter((c) => c === "GET /v1/jobs").length).toBe(asked);
  });

  it("a guest gets the sign-in form, no camera and no teardown, and the kept job is forgotten", async () => {
    const getUserMedia = vi.fn();
    Object.defineProperty(navigator, "mediaDevices", { configurable: true, value: { getUserMedia } });
    const ctx = context(gateway().api, { staff: false, boothPanel: { job: job("kept-1"), url: "u" } });
    const main = document.createElement("main");
    expect(await kiosk(ctx, main)).toBeUndefined();
    expect(getUserMedia).not.toHaveBeenCalled();
    expect(ctx.boothPanel).toBeUndefined();
    expect(main.querySelector("#staff-email")).not.toBeNull();
  });
});

describe("kiosk camera", () => {
  const events = () => ({ onCapture: vi.fn(), onTaken: vi.fn(), onRetake: vi.fn() });

  it("leaving during the countdown takes no photo, leaves no timer and ends the buttons' listeners", async () => {
    const cam = fakeStream();
    const ev = events();
    const c = camera(en, ev);
    expect(await c.open({ getUserMedia: async () => cam.stream })).toBe(true);
    c.allow(true);
    expect(c.capture.disabled).toBe(false);
    c.capture.click();
    expect(ev.onCapture).toHaveBeenCalledTimes(1);
    expect(c.count.textContent).toBe("3");
    expect(vi.getTimerCount()).toBe(1);

    c.teardown();
    expect(vi.getTimerCount()).toBe(0);
    expect(cam.tracks.map((t) => t.stopped)).toEqual([1, 1]);
    await vi.advanceTimersByTimeAsync(5000);
    expect(ev.onTaken).not.toHaveBeenCalled();
    expect(c.photo()).toBeUndefined();
    c.capture.disabled = false;
    c.capture.click();
    c.retake.click();
    expect(ev.onCapture).toHaveBeenCalledTimes(1);
    expect(ev.onRetake).not.toHaveBeenCalled();
  });

  it("a camera that answers after the kiosk was left is turned off at once", async () => {
    const cam = fakeStream();
    const asked = deferred<MediaStream>();
    const c = camera(en, events());
    const opened = c.open({ getUserMedia: () => asked.promise });
    c.teardown();
    asked.resolve(cam.stream);
    expect(await opened).toBe(false);
    expect(cam.tracks.map((t) => t.stopped)).toEqual([1, 1]);
  });

  it("no camera: Take photo stays off even when the attendee agrees", async () => {
    const c = camera(en, events());
    expect(await c.open({ getUserMedia: async () => { throw new DOMException("denied", "NotAllowedError"); } })).toBe(false);
    c.allow(true);
    expect(c.capture.disabled).toBe(true);
    c.teardown();
  });
});

describe("kiosk panel", () => {
  it("a new job ends the last one's listeners; teardown ends the current one's, and later answers draw nothing", async () => {
    const code = deferred<unknown>();
    const { calls, api } = gateway({ "POST /v1/jobs/b/pickup": code.promise });
    const status = document.createElement("p");
    const onDone = vi.fn();
    const p = panel(context(api), status, onDone);
    p.show(job("a", { pickup: "A".repeat(22) }));
    expect(open()).toEqual(["errors/a", "responses/a"]);
    expect(p.result.querySelector(".pickup-link")).not.toBeNull();
    p.show(job("b")); // from the board: no code yet, one is asked for
    expect(open()).toEqual(["errors/b", "responses/b"]);

    p.teardown();
    expect(open()).toEqual([]);
    const before = p.result.innerHTML;
    code.resolve({ pickup: "B".repeat(22) });
    for (const l of fs.listeners.filter((x) => x.path === "responses/b")) l.next({ data: () => ({ state: "succeeded" }) });
    await flush();
    expect(p.result.innerHTML).toBe(before);
    expect(status.textContent).toBe("");
    expect(onDone).not.toHaveBeenCalled();
    expect(calls).not.toContain("GET /v1/jobs/b");
    p.show(job("c"));
    expect(open()).toEqual([]);
  });
});

describe("kiosk board", () => {
  it("teardown stops the polling, and an answer that comes after draws nothing", async () => {
    const answer = deferred<unknown>();
    const { calls, api } = gateway({ "GET /v1/jobs": answer.promise });
    const b = board(en, api, () => {});
    b.start();
    await flush();
    expect(calls).toEqual(["GET /v1/jobs"]);
    b.teardown();
    answer.resolve({ jobs: [job("late")] });
    await vi.advanceTimersByTimeAsync(3 * BOARD_POLL_MS);
    expect(calls).toEqual(["GET /v1/jobs"]);
    expect(b.list.children).toHaveLength(0);
  });

  it("polls while shown, and a tap shows the job", async () => {
    const { calls, api } = gateway();
    const picked: string[] = [];
    const b = board(en, api, (j) => picked.push(j.id));
    b.start();
    await vi.advanceTimersByTimeAsync(2 * BOARD_POLL_MS);
    expect(calls.filter((c) => c === "GET /v1/jobs")).toHaveLength(3);
    b.list.querySelector<HTMLButtonElement>("[data-job=board-1] button")!.click();
    expect(picked).toEqual(["board-1"]);
    b.teardown();
    b.list.querySelector<HTMLButtonElement>("[data-job=board-1] button")!.click();
    expect(picked).toEqual(["board-1"]);
  });

  it("an image that cannot load becomes the empty tile, not a broken-image icon", async () => {
    const done = (id: string) => job(id, { status: "succeeded", outputs: [{ url: `https://storage.test/${id}.jpg`, contentType: "image/jpeg", width: 512, height: 512 }] });
    const { api } = gateway({ "GET /v1/jobs": Promise.resolve({ jobs: [done("gone"), done("here")] }) });
    const b = board(en, api, () => {});
    await b.refresh();
    b.list.querySelector("[data-job=gone] img")!.dispatchEvent(new Event("error"));
    expect(b.list.querySelector("[data-job=gone] img")).toBeNull();
    expect(b.list.querySelector("[data-job=gone] .thumb-empty")).not.toBeNull();
    expect(b.list.querySelector<HTMLImageElement>("[data-job=here] img")!.src).toBe("https://storage.test/here.jpg");
    b.teardown();
  });
});

describe("kiosk form", () => {
  it("a submission answered after the kiosk was left shows nothing and opens no panel", async () => {
    const answer = deferred<unknown>();
    const { calls, api } = gateway({ "POST /v1/jobs": answer.promise });
    const status = document.createElement("p");
    const onSubmitted = vi.fn();
    const agreement = consent(en, 7, () => {});
    const f = submitForm({
      ctx: context(api), catalogue: [{ id: "studio", name: "Studio", description: "" }], consent: agreement, status,
      result: document.createElement("div"), photo: () => ({ blob: new Blob(["jpeg"], { type: "image/jpeg" }), width: 640, height: 480 }), onSubmitted,
    });
    f.taken();
    f.form.dispatchEvent(new Event("submit", { cancelable: true }));
    await flush();
    expect(calls).toEqual(["POST /v1/jobs"]);
    expect(status.textContent).toBe("Sending…");

    f.teardown();
    answer.resolve({ job: job("sent") });
    await flush();
    expect(onSubmitted).not.toHaveBeenCalled();
    expect(status.textContent).toBe("Sending…");
    f.form.dispatchEvent(new Event("submit", { cancelable: true }));
    await flush();
    expect(calls).toEqual(["POST /v1/jobs"]);
  });
});
