// Knowledge: the question flow (ask, pick, escalate, my questions), the seniors' queue, and the entries.
import { call, get, post } from "./api.js";
import { h, field, toast, errorText } from "./dom.js";
import { t, formatTime } from "./i18n.js";
import { can } from "./app.js";

const statusText = status => t(`status${status}`);

function answerBlock(match) {
  return h("div", {}, h("h3", {}, match.question), h("p.answer", { "data-entry": match.entryId }, match.answer),
    h("p.muted", {}, h("a", { href: `#/kb/${encodeURIComponent(match.entryId)}` }, `${t("source")}: ${match.entryId}`)));
}

export async function askView(main) {
  const question = h("textarea", { rows: 2, required: true });
  const result = h("section", { "aria-live": "polite" });
  const mine = h("ul.plain.list");
  let refreshTimer;

  async function showMine() {
    const questions = await get("/v1/kb/questions?mine=true");
    mine.replaceChildren(...questions.map(q => h("li", { "data-question": q.questionId }, h("div", { style: "padding:.5rem 0" },
      h("strong", {}, q.question), " ", h(`span.badge${q.status === "AddedToKb" || q.status === "Faq" ? ".ok" : ""}`, {}, statusText(q.status)),
      h("div.muted", {}, `${t("asked")}: ${formatTime(q.createdAt)} · ${q.timesAsked} ${t("times")}`),
      q.answer && h("p.answer", {}, q.answer)))));
    if (!questions.length) mine.append(h("li.muted", {}, t("noQuestions")));
  }

  async function ask(event) {
    event.preventDefault();
    result.replaceChildren(h("p.muted", {}, t("loading")));
    try {
      const asked = await post("/v1/kb/ask", { question: question.value.trim() });
      result.replaceChildren(asked.match ? answered(asked) : notAnswered(asked));
      await showMine();
    } catch (error) { result.replaceChildren(errorText(error)); }
  }

  function answered(asked) {
    const shown = h("div", {}, answerBlock(asked.match));
    return h("div.card", {}, shown, asked.related.length > 0 && [h("h3", {}, t("related")),
      h("div.row", {}, asked.related.map(r => h("button", { type: "button", onclick: () => shown.replaceChildren(answerBlock(r)) }, r.question)))]);
  }

  function notAnswered(asked) {
    const box = h("div.card");
    const pick = async entry => {
      try {
        await post(`/v1/kb/questions/${encodeURIComponent(asked.questionId)}/pick`, { entryId: entry.entryId });
        box.replaceChildren(answerBlock(entry));
        await showMine();
      } catch (error) { box.append(errorText(error)); }
    };
    const escalate = async () => {
      try {
        await post(`/v1/kb/questions/${encodeURIComponent(asked.questionId)}/escalate`);
        box.replaceChildren(h("p", {}, t("escalated")));
        await showMine();
      } catch (error) { box.append(errorText(error)); }
    };
    box.append(h("h3", {}, t("similar")),
      h("div.row", {}, asked.similar.map(s => h("button", { type: "button", onclick: () => pick(s) }, s.question))),
      h("div.row", {}, h("button.primary", { type: "button", onclick: escalate }, t("notHere"))));
    return box;
  }

  main.append(h("h1", {}, t("knowledge")),
    h("form.card", { onsubmit: ask }, field(t("yourQuestion"), question), h("div.row", {}, h("button.primary", { type: "submit" }, t("ask")))),
    result,
    h("section.card", {}, h("div.row", {}, h("h2", { style: "margin:0" }, t("myQuestions")),
      h("button", { type: "button", onclick: () => showMine() }, t("refresh"))), mine));
  await showMine();
  question.focus();
  // A senior's answer shows up here without a reload.
  refreshTimer = setInterval(() => { if (document.visibilityState === "visible") showMine().catch(() => {}); }, 3000);
  return () => clearInterval(refreshTimer);
}

export async function queueView(main) {
  const list = h("ul.plain.list");
  const questions = (await get("/v1/kb/questions?status=AwaitingSenior")).sort((a, b) => a.createdAt.localeCompare(b.createdAt));
  for (const q of questions) {
    const answer = h("textarea", { rows: 3, required: true });
    const tags = h("input", { type: "text" });
    const rewording = h("input", { type: "text" });
    const item = h("li", { "data-question": q.questionId });
    const submit = async event => {
      event.preventDefault();
      try {
        await post(`/v1/kb/questions/${encodeURIComponent(q.questionId)}/answer`, {
          answer: answer.value.trim(), tags: tags.value.split(",").map(s => s.trim()).filter(Boolean), question: rewording.value.trim() || undefined,
        });
        item.remove();
        toast(t("answered"));
        if (!list.children.length) list.append(h("li.muted", {}, t("noneWaiting")));
      } catch (error) { item.append(errorText(error)); }
    };
    item.append(h("form", { style: "padding:.75rem 0", onsubmit: submit },
      h("h2", {}, q.question),
      h("p.muted", {}, `${t("asked")}: ${formatTime(q.createdAt)} · ${q.timesAsked} ${t("times")} · ${q.askedBy}`),
      field(t("answerForm"), answer), field(t("tags"), tags), field(t("rewording"), rewording),
      h("div.row", {}, h("button.primary", { type: "submit" }, t("sendAnswer")))));
    list.append(item);
  }
  if (!questions.length) list.append(h("li.muted", {}, t("noneWaiting")));
  main.append(h("h1", {}, t("queue")), h("section.card", {}, list));
}

export async function entriesView(main) {
  const filter = h("input", { type: "search", autocomplete: "off" });
  const list = h("ul.plain.list");
  const file = h("input", { type: "file", accept: "application/json,.json" });
  const status = h("p.muted", { role: "status" });
  let entries = await get("/v1/kb/export");

  const show = () => {
    const text = filter.value.trim().toLowerCase();
    const shown = entries.filter(e => !text || `${e.question} ${e.answer} ${e.tags.join(" ")}`.toLowerCase().includes(text));
    list.replaceChildren(...shown.map(e => h("li", {}, h("a.item", { href: `#/kb/${encodeURIComponent(e.entryId)}` },
      h("span.name", {}, e.question), h("div.muted", {}, `${e.language ?? ""} · ${e.source} · ${e.tags.join(", ")}`)))));
  };
  filter.addEventListener("input", show);
  file.addEventListener("change", async () => {
    try {
      const imported = await post("/v1/kb/import", JSON.parse(await file.files[0].text()));
      status.textContent = t("imported", imported.imported);
      entries = await get("/v1/kb/export");
      show();
    } catch (error) { status.replaceChildren(errorText(error)); }
  });
  const download = () => {
    const link = h("a", { href: URL.createObjectURL(new Blob([JSON.stringify(entries, null, 2)], { type: "application/json" })), download: "knowledge-base.json" });
    link.click();
    URL.revokeObjectURL(link.href);
  };
  main.append(h("h1", {}, t("entries")),
    h("section.card", {}, field(t("import"), file), h("div.row", {}, h("button", { type: "button", onclick: download }, t("export"))), status,
      can.dashboard() && h("p", {}, h("a", { href: "/dashboard/", target: "_blank", rel: "noopener" }, t("dashboard")), " ", h("span.muted", {}, t("dashboardHint")))),
    h("section.card", {}, field(t("filter"), filter), list));
  show();
}

export async function entryView(main, entryId) {
  const entry = await get(`/v1/kb/entries/${encodeURIComponent(entryId)}`);
  main.append(h("p", {}, h("a", { href: can.manageKb() ? "#/kb" : "#/knowledge" }, `← ${t("back")}`)), h("h1", {}, t("entry")));
  if (!can.manageKb()) {
    main.append(h("section.card", {}, answerBlock(entry), entry.aliases?.length > 0 && [h("h3", {}, t("aliases")), h("p", {}, entry.aliases.join(" · "))]));
    return;
  }
  const question = h("input", { type: "text", value: entry.question, required: true });
  const answer = h("textarea", { rows: 5, value: entry.answer, required: true });
  const tags = h("input", { type: "text", value: entry.tags.join(", ") });
  const language = h("input", { type: "text", value: entry.language ?? "" });
  const aliases = h("ul.plain", {}, (entry.aliases ?? []).map(alias => h("li.row", {}, h("span", {}, alias),
    h("button", { type: "button", "aria-label": `${t("delete")}: ${alias}`, onclick: e => e.target.closest("li").remove() }, t("delete")))));
  const status = h("p.muted", { role: "status" });
  const save = async event => {
    event.preventDefault();
    try {
      await call("PUT", `/v1/kb/entries/${encodeURIComponent(entryId)}`, {
        question: question.value.trim(), answer: answer.value.trim(), language: language.value.trim() || null,
        tags: tags.value.split(",").map(s => s.trim()).filter(Boolean),
        aliases: [...aliases.querySelectorAll("li > span")].map(s => s.textContent),
      });
      status.textContent = t("saved");
    } catch (error) { status.replaceChildren(errorText(error)); }
  };
  const remove = async () => {
    try {
      await call("DELETE", `/v1/kb/entries/${encodeURIComponent(entryId)}`);
      toast(t("deleted"));
      location.hash = "#/kb";
    } catch (error) { status.replaceChildren(errorText(error)); }
  };
  main.append(h("form.card", { onsubmit: save },
    field(t("question"), question), field(t("answer"), answer), field(t("tags"), tags), field(t("language"), language),
    h("h3", {}, t("aliases")), aliases,
    h("p.muted", {}, `${entry.source} · ${entry.author ?? ""} · ${t("asked")}: ${entry.timesAsked} ${t("times")}`),
    h("div.row", {}, h("button.primary", { type: "submit" }, t("save")), h("button.danger", { type: "button", onclick: remove }, t("delete"))), status));
}
