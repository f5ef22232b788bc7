// What the app says when the Gateway refuses a submission: words for each
// of the API's error codes (DESIGN.md, "HTTP API"), never the Gateway's own
// message, which is written for developers; and whether sending the same
// photo again can help ("Try again") or another photo is needed.
import { ApiError } from "./api";
import type { Key } from "./i18n";

export interface SubmitFailure {
  key: Key;
  retry: boolean; // the same photo may go through on another try
}

// The refusals whose words depend on the code alone.
const byCode: Readonly<Record<string, SubmitFailure>> = {
  too_large: { key: "err_too_large", retry: false },
  unsupported_media_type: { key: "err_unsupported", retry: false },
  unauthenticated: { key: "err_signin", retry: false },
  permission_denied: { key: "err_forbidden", retry: false },
  resource_exhausted: { key: "err_busy_user", retry: true },
  unavailable: { key: "err_unavailable", retry: true },
  already_exists: { key: "err_unavailable", retry: true },
};

export function submitFailure(err: unknown): SubmitFailure {
  if (!(err instanceof ApiError)) return { key: "err_network", retry: true }; // fetch's network failure
  if (err.code === "invalid_argument") {
    // The Gateway names the form field first ("photo: ...", "email: ...").
    if (err.message.startsWith("photo:")) return { key: "err_photo", retry: false };
    if (err.message.startsWith("email:")) return { key: "err_email", retry: false };
    return { key: "err_request", retry: false };
  }
  if (Object.hasOwn(byCode, err.code)) return { ...byCode[err.code] };
  return { key: "advice_retry", retry: err.status >= 500 };
}

// signInFailure: words for Firebase Auth's error codes on a password
// sign-in (the kiosk's staff sign-in).
export function signInFailure(err: unknown): Key {
  switch ((err as { code?: string }).code) {
    case "auth/wrong-password":
    case "auth/invalid-credential":
    case "auth/invalid-login-credentials":
    case "auth/user-not-found":
      return "signin_wrong";
    case "auth/too-many-requests":
      return "signin_too_many";
    case "auth/user-disabled":
      return "signin_disabled";
    case "auth/invalid-email":
    case "auth/missing-email":
      return "signin_invalid_email";
  }
  return "signin_failed";
}
