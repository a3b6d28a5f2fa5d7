// The Curator screen's view of the review served to browsers (`share.rs`): where it is served,
// who is working, and the invite link made last (shown once). Refreshed on a timer while the
// screen is open and the window visible; a refresh replaces values in place, never emptying
// them first, so the tables do not flicker.
import { commands, type InviteLink, type ReviewerActivity, type ShareStatus } from "../bindings";
import { call, CommandError, describe } from "../lib/call";

export const REFRESH_MS = 4000;

class Sharing {
  status = $state<ShareStatus | null>(null);
  activity = $state<Record<string, ReviewerActivity>>({});
  /** The last link made: its code is kept nowhere else, so it is shown until dismissed. */
  invite = $state<InviteLink | null>(null);
  /** Why the last refresh failed (a busy project is not a failure: the next one retries). */
  stale = $state("");
  /** Time of the last refresh, for "… ago". */
  now = $state(Date.now());

  async refresh() {
    try {
      const [status, list] = await Promise.all([call(commands.shareStatus()), call(commands.shareActivity())]);
      this.status = status;
      this.activity = Object.fromEntries(list.map((a) => [a.reviewer, a]));
      this.now = Date.now();
      this.stale = "";
    } catch (e) {
      if (!(e instanceof CommandError && e.busy)) this.stale = describe(e).message;
    }
  }

  /** Refreshes now and every few seconds while the window is visible; returns the stop. */
  watch(): () => void {
    void this.refresh();
    const timer = setInterval(() => {
      if (!document.hidden) void this.refresh();
    }, REFRESH_MS);
    return () => clearInterval(timer);
  }
}

export const sharing = new Sharing();
