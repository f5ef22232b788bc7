import { describe, expect, it } from "vitest";
import { clock, duration, initialLang, pickLang, setLang, t } from "../src/i18n";

describe("i18n", () => {
  it("picks Korean or English from the browser's languages", () => {
    expect(pickLang(["ko-KR", "en-US"])).toBe("ko");
    expect(pickLang(["de-DE", "en-GB"])).toBe("en");
    expect(pickLang(["fr"])).toBe("en");
  });
  it("keeps the user's stored choice over the browser's languages", () => {
    expect(initialLang("en", ["ko-KR"])).toBe("en");
    expect(initialLang("ko", ["en-US"])).toBe("ko");
    expect(initialLang(null, ["ko-KR"])).toBe("ko");
    expect(initialLang("fr", ["ko-KR"])).toBe("ko"); // not a language of the app: ignored
  });
  it("shows an elapsed time as m:ss", () => {
    expect(clock(0)).toBe("0:00");
    expect(clock(12.7)).toBe("0:12");
    expect(clock(65)).toBe("1:05");
    expect(clock(-3)).toBe("0:00");
  });
  it("fills in variables", () => {
    setLang("en");
    expect(t("queue_ahead", { n: 3, eta: duration(45) })).toBe("3 ahead of yours, ready in about 45 s");
    setLang("ko");
    expect(t("queue_ahead", { n: 3, eta: duration(180) })).toBe("앞에 3장 대기 중, 약 3분 후 완성");
    setLang("en");
  });
});
