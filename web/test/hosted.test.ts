import { describe, expect, it, vi } from "vitest";
import type { Style } from "../src/api";
import { Api, ApiError, BUDGET_SPENT, retryable } from "../src/api";
import { consentField, hasHostedConsent, offered, setHostedConsent } from "../src/hosted";

const store = new Map<string, string>();
vi.stubGlobal("localStorage", {
  getItem: (k: string) => store.get(k) ?? null,
  setItem: (k: string, v: string) => void store.set(k, v),
  removeItem: (k: string) => void store.delete(k),
});

const local: Style = { id: "sketch", name: "Sketch", description: "", preview: "" };
const gen = (id: string, available: boolean): Style => ({
  id, name: id, description: "", preview: "",
  generated: { processor: "Google Vertex AI", model: "gemini-2.5-flash-image", priceUSD: 0.039, priceAsOf: "2026-12-07", available },
});

describe("hosted styles", () => {
  it("offers local styles and the generated ones the budget still takes", () => {
    expect(offered([local, gen("anime", true), gen("oil", false)]).map((s) => s.id)).toEqual(["sketch", "anime"]);
    expect(offered([gen("oil", false)])).toEqual([]);
  });
  it("records the hosted processor's consent with a generated style's job only", () => {
    expect(consentField("2025-06-v1-7d", local)).toBe("2025-06-v1-7d");
    expect(consentField("2025-06-v1-7d", gen("anime", true))).toBe("2025-06-v1-7d-hosted");
    // The Gateway's consent field pattern.
    expect(consentField("2025-06-v1-7d", gen("anime", true))).toMatch(/^[A-Za-z0-9._-]{1,64}$/);
  });
  it("asks again for another processor or another consent text", () => {
    setHostedConsent("v1", "Google Vertex AI", true);
    expect(hasHostedConsent("v1", "Google Vertex AI")).toBe(true);
    expect(hasHostedConsent("v2", "Google Vertex AI")).toBe(false);
    expect(hasHostedConsent("v1", "Another Cloud")).toBe(false);
    setHostedConsent("v1", "Google Vertex AI", false);
    expect(hasHostedConsent("v1", "Google Vertex AI")).toBe(false);
  });
});

describe("the budget's refusal", () => {
  it("is final, unlike a rate limit's 429", () => {
    expect(retryable(new ApiError(429, "resource_exhausted", "at most 20 photos a minute"))).toBe(true);
    expect(retryable(new ApiError(429, "resource_exhausted", "budget spent", undefined, BUDGET_SPENT))).toBe(false);
  });
  it("reads the Gateway's reason", async () => {
    const api = new Api("http://gw", async () => "token", async () =>
      new Response(JSON.stringify({ error: { code: "resource_exhausted", message: "spent", reason: "generated_budget_spent" } }), { status: 429 }));
    const err = await api.catalogue().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect((err as ApiError).reason).toBe(BUDGET_SPENT);
  });
});
