// The app's shared state and its hash router. Each view renders into the
// main element and returns its teardown (Firestore listeners, timers,
// camera), which the router runs before the next view.
import { onAuthStateChanged, signOut, type Auth, type User } from "firebase/auth";
import type { Firestore } from "firebase/firestore";
import { Api, ApiError, type Catalogue, type Job } from "./api";
import type { AppCheckFn } from "./appcheck";
import type { StudioConfig } from "./config";
import { h } from "./dom";
import { deviceLang, I18n } from "./i18n";
import { GisLoader } from "./google";
import { isStaffOf } from "./staff";
import { submitFailure } from "./errors";

// The consent text's version: its wording's and the days it promises (the
// event's retention, retentionDays in /studio.json), so a change of either
// asks again. It travels with each job (form field consent).
const CONSENT_TEXT = "2025-06-v1";
export function consentVersion(cfg: Pick<StudioConfig, "retentionDays">): string {
  return `${CONSENT_TEXT}-${cfg.retentionDays}d`;
}

export interface Ctx {
  cfg: StudioConfig;
  api: Api;
  auth: Auth;
  db: Firestore;
  user: User | null;
  staff: boolean;
  go: (hash: string) => void;
  // refreshHeader: after the user changed in place (a guest linked to an
  // email), which onAuthStateChanged does not report.
  refreshHeader: () => void;
  // notice: a one-time message for the next screen (what sign-in did).
  notice?: string;
  // catalogue: the event's styles, once fetched (src/catalogue.ts).
  catalogue?: Catalogue;
  // boothPanel: the job in the kiosk's result panel and its pick-up link,
  // kept while the kiosk is left for Print (src/views/kiosk/panel.ts).
  boothPanel?: { job: Job; url: string };
  // submitted: the job the upload screen just made (the Gateway's 202
  // answer), handed to the status screen so it shows the job at once, not
  // after the listeners' first snapshots.
  submitted?: Job;
  // finishing: a sign-in link is being completed (src/views/attendee/finish.ts).
  // Signing in re-renders the view (onAuthStateChanged) while the first
  // render still works on the link, whose one-time code must be used once.
  finishing?: boolean;
  // i18n: the language the app speaks (the header switches it); views
  // take its bound t.
  i18n: I18n;
  // gis: Google's sign-in script's loader, the page's one (src/google.ts).
  gis: GisLoader;
}

export type Teardown = () => void;
export type View = (ctx: Ctx, main: HTMLElement, arg: string) => Teardown | void | Promise<Teardown | void>;

export function hasConsented(cfg: StudioConfig): boolean {
  return localStorage.getItem("consent") === consentVersion(cfg);
}
export function setConsented(cfg: StudioConfig) {
  localStorage.setItem("consent", consentVersion(cfg));
}

export async function start(cfg: StudioConfig, auth: Auth, db: Firestore, routes: Record<string, View>, appCheck: AppCheckFn = async () => null) {
  const header = document.getElementById("header")!;
  const main = document.getElementById("main")!;
  const ctx: Ctx = {
    cfg,
    auth,
    db,
    user: null,
    staff: false,
    api: new Api(cfg.gatewayUrl, async () => (auth.currentUser ? auth.currentUser.getIdToken() : null), undefined, appCheck),
    go: (hash) => {
      if (location.hash === hash) void render();
      else location.hash = hash;
    },
    refreshHeader: () => renderHeader(),
    gis: new GisLoader(),
    i18n: new I18n(deviceLang()),
  };
  const render = router(ctx, main, routes);
  // leave signs out. A guest's photos belong to an account nobody can sign
  // in to again, so a guest is warned first and offered to keep them: a
  // sign-in (email link) links the guest, photos and all, to an address.
  const leave = async () => {
    if (ctx.user?.isAnonymous && !(await guestLeaves(ctx))) return;
    await signOut(auth);
    ctx.go("#/");
  };
  const renderHeader = () => headerNav(ctx, header, leave, () => { renderHeader(); void render(); });

  document.documentElement.lang = ctx.i18n.lang;
  let first = true;
  onAuthStateChanged(auth, async (u) => {
    ctx.user = u;
    ctx.staff = u ? isStaffOf((await u.getIdTokenResult()).claims, cfg.event) : false;
    renderHeader();
    if (first) {
      first = false;
      window.addEventListener("hashchange", () => void render());
    }
    void render();
  });
}

// headerNav draws the header: the event's name and the navigation, with
// sign-out (leave) and the language switch (then relang redraws).
function headerNav(ctx: Ctx, header: HTMLElement, leave: () => Promise<void>, relang: () => void) {
  const { t } = ctx.i18n;
  const nav = h("nav", { "aria-label": "Main" },
    h("a", { href: "#/photos" }, t("my_photos")),
    !ctx.user || ctx.user.isAnonymous ? h("a", { href: "#/signin" }, t("sign_in_title")) : null,
    ctx.staff ? h("a", { href: "#/kiosk" }, t("kiosk")) : null,
    ctx.user ? h("button", { class: "link", type: "button", onclick: () => void leave() }, t("sign_out")) : null,
    h("button", {
      class: "link", type: "button", "aria-label": t("language"),
      onclick: () => { ctx.i18n.choose(ctx.i18n.lang === "ko" ? "en" : "ko"); document.documentElement.lang = ctx.i18n.lang; relang(); },
    }, ctx.i18n.lang === "ko" ? "EN" : "한국어"),
  );
  header.replaceChildren(h("a", { href: "#/", class: "brand" }, ctx.cfg.eventName), nav);
}

// guestLeaves asks a guest who signs out; true: sign out anyway.
function guestLeaves(ctx: Ctx): Promise<boolean> {
  const { t } = ctx.i18n;
  return new Promise((resolve) => {
    const dialog = h("dialog", { class: "card confirm", "aria-labelledby": "leave-title" },
      h("h2", { id: "leave-title" }, t("guest_leave_title")),
      h("p", {}, t("guest_leave_body")),
      h("div", { class: "row" },
        h("button", { class: "button primary", type: "button", value: "keep", onclick: () => dialog.close("keep") }, t("guest_leave_keep")),
        h("button", { class: "button danger", type: "button", value: "leave", onclick: () => dialog.close("leave") }, t("guest_leave_anyway")),
        h("button", { class: "button", type: "button", value: "stay", onclick: () => dialog.close("stay") }, t("guest_leave_cancel")),
      ),
    );
    dialog.addEventListener("close", () => {
      dialog.remove();
      if (dialog.returnValue === "keep") ctx.go("#/signin");
      resolve(dialog.returnValue === "leave");
    });
    document.body.append(dialog);
    dialog.showModal();
  });
}

// router returns render, which shows the view the hash names, after the
// previous view's teardown; a view finished after the user moved on is
// torn down at once.
function router(ctx: Ctx, main: HTMLElement, routes: Record<string, View>): () => Promise<void> {
  let teardown: Teardown | void;
  let seq = 0;
  return async function render() {
    const my = ++seq;
    if (teardown) {
      try { teardown(); } catch (e) { console.warn("teardown", e); }
      teardown = undefined;
    }
    const [, name = "", arg = ""] = /^#\/([^/?]*)\/?([^?]*)/.exec(location.hash) ?? [];
    const view = routes[name] ?? routes[""];
    main.replaceChildren();
    main.focus({ preventScroll: true });
    try {
      const td = await view(ctx, main, decodeURIComponent(arg));
      if (my !== seq) { if (td) td(); return; } // navigated away meanwhile
      teardown = td;
    } catch (e) {
      // The Gateway's answers in words, never its message.
      console.warn("view", (e as Error).message ?? e);
      const { t } = ctx.i18n;
      main.replaceChildren(h("h1", {}, t("error")), h("p", { role: "alert" }, e instanceof ApiError ? t(submitFailure(e).key) : String((e as Error).message ?? e)));
    }
  };
}
