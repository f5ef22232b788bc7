import { describe, expect, it } from "vitest";
import type { Style } from "../src/api";
import { localize, untranslated } from "../src/styletext";

const sketch: Style = { id: "sketch", name: "Pencil sketch", description: "A pencil drawing.", localized: { ko: { name: "연필 스케치", description: "연필로 그린 인물화." } } };
const custom: Style = { id: "neon", name: "Neon", description: "Neon lights." }; // an operator's style without translations
const half: Style = { id: "half", name: "Half", description: "Only a name.", localized: { ko: { name: "반쪽", description: "" } } };

describe("localize", () => {
  it("takes the language's name and description", () => {
    expect(localize(sketch, "ko")).toMatchObject({ id: "sketch", name: "연필 스케치", description: "연필로 그린 인물화." });
  });
  it("falls back to English where a translation is missing", () => {
    expect(localize(custom, "ko")).toMatchObject({ name: "Neon", description: "Neon lights." });
    expect(localize(half, "ko")).toMatchObject({ name: "반쪽", description: "Only a name." });
    expect(localize(sketch, "en")).toMatchObject({ name: "Pencil sketch" });
  });
  it("lists the styles that fall back", () => {
    expect(untranslated([sketch, custom, half], "ko")).toEqual(["neon", "half"]);
    expect(untranslated([sketch], "ko")).toEqual([]);
  });
});
