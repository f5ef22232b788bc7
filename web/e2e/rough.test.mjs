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

test("the language chosen in the header is kept across reloads, and Korean breaks between words only", async () => {
  await onPhone(browser, "rough-lang", async (page) => {
    await page.goto(env.WEB_URL);
    await expectVisible(page.getByRole("link", { name: "Take my portrait" }));
    await page.getByRole("button", { name: "Language" }).click();
    await expectVisible(page.getByRole("link", { name: "내 사진 만들기" }));
    await page.reload();
    await expectVisible(page.getByRole("link", { name: "내 사진 만들기" }));
    assert.equal(await page.locator("html").getAttribute("lang"), "ko");
    const tagline = page.locator(".hero p");
    assert.equal(await tagline.evaluate((el) => getComputedStyle(el).wordBreak), "keep-all");
    // Each line of the tagline ends at a word's end: the text of every
    // line box, measured with a Range per character, ends before a space
    // or at the end.
    const breaks = await tagline.evaluate((el) => {
      const text = el.firstChild;
      const r = document.createRange();
      const bad = [];
      let lastTop = null;
      for (let i = 0; i < text.length; i++) {
        r.setStart(text, i); r.setEnd(text, i + 1);
        const top = r.getBoundingClientRect().top;
        if (lastTop !== null && top > lastTop + 2 && !/\s/.test(text.data[i - 1]) && !/\s/.test(text.data[i])) bad.push(text.data.slice(Math.max(0, i - 3), i + 3));
        if (!/\s/.test(text.data[i])) lastTop = top;
      }
      return bad;
    });
    assert.deepEqual(breaks, [], "lines broken inside a word");
    await shot(page, "rough-ko-landing");
    await page.getByRole("button", { name: "언어" }).click();
    await expectVisible(page.getByRole("link", { name: "Take my portrait" }));
    await page.reload();
    await expectVisible(page.getByRole("link", { name: "Take my portrait" }));
  });
});
