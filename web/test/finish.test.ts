// @vitest-environment happy-dom
//
// The email link's finish screen and ctx.finishing: the sign-in re-renders
// the screen (onAuthStateChanged) while the first render still completes
// the link, whose one-time code must be used once. The flag lives on the
// app's context, so a render of the same app leaves the link alone, another
// app's context does not see it, and a failure lets the next render try
// again. Only the Firebase SDK's side (src/emaillink.ts) is a stand-in.
import { beforeEach, describe, expect, it, vi } from "vitest";
import type { Auth, User } from "firebase/auth";
import type { Firestore } from "firebase/firestore";
import type { Finished } from "../src/account";
import { Api } from "../src/api";
import type { Ctx } from "../src/app";
import type { StudioConfig } from "../src/config";
import { GisLoader } from "../src/google";
import { I18n } from "../src/i18n";
import { finish } from "../src/views/attendee/finish";

const link = vi.hoisted(() => ({
  calls: [] as string[],
  answers: [] as Promise<unknown>[],
}));
vi.mock("../src/emaillink", () => ({
  isLink: () => true,
  rememberedEmail: () => "ada@example.com",
  finish: (_auth: unknown, email: string) => { link.calls.push(email); return link.answers.shift(); },
}));

function deferred<T>() {
  let resolve!: (v: T) => void;
  let reject!: (e: Error) => void;
  const promise = new Promise<T>((res, rej) => { resolve = res; reject = rej; });
  return { promise, resolve, reject };
}

function context(went: string[]): Ctx {
  const cfg: StudioConfig = { gatewayUrl: "https://gw.test", event: "ev", eventName: "Event", retentionDays: 7, firebase: {} };
  return {
    cfg, api: new Api("https://gw.test", async () => null), auth: {} as Auth, db: {} as Firestore, user: null, staff: false,
    go: (hash) => { went.push(hash); }, refreshHeader: () => {}, gis: new GisLoader(), i18n: new I18n("en"),
  };
}

const linked = (): Finished => ({ user: { uid: "guest-1" } as User, outcome: "linked", moved: 0 });
const flush = async () => { for (let i = 0; i < 20; i++) await Promise.resolve(); };

beforeEach(() => {
  link.calls.length = 0;
  link.answers.length = 0;
  vi.spyOn(console, "warn").mockImplementation(() => {});
});

describe("finish", () => {
  it("completes the link once while the sign-in re-renders the screen", async () => {
    const went: string[] = [];
    const ctx = context(went);
    const answer = deferred<Finished>();
    link.answers.push(answer.promise);
    const first = finish(ctx, document.createElement("main"));
    await flush();
    expect(ctx.finishing).toBe(true);
    // onAuthStateChanged's render, while the first one waits on the link.
    const again = document.createElement("main");
    await finish(ctx, again);
    expect(link.calls).toEqual(["ada@example.com"]);
    expect(again.querySelector("form")).toBeNull();
    answer.resolve(linked());
    await first;
    expect(ctx.finishing).toBe(false);
    expect(ctx.user?.uid).toBe("guest-1");
    expect(ctx.notice).toBe("ada@example.com is confirmed: we mail your portraits there.");
    expect(went).toEqual(["#/photos"]);
  });
  it("keeps the flag to its own app: another context completes its link", async () => {
    const held = deferred<Finished>();
    link.answers.push(held.promise, Promise.resolve(linked()));
    const busy = context([]);
    const pending = finish(busy, document.createElement("main"));
    await flush();
    const went: string[] = [];
    await finish(context(went), document.createElement("main"));
    expect(link.calls).toHaveLength(2);
    expect(went).toEqual(["#/photos"]);
    held.resolve(linked());
    await pending;
  });
  it("lets the next render try again after a failure", async () => {
    const went: string[] = [];
    const ctx = context(went);
    const failed = deferred<Finished>();
    link.answers.push(failed.promise, Promise.resolve(linked()));
    const main = document.createElement("main");
    const first = finish(ctx, main);
    failed.reject(new Error("auth/invalid-action-code"));
    await first;
    expect(ctx.finishing).toBe(false);
    expect(main.querySelector("[role=status]")?.textContent).toBe("Something went wrong: auth/invalid-action-code");
    expect(went).toEqual([]);
    await finish(ctx, document.createElement("main"));
    expect(link.calls).toHaveLength(2);
    expect(went).toEqual(["#/photos"]);
  });
});
