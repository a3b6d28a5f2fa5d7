// The window's commands in a browser served by `verdikt serve`. The generated bindings call
// Tauri's `invoke`, which hands every command to `window.__TAURI_INTERNALS__`; where there is no
// Tauri, `installServedTransport` puts an HTTP transport there instead, so the same bindings
// reach the server (`POST /api/<command>` with the JSON Tauri would carry) and no type is
// copied by hand. Inside the window nothing changes. Errors arrive as the window's `AppError`;
// a server that cannot be reached is reported as busy, so the review session retries the
// same answer (under its answer id the server stores it once). A 401 (no session, or one that
// expired or was revoked) is told to whoever listens (`onSignedOut`): the reviewer's shell then
// shows how to get in instead of an error.
import type { AppError } from "../bindings";

const signedOutListeners = new Set<(message: string) => void>();

/** Calls `f` with the server's words whenever it answers 401; returns the unsubscribe. */
export function onSignedOut(f: (message: string) => void): () => void {
  signedOutListeners.add(f);
  return () => signedOutListeners.delete(f);
}

/** What a command that could not reach the server throws (busy: it may be sent again). */
export const UNREACHABLE = "The server cannot be reached. Retrying; nothing you answered is lost.";

/** A command over HTTP: the value, or a thrown `AppError` (the bindings make it an error result). */
export async function httpInvoke(
  cmd: string,
  args: Record<string, unknown> = {},
  send: typeof fetch = fetch,
): Promise<unknown> {
  let response: Response;
  try {
    response = await send(`/api/${encodeURIComponent(cmd)}`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(args),
      credentials: "same-origin",
    });
  } catch {
    const unreachable: AppError = {
      message: UNREACHABLE,
      details: [],
      busy: true,
    };
    throw unreachable;
  }
  const body: unknown = await response.json().catch(() => null);
  if (response.ok) return body;
  const e = body as Partial<AppError> | null;
  const error: AppError = {
    message: typeof e?.message === "string" ? e.message : `The server answered ${response.status}.`,
    details: Array.isArray(e?.details) ? e.details : [],
    busy: e?.busy === true,
  };
  if (response.status === 401) for (const f of signedOutListeners) f(error.message);
  throw error;
}

/** Opens the session of an invite link (`/invite#CODE`) and takes the code out of the address. */
export async function openInvite(w: Window = window, send: typeof fetch = fetch): Promise<void> {
  const code = w.location.pathname === "/invite" ? w.location.hash.slice(1) : "";
  if (!code) return;
  w.history.replaceState(null, "", "/");
  await httpInvoke("session", { code }, send);
}

/** Where there is no Tauri, the bindings' commands go to the server; true if installed. */
export function installServedTransport(w: Record<string, unknown> = window as never, send: typeof fetch = fetch): boolean {
  if ("__TAURI_INTERNALS__" in w) return false;
  w.__TAURI_INTERNALS__ = { invoke: (cmd: string, args?: Record<string, unknown>) => httpInvoke(cmd, args, send) };
  return true;
}
