// Admin: how agents use suggestions (GET /v1/reports/suggestions) and the tenant's CRM connections with their history
// import and reconciliation (GET /v1/connections, POST /v1/connections/{id}/import).
import { get, post } from "./api.js";
import { h, field, toast, errorText } from "./dom.js";
import { t, formatTime } from "./i18n.js";

const percent = share => `${Math.round(share * 100)} %`;
const day = date => date.toISOString().slice(0, 10);

function table(caption, headings, rows) {
  return h("table", {}, h("caption", {}, caption),
    h("thead", {}, h("tr", {}, headings.map(text => h("th", { scope: "col" }, text)))),
    h("tbody", {}, rows));
}

async function reportSection() {
  const to = h("input", { type: "date", value: day(new Date()) });
  const from = h("input", { type: "date", value: day(new Date(Date.now() - 30 * 864e5)) });
  const out = h("div", { "aria-live": "polite" });
  async function show(event) {
    event?.preventDefault();
    try {
      const end = new Date(`${to.value}T00:00:00Z`);
      end.setUTCDate(end.getUTCDate() + 1); // the whole of the last day
      const report = await get(`/v1/reports/suggestions?from=${from.value}T00:00:00Z&to=${end.toISOString()}`);
      const row = (usage, name) => h("tr", {}, h("th", { scope: "row" }, name), h("td", {}, usage.replies),
        h("td", {}, percent(usage.shareAsSuggested)), h("td", {}, percent(usage.shareEdited)), h("td", {}, percent(usage.shareWritten)),
        h("td", {}, usage.meanEditDistance == null ? "–" : percent(usage.meanEditDistance)));
      out.replaceChildren(table(t("reportCaption"), [t("agentCol"), t("repliesCol"), t("asSuggested"), t("editedCol"), t("writtenCol"), t("editDistance")],
        [row(report.tenant, t("allAgents")), ...report.agents.map(a => row(a, a.agent))]));
    } catch (error) { out.replaceChildren(errorText(error)); }
  }
  await show();
  return h("section.card", {}, h("h2", {}, t("report")),
    h("form.row", { onsubmit: show }, field(t("from"), from), field(t("to"), to), h("button", { type: "submit" }, t("show"))), out);
}

function runText(run) {
  if (!run) return t("never");
  const counts = t("runCounts", run.conversations, run.messages, run.queued, run.throttled);
  return [t(`run${run.status[0].toUpperCase()}${run.status.slice(1)}`), counts, run.error, `${t("sinceCol")} ${formatTime(run.since)}`].filter(Boolean).join(" · ");
}

async function connectionsSection() {
  const body = h("tbody");
  let timer;
  async function show() {
    clearTimeout(timer);
    const connections = await get("/v1/connections");
    body.replaceChildren(...connections.map(connection => {
      const since = h("input", { type: "date", value: day(new Date(Date.now() - 90 * 864e5)), "aria-label": t("importSince", connection.id) });
      const start = async resume => {
        try {
          await post(`/v1/connections/${encodeURIComponent(connection.id)}/import`, resume ? {} : { since: `${since.value}T00:00:00Z` });
          toast(t("importStarted"));
          await show();
        } catch (error) { toast(error.message); }
      };
      const importable = connection.missingForImport && connection.missingForImport.length === 0;
      return h("tr", { "data-connection": connection.id },
        h("th", { scope: "row" }, connection.id), h("td", {}, connection.provider),
        h("td.import-status", {}, runText(connection.import)),
        h("td", {}, connection.reconcileEvery ? `${t("every")} ${connection.reconcileEvery} · ${runText(connection.reconciliation)}` : t("off")),
        h("td", {}, connection.missingForImport === null ? t("noHistoryApi")
          : !importable ? `${t("needs")}: ${connection.missingForImport.join(", ")}`
          : connection.import?.status === "running" ? t("runRunning")
          : h("div.row", {}, since, h("button", { type: "button", onclick: () => start(false) }, t("importHistory", connection.id)),
            connection.import?.status === "failed" && h("button", { type: "button", onclick: () => start(true) }, t("resume")))));
    }));
    if (connections.some(c => c.import?.status === "running")) timer = setTimeout(() => show().catch(() => {}), 2000);
  }
  await show();
  return [h("section.card", {}, h("h2", {}, t("connections")),
    h("table", {}, h("caption", {}, t("connectionsCaption")),
      h("thead", {}, h("tr", {}, [t("connection"), t("provider"), t("importCol"), t("reconciliation"), ""].map(text => h("th", { scope: "col" }, text)))), body)),
    () => clearTimeout(timer)];
}

export async function adminView(main) {
  main.append(h("h1", {}, t("admin")));
  const [connections, stop] = await connectionsSection();
  main.append(await reportSection(), connections);
  return stop;
}
