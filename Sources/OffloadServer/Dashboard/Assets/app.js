// The Offload dashboard: one module, no dependencies. It signs in by exchanging an API key for a JWT (kept in
// sessionStorage, sent only in the Authorization header, never in a URL) and calls the public /api routes.
// Every value from the server reaches the page through textContent, never as markup.

const TOKEN_KEY = "offload.token";
const STATUSES = ["PENDING", "PROCESSING", "COMPLETED", "FAILED", "CANCELLED"];
const FINAL = new Set(["COMPLETED", "FAILED", "CANCELLED"]);
const view = document.getElementById("view");

// ---------- session ----------

let apiKey = null; // kept in memory only, to renew the token before it expires
let renewTimer = null;

function session() {
  try {
    const saved = JSON.parse(sessionStorage.getItem(TOKEN_KEY) || "null");
    if (saved && saved.expiresAt > Date.now() + 5_000) return saved;
  } catch (_) { /* a damaged entry is the same as none */ }
  return null;
}

function claims(token) {
  const part = token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
  return JSON.parse(atob(part + "=".repeat((4 - part.length % 4) % 4)));
}

async function signIn(key) {
  const response = await fetch("/api/auth/token", { method: "POST", headers: { "X-API-Key": key } });
  const body = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(body.error?.message || `sign-in failed (${response.status})`);
  const { role, tenant } = claims(body.token);
  const saved = { token: body.token, expiresAt: Date.now() + body.expiresIn * 1000, role, tenant };
  sessionStorage.setItem(TOKEN_KEY, JSON.stringify(saved));
  apiKey = key;
  clearTimeout(renewTimer);
  // Renew five minutes before expiry while the key is in memory (a reload forgets it: sign in again then).
  renewTimer = setTimeout(() => signIn(apiKey).catch(() => {}), Math.max(10_000, (body.expiresIn - 300) * 1000));
  return saved;
}

function signOut() {
  sessionStorage.removeItem(TOKEN_KEY);
  apiKey = null;
  clearTimeout(renewTimer);
  route();
}

class APIError extends Error {
  constructor(status, message) { super(message); this.status = status; }
}

async function api(method, path, body, { raw = false, contentType } = {}) {
  const current = session();
  if (!current) { showSignIn(); throw new APIError(401, "signed out"); }
  const headers = { Authorization: `Bearer ${current.token}` };
  let payload;
  if (raw) { payload = body; headers["Content-Type"] = contentType || "application/octet-stream"; }
  else if (body !== undefined) { payload = JSON.stringify(body); headers["Content-Type"] = "application/json"; }
  const response = await fetch(path, { method, headers, body: payload });
  if (response.status === 401) { sessionStorage.removeItem(TOKEN_KEY); showSignIn(); throw new APIError(401, "signed out"); }
  if (response.status === 204) return null;
  const json = await response.json().catch(() => ({}));
  if (!response.ok) throw new APIError(response.status, json.error?.message || `HTTP ${response.status}`);
  return json;
}

const isAdmin = () => session()?.role === "admin";

// ---------- small DOM helpers ----------

function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else if (name === "class") node.className = value;
    else if (name === "text") node.textContent = value;
    else node.setAttribute(name, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

function badge(status) { return el("span", { class: `badge ${status}`, text: status.toLowerCase() }); }

function progressBar(percent, status, big = false) {
  const fill = el("span");
  fill.style.width = `${Math.max(0, Math.min(100, percent))}%`;
  const bar = el("div", { class: `bar ${status || ""} ${big ? "big" : ""}`, role: "progressbar",
    "aria-valuenow": percent, "aria-valuemin": 0, "aria-valuemax": 100 }, fill);
  if (big) bar.append(el("b", { text: `${percent}%` }));
  return bar;
}

function ago(iso) {
  if (!iso) return "–";
  const seconds = Math.round((Date.now() - Date.parse(iso)) / 1000);
  if (seconds < 2) return "just now";
  if (seconds < 90) return `${seconds} s ago`;
  if (seconds < 5400) return `${Math.round(seconds / 60)} min ago`;
  if (seconds < 172800) return `${Math.round(seconds / 3600)} h ago`;
  return new Date(iso).toLocaleString();
}

function duration(ms) {
  if (ms === null || ms === undefined) return "–";
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 120_000) return `${(ms / 1000).toFixed(1)} s`;
  return `${(ms / 60_000).toFixed(1)} min`;
}

function toast(message, isError = false) {
  const note = el("div", { class: `toast ${isError ? "error" : ""}`, role: "status", text: message });
  document.body.append(note);
  setTimeout(() => note.remove(), 4000);
}

async function act(button, work) {
  button.disabled = true;
  try { await work(); } catch (error) { if (error.status !== 401) toast(error.message, true); } finally { button.disabled = false; }
}

/// Runs `task` now and every `ms` while the page shows; answers a stop function.
function every(ms, task) {
  let stopped = false;
  let timer = null;
  const tick = async () => {
    try { await task(); } catch (error) { if (error.status !== 401) console.warn(error); }
    if (!stopped) timer = setTimeout(tick, ms);
  };
  tick();
  return () => { stopped = true; clearTimeout(timer); };
}

// ---------- routing ----------

let leave = () => {};

function showSignIn() {
  leave(); leave = () => {};
  document.getElementById("nav").hidden = true;
  document.getElementById("sign-out").hidden = true;
  document.getElementById("who").textContent = "";
  view.replaceChildren(document.getElementById("sign-in-template").content.cloneNode(true));
  const form = document.getElementById("sign-in-form");
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const input = document.getElementById("api-key");
    try {
      await signIn(input.value.trim());
      input.value = "";
      route();
    } catch (error) {
      document.getElementById("sign-in-error").textContent = error.message;
    }
  });
  document.getElementById("api-key").focus();
}

function route() {
  const current = session();
  if (!current) { showSignIn(); return; }
  leave(); leave = () => {};
  const nav = document.getElementById("nav");
  nav.hidden = false;
  document.getElementById("sign-out").hidden = false;
  document.getElementById("who").textContent = `${current.role} · ${current.tenant}`;
  for (const link of nav.querySelectorAll("[data-admin]")) link.hidden = current.role !== "admin";
  const [page, ...rest] = location.hash.replace(/^#\/?/, "").split("?")[0].split("/");
  for (const link of nav.querySelectorAll("a")) link.classList.toggle("active", link.dataset.page === (page || "jobs"));
  view.replaceChildren();
  const pages = { jobs: rest.length ? () => jobPage(decodeURIComponent(rest[0])) : jobsPage, workers: workersPage,
    queues: queuesPage, charts: chartsPage, run: runPage };
  leave = (pages[page] || jobsPage)() || (() => {});
}

// ---------- jobs ----------

function jobsPage() {
  const params = new URLSearchParams(location.hash.split("?")[1] || "");
  const filter = { status: params.get("status") || "", type: params.get("type") || "", queue: params.get("queue") || "" };
  const cursors = []; // the cursors of the pages before this one
  let cursor = null;
  const summary = el("div", { class: "cards", id: "status-cards" });
  const statusSelect = el("select", { name: "status", id: "filter-status" }, el("option", { value: "", text: "any status" }),
    STATUSES.map((s) => el("option", { value: s, text: s.toLowerCase(), selected: s === filter.status })));
  const typeInput = el("input", { name: "type", id: "filter-type", placeholder: "any type", value: filter.type });
  const queueInput = el("input", { name: "queue", id: "filter-queue", placeholder: "any queue", value: filter.queue });
  const idInput = el("input", { name: "id", id: "find-id", placeholder: "job_…", class: "mono" });
  const body = el("tbody");
  const table = el("table", { id: "jobs-table" }, el("thead", {}, el("tr", {},
    ["Job", "Type", "Queue", "Status", "Progress", "Attempt", "Created"].map((h) => el("th", { text: h })))), body);
  const older = el("button", { type: "button", class: "secondary", text: "Older →" });
  const newer = el("button", { type: "button", class: "secondary", text: "← Newer" });
  const pageNote = el("span", { class: "muted" });
  const live = el("span", { class: "muted", id: "live-note" });

  const apply = () => {
    filter.status = statusSelect.value; filter.type = typeInput.value.trim(); filter.queue = queueInput.value.trim();
    cursors.length = 0; cursor = null; refresh();
  };
  statusSelect.addEventListener("change", apply);
  const filters = el("form", { class: "row", onsubmit: (event) => { event.preventDefault(); apply(); } },
    el("label", {}, "Status", statusSelect), el("label", {}, "Type", typeInput), el("label", {}, "Queue", queueInput),
    el("button", { type: "submit", text: "Filter" }),
    el("span", { class: "grow" }),
    el("label", {}, "Find by id", idInput),
    el("button", { type: "button", class: "secondary", text: "Open", onclick: () => {
      if (idInput.value.trim()) location.hash = `#/jobs/${encodeURIComponent(idInput.value.trim())}`;
    } }));

  async function refresh() {
    const query = new URLSearchParams({ limit: "50" });
    for (const [name, value] of Object.entries(filter)) if (value) query.set(name, value);
    if (cursor) query.set("cursor", cursor);
    const page = await api("GET", `/api/jobs?${query}`);
    body.replaceChildren(...page.jobs.map(jobRow));
    if (page.jobs.length === 0) body.append(el("tr", {}, el("td", { colspan: 7, class: "muted", text: "No jobs match." })));
    older.disabled = !page.nextCursor;
    older.onclick = () => { cursors.push(cursor); cursor = page.nextCursor; refresh(); };
    newer.disabled = cursors.length === 0;
    newer.onclick = () => { cursor = cursors.pop() ?? null; refresh(); };
    pageNote.textContent = `page ${cursors.length + 1}`;
    live.textContent = cursor ? "an older page: not refreshed" : `live · updated ${new Date().toLocaleTimeString()}`;
    if (!table.dataset.rendered) {
      table.dataset.rendered = "true";
      performance.mark("offload:jobs-rendered");
    }
  }

  async function counts() {
    if (!isAdmin()) return;
    const stats = await api("GET", "/api/stats");
    const totals = Object.fromEntries(STATUSES.map((s) => [s, 0]));
    for (const queue of stats.queues) for (const s of STATUSES) totals[s] += queue[s.toLowerCase()] || 0;
    summary.replaceChildren(...STATUSES.map((s) => el("a", { class: "card", href: `#/jobs?status=${s}`, "data-status": s },
      el("b", { text: totals[s].toLocaleString() }),
      el("span", { text: FINAL.has(s) ? `${s.toLowerCase()} · last hour` : s.toLowerCase() }))));
  }

  view.append(el("h1", { text: "Jobs" }), summary, el("div", { class: "panel" }, filters), newJobForm(), table,
    el("div", { class: "pager" }, newer, older, pageNote, el("span", { class: "grow" }), live));
  const stopList = every(2000, () => (cursor ? Promise.resolve() : refresh()));
  const stopCounts = every(5000, counts);
  return () => { stopList(); stopCounts(); };
}

function jobRow(job) {
  return el("tr", { "data-job": job.jobId },
    el("td", { class: "mono" }, el("a", { href: `#/jobs/${encodeURIComponent(job.jobId)}`, text: job.jobId })),
    el("td", { text: job.processingType }), el("td", { text: job.queue }),
    el("td", {}, badge(job.status)), el("td", {}, progressBar(job.progress, job.status)),
    el("td", { class: "num", text: `${job.attempt}/${job.maxAttempts}` }),
    el("td", { title: job.createdAt, text: ago(job.createdAt) }));
}

function newJobForm() {
  const type = el("input", { id: "new-type", name: "type", value: "type1", required: true });
  const data = el("textarea", { id: "new-data", name: "data", rows: 3, text: '[{"id": 1, "name": "item1"}, {"id": 2, "name": "item2"}, {"id": 3, "name": "item3"}]' });
  const queue = el("input", { id: "new-queue", name: "queue", placeholder: "default" });
  const priority = el("input", { id: "new-priority", name: "priority", type: "number", value: "0" });
  const error = el("p", { class: "error", role: "alert" });
  const submit = el("button", { type: "submit", id: "new-submit", text: "Submit job" });
  const form = el("form", { id: "new-job", onsubmit: (event) => {
    event.preventDefault();
    act(submit, async () => {
      error.textContent = "";
      let parsed;
      try { parsed = data.value.trim() ? JSON.parse(data.value) : null; } catch (e) { error.textContent = `data is not JSON: ${e.message}`; return; }
      const options = { priority: Number(priority.value) || 0 };
      if (queue.value.trim()) options.queue = queue.value.trim();
      const job = await api("POST", "/api/jobs", { processingType: type.value.trim(), data: parsed, options });
      location.hash = `#/jobs/${encodeURIComponent(job.jobId)}`;
    });
  } }, el("div", { class: "row" }, el("label", {}, "Type", type), el("label", {}, "Queue", queue),
    el("label", {}, "Priority", priority), el("label", { class: "grow" }, "Data (JSON)", data), submit), error);
  return el("details", { class: "panel" }, el("summary", { text: "Submit a job" }), form);
}

// ---------- one job ----------

function jobPage(jobId) {
  view.append(el("p", {}, el("a", { href: "#/jobs", text: "← Jobs" })));
  const holder = el("div");
  view.append(holder);
  return jobDetail(holder, jobId);
}

/// Shows a job in `holder` and follows it live; answers a stop function.
function jobDetail(holder, jobId) {
  let job = null;
  let lastSeq = 0;
  let stopped = false;
  let controller = null;
  let tokenText = "";
  const title = el("h1", { class: "mono", text: jobId });
  const statusSlot = el("span", { id: "job-status" });
  const barSlot = el("div", { id: "job-progress" });
  const message = el("p", { class: "muted", id: "job-message" });
  const facts = el("dl", { class: "facts" });
  const dataPre = el("pre", { id: "job-data" });
  const resultPre = el("pre", { id: "job-result" });
  const errorPre = el("pre", { class: "error", id: "job-error" });
  const attempts = el("ul", { id: "job-attempts" });
  const logBox = el("div", { class: "log", id: "job-logs" });
  const tokenBox = el("div", { class: "tokens", id: "job-tokens" });
  const streamNote = el("span", { class: "muted", id: "stream-note" });
  const cancel = el("button", { type: "button", class: "danger", id: "cancel-job", text: "Cancel" });
  const retry = el("button", { type: "button", class: "secondary", id: "retry-job", text: "Retry" });
  cancel.addEventListener("click", () => act(cancel, async () => { show(await api("POST", `/api/jobs/${encodeURIComponent(jobId)}/cancel`)); }));
  retry.addEventListener("click", () => act(retry, async () => {
    show(await api("POST", `/api/jobs/${encodeURIComponent(jobId)}/retry`));
    follow();
  }));

  // The log and token panels show once something arrives.
  const logPanel = el("div", { class: "panel", hidden: true }, el("h2", { text: "Output" }), logBox);
  const tokenPanel = el("div", { class: "panel", hidden: true }, el("h2", { text: "Tokens" }), tokenBox);
  holder.replaceChildren(
    el("div", { class: "row head" }, title, statusSlot, el("span", { class: "grow" }), streamNote, cancel, retry),
    el("div", { class: "panel" }, barSlot, message, facts),
    logPanel, tokenPanel,
    el("div", { class: "charts" },
      el("div", { class: "panel" }, el("h2", { text: "Data" }), dataPre),
      el("div", { class: "panel" }, el("h2", { text: "Result" }), resultPre, errorPre)),
    el("div", { class: "panel" }, el("h2", { text: "Attempts" }), attempts));

  function show(next) {
    job = next;
    statusSlot.replaceChildren(badge(job.status));
    barSlot.replaceChildren(progressBar(job.progress, job.status, true));
    message.textContent = job.message || "";
    const started = job.startedAt ? Date.parse(job.startedAt) : null;
    const ended = job.completedAt ? Date.parse(job.completedAt) : null;
    const rows = [
      ["Type", job.processingType], ["Queue", job.queue], ["Tenant", job.tenant], ["Priority", job.priority],
      ["Attempt", `${job.attempt} of ${job.maxAttempts}`], ["Worker", job.workerId || "–"],
      ["Created", new Date(job.createdAt).toLocaleString()],
      ["Started", job.startedAt ? new Date(job.startedAt).toLocaleString() : "–"],
      ["Finished", job.completedAt ? new Date(job.completedAt).toLocaleString() : "–"],
      ["Waited", started ? duration(started - Date.parse(job.createdAt)) : "–"],
      ["Ran", started ? duration((ended || Date.now()) - started) : "–"],
    ];
    if (job.options?.labels) rows.push(["Labels", JSON.stringify(job.options.labels)]);
    facts.replaceChildren(...rows.flatMap(([name, value]) => [el("dt", { text: name }), el("dd", { text: String(value) })]));
    dataPre.textContent = JSON.stringify(job.data, null, 2);
    resultPre.textContent = job.result === undefined ? "–" : JSON.stringify(job.result, null, 2);
    errorPre.textContent = job.error || "";
    attempts.replaceChildren(...(job.errors || []).map((e) =>
      el("li", {}, `attempt ${e.attempt} · ${new Date(e.at).toLocaleString()}: `, el("span", { class: "error", text: e.error }))));
    if (!job.errors?.length) attempts.append(el("li", { class: "muted", text: job.attempt > 1 ? "no failures kept" : "no failed attempts" }));
    cancel.hidden = FINAL.has(job.status);
    retry.hidden = !(job.status === "FAILED" || job.status === "CANCELLED");
  }

  function apply(kind, data) {
    if (kind === "snapshot" || FINAL.has(kind)) { show(data); return; }
    if (kind === "progress") {
      show({ ...job, progress: data.progress ?? job.progress, message: data.message ?? job.message });
    } else if (kind === "status") {
      // Status changes are rare: read the whole job again for its attempt, worker and timings.
      api("GET", `/api/jobs/${encodeURIComponent(jobId)}`).then((fresh) => { if (!FINAL.has(job.status)) show(fresh); }).catch(() => {});
    } else if (kind === "log") {
      const line = el("div", { class: data.stream === "stderr" ? "stderr" : "", text: data.line ?? JSON.stringify(data) });
      const atBottom = logBox.scrollTop + logBox.clientHeight >= logBox.scrollHeight - 4;
      logBox.append(line);
      logPanel.hidden = false;
      if (atBottom) logBox.scrollTop = logBox.scrollHeight;
    } else if (kind === "token") {
      tokenText += data.text ?? "";
      tokenBox.textContent = tokenText;
      tokenPanel.hidden = false;
    }
  }

  async function history() {
    // The events so far (log lines and tokens from before this page opened), then the live stream after them.
    for (let pages = 0; pages < 50; pages++) {
      const page = await api("GET", `/api/jobs/${encodeURIComponent(jobId)}/events?after=${lastSeq}&limit=1000`);
      for (const event of page.events) { if (!FINAL.has(event.kind) && event.kind !== "status") apply(event.kind, event.data); lastSeq = event.seq; }
      if (!page.nextCursor) break;
    }
  }

  async function stream() {
    let failures = 0;
    while (!stopped && !FINAL.has(job?.status)) {
      const current = session();
      if (!current) return;
      controller = new AbortController();
      try {
        const headers = { Authorization: `Bearer ${current.token}`, Accept: "text/event-stream" };
        if (lastSeq > 0) headers["Last-Event-ID"] = String(lastSeq);
        const response = await fetch(`/api/sse/job-progress/${encodeURIComponent(jobId)}`, { headers, signal: controller.signal });
        if (!response.ok) throw new APIError(response.status, `stream answered ${response.status}`);
        streamNote.textContent = "live";
        failures = 0;
        await readEvents(response.body, (event) => {
          if (event.id) lastSeq = Number(event.id);
          apply(event.event, JSON.parse(event.data));
        });
      } catch (error) {
        if (stopped) return;
        if (error.status === 404 || error.status === 401 || ++failures > 5) { streamNote.textContent = `stream stopped: ${error.message}`; return; }
        streamNote.textContent = "reconnecting…";
        await new Promise((resolve) => setTimeout(resolve, 250 * 2 ** failures));
      }
    }
    streamNote.textContent = job && FINAL.has(job.status) ? "finished" : "";
  }

  async function follow() {
    try {
      show(await api("GET", `/api/jobs/${encodeURIComponent(jobId)}`));
      await history();
      stream();
    } catch (error) {
      if (error.status === 404) holder.replaceChildren(el("h1", { text: "Not found" }), el("p", { text: `There is no job ${jobId} that this key can see.` }));
      else if (error.status !== 401) toast(error.message, true);
    }
  }
  follow();
  return () => { stopped = true; controller?.abort(); };
}

/// Reads a text/event-stream body, calling `handle({event, data, id})` for each event.
async function readEvents(body, handle) {
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  let event = { event: "message", data: [], id: null };
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += value;
    let newline;
    while ((newline = buffer.indexOf("\n")) >= 0) {
      const line = buffer.slice(0, newline).replace(/\r$/, "");
      buffer = buffer.slice(newline + 1);
      if (line === "") {
        if (event.data.length) handle({ event: event.event, data: event.data.join("\n"), id: event.id });
        event = { event: "message", data: [], id: null };
      } else if (!line.startsWith(":")) {
        const colon = line.indexOf(":");
        const field = colon < 0 ? line : line.slice(0, colon);
        const text = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
        if (field === "data") event.data.push(text);
        else if (field === "event") event.event = text;
        else if (field === "id") event.id = text;
      }
    }
  }
}

// ---------- workers ----------

function workersPage() {
  const body = el("tbody");
  view.append(el("h1", { text: "Workers" }),
    el("table", { id: "workers-table" }, el("thead", {}, el("tr", {},
      ["Worker", "Status", "Running", "Types", "Labels", "Last heartbeat", ""].map((h) => el("th", { text: h })))), body),
    el("p", { class: "muted", text: "Remote workers (offload worker, or any program speaking the worker API) and each server's in-process workers (mode=direct). A paused worker finishes what it runs and leases nothing new." }));
  return every(3000, async () => {
    const { workers } = await api("GET", "/api/workers");
    body.replaceChildren(...workers.map((worker) => {
      const paused = worker.status === "paused";
      const toggle = el("button", { type: "button", class: "secondary", text: paused ? "Resume" : "Pause", "data-worker": worker.workerId });
      toggle.addEventListener("click", () => act(toggle, async () => {
        await api("POST", `/api/workers/${encodeURIComponent(worker.workerId)}/${paused ? "resume" : "pause"}`);
        toggle.textContent = paused ? "Pause" : "Resume";
      }));
      return el("tr", {},
        el("td", {}, el("div", { text: worker.name }), el("div", { class: "mono muted", text: worker.workerId })),
        el("td", {}, badge(worker.status)),
        el("td", {}, el("div", { text: `${worker.currentJobs.length} / ${worker.maxConcurrentJobs}` }),
          ...worker.currentJobs.slice(0, 5).map((id) => el("div", {}, el("a", { class: "mono", href: `#/jobs/${encodeURIComponent(id)}`, text: id })))),
        el("td", { text: worker.processingTypes.join(", ") }),
        el("td", { class: "mono", text: Object.entries(worker.labels).map(([k, v]) => `${k}=${v}`).join(" ") }),
        el("td", { title: worker.lastHeartbeatAt, text: ago(worker.lastHeartbeatAt) }),
        el("td", {}, worker.status === "offline" ? null : toggle));
    }));
    if (workers.length === 0) body.append(el("tr", {}, el("td", { colspan: 7, class: "muted", text: "No workers registered." })));
  });
}

// ---------- queues and types ----------

function queuesPage() {
  const queueBody = el("tbody");
  const typeBody = el("tbody");
  const head = (first) => el("thead", {}, el("tr", {}, el("th", { text: first }),
    STATUSES.map((s) => el("th", { class: "num", text: FINAL.has(s) ? `${s.toLowerCase()} (1 h)` : s.toLowerCase() })), el("th", { text: "" })));
  view.append(el("h1", { text: "Queues and types" }),
    el("h2", { text: "Queues" }), el("table", { id: "queues-table" }, head("Queue"), queueBody),
    el("h2", { text: "Processing types" }), el("table", { id: "types-table" }, head("Type"), typeBody),
    el("p", { class: "muted", text: "A paused queue keeps its jobs and takes new ones; workers lease none of them until it resumes. A type switched off refuses new jobs (or runs them synchronously when its fallback is sync)." }));
  const counts = (row) => STATUSES.map((s) => el("td", { class: "num", text: (row[s.toLowerCase()] || 0).toLocaleString() }));
  return every(3000, async () => {
    const stats = await api("GET", "/api/stats");
    queueBody.replaceChildren(...stats.queues.map((queue) => {
      const toggle = el("button", { type: "button", class: queue.paused ? "" : "secondary", "data-queue": queue.queue,
        text: queue.paused ? "Resume" : "Pause" });
      toggle.addEventListener("click", () => act(toggle, async () => {
        await api("POST", `/api/queues/${encodeURIComponent(queue.queue)}/${queue.paused ? "resume" : "pause"}`);
        queue.paused = !queue.paused;
        toggle.textContent = queue.paused ? "Resume" : "Pause";
        toggle.className = queue.paused ? "" : "secondary";
        state.replaceChildren(queue.paused ? badge("paused") : badge("active"));
      }));
      const state = el("span", { class: "queue-state" }, queue.paused ? badge("paused") : badge("active"));
      return el("tr", { "data-queue-row": queue.queue }, el("td", {}, el("a", { href: `#/jobs?queue=${encodeURIComponent(queue.queue)}`, text: queue.queue }), " ", state),
        ...counts(queue), el("td", {}, toggle));
    }));
    if (stats.queues.length === 0) queueBody.append(el("tr", {}, el("td", { colspan: 7, class: "muted", text: "No jobs yet." })));
    typeBody.replaceChildren(...stats.types.map((type) => {
      const toggle = el("button", { type: "button", class: type.enabled ? "secondary" : "", "data-type": type.processingType,
        text: type.enabled ? "Switch off" : "Switch on" });
      toggle.addEventListener("click", () => act(toggle, async () => {
        await api("PUT", `/api/types/${encodeURIComponent(type.processingType)}`, { enabled: !type.enabled });
        type.enabled = !type.enabled;
        toggle.textContent = type.enabled ? "Switch off" : "Switch on";
      }));
      return el("tr", {}, el("td", {}, el("a", { href: `#/jobs?type=${encodeURIComponent(type.processingType)}`, text: type.processingType }),
        type.enabled ? null : el("span", { class: "badge paused", text: `off · ${type.fallback}` })), ...counts(type), el("td", {}, toggle));
    }));
  });
}

// ---------- throughput and latency ----------

const SERIES_COLOURS = ["#3559e0", "#b7791f", "#c4314b"];

function chartsPage() {
  const cards = el("div", { class: "cards", id: "hour-cards" });
  const throughput = el("canvas", { id: "chart-throughput", width: 640, height: 220 });
  const wait = el("canvas", { id: "chart-wait", width: 640, height: 220 });
  const run = el("canvas", { id: "chart-run", width: 640, height: 220 });
  const legend = (names) => el("div", { class: "legend" }, names.map((name, i) => {
    const swatch = el("i");
    swatch.style.background = SERIES_COLOURS[i];
    return el("span", {}, swatch, name);
  }));
  view.append(el("h1", { text: "Throughput and latency · last hour" }), cards,
    el("div", { class: "charts" },
      el("div", { class: "panel" }, el("h2", { text: "Jobs finished per minute" }), legend(["completed", "cancelled", "failed"]), throughput),
      el("div", { class: "panel" }, el("h2", { text: "Wait time (submit → start)" }), legend(["p50", "p95", "p99"]), wait),
      el("div", { class: "panel" }, el("h2", { text: "Run time (start → end)" }), legend(["p50", "p95", "p99"]), run)));
  return every(10_000, async () => {
    const [stats, series] = await Promise.all([api("GET", "/api/stats"), api("GET", "/api/stats/series?minutes=60")]);
    const hour = stats.lastHour;
    cards.replaceChildren(
      ...[["completed", hour.completed.toLocaleString()], ["per second", hour.completedPerSecond.toFixed(2)],
        ["failed", hour.failed.toLocaleString()], ["wait p50", duration(hour.waitMs.p50)], ["wait p99", duration(hour.waitMs.p99)],
        ["run p50", duration(hour.runMs.p50)], ["run p99", duration(hour.runMs.p99)]]
        .map(([name, value]) => el("div", { class: "card" }, el("b", { text: value }), el("span", { text: name }))));
    const labels = series.buckets.map((b) => new Date(b.at));
    drawChart(throughput, labels, [series.buckets.map((b) => b.completed), series.buckets.map((b) => b.cancelled),
      series.buckets.map((b) => b.failed)], { stacked: true, unit: "" });
    drawChart(wait, labels, ["p50", "p95", "p99"].map((p) => series.buckets.map((b) => b.waitMs[p])), { unit: "ms" });
    drawChart(run, labels, ["p50", "p95", "p99"].map((p) => series.buckets.map((b) => b.runMs[p])), { unit: "ms" });
    throughput.dataset.drawn = "true";
  });
}

/// A bar chart (stacked) or line chart on a canvas, with a y axis from 0 and time labels every 10 minutes.
function drawChart(canvas, times, series, { stacked = false, unit }) {
  const ratio = window.devicePixelRatio || 1;
  const width = canvas.clientWidth || 640;
  const height = canvas.clientHeight || 220;
  canvas.width = width * ratio; canvas.height = height * ratio;
  const g = canvas.getContext("2d");
  g.scale(ratio, ratio);
  g.clearRect(0, 0, width, height);
  const left = 52, right = 8, top = 8, bottom = 22;
  const plotWidth = width - left - right, plotHeight = height - top - bottom;
  const totals = times.map((_, i) => stacked ? series.reduce((sum, s) => sum + (s[i] || 0), 0) : Math.max(0, ...series.map((s) => s[i] || 0)));
  const max = niceMax(Math.max(1, ...totals));
  g.font = "11px system-ui, sans-serif";
  g.fillStyle = "#667085"; g.strokeStyle = "#e3e6ec"; g.lineWidth = 1;
  for (let step = 0; step <= 4; step++) {
    const value = max * step / 4;
    const y = top + plotHeight - plotHeight * step / 4;
    g.beginPath(); g.moveTo(left, y); g.lineTo(width - right, y); g.stroke();
    g.textAlign = "right"; g.textBaseline = "middle";
    g.fillText(unit === "ms" ? duration(value) : formatCount(value), left - 6, y);
  }
  const slot = plotWidth / Math.max(1, times.length);
  g.textAlign = "center"; g.textBaseline = "top";
  times.forEach((time, i) => {
    if (time.getMinutes() % 10 === 0) g.fillText(time.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" }), left + slot * (i + 0.5), top + plotHeight + 6);
  });
  if (stacked) {
    times.forEach((_, i) => {
      let base = 0;
      series.forEach((s, k) => {
        const value = s[i] || 0;
        if (!value) return;
        g.fillStyle = SERIES_COLOURS[k];
        const y0 = top + plotHeight - plotHeight * base / max;
        const y1 = top + plotHeight - plotHeight * (base + value) / max;
        g.fillRect(left + slot * i + 1, y1, Math.max(1, slot - 2), y0 - y1);
        base += value;
      });
    });
  } else {
    series.forEach((s, k) => {
      g.strokeStyle = SERIES_COLOURS[k]; g.fillStyle = SERIES_COLOURS[k]; g.lineWidth = 2;
      g.beginPath();
      let drawing = false;
      s.forEach((value, i) => {
        if (value === null || value === undefined) { drawing = false; return; }
        const x = left + slot * (i + 0.5), y = top + plotHeight - plotHeight * value / max;
        if (drawing) g.lineTo(x, y); else g.moveTo(x, y);
        drawing = true;
        g.fillRect(x - 1.5, y - 1.5, 3, 3);
      });
      g.stroke();
    });
  }
}

function niceMax(value) {
  const power = 10 ** Math.floor(Math.log10(value));
  for (const step of [1, 2, 2.5, 5, 10]) if (value <= step * power) return step * power;
  return 10 * power;
}

function formatCount(value) {
  if (value >= 1e6) return `${(value / 1e6).toFixed(1)}M`;
  if (value >= 1e3) return `${(value / 1e3).toFixed(value >= 1e4 ? 0 : 1)}k`;
  return String(Math.round(value));
}

// ---------- run (the web terminal) ----------

function runPage() {
  const file = el("input", { type: "file", id: "run-bundle", accept: ".zip,application/zip" });
  const commands = el("textarea", { id: "run-commands", rows: 4, placeholder: "one command per line, e.g.\nls -la\npython3 main.py" });
  const label = el("select", { id: "run-label" }, el("option", { value: "", text: "any worker" }));
  const timeout = el("input", { id: "run-timeout", type: "number", min: 1, value: 600 });
  const keepGoing = el("input", { id: "run-continue", type: "checkbox" });
  const error = el("p", { class: "error", role: "alert" });
  const submit = el("button", { type: "submit", id: "run-submit", text: "Run" });
  const output = el("div", { id: "run-output" });
  let stopJob = () => {};
  const form = el("form", { class: "panel", id: "run-form", onsubmit: (event) => {
    event.preventDefault();
    act(submit, async () => {
      error.textContent = "";
      const lines = commands.value.split("\n").map((line) => line.trim()).filter(Boolean);
      if (lines.length === 0) { error.textContent = "type at least one command"; return; }
      const data = { commands: lines, continueOnError: keepGoing.checked };
      if (file.files[0]) {
        const uploaded = await api("POST", "/api/files", await file.files[0].arrayBuffer(), { raw: true, contentType: "application/zip" });
        data.bundleId = uploaded.fileId;
      }
      const options = { timeoutSeconds: Number(timeout.value) || 600, maxAttempts: 1 };
      if (label.value) { const [key, ...value] = label.value.split("="); options.labels = { [key]: value.join("=") }; }
      const job = await api("POST", "/api/jobs", { processingType: "shell", data, options });
      stopJob();
      stopJob = jobDetail(output, job.jobId);
    });
  } },
  el("div", { class: "row" }, el("label", {}, "Bundle (ZIP, optional)", file), el("label", {}, "Worker label", label),
    el("label", {}, "Timeout (s)", timeout), el("label", {}, "Keep going after a failure", keepGoing)),
  el("label", {}, "Commands", commands), el("div", { class: "row" }, submit), error);
  view.append(el("h1", { text: "Run commands" }),
    el("p", { class: "muted", text: "Runs a shell job on a worker started with --allow-shell, in a fresh directory holding the bundle; stdout and stderr stream below as they come." }),
    form, output);
  if (isAdmin()) {
    api("GET", "/api/workers").then(({ workers }) => {
      const seen = new Set();
      for (const worker of workers) for (const [key, value] of Object.entries(worker.labels)) seen.add(`${key}=${value}`);
      for (const term of [...seen].sort()) label.append(el("option", { value: term, text: term }));
    }).catch(() => {});
  }
  return () => stopJob();
}

// ---------- start ----------

document.getElementById("sign-out").addEventListener("click", signOut);
window.addEventListener("hashchange", route);
route();
