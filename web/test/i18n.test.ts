import { afterEach, describe, expect, it, vi } from "vitest";
import { clock, duration, I18n, initialLang, LANG_KEY, pickLang } from "../src/i18n";

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
    const { t: en } = new I18n("en");
    const { t: ko } = new I18n("ko");
    expect(en("queue_ahead", { n: 3, eta: duration(en, 45) })).toBe("3 ahead of yours, ready in about 45 s");
    expect(ko("queue_ahead", { n: 3, eta: duration(ko, 180) })).toBe("앞에 3장 대기 중, 약 3분 후 완성");
  });
});

// I18n: the app's one language holder (ctx.i18n). Views keep its t, taken
// once per render, so t must follow the holder's language.
describe("I18n", () => {
  afterEach(() => { vi.unstubAllGlobals(); });
  const storage = () => {
    const kept = new Map<string, string>();
    vi.stubGlobal("localStorage", { getItem: (k: string) => kept.get(k) ?? null, setItem: (k: string, v: string) => { kept.set(k, v); } });
    return kept;
  };
  it("switches the language of its bound t and remembers the choice on the device", () => {
    const kept = storage();
    const i18n = new I18n("en");
    const { t } = i18n;
    expect(t("sign_out")).toBe("Sign out");
    i18n.choose("ko");
    expect(i18n.lang).toBe("ko");
    expect(t("sign_out")).toBe("로그아웃");
    expect(kept.get(LANG_KEY)).toBe("ko");
  });
  it("keeps its language to itself: another holder (another start of the app) is not switched", () => {
    storage();
    const one = new I18n("en");
    const other = new I18n("en");
    one.choose("ko");
    expect(other.lang).toBe("en");
    expect(other.t("sign_out")).toBe("Sign out");
  });
  it("still switches when the device cannot store the choice (private mode)", () => {
    vi.stubGlobal("localStorage", { setItem: () => { throw new DOMException("quota", "QuotaExceededError"); } });
    const i18n = new I18n("en");
    i18n.choose("ko");
    expect(i18n.t("sign_out")).toBe("로그아웃");
  });
});
