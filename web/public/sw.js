// The app's service worker: web push (issue 19). FCM delivers the message
// Notify sends (FCM HTTP v1: notification {title, body}, data {jobId,
// status, style}) as a push event with FCM's JSON payload
// {notification, data, from, fcmMessageId, priority}; the worker shows it
// with the style's preview and opens the job on a tap. While the app is
// open in front, the app's live status shows the news, so the worker hands
// the message to the app instead of a duplicate notification.
/* eslint-env serviceworker */

self.addEventListener("install", () => self.skipWaiting());
self.addEventListener("activate", (e) => e.waitUntil(self.clients.claim()));

let config;
// The Gateway's address (for the style's preview), from the app's config.
async function gatewayUrl() {
  if (!config) {
    config = fetch("/studio.json", { cache: "no-store" }).then((r) => (r.ok ? r.json() : {})).catch(() => ({}));
  }
  const c = await config;
  return (c.gatewayUrl || "").replace(/\/+$/, "");
}

function payload(e) {
  if (!e.data) return {};
  try {
    return e.data.json();
  } catch {
    return { notification: { body: e.data.text() } };
  }
}

// Where a tap leads: the job's page in the app (the owner's result, or
// what to do when it failed).
function target(data) {
  return data && data.jobId ? "/#/job/" + encodeURIComponent(data.jobId) : "/#/photos";
}

async function inFront() {
  const wins = await self.clients.matchAll({ type: "window", includeUncontrolled: true });
  return wins.filter((c) => c.visibilityState === "visible" && c.focused);
}

self.addEventListener("push", (e) => {
  e.waitUntil((async () => {
    const msg = payload(e);
    const data = msg.data || {};
    const front = await inFront();
    if (front.length > 0) {
      for (const c of front) c.postMessage({ type: "push", data });
      return;
    }
    const n = msg.notification || {};
    const base = await gatewayUrl();
    const preview = data.style && base ? `${base}/v1/styles/${encodeURIComponent(data.style)}/preview.jpg` : undefined;
    await self.registration.showNotification(n.title || "Tiger Studio", {
      body: n.body || "",
      icon: "/icons/icon-192.png",
      badge: "/icons/icon-192.png",
      image: n.image || preview,
      tag: data.jobId ? "job-" + data.jobId : undefined,
      data: { url: target(data), jobId: data.jobId || "" },
    });
  })());
});

self.addEventListener("notificationclick", (e) => {
  e.notification.close();
  const url = new URL((e.notification.data && e.notification.data.url) || "/", self.location.origin).href;
  e.waitUntil((async () => {
    const wins = await self.clients.matchAll({ type: "window", includeUncontrolled: true });
    const win = wins.find((c) => new URL(c.url).origin === self.location.origin);
    if (win) {
      const moved = await win.navigate(url).catch(() => null);
      await (moved || win).focus().catch(() => {});
      return;
    }
    await self.clients.openWindow(url);
  })());
});
