// A guest on a phone: landing, sign-in, consent, upload, live status,
// result, my photos; and a submission made offline goes out exactly once
// when the network comes back.
import { after, afterEach, before, test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { env, expectText, expectVisible, fixtures, imageLoaded, launch, onPhone, shot, signUp, submitOnline, until } from "./harness.mjs";
import { noCSPViolations, watchCSP } from "./csp.mjs";

const portrait = path.join(fixtures, "portrait.png");
let browser;
before(async () => { browser = watchCSP(await launch()); });
after(async () => { await browser?.close(); });
afterEach(noCSPViolations);

async function guestToUpload(page, shots) {
  await page.goto(env.WEB_URL);
  await expectVisible(page.getByRole("heading", { level: 1 }));
  const styles = page.getByRole("list", { name: "Styles" });
  await expectVisible(styles.getByRole("img"));
  await imageLoaded(styles.getByRole("img").first());
  if (shots) await shot(page, "attendee-1-landing");
  await page.getByRole("link", { name: "Take my portrait" }).click();
  await expectVisible(page.getByRole("heading", { name: "Sign in" }));
  if (shots) await shot(page, "attendee-2-signin");
  await page.getByRole("button", { name: "Continue as guest" }).click();
  await expectVisible(page.getByRole("heading", { name: "Before your photo" }));
  if (shots) await shot(page, "attendee-3-consent");
  await page.getByRole("button", { name: "I agree" }).click();
  await expectVisible(page.getByRole("heading", { name: "Your photo" }));
  await page.getByLabel("Style").selectOption("studio");
  await page.getByLabel("Take or choose a photo").setInputFiles(portrait);
  const submit = page.getByRole("button", { name: "Make my portrait" });
  await until("submit enabled", () => submit.isEnabled());
  await expectVisible(page.locator("img.preview"));
  if (shots) await shot(page, "attendee-4-upload");
  return submit;
}

// The guest's job waits behind a backlog of slower (AI) jobs of another
// attendee, so the screen shows it queued, with its place, before done.
test("a guest consents, uploads a portrait, watches it go queued -> done and sees the image", async () => {
  const BACKLOG = 5; // the worker's 2 slots and 3 more waiting
  await onPhone(browser, "attendee", async (page) => {
    const submit = await guestToUpload(page, true);
    const token = await signUp(`crowd-${Date.now()}@example.test`, "crowd-secret-1");
    const photo = fs.readFileSync(portrait);
    for (let i = 0; i < BACKLOG; i++) await submitOnline(token, "sketch", photo, i);
    await submit.click();
    await until("job page", () => /#\/job\//.test(page.url()));
    const badge = page.locator(".badge");
    await expectText(badge, /Queued/, 10000);
    const place = page.getByText(/\d+ ahead of yours/);
    await expectVisible(place);
    const ahead = Number(/(\d+) ahead/.exec(await place.textContent())[1]);
    // At least the backlog's waiting jobs are ahead (more if other tests share the stack).
    assert.ok(ahead >= BACKLOG - 2, `${ahead} ahead behind a backlog of ${BACKLOG} on 2 slots`);
    console.log(`queued with ${ahead} ahead`);
    await shot(page, "attendee-5-queued");
    // Live: no reload, the listeners move it on.
    await expectText(badge, /Generating|Done/, 120000);
    await expectText(badge, /Done/, 120000);
    const img = page.getByRole("img", { name: "Your AI portrait" });
    await expectVisible(img);
    await imageLoaded(img);
    await expectVisible(page.getByRole("button", { name: "Download" }));
    await shot(page, "attendee-6-result");

    await page.getByRole("link", { name: "My photos" }).click();
    await expectVisible(page.getByRole("heading", { name: "My photos" }));
    const items = page.getByRole("listitem");
    await until("one photo listed", async () => (await items.count()) === 1);
    await imageLoaded(items.first().getByRole("img"));
    await shot(page, "attendee-7-my-photos");
  });
});

test("offline at submit: the app waits for the network, then submits exactly one job", async () => {
  await onPhone(browser, "offline", async (page, context) => {
    const submit = await guestToUpload(page, false);
    await context.setOffline(true);
    await submit.click();
    await expectVisible(page.getByText(/Waiting for the network/));
    await shot(page, "attendee-8-offline");
    await context.setOffline(false);
    await until("job page", () => /#\/job\//.test(page.url()), 30000);
    // My photos (GET /v1/jobs) lists the guest's jobs: exactly one, as
    // the Gateway answers and as the page draws it.
    const listed = page.waitForResponse((r) => r.url().includes("/v1/jobs?") && r.request().method() === "GET" && r.ok());
    await page.getByRole("link", { name: "My photos" }).click();
    const { jobs } = await (await listed).json();
    assert.equal(jobs.length, 1, "exactly one job submitted");
    const items = page.getByRole("listitem");
    await until("the photos list drawn", async () => (await items.count()) === jobs.length);
  });
});

test("a Korean browser gets the app in Korean", async () => {
  await onPhone(browser, "attendee", async (page) => {
    await page.goto(env.WEB_URL);
    await expectVisible(page.getByRole("link", { name: "내 사진 만들기" }));
    await expectVisible(page.getByRole("list", { name: "스타일" }).getByRole("img"));
    await imageLoaded(page.getByRole("list", { name: "스타일" }).getByRole("img").first());
    assert.equal(await page.locator("html").getAttribute("lang"), "ko");
    await shot(page, "attendee-ko-landing");
  }, { locale: "ko-KR" });
});

// tabTo presses Tab until the focused element is the one wanted (by its
// text, or its id), and checks that the focus shows (an outline on it, or
// on the label that stands for a hidden file input).
async function tabTo(page, want) {
  for (let i = 0; i < 40; i++) {
    await page.keyboard.press("Tab");
    const focused = await page.evaluate(() => {
      const el = document.activeElement;
      if (!el || el === document.body) return null;
      const shown = el.classList.contains("file") ? document.querySelector(`label[for="${el.id}"]`) : el;
      return { id: el.id, text: (el.textContent ?? "").trim(), outline: getComputedStyle(shown).outlineStyle };
    });
    if (focused && (focused.text === want || focused.id === want)) {
      assert.notEqual(focused.outline, "none", `focus on ${want} does not show`);
      return;
    }
  }
  throw new Error(`Tab never reached ${want}`);
}

test("an attendee gets from the landing page to a submitted job with the keyboard alone", async () => {
  await onPhone(browser, "keyboard", async (page) => {
    await page.goto(env.WEB_URL);
    await expectVisible(page.getByRole("list", { name: "Styles" }).getByRole("img"));
    await tabTo(page, "Take my portrait");
    await page.keyboard.press("Enter");
    await expectVisible(page.getByRole("heading", { name: "Sign in" }));
    await tabTo(page, "Continue as guest");
    await page.keyboard.press("Enter");
    await expectVisible(page.getByRole("heading", { name: "Before your photo" }));
    await tabTo(page, "I agree");
    await page.keyboard.press("Enter");
    await expectVisible(page.getByRole("heading", { name: "Your photo" }));
    await tabTo(page, "style");
    await page.keyboard.press("End"); // the last style, the quick classic print
    assert.equal(await page.getByLabel("Style").inputValue(), "studio");
    await tabTo(page, "photo");
    // Space opens the file chooser (once in a while headless Chromium drops
    // the first press: it is pressed again, never more than three times).
    let chooser = null;
    for (let i = 0; i < 3 && !chooser; i++) {
      const opened = page.waitForEvent("filechooser", { timeout: 5000 }).catch(() => null);
      await page.keyboard.press("Space");
      chooser = await opened;
    }
    assert.ok(chooser, "Space on the focused photo picker opens no file chooser");
    await chooser.setFiles(portrait);
    await shot(page, "keyboard-1-photo");
    await until("submit enabled", () => page.getByRole("button", { name: "Make my portrait" }).isEnabled());
    await tabTo(page, "Make my portrait");
    await page.keyboard.press("Enter");
    await until("job page", () => /#\/job\//.test(page.url()));
    await expectText(page.locator(".badge"), /Done/, 120000);
  });
});

// Hosting's security headers (firebase.json), on the app and on its files;
// the app then runs under its CSP (afterEach fails on any violation) on a
// phone's browser too, where Firebase Auth's popup/redirect resolver would
// load Google's gapi script at start.
test("Hosting serves the security headers and the app runs under its CSP on a phone", async () => {
  for (const p of ["/", "/studio.json", "/pickup/x"]) {
    const r = await fetch(env.WEB_URL + p);
    assert.equal(r.status, 200, p);
    const h = (k) => r.headers.get(k) ?? "";
    const csp = h("content-security-policy");
    for (const d of ["default-src 'self'", "script-src 'self' https://accounts.google.com/gsi/client", "frame-ancestors 'none'", "object-src 'none'"]) {
      assert.ok(csp.split(/;\s*/).some((x) => x === d || x.startsWith(d + " ")), `${p}: CSP ${JSON.stringify(csp)} lacks ${d}`);
    }
    assert.equal(h("x-frame-options"), "DENY", p);
    assert.equal(h("x-content-type-options"), "nosniff", p);
    assert.equal(h("referrer-policy"), "strict-origin-when-cross-origin", p);
    assert.match(h("permissions-policy"), /(^|, )camera=\(self\)(,|$)/, p);
  }
  const android = "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Mobile Safari/537.36";
  await onPhone(browser, "attendee-csp", async (page) => {
    await guestToUpload(page, false);
  }, { userAgent: android });
});
