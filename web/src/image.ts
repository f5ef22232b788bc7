// Client-side preparation of a photo: EXIF orientation applied, at most
// MAX_EDGE pixels on the longer side, JPEG. A 4 MB phone photo becomes a few
// hundred KB, and HEIC (where the browser decodes it) arrives as JPEG.
import type { PhotoLimits } from "./api";

export const MAX_EDGE = 2048;
export const JPEG_QUALITY = 0.85;

// fitWithin scales (w, h) so that the longer side is at most max, keeping
// the aspect ratio; images already small enough keep their size.
export function fitWithin(w: number, h: number, max = MAX_EDGE): { width: number; height: number } {
  if (!(w > 0 && h > 0)) throw new Error(`invalid image size ${w}x${h}`);
  const long = Math.max(w, h);
  if (long <= max) return { width: w, height: h };
  const k = max / long;
  return { width: Math.max(1, Math.round(w * k)), height: Math.max(1, Math.round(h * k)) };
}

export interface Prepared {
  blob: Blob;
  width: number;
  height: number;
}

export async function prepareImage(file: Blob): Promise<Prepared> {
  // imageOrientation "from-image" applies the EXIF orientation, so a
  // portrait taken with a rotated phone stays upright.
  const bmp = await createImageBitmap(file, { imageOrientation: "from-image" });
  try {
    return await encodeJPEG(bmp, bmp.width, bmp.height);
  } finally {
    bmp.close();
  }
}

// encodeJPEG draws a source (bitmap or video frame) scaled to fit and
// encodes it as JPEG.
export async function encodeJPEG(src: CanvasImageSource, w: number, h: number): Promise<Prepared> {
  const { width, height } = fitWithin(w, h);
  const canvas = document.createElement("canvas");
  canvas.width = width;
  canvas.height = height;
  const ctx = canvas.getContext("2d");
  if (!ctx) throw new Error("no 2d canvas");
  ctx.imageSmoothingQuality = "high";
  ctx.drawImage(src, 0, 0, width, height);
  const blob = await new Promise<Blob | null>((res) => canvas.toBlob(res, "image/jpeg", JPEG_QUALITY));
  if (!blob) throw new Error("could not encode the photo");
  return { blob, width, height };
}


// A photo the Gateway would refuse, said in the user's words (a message
// key and its values), or null when it passes. Checked on the photo as it
// is sent (after prepareImage), with the Gateway's own limits.
export interface PhotoProblem {
  key: "photo_too_small" | "photo_too_elongated" | "photo_too_large";
  vars: Record<string, number | string>;
}

export function photoProblem(width: number, height: number, bytes: number, lim?: PhotoLimits): PhotoProblem | null {
  if (!lim) return null;
  const short = Math.min(width, height), long = Math.max(width, height);
  if (lim.minSide > 0 && short < lim.minSide) return { key: "photo_too_small", vars: { w: width, h: height, min: lim.minSide } };
  if (lim.maxAspect > 0 && long > lim.maxAspect * short) return { key: "photo_too_elongated", vars: { w: width, h: height, ratio: lim.maxAspect } };
  if (lim.maxBytes > 0 && bytes > lim.maxBytes) return { key: "photo_too_large", vars: { mb: Math.floor(lim.maxBytes / (1 << 20)) } };
  return null;
}
