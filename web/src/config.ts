// Where the app finds its Firebase project and the Gateway.
//
// In the cloud Hosting serves the Firebase web config at the reserved
// /__/firebase/init.json; the Gateway URL comes from /studio.json, written
// next to the build at deploy time (or VITE_GATEWAY_URL at build time).
// Locally emulators/stack.sh writes /studio.json with the emulator hosts
// and a Firebase config for the emulators (any API key works there).
import type { FirebaseOptions } from "firebase/app";

export interface StudioConfig {
  gatewayUrl: string;
  event: string; // the event's id: the staff claim names the events a user is staff of
  eventName: string;
  // Days a job is kept (the event's retention): the consent text states
  // them; the Gateway's expireAt and the buckets delete after them.
  retentionDays: number;
  firebase: FirebaseOptions;
  authEmulator?: string; // "http://127.0.0.1:9099"
  firestoreEmulator?: string; // "127.0.0.1:8086"
  googleClientId?: string; // OAuth web client for "Continue with Google"
  // The channels the upload screen offers (absent: email only) and web
  // push's public VAPID key (terraform's web_push_vapid_key).
  channels?: { email?: boolean; phone?: boolean; push?: boolean };
  vapidKey?: string;
  // Firebase App Check: siteKey (reCAPTCHA Enterprise) in the cloud; locally
  // the stack's stand-in, which exchanges its debug token for tokens.
  appCheck?: { siteKey?: string; standinUrl?: string; debugToken?: string };
}

async function getJSON(url: string): Promise<Record<string, unknown> | undefined> {
  try {
    const r = await fetch(url, { cache: "no-store" });
    if (!r.ok) return undefined;
    return (await r.json()) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

// The app must not promise other days than the stack deletes after: a
// studio.json without a valid retentionDays is refused, like one without a
// Gateway.
export function retentionDays(v: unknown): number {
  if (typeof v !== "number" || !Number.isInteger(v) || v < 1) throw new Error("no retentionDays in /studio.json: the consent text cannot state how long photos are kept");
  return v;
}

export async function loadConfig(): Promise<StudioConfig> {
  const [init, studio] = await Promise.all([getJSON("/__/firebase/init.json"), getJSON("/studio.json")]);
  const s = (studio ?? {}) as Partial<StudioConfig>;
  const firebase: FirebaseOptions = { ...(init as FirebaseOptions | undefined), ...(s.firebase ?? {}) };
  const gatewayUrl = (s.gatewayUrl || import.meta.env.VITE_GATEWAY_URL || "").replace(/\/+$/, "");
  if (!gatewayUrl) throw new Error("no Gateway URL: /studio.json or VITE_GATEWAY_URL");
  if (!firebase.projectId || !firebase.apiKey) throw new Error("no Firebase config: /__/firebase/init.json");
  return {
    gatewayUrl,
    event: s.event || import.meta.env.VITE_EVENT || "local",
    eventName: s.eventName || import.meta.env.VITE_EVENT_NAME || "Tiger Studio",
    retentionDays: retentionDays(s.retentionDays),
    firebase,
    authEmulator: s.authEmulator,
    firestoreEmulator: s.firestoreEmulator,
    googleClientId: s.googleClientId || import.meta.env.VITE_GOOGLE_CLIENT_ID || undefined,
    channels: s.channels,
    vapidKey: s.vapidKey || undefined,
    appCheck: s.appCheck,
  };
}
