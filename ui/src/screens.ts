// The one list of the window's screens: the bar, the Alt+number shortcuts, the Start screen's
// hint and the Review help all read it, so a screen added here is everywhere at once and
// screens.test.ts holds the list equal to the files in screens/.

export type Screen = "start" | "import" | "guards" | "curator" | "review" | "results" | "export";

export interface ScreenInfo {
  id: Screen;
  label: string;
  /** What the screen is for, in a few words (the help). */
  what: string;
}

export const SCREENS: readonly ScreenInfo[] = [
  { id: "start", label: "Start", what: "open or create a project" },
  { id: "import", label: "Import", what: "bring in datasets" },
  { id: "guards", label: "Guards", what: "run guard models" },
  { id: "curator", label: "Curator", what: "fill the queue, reviewers, settings" },
  { id: "review", label: "Review", what: "answer the audit questions" },
  { id: "results", label: "Results", what: "pass rates, agreement, ASR" },
  { id: "export", label: "Export", what: "split and write training files" },
];

/** The keyboard shortcut of the screen at `index` in SCREENS. */
export const shortcut = (index: number): string => `Alt+${index + 1}`;

/** The screen an Alt+number key opens, or null when the key is no screen's shortcut. */
export function screenForKey(e: { key: string; altKey: boolean; ctrlKey: boolean; metaKey: boolean }): Screen | null {
  if (!e.altKey || e.ctrlKey || e.metaKey || !/^[1-9]$/.test(e.key)) return null;
  return SCREENS[Number(e.key) - 1]?.id ?? null;
}

/** The Start screen's line about the shortcuts. */
export const screensHint = (): string =>
  `Screens: ${SCREENS.map((s, i) => `${shortcut(i)} ${s.label}`).join(" · ")}.`;
