import { describe, expect, it } from "vitest";
import { clampFont, isDark, storedTheme } from "./theme";

describe("theme", () => {
  it("reads the stored theme, and the d key's old setting as dark", () => {
    expect(storedTheme("light", "1")).toBe("light");
    expect(storedTheme(null, "1")).toBe("dark");
    expect(storedTheme(null, "0")).toBe("system");
    expect(storedTheme("bogus", null)).toBe("system");
  });

  it("system follows the desktop; light and dark do not", () => {
    expect(isDark("system", true)).toBe(true);
    expect(isDark("system", false)).toBe(false);
    expect(isDark("light", true)).toBe(false);
    expect(isDark("dark", false)).toBe(true);
  });

  it("keeps the font size readable", () => {
    expect(clampFont(4)).toBe(10);
    expect(clampFont(40)).toBe(32);
    expect(clampFont(17)).toBe(17);
  });
});
