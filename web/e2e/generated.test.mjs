// Generated styles (issue 17): the picker marks the styles a hosted model
// draws, the consent names the processor when one is chosen, and once the
// event's budget for them is spent the app offers the local styles, the
// photo kept. A Gateway of the test's own runs beside the stack's, with a
// budget and an event of its own (the stack's has no budget); the app is
// pointed at it through /studio.json, the config the stack serves.
import { after, afterEach, before, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawn } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { EVENT, createUser, env, expectText, expectVisible, fixtures, launch, onPhone, repo, shot, signUp, until } from "./harness.mjs";
import { noCSPViolations, watchCSP } from "./csp.mjs";

const portrait = path.join(fixtures, "portrait.png");
const PROCESSOR = "Google Vertex AI";
const GENERATED = ["Anime character", "Oil portrait", "Business headshot", "Hanbok portrait"];
let browser, gateway, gatewayUrl;

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.on("error", reject);
    srv.listen(0, "127.0.0.1", () => { const { port } = srv.address(); srv.close(() => resolve(port)); });
  });
}

// A budget of $0.05: one generated image at $0.039 fits, a second does not.
before(async () => {
  browser = watchCSP(await launch());
  const bin = path.join(os.tmpdir(), `tiger-functions-${process.pid}`);
  execFileSync("go", ["build", "-o", bin, "./functions/cmd/local"], { cwd: repo, stdio: "inherit" });
  const port = await freePort();
  gatewayUrl = `http://127.0.0.1:${port}`;
  gateway = spawn(bin, [], {
    env: { ...env, FUNCTION_TARGET: "Gateway", PORT: String(port), EVENT: `budget-${Date.now()}`, GENERATED_BUDGET_USD: "0.05", APP_CHECK: "off", GOMEMLIMIT: "480MiB" },
    stdio: ["ignore", "inherit", "inherit"],
  });
  await until("the test's Gateway answers", async () => (await fetch(gatewayUrl + "/healthz").catch(() => null))?.ok === true, 30000);
});
after(async () => {
  gateway?.kill();
  await browser?.close();
});
afterEach(noCSPViolations);

// usingGateway points the app at the test's Gateway.
async function usingGateway(page) {
  await page.route("**/studio.json", async (route) => {
    const response = await route.fetch();
    const cfg = await response.json();
    await route.fulfill({ response, json: { ...cfg, gatewayUrl } });
  });
}

async function toUpload(page, styleName) {
  await page.goto(env.WEB_URL);
  const styles = page.getByRole("list", { name: "Styles" });
  await expectVisible(styles.getByRole("link", { name: new RegExp(styleName) }));
  await styles.getByRole("link", { name: new RegExp(styleName) }).click();
  await expectVisible(page.getByRole("heading", { name: "Sign in" }));
  await page.getByRole("button", { name: "Continue as guest" }).click();
  await expectVisible(page.getByRole("heading", { name: "Before your photo" }));
}

test("the picker marks generated styles and the consent names the processor", async () => {
  await onPhone(browser, "generated-consent", async (page) => {
    await usingGateway(page);
    await page.goto(env.WEB_URL);
    const styles = page.getByRole("list", { name: "Styles" });
    for (const name of GENERATED) {
      await expectText(styles.getByRole("link", { name: new RegExp(name) }), /Drawn by a hosted model/);
    }
    for (const name of ["Studio headshot", "Pencil sketch", "Classic print"]) {
      const card = styles.getByRole("link", { name: new RegExp(name) });
      await expectVisible(card);
      assert.doesNotMatch(await card.textContent(), /hosted model/, `${name} is marked as drawn by a hosted model`);
    }
    await shot(page, "generated-1-picker");

    await toUpload(page, "Anime character");
    const item = page.getByRole("listitem").filter({ hasText: PROCESSOR });
    await expectText(item, /sent to the model on Google Vertex AI/);
    await shot(page, "generated-2-consent");
    await page.getByRole("button", { name: "I agree" }).click();
    await expectVisible(page.getByRole("heading", { name: "Your photo" }));
    const style = page.getByLabel("Style");
    assert.equal(await style.inputValue(), "anime");
    // A closed select cannot wrap: at 360 px every style's label must fit
    // beside the arrow, the generated ones' mark included.
    const cut = await style.evaluate((sel) => {
      const cs = getComputedStyle(sel);
      const pen = document.createElement("canvas").getContext("2d");
      pen.font = cs.font;
      const room = sel.clientWidth - parseFloat(cs.paddingLeft) - parseFloat(cs.paddingRight) - 24; // the arrow
      return [...sel.options].filter((o) => pen.measureText(o.text).width > room).map((o) => o.text);
    });
    assert.deepEqual(cut, [], `labels cut off at 360 px: ${cut}`);
    const box = page.getByLabel(`I agree that my photo is sent to ${PROCESSOR} to draw it`);
    await expectVisible(box);
    assert.ok(await box.isChecked(), "the consent screen's agreement does not carry to the upload");
    await page.getByLabel("Take or choose a photo").setInputFiles(portrait);
    const submit = page.getByRole("button", { name: "Make my portrait" });
    await until("submit enabled", () => submit.isEnabled());
    // Without the processor's consent, no generated job.
    await box.uncheck();
    assert.ok(await submit.isDisabled(), "a generated style can be submitted without agreeing to its processor");
    // A local style sends nothing anywhere: no processor to agree to.
    await style.selectOption("sketch");
    assert.ok(!(await box.isVisible()), "the processor's consent shows for a local style");
    assert.ok(await submit.isEnabled());
    await style.selectOption("anime");
    await box.check();
    await until("submit enabled again", () => submit.isEnabled());
    await shot(page, "generated-3-upload");
  });
});

// The kiosk: the attendee agrees on the kiosk's screen, which names the
// processor of the generated styles the list marks.
test("the kiosk's consent names the processor of the styles it marks as generated", async () => {
  const cam = watchCSP(await launch(["--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream"]));
  const context = await cam.newContext({ viewport: { width: 1280, height: 800 }, locale: "en-US", permissions: ["camera"] });
  try {
    const page = await context.newPage();
    await usingGateway(page);
    const email = `staff-gen-${Date.now()}@booth.test`;
    await createUser(email, "booth-secret-1", { staff: [EVENT] });
    await page.goto(env.WEB_URL + "/#/kiosk");
    await page.getByLabel("Email").fill(email);
    await page.getByLabel("Password").fill("booth-secret-1");
    await page.getByRole("button", { name: "Sign in" }).click();
    await expectVisible(page.getByRole("button", { name: "Take photo" }));
    const consentBox = page.locator(".kiosk-consent");
    const options = await page.locator("#kiosk-style option").allTextContents();
    assert.ok(options.includes("Pencil sketch"), `options ${options}`);
    for (const name of GENERATED) assert.ok(options.includes(`${name} · AI model`), `${name} not marked: ${options}`);
    // A local style: nothing leaves the project, no processor to name.
    await page.locator("#kiosk-style").selectOption("sketch");
    assert.doesNotMatch(await consentBox.innerText(), /Vertex AI/);
    const agreed = page.getByLabel("The attendee has read this and agrees");
    await agreed.check();
    // A generated style names its processor, and the attendee agrees again.
    await page.locator("#kiosk-style").selectOption("hanbok");
    await expectText(consentBox, /sent to the model on Google Vertex AI/);
    assert.ok(!(await agreed.isChecked()), "the agreement given before the processor was named still stands");
    await shot(page, "generated-5-kiosk");
  } finally {
    await context.close();
    await cam.close();
  }
});

test("past the event's budget the app offers the local styles and keeps the photo", async () => {
  await onPhone(browser, "generated-budget", async (page) => {
    await usingGateway(page);
    await toUpload(page, "Oil portrait");
    await page.getByRole("button", { name: "I agree" }).click();
    await expectVisible(page.getByRole("heading", { name: "Your photo" }));
    await page.getByLabel("Take or choose a photo").setInputFiles(portrait);
    const submit = page.getByRole("button", { name: "Make my portrait" });
    await until("submit enabled", () => submit.isEnabled());

    // Someone else's generated portrait spends the budget meanwhile.
    const token = await signUp(`spender-${Date.now()}@example.test`, "spender-secret-1");
    const form = new FormData();
    form.append("style", "anime");
    form.append("photo", new Blob([fs.readFileSync(portrait)], { type: "image/png" }), "portrait.png");
    const spent = await fetch(gatewayUrl + "/v1/jobs", { method: "POST", headers: { Authorization: "Bearer " + token }, body: form });
    assert.equal(spent.status, 202, await spent.text());

    await submit.click();
    const status = page.getByRole("alert");
    await expectText(status, /used up at this event/);
    const style = page.getByLabel("Style");
    const offered = await style.locator("option").allTextContents();
    assert.ok(offered.length >= 5, `offered ${offered}`);
    for (const name of GENERATED) assert.ok(!offered.some((o) => o.startsWith(name)), `${name} still offered: ${offered}`);
    assert.ok(!(await page.getByLabel(new RegExp(`sent to ${PROCESSOR}`)).isVisible()));
    await expectVisible(page.locator("img.preview")); // the photo is kept
    await shot(page, "generated-4-budget-spent");
    await until("submit enabled", () => submit.isEnabled());
    await submit.click();
    await until("job page", () => /#\/job\//.test(page.url()));

    // The landing page no longer offers them either.
    await page.goto(env.WEB_URL);
    const styles = page.getByRole("list", { name: "Styles" });
    await expectVisible(styles.getByRole("link", { name: /Pencil sketch/ }));
    assert.equal(await styles.getByText("Drawn by a hosted model").count(), 0);
  });
});

