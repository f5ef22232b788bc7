import { describe, expect, it } from "vitest";
import { I18n } from "../src/i18n";
import { deriveStatus, failureAdvice, isFinal, queueText } from "../src/status";

describe("deriveStatus", () => {
  it("follows DESIGN.md: error, then succeeded, then running, else queued", () => {
    expect(deriveStatus(undefined, undefined)).toBe("queued");
    expect(deriveStatus(null, null)).toBe("queued");
    expect(deriveStatus({ state: "running" }, null)).toBe("running");
    expect(deriveStatus({ state: "succeeded" }, null)).toBe("succeeded");
    // An error document wins, also over a response (a failed retry after a
    // running attempt).
    expect(deriveStatus({ state: "running" }, { code: "no_face" })).toBe("failed");
    expect(deriveStatus({ state: "succeeded" }, { code: "internal" })).toBe("failed");
    expect(deriveStatus({ state: "other" }, null)).toBe("queued");
  });
  it("knows the final states", () => {
    expect(isFinal("succeeded")).toBe(true);
    expect(isFinal("failed")).toBe(true);
    expect(isFinal("queued")).toBe(false);
    expect(isFinal("running")).toBe(false);
  });
  it("advises by error code", () => {
    expect(failureAdvice("no_face")).toBe("advice_no_face");
    expect(failureAdvice("invalid_input")).toBe("advice_invalid_input");
    expect(failureAdvice("internal")).toBe("advice_retry");
  });
});

describe("queueText", () => {
  const { t: en } = new I18n("en");
  const { t: ko } = new I18n("ko");
  it("says how many are ahead, and the ETA only when the Gateway measured one", () => {
    expect(queueText(en, { position: 4, etaSeconds: 30 })).toBe("4 ahead of yours, ready in about 30 s");
    expect(queueText(en, { position: 4 })).toBe("4 ahead of yours");
    expect(queueText(en, { position: 0, etaSeconds: 0 })).toBe("Yours is next, ready in about 1 s");
    expect(queueText(en, { position: 0 })).toBe("Yours is next");
    expect(queueText(ko, { position: 2, etaSeconds: 180 })).toBe("앞에 2장 대기 중, 약 3분 후 완성");
  });
});
