// The browser tests fail on any Content-Security-Policy violation: the app
// is served with the policy of firebase.json (the Hosting emulator applies
// its headers), and whatever it blocks in a test would be broken for
// users too. A test file wraps its browsers with watchCSP and checks with
// noCSPViolations after each test:
//
//   before(async () => { browser = watchCSP(await launch()); });
//   afterEach(noCSPViolations);
import { fileURLToPath } from "node:url";

const violations = [];

// watchCSP makes every context the browser opens from now on (newContext,
// and newPage, which goes through it) report the CSP violations of each of
// its pages and frames: the securitypolicyviolation events the documents
// fire, and Chromium's console messages about the policy (which also cover
// what fires no event, e.g. in workers). It returns the browser.
export function watchCSP(browser) {
  const newContext = browser.newContext.bind(browser);
  browser.newContext = async (...args) => {
    const context = await newContext(...args);
    await watchContext(context);
    return context;
  };
  return browser;
}

const axePath = fileURLToPath(import.meta.resolve("axe-core/axe.min.js"));

async function watchContext(context) {
  await context.exposeBinding("__tigerCSPViolation", ({ page }, what) => {
    violations.push(`${page?.url() ?? "?"}: ${what}`);
  });
  await context.addInitScript(() => {
    document.addEventListener("securitypolicyviolation", (e) => {
      window.__tigerCSPViolation(`${e.effectiveDirective} blocked ${e.blockedURI || "(inline)"} at ${e.sourceFile || "?"}:${e.lineNumber}`);
    }, true);
  });
  // The harness's accessibility check adds axe-core with addScriptTag (an
  // inline script) unless the page has it: the policy rightly blocks inline
  // scripts, so axe comes in as an init script, which the policy does not
  // govern (the test's own code, like page.evaluate).
  await context.addInitScript({ path: axePath });
  context.on("console", (m) => {
    if (/Content Security Policy/i.test(m.text())) violations.push(`${m.page()?.url() ?? "?"}: console ${m.type()}: ${m.text()}`);
  });
}

// noCSPViolations throws (failing the test it runs after) when a watched
// page reported a violation since the last call.
export function noCSPViolations() {
  const seen = violations.splice(0);
  if (seen.length) throw new Error(`Content-Security-Policy violations:\n  ${seen.join("\n  ")}`);
}
