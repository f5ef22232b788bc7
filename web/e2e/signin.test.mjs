// Sign-in beyond guest: a guest submits a job, then signs in with an email
// link (the link read from the Auth emulator's oobCodes endpoint); the
// anonymous account is linked, not replaced, so My photos still lists the
// guest's job, and the now verified address gets the next result by mail.
import { after, afterEach, before, test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { authAdmin, createUser, env, expectText, expectVisible, fixtures, imageLoaded, launch, onPhone, shot, signUp, submitOnline, until } from "./harness.mjs";
import { noCSPViolations, watchCSP } from "./csp.mjs";

const portrait = path.join(fixtures, "portrait.png");
let browser;
before(async () => { browser = watchCSP(await launch()); });
after(async () => { await browser?.close(); });
afterEach(noCSPViolations);

// signInLink: the newest email sign-in link the Auth emulator "sent" to email.
async function signInLink(email) {
  const r = await fetch(`http://${env.FIREBASE_AUTH_EMULATOR_HOST}/emulator/v1/projects/${env.GCLOUD_PROJECT}/oobCodes`);
  if (!r.ok) throw new Error(`oobCodes: ${r.status}`);
  const codes = (await r.json()).oobCodes.filter((c) => c.email === email && c.requestType === "EMAIL_SIGNIN");
  return codes.at(-1)?.oobLink;
}

// uploadStudio: from the upload screen, submit the portrait in the studio
// style and wait for Done; returns the job's id.
async function uploadStudio(page) {
  await expectVisible(page.getByRole("heading", { name: "Your photo" }));
  await page.getByLabel("Style").selectOption("studio");
  await page.getByLabel("Take or choose a photo").setInputFiles(portrait);
  const submit = page.getByRole("button", { name: "Make my portrait" });
  await until("submit enabled", () => submit.isEnabled());
  await submit.click();
  await until("job page", () => /#\/job\//.test(page.url()));
  await expectText(page.locator(".badge"), /Done/, 120000);
  await imageLoaded(page.getByRole("img", { name: "Your AI portrait" }));
  return decodeURIComponent(/#\/job\/([^/?]+)/.exec(page.url())[1]);
}

// guestWithJob: a guest (consent given) with one finished studio job.
async function guestWithJob(page) {
  await page.goto(env.WEB_URL + "/#/signin");
  await page.getByRole("button", { name: "Continue as guest" }).click();
  await page.getByRole("button", { name: "I agree" }).click();
  const guestJob = await uploadStudio(page);
  return { guestJob, guestUid: await requestUid(guestJob) };
}

// requestUid: the owner of a job (its request document, read as admin).
async function requestUid(id) {
  const r = await fetch(`http://${env.FIRESTORE_EMULATOR_HOST}/v1/projects/${env.GCLOUD_PROJECT}/databases/(default)/documents/requests/${id}`,
    { headers: { Authorization: "Bearer owner" } });
  if (!r.ok) throw new Error(`requests/${id}: ${r.status}`);
  return (await r.json()).fields.uid.stringValue;
}

// mailTo: the .eml in the stack's mail sink about job id, sent to email.
function mailTo(email, id) {
  for (const f of fs.readdirSync(env.MAIL_DIR).filter((f) => f.endsWith(".eml"))) {
    const raw = fs.readFileSync(path.join(env.MAIL_DIR, f), "utf8");
    if (raw.includes(id) && new RegExp(`^To:.*${email.replace(/[.+]/g, "\\$&")}`, "mi").test(raw)) return f;
  }
  return null;
}

test("a guest who signs in with an email link keeps their jobs and gets results by mail", async () => {
  const email = `guest-${Date.now()}@example.test`;
  await onPhone(browser, "signin", async (page) => {
    const { guestJob, guestUid } = await guestWithJob(page);

    // Sign in later, from the header.
    await page.getByRole("link", { name: "Sign in", exact: true }).click();
    await expectVisible(page.getByText(/signed in as a guest/));
    await page.getByLabel("Email").fill(email);
    await shot(page, "signin-1-email");
    await page.getByRole("button", { name: "Email me a sign-in link" }).click();
    await expectVisible(page.getByText(/Check your email/));
    await shot(page, "signin-2-link-sent");
    // The link as mailed: the Auth emulator's action page, which sends the
    // browser back to the app with the one-time code.
    const link = await until("the sign-in link", () => signInLink(email));
    await page.goto(link);
    await expectVisible(page.getByRole("heading", { name: "My photos" }));
    await expectVisible(page.getByText(`Signed in as ${email}`));
    assert.doesNotMatch(page.url(), /oobCode/, "the one-time code stays in the address bar");
    const items = page.getByRole("listitem");
    await until("the guest's job listed", async () => (await items.count()) === 1);
    assert.match(await items.first().getByRole("link").getAttribute("href"), new RegExp(guestJob));
    await imageLoaded(items.first().getByRole("img"));
    await shot(page, "signin-3-my-photos");
    // The same account: the guest's uid now has the verified address.
    const { users } = await authAdmin("accounts:lookup", { email: [email] });
    assert.equal(users.length, 1);
    assert.equal(users[0].localId, guestUid, "the guest was replaced, not linked");
    assert.equal(users[0].emailVerified, true);
    assert.equal(await page.getByRole("link", { name: "Sign in", exact: true }).count(), 0);

    // The next result is mailed to the verified address.
    await page.goto(env.WEB_URL + "/#/upload/studio");
    const mailed = await uploadStudio(page);
    assert.equal(await requestUid(mailed), guestUid);
    const eml = await until("the result mailed", () => mailTo(email, mailed), 30000);
    console.log(`mailed: ${eml}`);
  });
});

test("a guest whose email already has an account is signed in to it and brings the guest's jobs", async () => {
  const email = `existing-${Date.now()}@example.test`;
  const existingUid = await createUser(email, "existing-secret-1");
  await onPhone(browser, "signin", async (page) => {
    const { guestJob, guestUid } = await guestWithJob(page);
    await page.getByRole("link", { name: "Sign in", exact: true }).click();
    await page.getByLabel("Email").fill(email);
    await page.getByRole("button", { name: "Email me a sign-in link" }).click();
    await expectVisible(page.getByText(/Check your email/));
    const first = await until("the sign-in link", () => signInLink(email));
    await page.goto(first);
    // Linking fails (the address is taken) and uses up the code: a new
    // link is sent, which signs in to the existing account.
    await expectVisible(page.getByText(/already has an account/));
    await shot(page, "signin-4-existing-account");
    await page.goto(await until("a second link", async () => { const l = await signInLink(email); return l !== first && l; }));
    await expectVisible(page.getByRole("heading", { name: "My photos" }));
    await expectVisible(page.getByText(`Signed in as ${email}`));
    // The guest's job came along (POST /v1/jobs:adopt with the guest's token).
    await expectVisible(page.getByText("Your guest photos (1) are now in this account."));
    const items = page.getByRole("listitem");
    await until("the guest's job listed", async () => (await items.count()) === 1);
    assert.match(await items.first().getByRole("link").getAttribute("href"), new RegExp(guestJob));
    await imageLoaded(items.first().getByRole("img"));
    await shot(page, "signin-5-existing-signed-in");
    assert.equal(await requestUid(guestJob), existingUid, "the guest's job did not move to the account");
    assert.notEqual(guestUid, existingUid);
    const uid = await page.evaluate(async () => {
      const db = await new Promise((res, rej) => { const r = indexedDB.open("firebaseLocalStorageDb"); r.onsuccess = () => res(r.result); r.onerror = rej; });
      const all = await new Promise((res) => { const q = db.transaction("firebaseLocalStorage").objectStore("firebaseLocalStorage").getAll(); q.onsuccess = () => res(q.result); });
      return all.find((e) => e.fbase_key.startsWith("firebase:authUser"))?.value?.uid;
    });
    assert.equal(uid, existingUid);
    // The job's page reads its live documents as the new owner (rules).
    await items.first().getByRole("link").click();
    await expectText(page.locator(".badge"), /Done/, 15000);
  });
});

// A guest's email for the result: given with the photo, confirmed by the
// link it receives, and the result is mailed there (Notify reads the
// address the account verified after submitting). A backlog keeps the job
// queued while the link is opened; had it finished first, the sweep mails it.
test("a guest gives an email with the photo, confirms it from the link, and the result is mailed", async () => {
  const email = `guest-mail-${Date.now()}@example.test`;
  await onPhone(browser, "signin", async (page) => {
    await page.goto(env.WEB_URL + "/#/signin");
    await page.getByRole("button", { name: "Continue as guest" }).click();
    await page.getByRole("button", { name: "I agree" }).click();
    await expectVisible(page.getByRole("heading", { name: "Your photo" }));
    await page.getByLabel("Style").selectOption("studio");
    await page.getByLabel("Take or choose a photo").setInputFiles(portrait);
    await page.getByLabel("Email me the result (optional)").fill(email);
    const submit = page.getByRole("button", { name: "Make my portrait" });
    await until("submit enabled", () => submit.isEnabled());
    await shot(page, "signin-8-guest-email");
    const token = await signUp(`crowd-${Date.now()}@example.test`, "crowd-secret-1");
    const photo = fs.readFileSync(portrait);
    for (let i = 0; i < 4; i++) await submitOnline(token, "sketch", photo, i);
    await submit.click();
    await until("job page", () => /#\/job\//.test(page.url()));
    const job = decodeURIComponent(/#\/job\/([^/?]+)/.exec(page.url())[1]);
    await expectVisible(page.getByText(`We sent a link to ${email}`));
    const guestUid = await requestUid(job);
    const { oobLink } = { oobLink: await until("the confirmation link", () => signInLink(email)) };
    await page.goto(oobLink);
    await expectVisible(page.getByText(`${email} is confirmed`));
    const { users } = await authAdmin("accounts:lookup", { email: [email] });
    assert.equal(users[0].localId, guestUid, "the guest was replaced, not linked");
    const eml = await until("the result mailed to the confirmed address", () => mailTo(email, job), 200000);
    console.log(`mailed: ${eml}`);
  });
});

// Google sign-in: Google's script is replaced by a named fake (Google is
// not reachable here); the credential it returns goes through the app's real
// path (linkWithCredential / signInWithCredential on the Auth emulator, the
// Gateway's adopt). The event's OAuth client id is added to /studio.json as
// the deploy writes it.
async function withFakeGoogle(page, user) {
  await page.route("https://accounts.google.com/gsi/client", (route) =>
    route.fulfill({ contentType: "text/javascript", path: path.join(fixtures, "fake-gis.js") }));
  await page.route("**/studio.json", async (route) => {
    const r = await route.fetch();
    route.fulfill({ response: r, json: { ...(await r.json()), googleClientId: "e2e-client.apps.googleusercontent.com" } });
  });
  await page.addInitScript((u) => { window.__fakeGoogleUser = u; }, user);
}

// signInWithGoogleIdp: a Google account that already signed in to the app
// once (the Auth emulator's signInWithIdp with the same kind of token).
async function existingGoogleAccount(user) {
  const b64 = (o) => Buffer.from(JSON.stringify(o)).toString("base64url");
  const token = `${b64({ alg: "none", typ: "JWT" })}.${b64({ iss: "https://accounts.google.com", aud: "e2e-client.apps.googleusercontent.com", sub: user.sub, email: user.email, email_verified: true })}.`;
  const r = await fetch(`http://${env.FIREBASE_AUTH_EMULATOR_HOST}/identitytoolkit.googleapis.com/v1/accounts:signInWithIdp?key=emulator`, {
    method: "POST", headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ postBody: `id_token=${token}&providerId=google.com`, requestUri: "http://localhost", returnSecureToken: true }),
  });
  if (!r.ok) throw new Error(`signInWithIdp: ${r.status} ${await r.text()}`);
  return (await r.json()).localId;
}

test("a guest who continues with Google keeps their jobs; a known Google account takes them over", async () => {
  const stamp = Date.now();
  const fresh = { sub: `g-${stamp}-1`, email: `google-${stamp}@gmail.test`, name: "Gee New" };
  const known = { sub: `g-${stamp}-2`, email: `google-known-${stamp}@gmail.test`, name: "Gee Known" };
  const knownUid = await existingGoogleAccount(known);
  for (const [who, user] of [["fresh", fresh], ["known", known]]) {
    await onPhone(browser, "signin", async (page) => {
      await withFakeGoogle(page, user);
      const { guestJob, guestUid } = await guestWithJob(page);
      await page.getByRole("link", { name: "Sign in", exact: true }).click();
      await expectVisible(page.getByRole("heading", { name: "Sign in with Google" }));
      if (who === "fresh") await shot(page, "signin-6-google");
      await page.getByRole("button", { name: "Continue with Google" }).click();
      await expectVisible(page.getByRole("heading", { name: "My photos" }));
      await expectVisible(page.getByText(`Signed in as ${user.email}`));
      const items = page.getByRole("listitem");
      await until("the guest's job listed", async () => (await items.count()) === 1);
      assert.match(await items.first().getByRole("link").getAttribute("href"), new RegExp(guestJob));
      const { users } = await authAdmin("accounts:lookup", { email: [user.email] });
      assert.equal(users.length, 1);
      if (who === "fresh") {
        // Linked: the guest's uid now has Google and its verified address.
        assert.equal(users[0].localId, guestUid, "the guest was replaced, not linked");
        assert.equal(users[0].providerUserInfo?.[0]?.providerId, "google.com");
        await page.goto(env.WEB_URL + "/#/upload/studio");
        const mailed = await uploadStudio(page);
        await until("the result mailed to the Google address", () => mailTo(user.email, mailed), 30000);
      } else {
        // Signed in to the known account; the guest's job moved to it.
        assert.equal(users[0].localId, knownUid);
        await expectVisible(page.getByText("Your guest photos (1) are now in this account."));
        assert.equal(await requestUid(guestJob), knownUid);
        await shot(page, "signin-7-google-known");
      }
    });
  }
});

test("without Google (unreachable or not configured) the sign-in page still offers email and guest", async () => {
  await onPhone(browser, "signin", async (page) => {
    // Configured, but Google's script cannot load (this machine is offline).
    await page.route("**/studio.json", async (route) => {
      const r = await route.fetch();
      route.fulfill({ response: r, json: { ...(await r.json()), googleClientId: "e2e-client.apps.googleusercontent.com" } });
    });
    let asked = false;
    await page.route("https://accounts.google.com/**", (route) => { asked = true; return route.abort(); });
    await page.goto(env.WEB_URL + "/#/signin");
    await expectVisible(page.getByRole("button", { name: "Continue as guest" }));
    await expectVisible(page.getByRole("button", { name: "Email me a sign-in link" }));
    // The app did try to load Google's script (so it was configured), and
    // then hid the block.
    await until("Google's script requested", () => asked);
    await until("the Google block hidden", async () => !(await page.getByRole("heading", { name: "Sign in with Google" }).isVisible()));
  });
});
