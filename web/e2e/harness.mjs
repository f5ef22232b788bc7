// A small harness for the end-to-end tests: playwright-core driving
// Debian's chromium (never a downloaded browser) against the running
// stack, whose settings come from .local/env (exported by
// `stack.sh with-stack`, or read from STACK_DIR/env or ../.local/env).
import { chromium } from "playwright-core";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
export const repo = path.resolve(here, "../..");
export const fixtures = path.join(here, "fixtures");

function loadEnv() {
  if (process.env.WEB_URL && process.env.GATEWAY_URL) return process.env;
  const f = path.join(process.env.STACK_DIR || path.join(repo, ".local"), "env");
  if (!fs.existsSync(f)) throw new Error(`no stack: ${f} missing (make dev, or run through stack.sh with-stack)`);
  const env = { ...process.env };
  for (const line of fs.readFileSync(f, "utf8").split("\n")) {
    const m = /^([A-Z_][A-Z0-9_]*)=(.*)$/.exec(line);
    if (m) env[m[1]] = m[2];
  }
  return env;
}
export const env = loadEnv();
if (!env.WEB_URL) throw new Error("WEB_URL missing from the stack's env: the stack runs without its web part (STACK_SKIP=web?)");

export const shotDir = process.env.SCREENSHOT_DIR || path.join(repo, ".local", "screenshots");
fs.mkdirSync(shotDir, { recursive: true });

export const CHROMIUM = process.env.CHROMIUM || "/usr/bin/chromium";

export async function launch(extraArgs = []) {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ["--no-sandbox", "--disable-dev-shm-usage", ...extraArgs],
  });
}

// newPhone: one isolated context per test, a 360 px wide phone.
export async function newPhone(browser, opts = {}) {
  const context = await browser.newContext({
    viewport: { width: 360, height: 780 },
    deviceScaleFactor: 1,
    isMobile: true,
    hasTouch: true,
    locale: "en-US",
    ...opts,
  });
  const page = await context.newPage();
  const logs = [];
  page.on("console", (m) => logs.push(`${m.type()}: ${m.text()}`));
  page.on("pageerror", (e) => logs.push(`pageerror: ${e.message}`));
  page.logs = logs;
  return { context, page };
}

// shot saves a screenshot of the screen and checks its accessibility
// (accessible, below), except for screenshots of a failure.
// onPhone runs fn(page) on a new phone (newPhone's options); when it fails,
// it prints the page's console and saves a screenshot NAME-failure.
export async function onPhone(browser, name, fn, opts = {}) {
  const { context, page } = await newPhone(browser, opts);
  try {
    return await fn(page, context);
  } catch (e) {
    console.error(page.logs.join("\n"));
    await shot(page, `${name}-failure`).catch(() => {});
    throw e;
  } finally {
    await context.close();
  }
}

export async function shot(page, name) {
  await page.screenshot({ path: path.join(shotDir, `${name}.png`), fullPage: true });
  if (!name.endsWith("failure")) await accessible(page, name);
}

// until: a web-first assertion: poll fn until it returns a truthy value.
export async function until(what, fn, timeout = 15000) {
  const deadline = Date.now() + timeout;
  let last;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
      last = v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeout} ms waiting for ${what} (last: ${last})`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

export async function expectVisible(locator, timeout = 15000) {
  await locator.first().waitFor({ state: "visible", timeout });
}

export async function expectText(locator, re, timeout = 15000) {
  await until(`text ${re}`, async () => re.test((await locator.textContent({ timeout: 1000 })) ?? ""), timeout);
}

// imageLoaded: the img decoded (naturalWidth > 0).
export async function imageLoaded(locator, timeout = 15000) {
  await until("image loaded", () => locator.evaluate((img) => img.complete && img.naturalWidth > 0), timeout);
}

// The Auth emulator's REST API (Authorization: Bearer owner is its admin).
export async function authAdmin(pathname, body) {
  const url = `http://${env.FIREBASE_AUTH_EMULATOR_HOST}/identitytoolkit.googleapis.com/v1/projects/${env.GCLOUD_PROJECT}/${pathname}`;
  const r = await fetch(url, { method: "POST", headers: { Authorization: "Bearer owner", "Content-Type": "application/json" }, body: JSON.stringify(body) });
  if (!r.ok) throw new Error(`${pathname}: ${r.status} ${await r.text()}`);
  return r.json();
}

// EVENT is the stack's event (its Gateway's EVENT, /studio.json's event).
export const EVENT = "local";

// createUser: an email/password user on the Auth emulator, its address
// verified, optionally with custom claims (staff: {staff: [EVENT]}).
export async function createUser(email, password, claims) {
  const { localId } = await authAdmin("accounts", { email, password, emailVerified: true });
  if (claims) await authAdmin("accounts:update", { localId, customAttributes: JSON.stringify(claims) });
  return localId;
}

// signUp: a normal (non-staff) email/password user on the Auth emulator,
// its address not verified, signed in; returns its ID token for the
// Gateway. Made as the emulator's admin: clients may not sign up with a
// password (functions/authblock refuses it).
export async function signUp(email, password) {
  await authAdmin("accounts", { email, password });
  return signInWithPassword(email, password);
}

// signInWithPassword: an email/password user's ID token (with the custom
// claims set when it was created).
export async function signInWithPassword(email, password) {
  const r = await fetch(`http://${env.FIREBASE_AUTH_EMULATOR_HOST}/identitytoolkit.googleapis.com/v1/accounts:signInWithPassword?key=emulator`, {
    method: "POST", headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ email, password, returnSecureToken: true }),
  });
  if (!r.ok) throw new Error(`signInWithPassword: ${r.status} ${await r.text()}`);
  return (await r.json()).idToken;
}

// submitOnline: POST /v1/jobs as an attendee would (priority online), or
// with other form fields (priority booth, email) as a kiosk would.
export async function submitOnline(token, style, photo, i, fields = {}) {
  const form = new FormData();
  form.append("style", style);
  form.append("consent", "2025-06-v1");
  for (const [k, v] of Object.entries(fields)) form.append(k, v);
  form.append("photo", new Blob([photo], { type: "image/png" }), "portrait.png");
  const r = await fetch(env.GATEWAY_URL + "/v1/jobs", {
    method: "POST",
    headers: { Authorization: "Bearer " + token, "Idempotency-Key": `backlog-${Date.now()}-${i}`, "X-Firebase-AppCheck": await appCheckToken() },
    body: form,
  });
  if (!r.ok) throw new Error(`POST /v1/jobs: ${r.status} ${await r.text()}`);
  return (await r.json()).job.id;
}

// appCheckToken: an App Check token from the stack's App Check stand-in,
// as the app gets one (the stack's Gateway wants it on submissions).
export async function appCheckToken() {
  const url = `${env.APPCHECK_STANDIN_URL}/v1/projects/${env.GCLOUD_PROJECT}/apps/${env.APP_CHECK_APP_ID}:exchangeDebugToken`;
  const r = await fetch(url, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ debugToken: env.APP_CHECK_DEBUG_TOKEN }) });
  if (!r.ok) throw new Error(`App Check stand-in: ${r.status} ${await r.text()}`);
  return (await r.json()).token;
}

// accessible: axe-core's WCAG 2 A/AA rules on the page as it is now; any
// serious or critical violation fails the test (with what and where).
const axePath = fileURLToPath(import.meta.resolve("axe-core/axe.min.js"));
export async function accessible(page, what) {
  if (!(await page.evaluate(() => "axe" in window))) await page.addScriptTag({ path: axePath });
  const violations = await page.evaluate(async () => {
    const r = await window.axe.run(document, { runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21aa"] } });
    return r.violations.filter((v) => v.impact === "serious" || v.impact === "critical")
      .map((v) => `${v.id} (${v.impact}): ${v.help} at ${v.nodes.slice(0, 3).map((n) => n.target.join(" ")).join(", ")}`);
  });
  if (violations.length) throw new Error(`accessibility of ${what}:\n  ${violations.join("\n  ")}`);
}
