import { describe, expect, it } from "vitest";
import { pickupPath, pickupUrl } from "../src/links";

describe("pick-up links", () => {
  it("carry the job and its code in the fragment, encoded", () => {
    expect(pickupPath("0dd80144-7ef8", "Ab_-9")).toBe("#/pickup/0dd80144-7ef8/Ab_-9");
    expect(pickupPath("a b", "c/d")).toBe("#/pickup/a%20b/c%2Fd");
    expect(pickupUrl("j1", "code", "https://gala.web.app/")).toBe("https://gala.web.app/#/pickup/j1/code");
  });
});
