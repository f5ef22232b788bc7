// The rough edges of issue 19, tried as a new user would on a 360 px phone:
// what the app asks of other hosts, the photo's size checked before upload,
// the guest's sign-out, the status screen, download, my photos, Korean.
import { after, afterEach, before, test } from "node:test";
import assert from "node:assert/strict";
import path from "node:path";
import { env, expectText, expectVisible, fixtures, imageLoaded, launch, onPhone, shot, until } from "./harness.mjs";
import { noCSPViolations, watchCSP } from "./csp.mjs";

const portrait = path.join(fixtures, "portrait.png");
let browser;
before(async () => { browser = watchCSP(await launch()); });
after(async () => { await browser?.close(); });
afterEach(noCSPViolations);

// The hosts the app may talk to on its own: itself, the Gateway and the
// stack's emulators (all on 127.0.0.1 here).
function foreign(url) {
  const u = new URL(url);
  return !(u.protocol === "data:" || u.protocol === "blob:" || u.hostname === "127.0.0.1" || u.hostname === "localhost");
}

// guestUpload: a new guest on the upload screen.
async function guestUpload(page) {
  await page.goto(env.WEB_URL + "/#/signin");
  await page.getByRole("button", { name: "Continue as guest" }).click();
  await expectVisible(page.getByRole("heading", { name: "Before your photo" }));
  await page.getByRole("button", { name: "I agree" }).click();
  await expectVisible(page.getByRole("heading", { name: "Your photo" }));
}

test("a phone's page load asks no other host (no gapi api.js), and no source map is served", async () => {
  await onPhone(browser, "rough-hosts", async (page) => {
    const asked = [];
    page.on("request", (r) => { if (foreign(r.url())) asked.push(r.url()); });
    await page.goto(env.WEB_URL);
    await expectVisible(page.getByRole("list", { name: "Styles" }).getByRole("img"));
    await guestUpload(page);
    await page.reload();
    await expectVisible(page.getByRole("heading", { name: "Your photo" }));
    assert.deepEqual(asked, [], "requests to other hosts");
  }, { userAgent: "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Mobile Safari/537.36" });
  const html = await (await fetch(env.WEB_URL + "/")).text();
  const scripts = [...html.matchAll(/src="(\/assets\/[^"]+\.js)"/g)].map((m) => m[1]);
  assert.ok(scripts.length > 0, "no script in index.html");
  for (const s of scripts) {
    const js = await (await fetch(env.WEB_URL + s)).text();
    assert.ok(!/sourceMappingURL=/.test(js), `${s} points to a source map`);
    const map = await fetch(env.WEB_URL + s + ".map");
    const body = await map.text();
    // Hosting's rewrite answers any path with index.html: what matters is
    // that no map comes back.
    assert.ok(!map.ok || !body.includes('"mappings"'), `${s}.map is served (${body.length} bytes)`);
  }
});
