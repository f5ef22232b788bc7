// The event's style catalogue (GET /v1/styles: the styles and the photo
// limits), asked for once per page load and kept on the app's context, so
// every view (attendee, kiosk, photos) shares one copy.
import type { Catalogue, Style } from "./api";
import type { Ctx } from "./app";
import { localize } from "./styletext";

export async function catalogue(ctx: Ctx): Promise<Catalogue> {
  ctx.catalogue ??= await ctx.api.catalogue();
  return ctx.catalogue;
}

// styles: the catalogue's styles in the current language (asked each time:
// the language can change in the header).
export async function styles(ctx: Ctx): Promise<Style[]> {
  const lang = ctx.i18n.lang;
  return (await catalogue(ctx)).styles.map((s) => localize(s, lang));
}

// freshCatalogue asks again: after a refusal that may mean the event's
// budget for generated styles is spent.
export async function freshCatalogue(ctx: Ctx): Promise<Catalogue> {
  ctx.catalogue = undefined;
  return catalogue(ctx);
}
