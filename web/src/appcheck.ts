// Firebase App Check: every job submission carries a token proving it
// comes from this app on a real browser, which the Gateway demands
// (X-Firebase-AppCheck). In the cloud reCAPTCHA Enterprise attests the
// browser; offline nothing can, so the local stack's App Check STAND-IN
// exchanges its debug token for tokens in App Check's REST shape (the debug
// provider's role) through a CustomProvider.
import type { FirebaseApp } from "firebase/app";
import { CustomProvider, getToken, initializeAppCheck, ReCaptchaEnterpriseProvider, type AppCheckToken } from "firebase/app-check";
import type { StudioConfig } from "./config";

export type AppCheckFn = () => Promise<string | null>;

// exchangeDebugToken asks the stand-in (projects.apps.exchangeDebugToken)
// for a token; ttl is a protobuf Duration ("3600s").
export async function exchangeDebugToken(
  standinUrl: string, projectId: string, appId: string, debugToken: string,
  fetchFn: typeof fetch = fetch, now = Date.now,
): Promise<AppCheckToken> {
  const r = await fetchFn(`${standinUrl}/v1/projects/${encodeURIComponent(projectId)}/apps/${encodeURIComponent(appId)}:exchangeDebugToken`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ debugToken }),
  });
  if (!r.ok) throw new Error(`App Check stand-in: HTTP ${r.status}`);
  const body = (await r.json()) as { token: string; ttl: string };
  const ttl = Number.parseFloat(body.ttl);
  return { token: body.token, expireTimeMillis: now() + (Number.isFinite(ttl) ? ttl : 3600) * 1000 };
}

// initAppCheck starts App Check when the config names a provider and
// returns how to get a token (null: App Check is off for this app).
export function initAppCheck(app: FirebaseApp, cfg: StudioConfig): AppCheckFn {
  const c = cfg.appCheck;
  let provider;
  if (c?.siteKey) provider = new ReCaptchaEnterpriseProvider(c.siteKey);
  else if (c?.standinUrl && c.debugToken) {
    const { standinUrl, debugToken } = c;
    provider = new CustomProvider({
      getToken: () => exchangeDebugToken(standinUrl, cfg.firebase.projectId ?? "", cfg.firebase.appId ?? "web", debugToken),
    });
  }
  if (!provider) return async () => null;
  const appCheck = initializeAppCheck(app, { provider, isTokenAutoRefreshEnabled: true });
  return async () => {
    try {
      return (await getToken(appCheck)).token;
    } catch {
      return null; // sent without: the Gateway's refusal says what to do
    }
  };
}
