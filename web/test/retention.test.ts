// The consent text states the event's retention (retentionDays in
// /studio.json), which the Gateway's expireAt and the buckets' lifecycle
// delete after: the app states what it is given and refuses to guess.
import { describe, expect, it } from "vitest";
import { consentVersion } from "../src/app";
import { retentionDays } from "../src/config";
import { translate } from "../src/i18n";

describe("retention in the consent", () => {
  it("states the configured days", () => {
    expect(translate("en", "consent_2", { days: 30 })).toContain("for 30 days");
    expect(translate("en", "consent_2", { days: 7 })).toContain("for 7 days");
    expect(translate("ko", "consent_2", { days: 30 })).toContain("30일간");
  });

  it("versions the consent by its days, so a change asks again", () => {
    expect(consentVersion({ retentionDays: 7 })).not.toEqual(consentVersion({ retentionDays: 30 }));
    expect(consentVersion({ retentionDays: 30 })).toMatch(/^[A-Za-z0-9._-]{1,64}$/); // what the Gateway accepts
  });

  it("refuses a studio.json without valid days", () => {
    expect(retentionDays(7)).toBe(7);
    for (const bad of [undefined, 0, -1, 2.5, "7", null]) expect(() => retentionDays(bad)).toThrow(/retentionDays/);
  });
});
