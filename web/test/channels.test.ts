import { describe, expect, it } from "vitest";
import { Api } from "../src/api";
import { kioskChannels } from "../src/views/kiosk";

describe("kioskChannels", () => {
  it.each([
    ["", "", {}],
    ["a@example.test", "", {}],
    ["", "+82 10-1234 (5678)", { notify: "phone", phone: "+821012345678" }],
    ["a@example.test", " +821012345678 ", { notify: "email,phone", phone: "+821012345678" }],
  ])("email %j, phone %j", (email, phone, want) => {
    expect(kioskChannels(email, phone)).toEqual(want);
  });
});

describe("Api.registerDevice", () => {
  it("posts the token as JSON with the user's ID token", async () => {
    const calls: { url: string; init?: RequestInit }[] = [];
    const api = new Api("https://gw.test", async () => "id-token", async (url, init) => {
      calls.push({ url, init });
      return new Response(JSON.stringify({ registered: true }), { status: 200 });
    });
    await api.registerDevice("standin-1");
    expect(calls).toHaveLength(1);
    expect(calls[0].url).toBe("https://gw.test/v1/devices");
    expect(calls[0].init?.method).toBe("POST");
    expect(new Headers(calls[0].init?.headers).get("Authorization")).toBe("Bearer id-token");
    expect(JSON.parse(String(calls[0].init?.body))).toEqual({ token: "standin-1" });
  });
});
