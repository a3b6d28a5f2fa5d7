// The theme and font size rules, kept free of Svelte and the page so they can be unit tested;
// stores/appearance.svelte.ts holds the user's choice.

export type ThemeChoice = "system" | "light" | "dark";

export const THEMES: readonly [ThemeChoice, string][] = [
  ["system", "as the system"],
  ["light", "light"],
  ["dark", "dark"],
];

/** The stored choice; before the setting existed the d key kept `verdikt.dark` = "1". */
export function storedTheme(theme: string | null, legacyDark: string | null): ThemeChoice {
  if (theme === "system" || theme === "light" || theme === "dark") return theme;
  return legacyDark === "1" ? "dark" : "system";
}

export const isDark = (choice: ThemeChoice, systemDark: boolean): boolean =>
  choice === "dark" || (choice === "system" && systemDark);

export const clampFont = (size: number): number => Math.max(10, Math.min(32, size));
