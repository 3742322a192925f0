// The console's shell: sign-in, navigation by role, and the router (#/customers, #/customers/{id}, #/knowledge,
// #/queue, #/kb, #/kb/{entryId}, #/admin). Each view renders into <main> and returns a cleanup for when the route changes.
import { get, session } from "./api.js";
import { h, field, errorText } from "./dom.js";
import { t, lang } from "./i18n.js";
import { customerList, customerView } from "./customers.js";
import { askView, queueView, entriesView, entryView } from "./knowledge.js";
import { adminView } from "./admin.js";

document.documentElement.lang = lang;
for (const element of document.querySelectorAll("[data-i18n]")) element.textContent = t(element.dataset.i18n);

const main = document.getElementById("main");
let me = null;
let cleanup = null;

/** What each role sees; the server refuses the rest anyway. */
export const can = {
  work: () => ["agent", "senior", "admin"].includes(me?.role),
  answer: () => ["senior", "admin"].includes(me?.role),
  manageKb: () => ["senior", "admin"].includes(me?.role),
  dashboard: () => me?.role === "admin",
  administer: () => me?.role === "admin",
  me: () => me,
};

function navigation(current) {
  const links = [
    can.work() && ["#/customers", t("customers"), "customers"],
    can.work() && ["#/knowledge", t("knowledge"), "knowledge"],
    can.answer() && ["#/queue", t("queue"), "queue"],
    can.manageKb() && ["#/kb", t("entries"), "kb"],
    can.administer() && ["#/admin", t("admin"), "admin"],
  ].filter(Boolean);
  const header = document.getElementById("top");
  header.replaceChildren(...[
    h("span.brand", {}, t("brand")),
    h("nav", { "aria-label": "Main" }, links.map(([href, text, name]) => h("a", { href, "aria-current": current === name ? "page" : null }, text))),
    can.dashboard() && h("a", { href: "/dashboard/", target: "_blank", rel: "noopener", title: t("dashboardHint") }, t("dashboard")),
    h("span.who", {}, `${me.tenantId} · ${me.role}`),
    h("button", { type: "button", onclick: signOut }, t("signOut")),
  ].filter(Boolean));
}

function signOut() {
  session.key = null;
  me = null;
  location.hash = "";
  render();
}

function signInView(message) {
  document.getElementById("top").replaceChildren(h("span.brand", {}, t("brand")));
  const key = h("input", { type: "password", autocomplete: "off", required: true });
  const form = h("form.card.signin", {
    onsubmit: async event => {
      event.preventDefault();
      session.key = key.value.trim();
      await start();
    },
  },
  h("h1", {}, t("signIn")),
  field(t("apiKey"), key),
  h("p.muted", {}, t("keyHint")),
  message && h("p.error", { role: "alert" }, message),
  h("div.row", {}, h("button.primary", { type: "submit" }, t("signIn"))));
  main.replaceChildren(form);
  key.focus();
}

async function start() {
  if (!session.key) return signInView();
  try {
    me = await get("/v1/me");
  } catch (error) {
    session.key = null;
    return signInView(error.status === 401 ? t("badKey") : error.message);
  }
  render();
}

async function render() {
  if (cleanup) { cleanup(); cleanup = null; }
  if (!me) return start();
  const [, section, id] = (location.hash || "#/").split("/").map(decodeURIComponent);
  const route = section || (can.work() ? "customers" : "");
  navigation(route);
  main.replaceChildren();
  try {
    switch (route) {
      case "customers": cleanup = id ? await customerView(main, id) : await customerList(main); break;
      case "knowledge": cleanup = await askView(main); break;
      case "queue": cleanup = await queueView(main); break;
      case "kb": cleanup = id ? await entryView(main, id) : await entriesView(main); break;
      case "admin": cleanup = await adminView(main); break;
      default: main.append(h("p", {}, `${me.tenantId} · ${me.role}`));
    }
  } catch (error) {
    main.append(errorText(error));
  }
}

window.addEventListener("hashchange", render);
start();
