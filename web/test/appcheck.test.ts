// App Check: the submission carries the token; the stand-in's exchange is
// read in App Check's REST shape.
import { describe, expect, it } from "vitest";
import { Api } from "../src/api";
import { exchangeDebugToken } from "../src/appcheck";

describe("App Check", () => {
  it("sends the token with a submission, and none when App Check is off", async () => {
    const seen: Array<string | null> = [];
    const fetchFn = async (_: RequestInfo | URL, init?: RequestInit) => {
      seen.push(new Headers(init?.headers).get("X-Firebase-AppCheck"));
      return new Response(JSON.stringify({ job: { id: "j" } }), { status: 202, headers: { "Content-Type": "application/json" } });
    };
    const sub = { photo: new Blob(["x"]), style: "sketch", consent: "v", key: "k" };
    await new Api("http://gw", async () => "id", fetchFn, async () => "ac-token").submit(sub);
    await new Api("http://gw", async () => "id", fetchFn).submit(sub);
    expect(seen).toEqual(["ac-token", null]);
  });

  it("exchanges the debug token at the stand-in", async () => {
    let url = "";
    let body = "";
    const fetchFn = (async (u: RequestInfo | URL, init?: RequestInit) => {
      url = String(u);
      body = String(init?.body);
      return new Response(JSON.stringify({ token: "jwt", ttl: "3600s" }), { status: 200 });
    }) as typeof fetch;
    const t = await exchangeDebugToken("http://standin", "proj", "1:2:web:3", "dbg", fetchFn, () => 1000);
    expect(url).toBe("http://standin/v1/projects/proj/apps/1%3A2%3Aweb%3A3:exchangeDebugToken");
    expect(JSON.parse(body)).toEqual({ debugToken: "dbg" });
    expect(t).toEqual({ token: "jwt", expireTimeMillis: 1000 + 3600 * 1000 });
    const refused = (async () => new Response("{}", { status: 403 })) as typeof fetch;
    await expect(exchangeDebugToken("http://standin", "p", "a", "wrong", refused)).rejects.toThrow(/403/);
  });
});
