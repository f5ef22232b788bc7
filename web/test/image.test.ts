import { describe, expect, it } from "vitest";
import { fitWithin, photoProblem } from "../src/image";

describe("fitWithin", () => {
  it("keeps small images as they are", () => {
    expect(fitWithin(800, 600)).toEqual({ width: 800, height: 600 });
    expect(fitWithin(2048, 1536)).toEqual({ width: 2048, height: 1536 });
  });
  it("scales the longer side to 2048, landscape and portrait", () => {
    expect(fitWithin(4032, 3024)).toEqual({ width: 2048, height: 1536 });
    expect(fitWithin(3024, 4032)).toEqual({ width: 1536, height: 2048 });
    expect(fitWithin(6000, 6000)).toEqual({ width: 2048, height: 2048 });
  });
  it("never rounds a side to zero", () => {
    expect(fitWithin(100000, 10)).toEqual({ width: 2048, height: 1 });
  });
  it("takes another limit", () => {
    expect(fitWithin(1000, 500, 100)).toEqual({ width: 100, height: 50 });
  });
  it("rejects empty sizes", () => {
    expect(() => fitWithin(0, 10)).toThrow();
  });
});

describe("photoProblem", () => {
  const lim = { minSide: 256, maxAspect: 4, maxBytes: 15 << 20, maxPixels: 25_000_000 };
  it.each([
    [1, 1, "photo_too_small"],
    [24, 24, "photo_too_small"],
    [2048, 255, "photo_too_small"],
    [1025, 256, "photo_too_elongated"],
    [256, 2048, "photo_too_elongated"],
  ])("refuses %ix%i (%s)", (w, h, key) => {
    expect(photoProblem(w, h, 1000, lim)?.key).toBe(key);
  });
  it.each([[256, 256], [1024, 256], [2048, 1536], [256, 1024]])("accepts %ix%i", (w, h) => {
    expect(photoProblem(w, h, 1000, lim)).toBeNull();
  });
  it("says the numbers it applies", () => {
    expect(photoProblem(24, 24, 10, lim)).toEqual({ key: "photo_too_small", vars: { w: 24, h: 24, min: 256 } });
    expect(photoProblem(2000, 300, 10, lim)).toEqual({ key: "photo_too_elongated", vars: { w: 2000, h: 300, ratio: 4 } });
  });
  it("refuses too many bytes", () => {
    expect(photoProblem(1000, 1000, (15 << 20) + 1, lim)?.key).toBe("photo_too_large");
  });
  it("leaves the check to the Gateway when it gave no limits", () => {
    expect(photoProblem(1, 1, 10, undefined)).toBeNull();
  });
});
