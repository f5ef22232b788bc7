import { describe, expect, it } from "vitest";
import { fitWithin } from "../src/image";

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
