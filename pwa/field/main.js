// Start-up: the language, IndexedDB, the device's session, then the screens (app.js).
// Everything shown is read from IndexedDB first, so the app opens the same with no network.
import { render } from "preact";
import { App } from "./app.js";
import { openAppDb } from "./db.js";
import { openDevice } from "./device.js";
import { html } from "./html.js";
import { setLang } from "./i18n.js";
import "./styles.css";

setLang(localStorage.getItem("qingling.lang") || "zh-CN");

const device = await openDevice(await openAppDb());
const root = document.getElementById("app");
root.textContent = ""; // the "loading" placeholder of index.html
render(html`<${App} device=${device} />`, root);
