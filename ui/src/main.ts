import { mount } from "svelte";
import App from "./App.svelte";
import "./app.css";
import { installServedTransport, openInvite } from "./lib/served";

const target = document.getElementById("app");
if (!target) throw new Error("no #app element");
const start = () => mount(App, { target });
// In a browser served by `verdikt serve`: commands over HTTP, and an invite link's session
// opened before the first command.
if (installServedTransport()) void openInvite().catch(() => {}).finally(start);
else start();
