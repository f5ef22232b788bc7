// Web push on a phone (issue 19): after a submission the job's screen
// offers "Tell me when it's ready"; granted, the app registers its service
// worker and its token (the app's stand-in of FCM's token exchange: Google
// cannot be reached here) with the Gateway; a push in FCM's payload shape,
// delivered to the real service worker through Chromium's DevTools
// protocol (ServiceWorker.deliverPushMessage, what a push from FCM
// becomes), shows the notification with the style's preview, unless the
// app is open in front; a tap opens the job. Denied, the app says it will
// not notify and registers nothing.
import { after, afterEach, before, test } from "node:test";
import assert from "node:assert/strict";
import path from "node:path";
import { env, expectText, expectVisible, fixtures, launch, onPhone, shot, until } from "./harness.mjs";
import { noCSPViolations, watchCSP } from "./csp.mjs";

const portrait = path.join(fixtures, "portrait.png");
let browser;
before(async () => { browser = watchCSP(await launch()); });
after(async () => { await browser?.close(); });
afterEach(noCSPViolations);

// A document of the Firestore emulator, read as its admin ("Bearer owner").
async function firestoreDoc(docPath) {
  const r = await fetch(`http://${env.FIRESTORE_EMULATOR_HOST}/v1/projects/${env.GCLOUD_PROJECT}/databases/(default)/documents/${docPath}`,
    { headers: { Authorization: "Bearer owner" } });
  if (r.status === 404) return null;
  if (!r.ok) throw new Error(`${docPath}: ${r.status} ${await r.text()}`);
  return (await r.json()).fields;
}

// submitWithPush: a guest submits a photo with push ticked and lands on
// the job's screen; returns the job id.
async function submitWithPush(page) {
  await page.goto(env.WEB_URL + "/#/signin");
  await page.getByRole("button", { name: "Continue as guest" }).click();
  await page.getByRole("button", { name: "I agree" }).click();
  await expectVisible(page.getByRole("heading", { name: "Your photo" }));
  await page.getByLabel("Style").selectOption("sketch");
  await page.getByLabel("Take or choose a photo").setInputFiles(portrait);
  const pushBox = page.getByLabel("With a notification on this device");
  await pushBox.check();
  // Email stays offered; a guest without an address gets none anyway.
  await expectVisible(page.getByLabel("By email"));
  const submit = page.getByRole("button", { name: "Make my portrait" });
  await until("submit enabled", () => submit.isEnabled());
  await submit.click();
  await until("job page", () => /#\/job\//.test(page.url()));
  return decodeURIComponent(/#\/job\/([^/?]+)/.exec(page.url())[1]);
}

// The service worker's registration id, as the DevTools protocol names it.
async function registrationId(cdp, scope) {
  const regs = [];
  cdp.on("ServiceWorker.workerRegistrationUpdated", (e) => regs.push(...e.registrations));
  await cdp.send("ServiceWorker.enable");
  return until("service worker registration", () => regs.find((r) => r.scopeURL === scope && !r.isDeleted)?.registrationId);
}

// FCM's payload for a web push of Notify's message (FCM HTTP v1 sends
// notification and data; the browser's push event carries this JSON).
function fcmPayload(jobId) {
  return JSON.stringify({
    notification: { title: "Your portrait is ready", body: "Your Pencil sketch portrait is ready to download." },
    data: { jobId, status: "succeeded", style: "sketch" },
    from: "100000000001",
    priority: "normal",
    fcmMessageId: "standin-" + Date.now(),
  });
}

test("push granted: token registered, a push shows the notification with the preview, a tap opens the job", async () => {
  await onPhone(browser, "push-granted", async (page, context) => {
    const jobId = await submitWithPush(page);
    const ask = page.getByRole("button", { name: "Tell me when it's ready" });
    await expectVisible(ask);
    await shot(page, "push-1-offer");
    // The attendee taps and allows.
    await context.grantPermissions(["notifications"], { origin: env.WEB_URL });
    await ask.click();
    await expectText(page.locator("#push-status"), /We will tell this device/);
    await shot(page, "push-2-on");

    // The token the app registered is in the owner's devices/{uid}.
    const token = await page.evaluate(() => localStorage.getItem("push-token"));
    assert.match(token ?? "", /^standin-/);
    const uid = (await firestoreDoc(`requests/${jobId}`)).uid.stringValue;
    await until("token in devices/{uid}", async () => {
      const d = await firestoreDoc(`devices/${uid}`);
      return d?.tokens?.arrayValue?.values?.some((v) => v.stringValue === token);
    });
    const req = await firestoreDoc(`requests/${jobId}`);
    const chosen = req.notify.mapValue.fields.channels.arrayValue.values.map((v) => v.stringValue);
    assert.ok(chosen.includes("push"), `request's channels ${chosen}`);

    const sw = context.serviceWorkers()[0] ?? await context.waitForEvent("serviceworker");
    const notifications = () => sw.evaluate(async () => (await self.registration.getNotifications())
      .map((n) => ({ title: n.title, body: n.body, image: n.image, url: n.data?.url })));
    const cdp = await context.newCDPSession(page);
    const reg = await registrationId(cdp, env.WEB_URL + "/");

    // The app open in front: its live status shows the news, no
    // notification doubles it.
    const handed = page.evaluate(() => new Promise((res) =>
      navigator.serviceWorker.addEventListener("message", (e) => res(e.data), { once: true })));
    await cdp.send("ServiceWorker.deliverPushMessage", { origin: env.WEB_URL, registrationId: reg, data: fcmPayload(jobId) });
    assert.equal((await handed).data.jobId, jobId, "the push reached the app in front");
    assert.deepEqual(await notifications(), [], "a notification while the app is in front");

    // The app in the background: the attendee went to another tab.
    await page.goto(env.WEB_URL + "/#/photos");
    const other = await context.newPage();
    await other.bringToFront();
    await cdp.send("Emulation.setFocusEmulationEnabled", { enabled: false });
    await cdp.send("ServiceWorker.deliverPushMessage", { origin: env.WEB_URL, registrationId: reg, data: fcmPayload(jobId) });
    const [n] = await until("a notification", async () => (await notifications()).length === 1 && notifications());
    assert.equal(n.title, "Your portrait is ready");
    assert.match(n.body, /Pencil sketch/);
    assert.equal(n.image, `${env.GATEWAY_URL}/v1/styles/sketch/preview.jpg`, "the style's preview");
    const preview = await fetch(n.image);
    assert.equal(preview.status, 200, "the preview loads");

    // The tap: the browser's notificationclick, with the notification shown.
    await sw.evaluate(async () => {
      const [shown] = await self.registration.getNotifications();
      self.dispatchEvent(new NotificationEvent("notificationclick", { notification: shown }));
    });
    await until("the job's page", () => page.url().endsWith(`#/job/${encodeURIComponent(jobId)}`));
    await expectVisible(page.getByRole("heading", { name: /status|Your portrait/i }));
    assert.deepEqual(await notifications(), [], "the tapped notification is closed");
  });
});

test("push denied: the app says it will not notify, nothing is registered", async () => {
  await onPhone(browser, "push-denied", async (page) => {
    const jobId = await submitWithPush(page);
    const ask = page.getByRole("button", { name: "Tell me when it's ready" });
    await expectVisible(ask);
    // Headless Chromium answers an ungranted request with "denied", as a
    // phone does when the attendee taps Block.
    await ask.click();
    await expectText(page.locator("#push-status"), /we will not notify you on this device/);
    await shot(page, "push-3-denied");
    assert.equal(await page.evaluate(() => localStorage.getItem("push-token")), null);
    const uid = (await firestoreDoc(`requests/${jobId}`)).uid.stringValue;
    assert.equal(await firestoreDoc(`devices/${uid}`), null, "devices/{uid} written without a permission");
  });
});

test("iPhone Safari: the app says push needs the Home Screen instead of offering it", async () => {
  const iPhone = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1";
  await onPhone(browser, "push-ios", async (page) => {
    await page.goto(env.WEB_URL + "/#/signin");
    await page.getByRole("button", { name: "Continue as guest" }).click();
    await page.getByRole("button", { name: "I agree" }).click();
    await expectVisible(page.getByRole("heading", { name: "Your photo" }));
    await expectVisible(page.getByText(/notifications need the app on your Home Screen/));
    assert.equal(await page.getByLabel("With a notification on this device").count(), 0);
    // The manifest a Home Screen app needs, with its icons.
    const manifest = await (await fetch(env.WEB_URL + "/manifest.webmanifest")).json();
    assert.equal(manifest.display, "standalone");
    for (const icon of manifest.icons) assert.equal((await fetch(env.WEB_URL + icon.src)).status, 200, icon.src);
    assert.ok(await page.locator('link[rel="manifest"]').count(), "index.html links the manifest");
    await shot(page, "push-4-ios");
  }, { userAgent: iPhone });
});
