// How the window looks, the user's choice kept in localStorage: the theme (system, light or
// dark; "system" follows the desktop's prefers-color-scheme as it changes) and the font size.
// The Start screen sets the theme, the Review keys d and +/− too; App.svelte applies both.

import { clampFont, isDark, storedTheme, type ThemeChoice } from "../lib/theme";

class Appearance {
  theme = $state<ThemeChoice>(storedTheme(localStorage.getItem("verdikt.theme"), localStorage.getItem("verdikt.dark")));
  fontSize = $state(clampFont(Number(localStorage.getItem("verdikt.font") ?? "16") || 16));
  systemDark = $state(false);
  readonly dark = $derived(isDark(this.theme, this.systemDark));

  /** The d key: the other of light and dark, from whatever shows now. */
  toggle() {
    this.theme = this.dark ? "light" : "dark";
  }

  font(delta: number) {
    this.fontSize = clampFont(this.fontSize + delta);
  }

  /** Shows the choice on the page and keeps it for the next start. */
  apply() {
    document.documentElement.style.fontSize = `${this.fontSize}px`;
    document.documentElement.dataset.theme = this.dark ? "dark" : "light";
    localStorage.setItem("verdikt.font", String(this.fontSize));
    localStorage.setItem("verdikt.theme", this.theme);
  }

  /** Follows the desktop's light or dark scheme as it changes; returns the stop. */
  follow(): () => void {
    const media = matchMedia("(prefers-color-scheme: dark)");
    const onChange = () => (this.systemDark = media.matches);
    onChange();
    media.addEventListener("change", onChange);
    return () => media.removeEventListener("change", onChange);
  }
}

export const appearance = new Appearance();
