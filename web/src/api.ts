// The Gateway's HTTP API (DESIGN.md, "HTTP API"), with the retry a venue's
// Wi-Fi needs: a submission keeps one Idempotency-Key across its retries,
// so a request that reached the Gateway before the connection dropped is
// answered with the same job, never a second one.

export interface Style {
  id: string;
  name: string;
  description: string;
  preview?: string; // absent for a style without an example
  generated?: Generated; // drawn by a hosted model (absent: made here)
  localized?: Record<string, StyleText>; // by language code ("ko"); see styletext.ts
}
export interface StyleText {
  name: string;
  description: string;
}
// Generated: who draws a generated style (the processor the photo is sent
// to), its list price per image, and whether the event's budget still
// takes one.
export interface Generated {
  processor: string; // "Google Vertex AI"
  model: string;
  priceUSD: number;
  priceAsOf: string;
  available: boolean;
}
// What a photo must be, as the Gateway is configured (GET /v1/styles's
// "photo"): the app checks a photo with these numbers before sending it.
export interface PhotoLimits {
  minSide: number;
  maxAspect: number;
  maxBytes: number;
  maxPixels: number;
}
export interface Catalogue {
  styles: Style[];
  photo?: PhotoLimits; // absent from an older Gateway: the Gateway's check alone
}
export interface Output {
  url: string;
  width: number;
  height: number;
  contentType: string;
}
export interface Job {
  id: string;
  status: "queued" | "running" | "succeeded" | "failed";
  style: string;
  priority: string;
  createdAt: string;
  queue?: { position: number; etaSeconds?: number };
  outputs?: Output[];
  error?: { code: string; message: string };
  pickup?: string; // the pick-up code, only in the answer that made the job (the Gateway keeps its hash)
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly retryAfterMs?: number,
    // reason: which limit refused it (the Gateway's error.reason), e.g.
    // "generated_budget_spent", which no retry passes.
    readonly reason?: string,
  ) {
    super(message);
    this.name = "ApiError";
  }
}

export type FetchFn = (input: string, init?: RequestInit) => Promise<Response>;
export type TokenFn = () => Promise<string | null>;

export interface RetryOptions {
  maxAttempts?: number; // in all, the first one included
  baseMs?: number;
  maxMs?: number;
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
  // waiting(true) while the app waits to try again (no network, Gateway
  // busy), waiting(false) once an attempt is under way again.
  onWaiting?: (waiting: boolean, attempt: number) => void;
  // Resolves when the browser says it is online again (or at once).
  online?: () => Promise<void>;
}

// retryable: worth trying again with the same key. A network error (fetch
// throws TypeError), the Gateway unavailable or overloaded, or the same key
// still being processed (409 already_exists).
// BUDGET_SPENT: the event's budget for generated styles is spent (429 with
// this reason): final, unlike a rate limit's 429; the local styles work.
export const BUDGET_SPENT = "generated_budget_spent";

export function retryable(err: unknown): boolean {
  if (err instanceof ApiError) {
    if (err.reason === BUDGET_SPENT) return false;
    return err.status === 503 || err.status === 502 || err.status === 504 || err.status === 429 ||
      (err.status === 409 && err.code === "already_exists");
  }
  return err instanceof TypeError; // fetch's network failure
}

// backoffMs: exponential with jitter (half fixed, half random), capped.
export function backoffMs(attempt: number, baseMs = 500, maxMs = 15000, random = Math.random): number {
  const exp = Math.min(maxMs, baseMs * 2 ** attempt);
  return Math.round(exp / 2 + (exp / 2) * random());
}

export async function withRetry<T>(fn: (attempt: number) => Promise<T>, o: RetryOptions = {}): Promise<T> {
  const max = o.maxAttempts ?? 12;
  const sleep = o.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  for (let attempt = 0; ; attempt++) {
    try {
      const v = await fn(attempt);
      if (attempt > 0) o.onWaiting?.(false, attempt);
      return v;
    } catch (err) {
      if (!retryable(err) || attempt + 1 >= max) {
        if (attempt > 0) o.onWaiting?.(false, attempt);
        throw err;
      }
      o.onWaiting?.(true, attempt + 1);
      let wait = backoffMs(attempt, o.baseMs, o.maxMs, o.random);
      if (err instanceof ApiError && err.retryAfterMs !== undefined) wait = Math.max(wait, err.retryAfterMs);
      await Promise.all([sleep(wait), o.online?.()]);
    }
  }
}

export function newIdempotencyKey(): string {
  return crypto.randomUUID();
}

// A submission: one photo, one key, however many attempts it takes.
export interface Submission {
  photo: Blob;
  style: string;
  consent: string;
  priority?: "online" | "booth";
  email?: string;
  // The channels chosen ("email,phone,push", or "none") and the number to
  // text; absent: the Gateway's defaults.
  notify?: string;
  phone?: string;
  key: string;
}

export class Api {
  constructor(
    readonly baseUrl: string,
    private token: TokenFn,
    private fetchFn: FetchFn = (i, init) => fetch(i, init),
    // appCheck gives the Firebase App Check token job submissions carry.
    private appCheck: TokenFn = async () => null,
  ) {}

  private async call<T>(path: string, init: RequestInit = {}, auth = true): Promise<T> {
    const headers = new Headers(init.headers);
    if (auth) {
      const t = await this.token();
      if (!t) throw new ApiError(401, "unauthenticated", "not signed in");
      headers.set("Authorization", "Bearer " + t);
    }
    const r = await this.fetchFn(this.baseUrl + path, { ...init, headers });
    if (!r.ok) {
      let code = "unknown";
      let message = r.statusText || "HTTP " + r.status;
      let reason: string | undefined;
      try {
        const body = (await r.json()) as { error?: { code?: string; message?: string; reason?: string } };
        code = body.error?.code ?? code;
        message = body.error?.message ?? message;
        reason = body.error?.reason;
      } catch {
        // not JSON
      }
      const ra = Number(r.headers.get("Retry-After"));
      throw new ApiError(r.status, code, message, Number.isFinite(ra) && ra > 0 ? ra * 1000 : undefined, reason);
    }
    return (await r.json()) as T;
  }

  async styles(): Promise<Style[]> {
    return (await this.catalogue()).styles;
  }

  // catalogue: the styles and the photo limits, one request.
  async catalogue(): Promise<Catalogue> {
    return this.call<Catalogue>("/v1/styles", {}, false);
  }

  async job(id: string): Promise<Job> {
    return (await this.call<{ job: Job }>("/v1/jobs/" + encodeURIComponent(id))).job;
  }

  async jobs(limit = 20, pageToken = ""): Promise<{ jobs: Job[]; nextPageToken?: string }> {
    const q = new URLSearchParams({ limit: String(limit) });
    if (pageToken) q.set("pageToken", pageToken);
    return this.call("/v1/jobs?" + q.toString());
  }

  // boothJobs: the event's booth jobs, every staff member's (staff only).
  async boothJobs(limit = 20): Promise<{ jobs: Job[]; nextPageToken?: string }> {
    return this.call("/v1/jobs?" + new URLSearchParams({ scope: "booth", limit: String(limit) }).toString());
  }

  // pickup opens a job by its pick-up code (the kiosk's QR code), without
  // an account; the code goes in the body, never in a URL.
  async pickup(job: string, code: string): Promise<Job> {
    return (await this.call<{ job: Job }>("/v1/pickup", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ job, code }),
    }, false)).job;
  }

  // newPickup issues a new pick-up code for a job (its owner or the
  // event's staff); the job's previous code stops working.
  async newPickup(job: string): Promise<string> {
    return (await this.call<{ pickup: string }>("/v1/jobs/" + encodeURIComponent(job) + "/pickup", { method: "POST" })).pickup;
  }

  // adopt moves a guest's jobs to the signed-in account (the guest's ID
  // token proves the app held the guest); safe to retry: a second call
  // moves nothing more.
  async adopt(guestToken: string, o: RetryOptions = {}): Promise<number> {
    return withRetry(async () => (await this.call<{ moved: number }>("/v1/jobs:adopt", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ guestToken }),
    })).moved, { maxAttempts: 5, ...o });
  }

  // registerDevice hands this browser's push token to the Gateway
  // (devices/{uid}); registering it again is harmless.
  async registerDevice(token: string): Promise<void> {
    await withRetry(() => this.call<{ registered: boolean }>("/v1/devices", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ token }),
    }), { maxAttempts: 3 });
  }

  // submit posts the job, retrying with the same Idempotency-Key.
  async submit(s: Submission, o: RetryOptions = {}): Promise<Job> {
    return withRetry(async () => {
      const form = new FormData();
      form.append("style", s.style);
      form.append("consent", s.consent);
      if (s.priority) form.append("priority", s.priority);
      if (s.email) form.append("email", s.email);
      if (s.notify) form.append("notify", s.notify);
      if (s.phone) form.append("phone", s.phone);
      form.append("photo", s.photo, "photo.jpg");
      const headers: Record<string, string> = { "Idempotency-Key": s.key };
      const appCheck = await this.appCheck();
      if (appCheck) headers["X-Firebase-AppCheck"] = appCheck;
      const r = await this.call<{ job: Job }>("/v1/jobs", { method: "POST", body: form, headers });
      return r.job;
    }, o);
  }
}
