// Sign-in beyond guest: a guest submits a job, then signs in with an email
// link (the link read from the Auth emulator's oobCodes endpoint); the
// anonymous account is linked, not replaced, so My photos still lists the
// guest's job, and the now verified address gets the next result by mail.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { authAdmin, createUser, env, expectText, expectVisible, fixtures, imageLoaded, launch, newPhone, shot, until } from "./harness.mjs";

const portrait = path.join(fixtures, "portrait.png");
let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

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
  const { context, page } = await newPhone(browser);
  const email = `guest-${Date.now()}@example.test`;
  try {
    await page.goto(env.WEB_URL + "/#/signin");
    await page.getByRole("button", { name: "Continue as guest" }).click();
    await page.getByRole("button", { name: "I agree" }).click();
    const guestJob = await uploadStudio(page);
    const guestUid = await requestUid(guestJob);

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
  } catch (e) {
    console.error(page.logs.join("\n"));
    await shot(page, "signin-failure").catch(() => {});
    throw e;
  } finally {
    await context.close();
  }
});

test("a guest whose email already has an account is signed in to it and brings the guest's jobs", async () => {
  const { context, page } = await newPhone(browser);
  const email = `existing-${Date.now()}@example.test`;
  const existingUid = await createUser(email, "existing-secret-1");
  try {
    await page.goto(env.WEB_URL + "/#/signin");
    await page.getByRole("button", { name: "Continue as guest" }).click();
    await page.getByRole("button", { name: "I agree" }).click();
    const guestJob = await uploadStudio(page);
    const guestUid = await requestUid(guestJob);
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
  } catch (e) {
    console.error(page.logs.join("\n"));
    await shot(page, "signin-failure").catch(() => {});
    throw e;
  } finally {
    await context.close();
  }
});
