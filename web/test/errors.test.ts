import { describe, expect, it } from "vitest";
import { ApiError } from "../src/api";
import { signInFailure, submitFailure } from "../src/errors";
import { I18n } from "../src/i18n";

const { t } = new I18n("en");

describe("submitFailure", () => {
  it.each([
    [new ApiError(400, "invalid_argument", "photo: image is too small or too elongated: 1x1 has a side shorter than 256 pixels"), "err_photo", false],
    [new ApiError(400, "invalid_argument", "email: not a valid address"), "err_email", false],
    [new ApiError(400, "invalid_argument", "style: unknown style \"x\""), "err_request", false],
    [new ApiError(413, "too_large", "photo: larger than 15728640 bytes"), "err_too_large", false],
    [new ApiError(415, "unsupported_media_type", "photo: unsupported image type"), "err_unsupported", false],
    [new ApiError(401, "unauthenticated", "invalid, expired or revoked ID token"), "err_signin", false],
    [new ApiError(403, "permission_denied", "booth priority is for event staff"), "err_forbidden", false],
    [new ApiError(429, "resource_exhausted", "at most 20 photos a minute"), "err_busy_user", true],
    [new ApiError(503, "unavailable", "the service cannot take jobs right now"), "err_unavailable", true],
    [new ApiError(409, "already_exists", "a job with this key is being submitted"), "err_unavailable", true],
    // An object's own property names are not codes the app knows.
    [new ApiError(400, "constructor", "?"), "advice_retry", false],
    [new TypeError("Failed to fetch"), "err_network", true],
    [new ApiError(500, "unknown", "Internal Server Error"), "advice_retry", true],
  ])("%s -> %s", (err, key, retry) => {
    expect(submitFailure(err)).toEqual({ key, retry });
  });
  it("never shows the Gateway's message", () => {
    const raw = "photo: image is too small or too elongated: 1x1 has a side shorter than 256 pixels";
    const said = t(submitFailure(new ApiError(400, "invalid_argument", raw)).key);
    expect(said).not.toContain("too elongated");
    expect(said).toMatch(/another photo/);
  });
});

describe("signInFailure", () => {
  it.each([
    ["auth/wrong-password", "signin_wrong"],
    ["auth/invalid-credential", "signin_wrong"],
    ["auth/user-not-found", "signin_wrong"],
    ["auth/too-many-requests", "signin_too_many"],
    ["auth/user-disabled", "signin_disabled"],
    ["auth/invalid-email", "signin_invalid_email"],
    ["auth/network-request-failed", "signin_failed"],
  ])("%s -> %s", (code, key) => {
    expect(signInFailure({ code })).toBe(key);
  });
  it("says no code", () => {
    expect(t(signInFailure({ code: "auth/wrong-password" }))).not.toMatch(/auth\//);
  });
});
