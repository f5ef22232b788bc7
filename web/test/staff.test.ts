import { describe, expect, it } from "vitest";
import { isStaffOf } from "../src/staff";

describe("isStaffOf", () => {
  it.each([
    ["staff of the event", { staff: ["gala", "fair"], email_verified: true }, "fair", true],
    ["staff of another event", { staff: ["gala"], email_verified: true }, "fair", false],
    ["unverified address", { staff: ["gala"], email_verified: false }, "gala", false],
    ["the old project-wide claim", { staff: true, email_verified: true }, "gala", false],
    ["no claim", { email_verified: true }, "gala", false],
  ])("%s", (_name, claims, event, want) => {
    expect(isStaffOf(claims as Record<string, unknown>, event)).toBe(want);
  });
});
