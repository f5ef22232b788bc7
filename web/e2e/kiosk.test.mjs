// The booth kiosk: a staff user (custom claim staff: [EVENT], set through the
// Auth emulator's REST API) signs in, takes a photo with Chromium's fake
// camera showing the bundled portrait, submits it as booth with the
// attendee's email, gets the QR code and the print view. A guest cannot
// open the kiosk.
import { after, afterEach, before, test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { EVENT, createUser, env, expectText, expectVisible, fixtures, imageLoaded, launch, newPhone, shot, signInWithPassword, signUp, submitOnline, until } from "./harness.mjs";
import { noCSPViolations, watchCSP } from "./csp.mjs";

// completedAt: when the job's response document was written (ms), or null
// while it is not done (the Firestore emulator's REST API; owner is admin).
async function completedAt(id) {
  const r = await fetch(`http://${env.FIRESTORE_EMULATOR_HOST}/v1/projects/${env.GCLOUD_PROJECT}/databases/(default)/documents/responses/${id}`,
    { headers: { Authorization: "Bearer owner" } });
  if (r.status === 404) return null;
  if (!r.ok) throw new Error(`responses/${id}: ${r.status}`);
  const ts = (await r.json()).fields?.completedAt?.timestampValue;
  return ts ? Date.parse(ts) : null;
}

// staffKiosk: a new staff user signed in on the kiosk of a landscape
// tablet, the camera playing.
async function staffKiosk() {
  const email = `staff-${Date.now()}@booth.test`;
  await createUser(email, "booth-secret-1", { staff: [EVENT] });
  const context = await camBrowser.newContext({ viewport: { width: 1280, height: 800 }, locale: "en-US", permissions: ["camera"] });
  const page = await context.newPage();
  const logs = [];
  page.on("console", (m) => logs.push(`${m.type()}: ${m.text()}`));
  await page.goto(env.WEB_URL + "/#/kiosk");
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill("booth-secret-1");
  await page.getByRole("button", { name: "Sign in" }).click();
  await expectVisible(page.getByRole("button", { name: "Take photo" }));
  const video = page.getByLabel("Camera preview").locator("video");
  await until("camera playing", () => video.evaluate((v) => v.readyState >= 2 && v.videoWidth > 0));
  return { context, page, logs };
}

let browser;
let camBrowser;
let tmp;

// y4m: the portrait as one 4:2:0 frame, converted in the browser (canvas
// pixels to BT.601 YUV), so no image tool is needed.
async function portraitY4M(page) {
  const png = fs.readFileSync(path.join(fixtures, "portrait.png")).toString("base64");
  const { w, h, y, u, v } = await page.evaluate(async (b64) => {
    const img = new Image();
    img.src = "data:image/png;base64," + b64;
    await img.decode();
    const w = img.naturalWidth & ~1, h = img.naturalHeight & ~1;
    const c = document.createElement("canvas");
    c.width = w; c.height = h;
    const ctx = c.getContext("2d");
    ctx.drawImage(img, 0, 0, w, h);
    const d = ctx.getImageData(0, 0, w, h).data;
    const y = new Array(w * h), u = new Array((w * h) / 4), v = new Array((w * h) / 4);
    for (let j = 0; j < h; j++) for (let i = 0; i < w; i++) {
      const k = (j * w + i) * 4, r = d[k], g = d[k + 1], b = d[k + 2];
      y[j * w + i] = Math.round(0.299 * r + 0.587 * g + 0.114 * b);
      if (i % 2 === 0 && j % 2 === 0) {
        const q = (j / 2) * (w / 2) + i / 2;
        u[q] = Math.max(0, Math.min(255, Math.round(128 - 0.168736 * r - 0.331264 * g + 0.5 * b)));
        v[q] = Math.max(0, Math.min(255, Math.round(128 + 0.5 * r - 0.418688 * g - 0.081312 * b)));
      }
    }
    return { w, h, y, u, v };
  }, png);
  const header = Buffer.from(`YUV4MPEG2 W${w} H${h} F30:1 Ip A1:1 C420jpeg\nFRAME\n`);
  const file = path.join(tmp, "portrait.y4m");
  fs.writeFileSync(file, Buffer.concat([header, Buffer.from(y), Buffer.from(u), Buffer.from(v)]));
  return file;
}

before(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), "kiosk-e2e-"));
  browser = watchCSP(await launch());
  const { context, page } = await newPhone(browser);
  const y4m = await portraitY4M(page);
  await context.close();
  camBrowser = watchCSP(await launch([
    "--use-fake-device-for-media-stream",
    "--use-fake-ui-for-media-stream",
    `--use-file-for-fake-video-capture=${y4m}`,
  ]));
});
afterEach(noCSPViolations);
after(async () => {
  await browser?.close();
  await camBrowser?.close();
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

test("a guest cannot open the kiosk", async () => {
  const { context, page } = await newPhone(browser);
  try {
    await page.goto(env.WEB_URL + "/#/signin");
    await page.getByRole("button", { name: "Continue as guest" }).click();
    await expectVisible(page.getByRole("heading", { name: "Before your photo" }));
    await page.goto(env.WEB_URL + "/#/kiosk");
    await expectVisible(page.getByText("The kiosk is for event staff"));
    assert.equal(await page.getByRole("button", { name: "Take photo" }).count(), 0);
    assert.equal(await page.getByRole("link", { name: "Kiosk" }).count(), 0);
    await shot(page, "kiosk-0-not-staff");
  } finally {
    await context.close();
  }
});

test("staff take a booth photo with the camera, the attendee picks it up by QR code, and it prints", async () => {
  const email = `staff-${Date.now()}@booth.test`;
  await createUser(email, "booth-secret-1", { staff: [EVENT] });
  // Another kiosk's booth job: the board shows the whole booth's.
  const otherStaff = `staff-other-${Date.now()}@booth.test`;
  await createUser(otherStaff, "booth-secret-2", { staff: [EVENT] });
  const photo = fs.readFileSync(path.join(fixtures, "portrait.png"));
  const otherJob = await submitOnline(await signInWithPassword(otherStaff, "booth-secret-2"), "studio", photo, 0,
    { priority: "booth", email: "someone@example.test" });
  // A landscape tablet.
  const context = await camBrowser.newContext({ viewport: { width: 1280, height: 800 }, locale: "en-US", permissions: ["camera"] });
  const page = await context.newPage();
  const logs = [];
  page.on("console", (m) => logs.push(`${m.type()}: ${m.text()}`));
  try {
    await page.goto(env.WEB_URL + "/#/kiosk");
    await page.getByLabel("Email").fill(email);
    await page.getByLabel("Password").fill("booth-secret-1");
    await page.getByRole("button", { name: "Sign in" }).click();
    await expectVisible(page.getByRole("button", { name: "Take photo" }));
    await expectVisible(page.getByRole("link", { name: "Kiosk" }));
    const video = page.getByLabel("Camera preview").locator("video");
    await until("camera playing", () => video.evaluate((v) => v.readyState >= 2 && v.videoWidth > 0));
    await shot(page, "kiosk-1-camera");
    // No photo before the attendee agreed on the kiosk's screen.
    assert.ok(await page.getByRole("button", { name: "Take photo" }).isDisabled(), "Take photo enabled before the consent");
    await page.getByLabel("The attendee has read this and agrees").check();
    await page.getByRole("button", { name: "Take photo" }).click();
    await expectVisible(page.getByRole("img", { name: "The photo just taken" }), 10000);
    await expectVisible(page.getByRole("button", { name: "Retake" }));
    await page.getByLabel("Style").selectOption("studio");
    await page.getByLabel("Attendee's email").fill("attendee@example.test");
    await shot(page, "kiosk-2-captured");
    const submitted = page.waitForResponse((r) => r.url().endsWith("/v1/jobs") && r.request().method() === "POST" && r.ok());
    await page.getByRole("button", { name: "Make my portrait" }).click();
    const boothJob = (await (await submitted).json()).job.id;
    // The QR code is there at once: the attendee may scan and walk away.
    await expectVisible(page.getByRole("img", { name: "Scan to get your portrait" }), 15000);
    const pickupUrl = await page.getByRole("link", { name: "Pick-up link" }).getAttribute("href");
    assert.match(pickupUrl, new RegExp(`^${env.WEB_URL}/#/pickup/${boothJob}/[A-Za-z0-9_-]{22}$`));
    await imageLoaded(page.getByRole("img", { name: "Your AI portrait" }).first(), 120000);
    const board = page.getByRole("list", { name: "Recent booth photos" });
    await expectVisible(board.locator(`[data-job="${boothJob}"]`));
    await expectVisible(board.locator(`[data-job="${otherJob}"]`));
    await shot(page, "kiosk-3-result");

    // The attendee's phone, no account: the QR code's page.
    const phone = await newPhone(browser);
    try {
      await phone.page.goto(pickupUrl);
      await expectText(phone.page.locator(".badge"), /Done/, 60000);
      await imageLoaded(phone.page.getByRole("img", { name: "Your AI portrait" }));
      await expectVisible(phone.page.getByRole("button", { name: "Download" }));
      assert.doesNotMatch(phone.page.url(), /\/pickup\/[^/]+\/./, "the pick-up code stays in the address bar");
      await shot(phone.page, "pickup-1-phone");
      await phone.page.reload();
      await imageLoaded(phone.page.getByRole("img", { name: "Your AI portrait" }));
      // A code that is not the job's opens nothing.
      await phone.page.goto(pickupUrl.replace(/[A-Za-z0-9_-]{22}$/, "A".repeat(22)));
      await expectVisible(phone.page.getByText(/This pick-up link does not work/));
      assert.equal(await phone.page.getByRole("img", { name: "Your AI portrait" }).count(), 0);
      await shot(phone.page, "pickup-2-invalid");
    } finally {
      await phone.context.close();
    }

    // A tap on the other kiosk's job shows its QR code again.
    await board.locator(`[data-job="${otherJob}"]`).getByRole("button").click();
    await until("the other job's pick-up link", async () =>
      (await page.getByRole("link", { name: "Pick-up link" }).getAttribute("href"))?.includes(`/pickup/${otherJob}/`));

    await board.locator(`[data-job="${boothJob}"]`).getByRole("button").click();
    await page.getByRole("link", { name: "Print" }).click();
    await expectVisible(page.getByRole("figure"));
    await imageLoaded(page.getByRole("figure").getByRole("img"));
    await shot(page, "kiosk-4-print");
    await page.emulateMedia({ media: "print" });
    await shot(page, "kiosk-5-print-media");

    // The venue's poster: the event's name and the QR code of the app.
    await page.emulateMedia({ media: "screen" });
    await page.goto(env.WEB_URL + "/#/kiosk");
    await page.getByRole("link", { name: "Event poster" }).click();
    const poster = page.getByRole("region", { name: "Event poster" });
    await expectVisible(poster.getByRole("img", { name: "QR code of the event's app" }));
    await expectVisible(poster.getByText(env.WEB_URL + "/", { exact: true }));
    await imageLoaded(poster.getByRole("img", { name: /^Example of / }).first());
    await shot(page, "kiosk-7-poster");
  } catch (e) {
    console.error(logs.join("\n"));
    await shot(page, "kiosk-failure").catch(() => {});
    throw e;
  } finally {
    await context.close();
  }
});

// The booth's priority: a backlog of online jobs in a slow (AI) style fills
// the worker's slots and the queue; a booth job submitted after them from
// the kiosk is done before the last of them.
test("a booth job overtakes a backlog of online jobs", async () => {
  const BACKLOG = 8, STYLE = "sketch";
  const photo = fs.readFileSync(path.join(fixtures, "portrait.png"));
  const token = await signUp(`backlog-${Date.now()}@example.test`, "backlog-secret-1");
  const { context, page, logs } = await staffKiosk();
  try {
    const t0 = Date.now();
    const backlog = [];
    for (let i = 0; i < BACKLOG; i++) backlog.push(await submitOnline(token, STYLE, photo, i));
    await page.getByLabel("The attendee has read this and agrees").check();
    await page.getByRole("button", { name: "Take photo" }).click();
    await expectVisible(page.getByRole("button", { name: "Retake" }), 10000);
    await page.getByLabel("Style").selectOption(STYLE);
    await page.getByLabel("Attendee's email").fill("attendee@example.test");
    const submitted = page.waitForResponse((r) => r.url().endsWith("/v1/jobs") && r.request().method() === "POST" && r.ok());
    await page.getByRole("button", { name: "Make my portrait" }).click();
    const booth = (await (await submitted).json()).job.id;
    const submittedAt = Date.now();
    // Answers about this job still on their way when Retake is pressed.
    let inflight = 0;
    const track = (d) => (r) => { if (r.url().includes(`/v1/jobs/${booth}`)) inflight += d; };
    page.on("request", track(1));
    page.on("requestfinished", track(-1));
    page.on("requestfailed", track(-1));
    // When the booth job went in, the backlog was still waiting.
    const pending = (await Promise.all(backlog.map(completedAt))).filter((t) => t === null).length;
    assert.ok(pending >= 4, `only ${pending} of ${BACKLOG} online jobs were still pending when the booth job went in`);
    await imageLoaded(page.getByRole("img", { name: "Your AI portrait" }).first(), 60000);
    await shot(page, "kiosk-6-overtook-backlog");
    // The next attendee: Retake clears the last one's portrait and QR code,
    // and they stay cleared.
    await page.getByRole("button", { name: "Retake" }).click();
    // ... and the next attendee agrees for themselves.
    assert.equal(await page.getByLabel("The attendee has read this and agrees").isChecked(), false, "the consent carried over to the next attendee");
    assert.ok(await page.getByRole("button", { name: "Take photo" }).isDisabled(), "Take photo enabled without the next attendee's consent");
    await until("the panel cleared", async () => (await page.getByRole("img", { name: "Scan to get your portrait" }).count()) === 0);
    // Stays cleared: after the board's next refresh and once no answer
    // about the last job is in flight, nothing may draw it again.
    await page.waitForResponse((r) => r.url().includes("/v1/jobs?") && r.url().includes("scope=booth"), { timeout: 15000 });
    await until("no answer about the last job in flight", () => inflight === 0);
    assert.equal(await page.getByRole("img", { name: "Scan to get your portrait" }).count(), 0, "the last attendee's QR code came back");
    assert.equal(await page.getByRole("link", { name: "Pick-up link" }).count(), 0);
    const boothDone = await until("the booth job done", () => completedAt(booth), 60000);
    const done = await until("the backlog done", async () => {
      const ts = await Promise.all(backlog.map(completedAt));
      return ts.every((t) => t !== null) && ts;
    }, 60000);
    const after = done.filter((t) => t > boothDone).length;
    console.log(`booth job done ${((boothDone - submittedAt) / 1000).toFixed(1)} s after submission; ` +
      `${pending} online jobs pending then, ${after} finished after it; backlog done ${((Math.max(...done) - t0) / 1000).toFixed(1)} s after the first`);
    assert.ok(boothDone < Math.max(...done), "the booth job finished after the whole backlog");
    // It overtook every online job still queued: only those already on the
    // worker's slots (WORKER_SLOTS, 2 by default) may finish before it.
    const slots = Number(env.WORKER_SLOTS || 2);
    assert.ok(after >= pending - slots, `only ${after} of the ${pending} pending online jobs finished after the booth job`);
  } catch (e) {
    console.error(logs.join("\n"));
    await shot(page, "kiosk-failure").catch(() => {});
    throw e;
  } finally {
    await context.close();
  }
});

// Issue 19's rough edges at the kiosk: a wrong password in words; the still
// is the preview's mirror image while the photo sent is the camera's own
// frame; an attendee without an email is served (QR pick-up); the portrait
// does not move the QR code, which stays on a 1280x800 screen; Print ->
// Back shows the QR code again; the next attendee's photo clears it.
test("kiosk rough edges: wrong password in words, mirror, no email, QR in place, Print -> Back", async () => {
  const email = `staff-pw-${Date.now()}@booth.test`;
  await createUser(email, "booth-secret-1", { staff: [EVENT] });
  const signIn = await camBrowser.newContext({ viewport: { width: 1280, height: 800 }, locale: "en-US" });
  try {
    const page = await signIn.newPage();
    await page.goto(env.WEB_URL + "/#/kiosk");
    await page.getByLabel("Email").fill(email);
    await page.getByLabel("Password").fill("not-the-password");
    await page.getByRole("button", { name: "Sign in" }).click();
    const said = page.getByText(/Wrong email or password/);
    await expectVisible(said);
    assert.doesNotMatch(await page.locator("main").innerText(), /auth\//);
    await shot(page, "kiosk-8-wrong-password");
  } finally {
    await signIn.close();
  }

  const { context, page, logs } = await staffKiosk();
  try {
    const video = page.getByLabel("Camera preview").locator("video");
    const transform = (l) => l.evaluate((el) => getComputedStyle(el).transform);
    const preview = await transform(video); // while it shows
    assert.equal(preview, "matrix(-1, 0, 0, 1, 0, 0)", "the preview is not a mirror");
    await page.getByLabel("The attendee has read this and agrees").check();
    await page.getByRole("button", { name: "Take photo" }).click();
    const still = page.getByRole("img", { name: "The photo just taken" });
    await expectVisible(still, 10000);
    await imageLoaded(still);
    assert.equal(await transform(still), preview, "the still is not shown as the preview is");
    // The photo sent is the camera's frame, not its mirror image: it
    // matches the (unmirrored) camera frame better than its mirror does.
    const { same, mirrored } = await page.evaluate(() => {
      const v = document.querySelector(".camera video"), img = document.querySelector(".camera img");
      const w = 64, h = 48;
      const px = (src, flip) => {
        const c = document.createElement("canvas"); c.width = w; c.height = h;
        const g = c.getContext("2d");
        if (flip) { g.translate(w, 0); g.scale(-1, 1); }
        g.drawImage(src, 0, 0, w, h);
        return g.getImageData(0, 0, w, h).data;
      };
      const frame = px(v, false), sent = px(img, false), flipped = px(img, true);
      const diff = (a, b) => { let d = 0; for (let i = 0; i < a.length; i += 4) d += Math.abs(a[i] - b[i]) + Math.abs(a[i + 1] - b[i + 1]) + Math.abs(a[i + 2] - b[i + 2]); return d / (a.length / 4); };
      return { same: diff(frame, sent), mirrored: diff(frame, flipped) };
    });
    assert.ok(same < mirrored / 2, `the photo sent differs from the camera frame by ${same.toFixed(1)}, its mirror by ${mirrored.toFixed(1)}`);
    await page.getByLabel("Style").selectOption("studio");
    // No email: the attendee picks up by QR code.
    assert.equal(await page.getByLabel("Attendee's email").inputValue(), "");
    const submitted = page.waitForResponse((r) => r.url().endsWith("/v1/jobs") && r.request().method() === "POST");
    await page.getByRole("button", { name: "Make my portrait" }).click();
    const answer = await submitted;
    assert.equal(answer.status(), 202, `a booth job without an email: ${answer.status()} ${await answer.text()}`);
    assert.ok(!/name="email"/.test(answer.request().postData() ?? ""), "an empty email field was sent");
    const qr = page.getByRole("img", { name: "Scan to get your portrait" });
    await expectVisible(qr, 15000);
    const pickup = await page.getByRole("link", { name: "Pick-up link" }).getAttribute("href");
    // (Measured once it holds still: the panel is drawn again as the
    // status changes.)
    const before = await until("the QR code's place", () => qr.boundingBox());
    await imageLoaded(page.getByRole("img", { name: "Your AI portrait" }), 120000);
    const after = await qr.boundingBox();
    assert.deepEqual(after, before, "the portrait moved the QR code");
    // On the screen as it is (boundingBox is relative to the viewport).
    assert.ok(after.y >= 0 && after.y + after.height <= 800, `the QR code at y ${after.y}..${after.y + after.height} is not on the 1280x800 screen`);
    await shot(page, "kiosk-9-qr-in-place");

    await page.getByRole("link", { name: "Print" }).click();
    await expectVisible(page.getByRole("figure"));
    await page.getByRole("button", { name: "Back" }).click();
    await expectVisible(page.getByRole("img", { name: "Scan to get your portrait" }));
    assert.equal(await page.getByRole("link", { name: "Pick-up link" }).getAttribute("href"), pickup, "Back shows another code");
    await imageLoaded(page.getByRole("img", { name: "Your AI portrait" }));
    await shot(page, "kiosk-10-back-from-print");
    // The next attendee: their photo clears the last one's QR code.
    await page.getByLabel("The attendee has read this and agrees").check();
    await page.getByRole("button", { name: "Take photo" }).click();
    await until("the panel cleared", async () => (await page.getByRole("img", { name: "Scan to get your portrait" }).count()) === 0);
  } catch (e) {
    console.error(logs.join("\n"));
    await shot(page, "kiosk-failure").catch(() => {});
    throw e;
  } finally {
    await context.close();
  }
});

// texts: the messages the Twilio stand-in kept (SMS_DIR) that name a job.
function texts(jobId) {
  return fs.readdirSync(env.SMS_DIR).filter((f) => f.endsWith(".json"))
    .map((f) => JSON.parse(fs.readFileSync(path.join(env.SMS_DIR, f), "utf8")))
    .filter((m) => m.body.includes(jobId));
}

test("staff type the attendee's mobile number: one text with the link reaches it", async () => {
  assert.ok(env.SMS_DIR, "the stack's env has no SMS_DIR (its sms part)");
  const { context, page, logs } = await staffKiosk();
  try {
    await page.getByLabel("The attendee has read this and agrees").check();
    await page.getByRole("button", { name: "Take photo" }).click();
    await expectVisible(page.getByRole("img", { name: "The photo just taken" }), 10000);
    await page.getByLabel("Style").selectOption("sketch");
    const digits = String(Date.now()).slice(-8);
    await page.getByLabel("Attendee's mobile number").fill(`+82 10 ${digits.slice(0, 4)} ${digits.slice(4)}`);
    await shot(page, "kiosk-text-1-number");
    const submitted = page.waitForResponse((r) => r.url().endsWith("/v1/jobs") && r.request().method() === "POST" && r.ok());
    await page.getByRole("button", { name: "Make my portrait" }).click();
    const jobId = (await (await submitted).json()).job.id;
    const [text] = await until("the text", () => texts(jobId).length > 0 && texts(jobId), 120000);
    assert.equal(text.to, `+8210${digits}`);
    assert.match(text.body, /portrait is ready/);
    // Once the job's notification is closed every text for it was handed
    // over: a redelivered event finds it closed and sends none.
    await until("the notification closed", async () => {
      const r = await fetch(`http://${env.FIRESTORE_EMULATOR_HOST}/v1/projects/${env.GCLOUD_PROJECT}/databases/(default)/documents/notifications/${jobId}`,
        { headers: { Authorization: "Bearer owner" } });
      return r.ok && !!(await r.json()).fields?.sentAt;
    }, 60000);
    assert.equal(texts(jobId).length, 1, "texts for the job");
  } catch (e) {
    console.error(logs.join("\n"));
    throw e;
  } finally {
    await context.close();
  }
});
