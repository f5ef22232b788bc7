import { describe, expect, it } from "vitest";
import { duration, pickLang, setLang, t } from "../src/i18n";

describe("i18n", () => {
  it("picks Korean or English from the browser's languages", () => {
    expect(pickLang(["ko-KR", "en-US"])).toBe("ko");
    expect(pickLang(["de-DE", "en-GB"])).toBe("en");
    expect(pickLang(["fr"])).toBe("en");
  });
  it("fills in variables", () => {
    setLang("en");
    expect(t("queue_position", { position: 3, eta: duration(45) })).toBe("Position 3 in the queue, about 45 s");
    setLang("ko");
    expect(t("queue_position", { position: 3, eta: duration(180) })).toBe("대기 3번째, 약 3분");
    setLang("en");
  });
});
