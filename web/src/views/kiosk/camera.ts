// The kiosk's camera: the preview, a 3-2-1 countdown, the still it took and
// Retake. Its teardown stops the stream's tracks (the camera's light goes
// off), the countdown's timers and its listeners, and frees the still.
import { h } from "../../dom";
import type { Translate } from "../../i18n";
import { encodeJPEG, type Prepared } from "../../image";

export interface CameraEvents {
  onCapture(): void; // the countdown starts: a new attendee
  onTaken(): void; // the photo is there to submit
  onRetake(): void; // back to the preview, the photo gone
}

export interface Camera {
  video: HTMLVideoElement;
  still: HTMLImageElement;
  count: HTMLElement;
  capture: HTMLButtonElement;
  retake: HTMLButtonElement;
  photo(): Prepared | undefined;
  // open asks for the camera; false: none (refused, absent, insecure page).
  open(media: Pick<MediaDevices, "getUserMedia"> | undefined): Promise<boolean>;
  // allow: Take photo works once the attendee agreed and the camera runs.
  allow(agreed: boolean): void;
  teardown(): void;
}

function elements(t: Translate) {
  return {
    video: h("video", { autoplay: true, playsInline: true, muted: true, "aria-label": t("camera_preview") }),
    still: h("img", { alt: t("captured_photo"), hidden: true }),
    count: h("div", { class: "countdown", "aria-live": "assertive" }),
    capture: h("button", { class: "button primary", type: "button", disabled: true }, t("capture")),
    retake: h("button", { class: "button", type: "button", hidden: true }, t("retake")),
  };
}

// requestStream: the front camera, or undefined (refused, absent, an
// insecure page without mediaDevices).
async function requestStream(media: Pick<MediaDevices, "getUserMedia"> | undefined): Promise<MediaStream | undefined> {
  try {
    return await media!.getUserMedia({ video: { facingMode: "user", width: { ideal: 1280 }, height: { ideal: 960 } }, audio: false });
  } catch (e) {
    console.warn("camera", (e as Error).name);
    return undefined;
  }
}

const stopTracks = (s: MediaStream | undefined) => s?.getTracks().forEach((tr) => tr.stop());

export function camera(t: Translate, events: CameraEvents): Camera {
  const el = elements(t);
  const { video, still, count, capture, retake } = el;
  const listening = new AbortController();
  const timers = new Set<ReturnType<typeof setTimeout>>();
  let stream: MediaStream | undefined;
  let photo: Prepared | undefined;
  let stopped = false;

  const sleep = (ms: number) => new Promise<void>((r) => { const id = setTimeout(() => { timers.delete(id); r(); }, ms); timers.add(id); });
  const showStill = (on: boolean) => {
    [still.hidden, video.hidden, capture.hidden, retake.hidden] = [!on, on, on, !on];
  };
  capture.addEventListener("click", async () => {
    capture.disabled = true;
    events.onCapture();
    for (const n of [3, 2, 1]) {
      count.textContent = String(n);
      await sleep(1000);
      if (stopped) return;
    }
    count.textContent = "";
    const taken = await encodeJPEG(video, video.videoWidth, video.videoHeight);
    if (stopped) return;
    photo = taken;
    if (still.src) URL.revokeObjectURL(still.src);
    still.src = URL.createObjectURL(taken.blob);
    showStill(true);
    events.onTaken();
  }, { signal: listening.signal });
  retake.addEventListener("click", () => {
    photo = undefined;
    showStill(false);
    capture.disabled = true;
    events.onRetake();
  }, { signal: listening.signal });

  return {
    ...el,
    photo: () => photo,
    async open(media) {
      const s = await requestStream(media);
      // Left while the browser asked: the light must not stay on.
      if (stopped) stopTracks(s);
      else if (s) video.srcObject = stream = s;
      if (!stream) capture.disabled = true;
      return !!stream;
    },
    allow(agreed) { capture.disabled = !(agreed && stream); },
    teardown() {
      stopped = true;
      listening.abort();
      timers.forEach(clearTimeout);
      timers.clear();
      stopTracks(stream);
      if (still.src) URL.revokeObjectURL(still.src);
    },
  };
}
