import { describe, expect, it } from "vitest";
import { SCREENS, screenForKey, screensHint, shortcut } from "./screens";

const key = (k: string, mods: Partial<{ altKey: boolean; ctrlKey: boolean; metaKey: boolean }> = {}) => ({
  key: k,
  altKey: true,
  ctrlKey: false,
  metaKey: false,
  ...mods,
});

describe("the list of screens", () => {
  it("is the screens/ folder: a screen file without an entry (or the reverse) fails here", () => {
    const files = Object.keys(import.meta.glob("./screens/*.svelte"))
      .map((p) => p.replace("./screens/", "").replace(".svelte", "").toLowerCase())
      .sort();
    expect(SCREENS.map((s) => s.id).sort()).toEqual(files);
  });

  it("gives every screen its own Alt+number, in the bar's order", () => {
    SCREENS.forEach((s, i) => {
      expect(shortcut(i)).toBe(`Alt+${i + 1}`);
      expect(screenForKey(key(String(i + 1)))).toBe(s.id);
    });
    expect(screenForKey(key(String(SCREENS.length + 1)))).toBeNull();
    expect(screenForKey(key("1", { altKey: false }))).toBeNull();
    expect(screenForKey(key("1", { ctrlKey: true }))).toBeNull();
  });

  it("the Start screen's hint names every screen with its shortcut and no other", () => {
    const hint = screensHint();
    SCREENS.forEach((s, i) => expect(hint).toContain(`${shortcut(i)} ${s.label}`));
    expect(hint.match(/Alt\+\d/g)).toHaveLength(SCREENS.length);
  });
});
