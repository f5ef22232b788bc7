// Web push (issue 19): after a submission, never on load (browsers hold a
// prompt on load against the site), the job's screen offers "Tell me when
// it's ready"; on consent the app registers its own service worker
// (public/sw.js), gets this browser's FCM registration token for the
// event's VAPID key and sends it to the Gateway (POST /v1/devices). Notify
// pushes to the tokens of devices/{uid} and removes those FCM rejects (a
// browser that revoked the permission, an app reinstalled); the app forgets
// its own copy when it sees the permission gone.
import { getApp } from "firebase/app";
import type { StudioConfig } from "./config";

// What the job's screen can offer on this browser.
export type PushOffer =
  | "off" // the event has no push, or the browser cannot do it
  | "home-screen" // iOS Safari: push only for an app added to the Home Screen
  | "ask" // permission not asked yet
  | "granted"
  | "denied";

// TokenSource gives FCM's registration token for this browser, tied to
// the app's service worker registration.
export type TokenSource = (reg: ServiceWorkerRegistration) => Promise<string>;

const TOKEN_KEY = "push-token";

function isIOS(): boolean {
  const ua = navigator.userAgent;
  // iPadOS reports itself as a Mac with touch.
  return /iPhone|iPad|iPod/.test(ua) || (ua.includes("Macintosh") && navigator.maxTouchPoints > 1);
}

function standalone(): boolean {
  return window.matchMedia?.("(display-mode: standalone)").matches || (navigator as { standalone?: boolean }).standalone === true;
}

export function pushOffer(cfg: StudioConfig): PushOffer {
  if (!cfg.vapidKey || cfg.channels?.push === false) return "off";
  // iOS (16.4 and later) gives push only to a web app on the Home Screen;
  // in Safari the app says how to add it instead of offering what fails.
  if (isIOS() && !standalone()) return "home-screen";
  if (!("serviceWorker" in navigator) || !("Notification" in window) || !("PushManager" in window)) return "off";
  if (Notification.permission === "granted") return "granted";
  if (Notification.permission === "denied") return "denied";
  return "ask";
}

// fcmTokens: Firebase Cloud Messaging's getToken with the event's VAPID
// key, loaded only when the attendee asks for push.
export function fcmTokens(vapidKey: string): TokenSource {
  return async (reg) => {
    const { getMessaging, getToken } = await import("firebase/messaging");
    return getToken(getMessaging(getApp()), { vapidKey, serviceWorkerRegistration: reg });
  };
}

// standinTokens: the local stack's STAND-IN for FCM's token exchange with
// Google (fcmregistrations.googleapis.com cannot be reached offline, and
// FCM has no emulator): a token of the same use, "standin-" and random,
// kept per browser as FCM keeps its own. Nothing can be pushed to it from
// outside; the browser tests deliver pushes to the service worker through
// Chromium's DevTools protocol.
export function standinTokens(): TokenSource {
  return async () => localStorage.getItem(TOKEN_KEY) || "standin-" + crypto.randomUUID();
}

// tokenSource: FCM in the cloud, the stand-in on the emulators.
export function tokenSource(cfg: StudioConfig): TokenSource {
  return cfg.authEmulator ? standinTokens() : fcmTokens(cfg.vapidKey ?? "");
}

// enablePush asks for the permission (call it from a tap), registers the
// service worker, and hands the token to register (the Gateway). It
// answers the permission the browser gave.
export async function enablePush(tokens: TokenSource, register: (token: string) => Promise<void>): Promise<NotificationPermission> {
  const permission = await Notification.requestPermission();
  if (permission !== "granted") {
    forgetToken();
    return permission;
  }
  const reg = await navigator.serviceWorker.register("/sw.js");
  await navigator.serviceWorker.ready;
  const token = await tokens(reg);
  await register(token);
  try {
    localStorage.setItem(TOKEN_KEY, token);
  } catch {
    // Storage off: the token is registered all the same.
  }
  return "granted";
}

function forgetToken(): void {
  try {
    localStorage.removeItem(TOKEN_KEY);
  } catch {
    // nothing kept
  }
}

// dropRevoked: the browser's permission was taken back since this browser
// registered: its token is dead (FCM rejects it from now on, and Notify
// then removes it from the account), so the app forgets it and offers push
// again only when asked.
export function dropRevoked(): void {
  if ("Notification" in window && Notification.permission !== "granted") forgetToken();
}

export function registeredToken(): string {
  try {
    return localStorage.getItem(TOKEN_KEY) ?? "";
  } catch {
    return "";
  }
}
