// A style's name and description in the user's language: the catalogue
// (GET /v1/styles) carries translations by language code ("localized");
// a style without one in that language shows its English text.
import type { Style } from "./api";

export function localize(s: Style, lang: string): Style {
  const tr = s.localized?.[lang];
  return { ...s, name: tr?.name || s.name, description: tr?.description || s.description };
}

// untranslated: the ids of the styles that fall back to English in lang.
export function untranslated(styles: readonly Style[], lang: string): string[] {
  return styles.filter((s) => !s.localized?.[lang]?.name || !s.localized?.[lang]?.description).map((s) => s.id);
}
