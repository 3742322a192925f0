// The /v1 API with the signed-in key. Errors carry the server's Problem Details text.
const keyItem = "customergrains.key";

export const session = {
  get key() { return sessionStorage.getItem(keyItem); },
  set key(value) { value ? sessionStorage.setItem(keyItem, value) : sessionStorage.removeItem(keyItem); },
};

export class ApiError extends Error {
  constructor(status, message) { super(message); this.status = status; }
}

async function fail(response) {
  let detail = `${response.status} ${response.statusText}`;
  try {
    const problem = await response.json();
    const fields = problem.errors ? Object.values(problem.errors).flat().join(" ") : "";
    detail = [problem.detail || problem.title, fields].filter(Boolean).join(" ");
  } catch { /* not Problem Details */ }
  throw new ApiError(response.status, detail);
}

function headers(extra = {}) {
  return { Authorization: `Bearer ${session.key}`, ...extra };
}

export async function call(method, path, body, extra = {}) {
  const response = await fetch(path, {
    method,
    headers: headers(body === undefined ? extra : { "Content-Type": "application/json", ...extra }),
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!response.ok) await fail(response);
  return response.status === 204 ? null : response.json();
}

export const get = path => call("GET", path);
export const post = (path, body) => call("POST", path, body ?? {});

/**
 * Reads a server-sent event stream (over fetch: EventSource cannot send the key). Calls onEvent(type, data, id) for
 * each event until the stream ends or signal aborts.
 */
export async function stream(method, path, body, onEvent, signal, lastEventId) {
  const extra = { Accept: "text/event-stream" };
  if (body !== undefined) extra["Content-Type"] = "application/json";
  if (lastEventId) extra["Last-Event-ID"] = lastEventId;
  const response = await fetch(path, { method, headers: headers(extra), body: body === undefined ? undefined : JSON.stringify(body), signal });
  if (!response.ok) await fail(response);
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += value;
    let end;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      let type = "message", id = null, data = "";
      for (const line of block.split("\n")) {
        if (line.startsWith("event:")) type = line.slice(6).trim();
        else if (line.startsWith("id:")) id = line.slice(3).trim();
        else if (line.startsWith("data:")) data += line.slice(5).trimStart();
      }
      if (data) onEvent(type, JSON.parse(data), id);
    }
  }
}
