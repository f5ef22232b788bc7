// A text message on a phone (issue 19): the attendee ticks "By text
// message", proves the number with Firebase Auth's phone linking on the
// Auth emulator (the code read from the emulator's verificationCodes, as a
// phone would show the SMS), submits, and the Twilio stand-in's outbox
// (SMS_DIR) holds exactly one text for the job, to that number.
import { after, afterEach, before, test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { env, expectText, expectVisible, fixtures, launch, onPhone, shot, until } from "./harness.mjs";
import { noCSPViolations, watchCSP } from "./csp.mjs";

const portrait = path.join(fixtures, "portrait.png");
let browser;
before(async () => { browser = watchCSP(await launch()); });
after(async () => { await browser?.close(); });
afterEach(noCSPViolations);

async function codeFor(phone) {
  const r = await fetch(`http://${env.FIREBASE_AUTH_EMULATOR_HOST}/emulator/v1/projects/${env.GCLOUD_PROJECT}/verificationCodes`);
  const codes = (await r.json()).verificationCodes ?? [];
  return codes.filter((c) => c.phoneNumber === phone).at(-1)?.code;
}

function texts(jobId) {
  return fs.readdirSync(env.SMS_DIR).filter((f) => f.endsWith(".json"))
    .map((f) => JSON.parse(fs.readFileSync(path.join(env.SMS_DIR, f), "utf8")))
    .filter((m) => m.body.includes(jobId));
}

test("an attendee proves a number and gets exactly one text when the portrait is ready", async () => {
  assert.ok(env.SMS_DIR, "the stack's env has no SMS_DIR (its sms part)");
  await onPhone(browser, "text", async (page) => {
    await page.goto(env.WEB_URL + "/#/signin");
    await page.getByRole("button", { name: "Continue as guest" }).click();
    await page.getByRole("button", { name: "I agree" }).click();
    await expectVisible(page.getByRole("heading", { name: "Your photo" }));
    await page.getByLabel("Style").selectOption("sketch");
    await page.getByLabel("Take or choose a photo").setInputFiles(portrait);
    await page.getByLabel("By email").uncheck();
    await page.getByLabel("By text message").check();
    const phone = "+8210" + String(Date.now()).slice(-8);
    await page.getByLabel("Your mobile number, with the country code").fill(phone);
    await page.getByRole("button", { name: "Send me a code" }).click();
    await expectText(page.locator(".phone-verify .note"), /We sent a code/);
    const code = await until("the emulator's code", () => codeFor(phone));
    await page.getByLabel("Code", { exact: true }).fill(code);
    await page.getByRole("button", { name: "Confirm" }).click();
    await expectVisible(page.getByText(`By text message to ${phone}`));
    await shot(page, "text-1-verified");
    const submit = page.getByRole("button", { name: "Make my portrait" });
    await until("submit enabled", () => submit.isEnabled());
    await submit.click();
    await until("job page", () => /#\/job\//.test(page.url()));
    const jobId = decodeURIComponent(/#\/job\/([^/?]+)/.exec(page.url())[1]);
    await expectText(page.locator(".badge"), /Done/, 120000);
    const [text] = await until("the text", () => texts(jobId).length > 0 && texts(jobId), 60000);
    assert.equal(text.to, phone);
    assert.match(text.body, new RegExp(`#/job/${jobId}`));
    await until("the notification closed", async () => {
      const r = await fetch(`http://${env.FIRESTORE_EMULATOR_HOST}/v1/projects/${env.GCLOUD_PROJECT}/databases/(default)/documents/notifications/${jobId}`,
        { headers: { Authorization: "Bearer owner" } });
      return r.ok && !!(await r.json()).fields?.sentAt;
    }, 60000);
    assert.equal(texts(jobId).length, 1, "texts for the job");
  });
});
