// A job's status, derived from its documents as DESIGN.md says: an error
// document -> failed; a response succeeded -> succeeded; a response
// running -> running; otherwise queued.
import { duration, type Translate } from "./i18n";

export type Status = "queued" | "running" | "succeeded" | "failed";

export interface ResponseDoc {
  state?: string;
  startedAt?: { toDate(): Date }; // a Firestore Timestamp
}
export interface ErrorDoc {
  code?: string;
  message?: string;
  retryable?: boolean;
}

export function deriveStatus(response?: ResponseDoc | null, error?: ErrorDoc | null): Status {
  if (error) return "failed";
  if (response?.state === "succeeded") return "succeeded";
  if (response?.state === "running") return "running";
  return "queued";
}

export function isFinal(s: Status): boolean {
  return s === "succeeded" || s === "failed";
}

// What a user can do about a failure, by error code (a message key).
export function failureAdvice(code?: string): string {
  switch (code) {
    case "no_face":
      return "advice_no_face";
    case "invalid_input":
      return "advice_invalid_input";
    default:
      return "advice_retry";
  }
}

// queueText: how many jobs are ahead (the Gateway's queue.position counts
// them), with the ETA once the Gateway has one (it needs two recent
// completions to measure the pace).
export function queueText(t: Translate, q: { position: number; etaSeconds?: number }): string {
  const eta = typeof q.etaSeconds === "number" ? duration(t, q.etaSeconds) : "";
  if (q.position <= 0) return eta ? t("queue_next", { eta }) : t("queue_next_only");
  return eta ? t("queue_ahead", { n: q.position, eta }) : t("queue_ahead_only", { n: q.position });
}
