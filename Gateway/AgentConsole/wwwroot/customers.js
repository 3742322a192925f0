// Customers: the list and search, and one customer's view (context, live conversation, suggestions).
import { call, get, post, stream } from "./api.js";

/**
 * Sends a reply into the customer's CRM conversation and shows how its delivery stands in `status` until it is
 * sent or failed. One Idempotency-Key per click: a retried request never sends twice.
 */
async function sendReply(id, body, status) {
  status.textContent = t("sending");
  try {
    const reply = await call("POST", `${customerPath(id)}/replies`, body, { "Idempotency-Key": crypto.randomUUID() });
    const location = `${customerPath(id)}/replies/${encodeURIComponent(reply.replyId)}`;
    for (let current = reply; ; current = await get(location)) {
      if (current.status === "sent") { status.textContent = t("sent"); return true; }
      if (current.status === "failed") { status.textContent = `${t("sendFailed")}: ${current.error}`; return false; }
      status.textContent = current.error ? `${t("sending")} (${current.error})` : t("sending");
      await new Promise(resolve => setTimeout(resolve, 1000));
    }
  } catch (error) {
    status.replaceChildren(errorText(error));
    return false;
  }
}
import { h, field, toast, errorText } from "./dom.js";
import { t, formatTime } from "./i18n.js";
import { can } from "./app.js";

const customerPath = id => `/v1/customers/${encodeURIComponent(id)}`;

export async function customerList(main) {
  const query = h("input", { type: "search", autocomplete: "off" });
  const list = h("ul.plain.list", { "aria-live": "polite" });
  const more = h("button", { type: "button", hidden: true }, t("more"));
  const heading = h("h2", {}, t("recent"));
  let cursor = null;
  let searchTimer;

  async function load(append) {
    const params = new URLSearchParams({ limit: "25" });
    if (query.value.trim()) params.set("query", query.value.trim());
    if (append && cursor) params.set("cursor", cursor);
    const page = await get(`/v1/customers?${params}`);
    if (!append) list.replaceChildren();
    for (const customer of page.items) list.append(customerItem(customer));
    if (!list.children.length) list.append(h("li.muted", {}, t("noCustomers")));
    cursor = page.cursor;
    more.hidden = !cursor;
    heading.textContent = query.value.trim() ? t("customers") : t("recent");
  }

  query.addEventListener("input", () => {
    clearTimeout(searchTimer);
    searchTimer = setTimeout(() => load(false).catch(e => list.replaceChildren(errorText(e))), 250);
  });
  more.addEventListener("click", () => load(true));
  main.append(h("h1", {}, t("customers")),
    h("form.card", { role: "search", onsubmit: e => { e.preventDefault(); load(false); } }, field(t("search"), query)),
    h("section.card", {}, heading, list, h("div.row", {}, more)));
  await load(false);
  query.focus();
  return () => clearTimeout(searchTimer);
}

function customerItem(customer) {
  const ids = customer.identities.map(i => `${i.provider}:${i.externalId}`);
  return h("li", {}, h("a.item", { href: `#/customers/${encodeURIComponent(customer.customerId)}` },
    h("span.name", {}, customer.name || ids[0] || customer.customerId),
    h("span.muted", {}, ` · ${[...customer.emails, ...customer.phones].join(", ")}`),
    h("div.muted", {}, `${ids.join(", ")} · ${t("lastActive")}: ${formatTime(customer.lastActiveAt)}`)));
}

export async function customerView(main, id) {
  const stop = new AbortController();
  const context = await get(`${customerPath(id)}/context`);
  const title = context.profile.name || id;
  const profile = contextPanel(id, context);
  // A new message changes the profile's figures (and maybe its segment): they are read again, a moment later.
  let refresh;
  const conversation = conversationPanel(id, stop.signal, () => {
    clearTimeout(refresh);
    refresh = setTimeout(() => get(`${customerPath(id)}/context`).then(profile.update, () => {}), 300);
  });
  main.append(
    h("p", {}, h("a", { href: "#/customers" }, `← ${t("customers")}`)),
    h("h1", {}, title),
    h("div.customer", {},
      h("div", {}, conversation.element),
      h("div", {}, suggestionsPanel(id), profile.element)));
  await conversation.start();
  return () => { stop.abort(); clearTimeout(refresh); };
}

/** The profile's facts (read again when the conversation moves) and the preferences form (left as the agent edits it). */
function contextPanel(id, context) {
  const { preferences } = context;
  const fact = (term, value) => value ? [h("dt", {}, term), h("dd", {}, value)] : [];
  const factsOf = ({ profile, stats, ...c }) => h("div", {},
    h("dl.facts", {},
      fact(t("name"), profile.name), fact(t("emails"), profile.emails.join(", ")), fact(t("phones"), profile.phones.join(", ")),
      fact(t("language"), profile.language), fact(t("timezone"), profile.timezone),
      fact(t("identities"), c.identities.map(i => `${i.provider}:${i.externalId}`).join(", ")),
      fact(t("segment"), `${c.segment}${c.segmentReason ? ` (${t("why")}: ${c.segmentReason})` : ""}`),
      fact(t("interactions"), String(stats.interactions)), fact(t("last30"), String(stats.interactionsLast30Days)),
      fact(t("firstSeen"), formatTime(stats.firstSeen)), fact(t("lastSeen"), formatTime(stats.lastSeen))),
    c.summary && [h("h3", {}, t("summary")), h("p", {}, c.summary)]);
  let facts = factsOf(context);
  const tone = h("input", { type: "text", value: preferences.tone ?? "" });
  const language = h("input", { type: "text", value: preferences.language ?? "" });
  const channel = h("input", { type: "text", value: preferences.channel ?? "" });
  const topics = h("input", { type: "text", value: (preferences.topics ?? []).join(", ") });
  const doNotContact = h("input", { type: "checkbox", checked: preferences.doNotContact, id: `dnc-${Math.random().toString(36).slice(2)}` });
  const status = h("p.muted", { role: "status" });
  const save = async event => {
    event.preventDefault();
    try {
      await call("PATCH", `${customerPath(id)}/preferences`, {
        tone: tone.value.trim(), language: language.value.trim(), channel: channel.value.trim(), doNotContact: doNotContact.checked,
        topics: topics.value.split(",").map(s => s.trim()).filter(Boolean),
      });
      status.textContent = t("saved");
    } catch (error) { status.replaceChildren(errorText(error)); }
  };
  const element = h("section.card", { "aria-label": t("profile") },
    h("h2", {}, t("profile")),
    facts,
    h("form", { onsubmit: save },
      h("h3", {}, t("preferences")),
      field(t("tone"), tone), field(t("language"), language), field(t("channel"), channel), field(t("topics"), topics),
      h("div.row", {}, doNotContact, h("label", { htmlFor: doNotContact.id, style: "display:inline;margin:0" }, t("doNotContact"))),
      h("div.row", {}, h("button", { type: "submit" }, t("save"))), status));
  return {
    element,
    update: next => {
      const fresh = factsOf(next);
      facts.replaceWith(fresh);
      facts = fresh;
    },
  };
}

/** The conversation, newest at the bottom: older pages load on scrolling up, new interactions arrive live. */
function conversationPanel(id, signal, onInteraction) {
  const messages = h("ol.plain.messages", { "aria-label": t("conversation"), tabindex: "0" });
  const older = h("button", { type: "button", hidden: true }, t("older"));
  const state = h("span.badge", { role: "status" }, t("loading"));
  const announcer = h("p", { class: "skip", "aria-live": "polite" });
  let before = null, newest = null, loading = false;
  const seen = new Set();

  const item = (stored, fresh) => {
    const i = stored.interaction;
    seen.add(stored.seq);
    return h(`li.message.${i.direction.toLowerCase()}${fresh ? ".new" : ""}`, { "data-seq": stored.seq },
      i.text, h("span.meta", {}, [i.direction === "outbound" ? `${i.author ?? t("agent")}${i.fromBot ? ` (${t("bot")})` : ""} · ` : "",
        `${i.channel} · ${formatTime(i.occurredAt)}`].join("")));
  };

  async function loadOlder() {
    if (loading || before === undefined) return;
    loading = true;
    try {
      const page = await get(`${customerPath(id)}/interactions?limit=30${before ? `&before=${encodeURIComponent(before)}` : ""}`);
      const height = messages.scrollHeight;
      const first = before === null;
      messages.prepend(...page.items.filter(s => !seen.has(s.seq)).reverse().map(s => item(s, false)));
      if (first) {
        newest = page.items[0]?.seq ?? 0;
        messages.scrollTop = messages.scrollHeight;
        if (!page.items.length) messages.append(h("li.muted.empty", {}, t("noMessages")));
      } else {
        messages.scrollTop += messages.scrollHeight - height; // keep the reader's place
      }
      before = page.before ?? undefined;
      older.hidden = before === undefined;
    } finally {
      loading = false;
    }
  }

  async function live() {
    let last = String(newest);
    while (!signal.aborted) {
      try {
        await stream("GET", `${customerPath(id)}/events`, undefined, (type, stored, eventId) => {
          state.textContent = t("live");
          if (type !== "interaction" || seen.has(stored.seq)) return;
          last = eventId ?? last;
          messages.querySelector(".empty")?.remove();
          const atBottom = messages.scrollHeight - messages.scrollTop - messages.clientHeight < 80;
          messages.append(item(stored, true));
          announcer.textContent = `${t("newMessage")}: ${stored.interaction.text}`;
          if (atBottom) messages.scrollTop = messages.scrollHeight;
          onInteraction();
        }, signal, last).then(() => undefined, e => { if (!signal.aborted) throw e; });
      } catch { /* dropped: reconnect below and catch up from the last id seen */ }
      if (signal.aborted) return;
      state.textContent = t("reconnecting");
      await new Promise(resolve => setTimeout(resolve, 1000));
    }
  }

  messages.addEventListener("scroll", () => { if (messages.scrollTop < 40) loadOlder(); });
  older.addEventListener("click", loadOlder);
  const element = h("section.card.conversation", { "aria-label": t("conversation") },
    h("div.row", {}, h("h2", { style: "margin:0" }, t("conversation")), state),
    h("div.row", {}, older), messages, announcer);
  return {
    element,
    start: async () => {
      await loadOlder();
      state.textContent = t("live");
      live();
    },
  };
}

/** Asks for suggestions and shows them as they stream: retrieved answers at once, drafts as written, then the record. */
function suggestionsPanel(id) {
  const message = h("textarea", { rows: 2 });
  const button = h("button.primary", { type: "submit" }, t("suggest"));
  const results = h("div", { "aria-live": "polite", "aria-busy": "false" });
  const note = h("p.muted", { role: "status" });
  let running = null;

  async function suggest(event) {
    event.preventDefault();
    running?.abort();
    running = new AbortController();
    results.replaceChildren();
    note.textContent = t("working");
    results.setAttribute("aria-busy", "true");
    button.disabled = true;
    const drafts = new Map();
    const body = message.value.trim() ? { message: message.value.trim() } : {};
    try {
      await stream("POST", `${customerPath(id)}/suggestions`, body, (type, data) => {
        if (type === "retrieved") {
          for (const s of data.suggestions) results.append(suggestionCard(s, false));
        } else if (type === "draft") {
          let card = drafts.get(data.draft);
          if (!card) {
            card = h("article.suggestion", {}, h("div.text", {}), h("div.meta", {}, t("generated"), " · ", t("working")));
            drafts.set(data.draft, card);
            results.prepend(card);
          }
          card.querySelector(".text").append(data.text);
        } else if (type === "dropped") {
          drafts.get(data.draft)?.remove();
          drafts.delete(data.draft);
          note.textContent = t("dropped");
        } else if (type === "result") {
          results.replaceChildren(...data.result.suggestions.map(s => suggestionCard(s, true, id)));
          note.textContent = data.result.degraded ? `${t("degraded")}: ${data.result.reason}` : "";
        }
      }, running.signal);
    } catch (error) {
      if (error.name !== "AbortError") results.replaceChildren(errorText(error));
    } finally {
      results.setAttribute("aria-busy", "false");
      button.disabled = false;
    }
  }

  // The agent's own reply, written without a suggestion.
  const own = h("textarea", { rows: 3 });
  const sendStatus = h("p.muted", { role: "status" });
  const composer = h("form", { onsubmit: async e => {
    e.preventDefault();
    if (!own.value.trim()) return;
    if (await sendReply(id, { text: own.value.trim() }, sendStatus)) own.value = "";
  } }, field(t("ownReply"), own), h("div.row", {}, h("button.primary", { type: "submit" }, t("send"))), sendStatus);

  return h("section.card", { "aria-label": t("suggestions") },
    h("h2", {}, t("suggestions")),
    h("form", { onsubmit: suggest }, field(t("messageToAnswer"), message), h("div.row", {}, button)),
    note, results, composer);
}

/** One suggestion with its sources, confidence and flags; final (audited) ones take feedback. */
function suggestionCard(s, final, customer) {
  const status = h("p.muted", { role: "status" });
  const actions = h("div.row");
  const card = h("article.suggestion", { "data-id": s.id, "data-kind": s.kind },
    h("div.text", {}, s.text),
    h("div.meta", {},
      s.kind === "generated" ? t("generated") : t("retrieved"),
      ` · ${t("confidence")}: ${Math.round(s.confidence * 100)}%`,
      s.unverified && [" ", h("span.badge.warn", {}, t("unverified"))],
      s.language && [" ", h("span.badge.warn", {}, `${t("inLanguage")}: ${s.language}`)]),
    s.sources?.length > 0 && h("div.meta", {}, `${t("sources")}: `,
      s.sources.map((source, i) => [i ? ", " : "", source.startsWith("kb_")
        ? h("a", { href: `#/kb/${encodeURIComponent(source)}` }, source)
        : h("span", {}, `${t("pastReply")} ${source}`)])),
    actions, status);
  if (!final) return card;

  const feedback = async (body, done) => {
    try {
      await post(`/v1/suggestions/${encodeURIComponent(s.id)}/feedback`, body);
      status.textContent = done;
      actions.replaceChildren(...(can.answer() && body.outcome !== "rejected" ? [promote] : []));
    } catch (error) { status.replaceChildren(errorText(error)); }
  };
  const promote = h("button", { type: "button", onclick: async () => {
    try {
      await post(`/v1/suggestions/${encodeURIComponent(s.id)}/promote`, {});
      status.textContent = t("promoted");
      promote.remove();
    } catch (error) { status.replaceChildren(errorText(error)); }
  } }, t("promote"));
  const send = async text => {
    if (await sendReply(customer, { text, suggestionId: s.id }, status)) {
      actions.replaceChildren(...(can.answer() ? [promote] : []));
    }
  };
  const edit = () => {
    const text = h("textarea", { rows: 4, value: s.text });
    actions.replaceChildren(h("form.wide", { onsubmit: e => { e.preventDefault(); send(text.value); } },
      field(t("editedText"), text),
      h("div.row", {},
        h("button.primary", { type: "submit" }, t("sendEdited")),
        h("button", { type: "button", onclick: () => feedback({ outcome: "edited", finalText: text.value }, t("accepted")) }, t("acceptEdited")),
        h("button", { type: "button", onclick: reset }, t("cancel")))));
    text.focus();
  };
  const reject = () => {
    const reason = h("input", { type: "text" });
    actions.replaceChildren(h("form.wide", { onsubmit: e => { e.preventDefault(); feedback({ outcome: "rejected", reason: reason.value }, t("rejected")); } },
      field(t("rejectReason"), reason),
      h("div.row", {}, h("button.danger", { type: "submit" }, t("reject")), h("button", { type: "button", onclick: reset }, t("cancel")))));
    reason.focus();
  };
  const reset = () => actions.replaceChildren(
    h("button", { type: "button", onclick: async () => { await navigator.clipboard?.writeText(s.text).catch(() => {}); toast(t("copied")); } }, t("copy")),
    h("button.primary", { type: "button", onclick: () => send(s.text) }, t("send")),
    h("button", { type: "button", onclick: () => feedback({ outcome: "accepted" }, t("accepted")) }, t("accept")),
    h("button", { type: "button", onclick: edit }, t("edit")),
    h("button.danger", { type: "button", onclick: reject }, t("reject")));
  reset();
  return card;
}
