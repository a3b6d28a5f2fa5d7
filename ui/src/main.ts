import { mount } from "svelte";
import App from "./App.svelte";
import Served from "./Served.svelte";
import "./app.css";
import { installServedTransport, openInvite } from "./lib/served";

const target = document.getElementById("app");
if (!target) throw new Error("no #app element");
// In a browser served by `verdikt serve`: commands over HTTP, an invite link's session opened
// before the first command, and the reviewer's shell (Review only) instead of the window's.
if (installServedTransport()) {
  void openInvite()
    .then(() => null)
    .catch((e: unknown) => (e as { message?: string } | null)?.message ?? String(e))
    .then((inviteError) => mount(Served, { target, props: { inviteError } }));
} else mount(App, { target });
