import { describe, expect, it } from "vitest";
import { Api, ApiError, backoffMs, retryable, withRetry } from "../src/api";

function jsonResponse(status: number, body: unknown, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json", ...headers } });
}

describe("backoffMs", () => {
  it("grows exponentially and is capped", () => {
    const fixed = () => 1; // the upper end of the jitter
    expect(backoffMs(0, 500, 15000, fixed)).toBe(500);
    expect(backoffMs(1, 500, 15000, fixed)).toBe(1000);
    expect(backoffMs(3, 500, 15000, fixed)).toBe(4000);
    expect(backoffMs(20, 500, 15000, fixed)).toBe(15000);
    expect(backoffMs(3, 500, 15000, () => 0)).toBe(2000); // at least half
  });
});

describe("retryable", () => {
  it("retries network errors, 503, 429 and an in-progress key, nothing else", () => {
    expect(retryable(new TypeError("Failed to fetch"))).toBe(true);
    expect(retryable(new ApiError(503, "unavailable", ""))).toBe(true);
    expect(retryable(new ApiError(429, "resource_exhausted", ""))).toBe(true);
    expect(retryable(new ApiError(409, "already_exists", ""))).toBe(true);
    expect(retryable(new ApiError(400, "invalid_argument", ""))).toBe(false);
    expect(retryable(new ApiError(401, "unauthenticated", ""))).toBe(false);
    expect(retryable(new ApiError(422, "idempotency_mismatch", ""))).toBe(false);
    expect(retryable(new Error("boom"))).toBe(false);
  });
});

describe("withRetry", () => {
  it("gives up after maxAttempts and reports waiting", async () => {
    const waits: boolean[] = [];
    let calls = 0;
    await expect(
      withRetry(
        async () => {
          calls++;
          throw new TypeError("offline");
        },
        { maxAttempts: 3, sleep: async () => {}, onWaiting: (w) => waits.push(w) },
      ),
    ).rejects.toThrow("offline");
    expect(calls).toBe(3);
    expect(waits).toEqual([true, true, false]);
  });

  it("honours Retry-After", async () => {
    const slept: number[] = [];
    let calls = 0;
    const v = await withRetry(
      async () => {
        if (calls++ === 0) throw new ApiError(503, "unavailable", "", 7000);
        return 42;
      },
      { sleep: async (ms) => void slept.push(ms), random: () => 0 },
    );
    expect(v).toBe(42);
    expect(slept).toEqual([7000]);
  });
});

describe("Api.submit", () => {
  it("retries network errors and 503 with the same Idempotency-Key, then returns the job", async () => {
    const seen: { key: string | null; auth: string | null; fields: string[] }[] = [];
    let n = 0;
    const fetchFn = async (_url: string, init?: RequestInit) => {
      const h = new Headers(init?.headers);
      const form = init?.body as FormData;
      seen.push({ key: h.get("Idempotency-Key"), auth: h.get("Authorization"), fields: [...form.keys()] });
      n++;
      if (n === 1) throw new TypeError("Failed to fetch");
      if (n === 2) return jsonResponse(503, { error: { code: "unavailable", message: "broker down" } });
      return jsonResponse(202, { job: { id: "j1", status: "queued" } });
    };
    const api = new Api("http://gw", async () => "tok", fetchFn);
    const waiting: boolean[] = [];
    const job = await api.submit(
      { photo: new Blob(["x"], { type: "image/jpeg" }), style: "studio", consent: "v1", key: "k-1" },
      { sleep: async () => {}, onWaiting: (w) => waiting.push(w) },
    );
    expect(job.id).toBe("j1");
    expect(seen.map((s) => s.key)).toEqual(["k-1", "k-1", "k-1"]);
    expect(seen.every((s) => s.auth === "Bearer tok")).toBe(true);
    expect(seen[0].fields.sort()).toEqual(["consent", "photo", "style"]);
    expect(waiting).toEqual([true, true, false]);
  });

  it("does not retry a 400 and surfaces the Gateway's error", async () => {
    let n = 0;
    const api = new Api("http://gw", async () => "tok", async () => {
      n++;
      return jsonResponse(400, { error: { code: "invalid_argument", message: "style: unknown" } });
    });
    const err = await api
      .submit({ photo: new Blob(["x"]), style: "nope", consent: "v1", key: "k" }, { sleep: async () => {} })
      .catch((e) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect(err.code).toBe("invalid_argument");
    expect(err.message).toBe("style: unknown");
    expect(n).toBe(1);
  });

  it("refuses to call without a token", async () => {
    const api = new Api("http://gw", async () => null, async () => jsonResponse(200, {}));
    await expect(api.jobs()).rejects.toMatchObject({ status: 401 });
  });
});

describe("Api.adopt", () => {
  it("posts the guest's token as JSON with the account's token, retrying a 503", async () => {
    const seen: { auth: string | null; body: string; type: string | null }[] = [];
    const replies = [jsonResponse(503, { error: { code: "unavailable", message: "busy" } }), jsonResponse(200, { moved: 3 })];
    const api = new Api("http://gw", async () => "account-token", async (url, init) => {
      expect(url).toBe("http://gw/v1/jobs:adopt");
      const h = new Headers(init?.headers);
      seen.push({ auth: h.get("Authorization"), body: String(init?.body), type: h.get("Content-Type") });
      return replies.shift()!;
    });
    expect(await api.adopt("guest-token", { sleep: async () => {} })).toBe(3);
    expect(seen).toHaveLength(2);
    expect(seen[1]).toEqual({ auth: "Bearer account-token", body: JSON.stringify({ guestToken: "guest-token" }), type: "application/json" });
  });
  it("does not retry a refusal", async () => {
    let calls = 0;
    const api = new Api("http://gw", async () => "t", async () => { calls++; return jsonResponse(403, { error: { code: "permission_denied", message: "only a guest's photos" } }); });
    await expect(api.adopt("x", { sleep: async () => {} })).rejects.toMatchObject({ status: 403, code: "permission_denied" });
    expect(calls).toBe(1);
  });
});
