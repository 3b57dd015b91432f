// The invigilator's dashboard: sessions, a live grid of students, the alert feed and a
// per-student panel. Live changes come over the session's WebSocket; everything else is the
// documented HTTP API. No framework: a Map of rows and a function that redraws one cell.
import { clock, el, mountHeader, request, show } from "/web/api.js";

const $ = (id) => document.getElementById(id);
const enc = encodeURIComponent;

// The dashboard's words, tones (colour) and symbols for every state a student can be in.
const STATES = {
  not_joined: { label: "Not joined", tone: "idle", icon: "○" },
  connected: { label: "Connected", tone: "info", icon: "●" },
  waiting_face: { label: "Waiting for face", tone: "info", icon: "◌" },
  checking_identity: { label: "Checking identity", tone: "info", icon: "…" },
  prompting: { label: "Challenge", tone: "info", icon: "▸" },
  retrying: { label: "Retrying", tone: "warn", icon: "↻" },
  verified: { label: "Verified", tone: "ok", icon: "✓" },
  failed: { label: "Failed", tone: "bad", icon: "✕" },
  flagged: { label: "Flagged", tone: "flag", icon: "⚑" },
  disconnected: { label: "Disconnected", tone: "off", icon: "⊘" },
};
const KINDS = {
  face_absent: "Face absent",
  multiple_faces: "Several faces",
  different_person: "Different person",
  tab_switch: "Tab switch",
  verification_failed: "Verification failed",
  verified: "Verified",
  connected: "Connected",
  disconnected: "Disconnected",
  id_check: "ID photo checked",
};
// The same rule as server/flags.py, so a live alert raises the badge at once.
const HIGH = new Set(["different_person", "multiple_faces", "verification_failed"]);
const MEDIUM = new Set(["face_absent", "tab_switch"]);
const PRIORITY_RANK = { "": 0, low: 1, medium: 2, high: 3 };
const ALERT_ICONS = { verification_failed: "✕", tab_switch: "⇥", face_absent: "∅", id_check: "ID" };
const ACRONYMS = { ela: "ELA", jpeg: "JPEG", ai: "AI", ssim: "SSIM" };
const FEED_LIMIT = 300;
const THUMBNAIL_PERIOD = 1000;

const state = {
  user: null,
  sessions: [],
  session: null, // the chosen session record
  rows: new Map(), // roll_no -> the roster row, kept current by updates
  order: [], // roster order
  cells: new Map(), // roll_no -> grid cell
  feedIds: new Set(),
  socket: null,
  generation: 0, // bumps on every (re)connect; older sockets' messages are ignored
  retries: 0,
  retryTimer: null,
  rosterLoads: 0,
  panelRoll: null,
  panelTimer: null,
  panelEvents: new Set(),
  enrolled: null,
};

// --- helpers -------------------------------------------------------------------------------

function isAlert(event) {
  return event && (event.severity === "warning" || event.severity === "alert");
}

function eventPriority(event) {
  if (!isAlert(event)) return "";
  const verdict = event.detail && event.detail.verdict;
  if (HIGH.has(event.kind) || (event.kind === "id_check" && verdict === "forged")) return "high";
  if (MEDIUM.has(event.kind) || (event.kind === "id_check" && verdict === "suspicious")) return "medium";
  return "low";
}

function kindLabel(event) {
  if (event.kind === "id_check") {
    const verdict = event.detail && event.detail.verdict;
    if (verdict === "forged") return "Forged ID photo";
    if (verdict === "suspicious") return "Suspicious ID photo";
  }
  return KINDS[event.kind] || event.kind.replaceAll("_", " ");
}

function number(value, digits = 2) {
  return typeof value === "number" ? value.toFixed(digits) : "–";
}

function describe(event) {
  const d = event.detail || {};
  switch (event.kind) {
    case "face_absent": return `No face in view for ${d.seconds ?? "a few"} s`;
    case "multiple_faces": return `${d.faces ?? "Several"} faces in view`;
    case "different_person": return `Face distance ${number(d.distance)}: not the enrolled student`;
    case "tab_switch": return d.what === "hidden" ? "Left the exam tab" : "The exam window lost focus";
    case "verification_failed": return d.reason ? `Reason: ${d.reason}` : "";
    case "verified": return d.method ? `Passed ${d.method.split("+").join(", ")}` : "";
    case "id_check": {
      const parts = [`verdict ${d.verdict}`];
      if (typeof d.ssim_score === "number") parts.push(`SSIM ${number(d.ssim_score)}`);
      if (d.risk_tier) parts.push(`risk ${d.risk_tier}`);
      if (typeof d.face_distance === "number") parts.push(`face distance ${number(d.face_distance)}`);
      return parts.join(" · ");
    }
    default: return "";
  }
}

// What the grid shows: a verified student with flags is "flagged".
function shownState(row) {
  if (row.state === "verified" && row.flags > 0) return "flagged";
  return STATES[row.state] ? row.state : "connected";
}

function stateLabel(row) {
  const shown = shownState(row);
  if (shown === "prompting" && row.steps) return `Challenge ${row.step}/${row.steps}`;
  if (shown === "retrying" && row.attempt !== undefined) return `Retrying (attempt ${row.attempt + 1})`;
  return STATES[shown].label;
}

// "14:00" today, "22 Nov 14:00" on another day.
function minutes(iso) {
  const date = new Date(iso);
  const options = { hour: "2-digit", minute: "2-digit", hourCycle: "h23" };
  if (date.toDateString() !== new Date().toDateString()) Object.assign(options, { day: "numeric", month: "short" });
  return date.toLocaleString([], options);
}

function photoUrl(roll) {
  return `/api/students/${enc(roll)}/photo`;
}

function sessionUrl(path = "") {
  return `/api/sessions/${enc(state.session.id)}${path}`;
}

function notice(text, ok = true, extra = null) {
  const box = $("notice-box");
  box.className = "notice " + (ok ? "ok" : "bad");
  $("notice").replaceChildren(text, ...(extra ? [" ", extra] : []));
  box.hidden = false;
}

async function copyText(text) {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    const area = el("textarea", { value: text, style: "position:fixed;top:0;left:0;opacity:0" });
    document.body.append(area);
    area.select();
    const ok = document.execCommand("copy");
    area.remove();
    return ok;
  }
}

// --- sessions ------------------------------------------------------------------------------

async function loadSessions(selectId) {
  const { sessions } = await request("GET", "/api/sessions");
  sessions.sort((a, b) => (a.status === b.status ? 0 : a.status === "open" ? -1 : 1)
    || b.created_at.localeCompare(a.created_at));
  state.sessions = sessions;
  const picker = $("session-picker");
  picker.replaceChildren(
    ...(sessions.length ? [] : [el("option", { value: "" }, "No sessions yet")]),
    ...sessions.map((s) => el("option", { value: s.id, title: `created ${minutes(s.created_at)}` },
      `${s.name} · ${s.roster.length} students · ${s.status}`)),
  );
  const wanted = selectId || new URLSearchParams(location.search).get("session");
  const chosen = sessions.find((s) => s.id === wanted) || sessions[0];
  if (chosen) {
    picker.value = chosen.id;
    await selectSession(chosen.id);
  } else {
    clearSession();
  }
}

function clearSession() {
  closeSocket();
  for (const row of state.rows.values()) if (row.thumbObject) URL.revokeObjectURL(row.thumbObject);
  closePanel();
  state.session = null;
  state.rows.clear();
  state.order = [];
  state.cells.clear();
  state.feedIds.clear();
  $("grid").replaceChildren();
  $("feed").replaceChildren();
  updateFeedCount();
  renderCounts();
  renderToolbar();
  $("empty").hidden = false;
}

async function selectSession(id) {
  clearSession();
  const record = state.sessions.find((s) => s.id === id) || await request("GET", `/api/sessions/${enc(id)}`);
  state.session = record;
  const url = new URL(location.href);
  url.searchParams.set("session", id);
  history.replaceState(null, "", url);
  renderToolbar();
  $("empty").hidden = true;
  const { students } = await request("GET", sessionUrl("/students"));
  if (state.session !== record) return; // another session was chosen meanwhile
  applyRoster(students);
  connectSocket();
}

function renderToolbar() {
  const record = state.session;
  const status = $("session-status");
  const toggle = $("toggle-open");
  const report = $("session-report");
  toggle.disabled = $("show-links").disabled = !record;
  if (!record) {
    status.hidden = true;
    $("session-times").textContent = "";
    report.removeAttribute("href");
    report.setAttribute("aria-disabled", "true");
    return;
  }
  status.hidden = false;
  status.textContent = record.status === "open" ? "Open" : "Closed";
  status.className = "badge " + (record.status === "open" ? "ok" : "");
  toggle.textContent = record.status === "open" ? "Close session" : "Reopen session";
  const times = [record.starts_at && `starts ${minutes(record.starts_at)}`, record.ends_at && `ends ${minutes(record.ends_at)}`];
  $("session-times").textContent = times.filter(Boolean).join(" · ");
  $("session-times").hidden = !times.some(Boolean);
  report.href = sessionUrl("/report.pdf");
  report.target = "_blank";
  report.rel = "noopener";
  report.removeAttribute("aria-disabled");
}

async function toggleOpen() {
  const record = state.session;
  if (!record) return;
  const closing = record.status === "open";
  if (closing && !confirm(`Close “${record.name}”? Every student's stream ends and the join links stop working.`)) return;
  try {
    const updated = await request("POST", sessionUrl(closing ? "/close" : "/open"));
    Object.assign(record, updated);
    renderToolbar();
    notice(closing ? `“${record.name}” is closed.` : `“${record.name}” is open again.`);
  } catch (error) {
    notice(`${error.code}: ${error.message}`, false);
  }
}

// --- the roster and the grid ---------------------------------------------------------------

function applyRoster(students) {
  const known = state.rows;
  state.order = students.map((s) => s.roll_no);
  for (const student of students) {
    const previous = known.get(student.roll_no);
    known.set(student.roll_no, { ...(previous || {}), ...student });
  }
  for (const roll of [...known.keys()]) if (!state.order.includes(roll)) known.delete(roll);
  for (const roll of state.order) renderCell(known.get(roll));
  arrangeGrid();
  renderCounts();
  backfillAlerts();
  if (state.panelRoll) renderPanelHead();
}

// Alerts raised while the page was away: read each flagged student's events once.
async function backfillAlerts() {
  const session = state.session;
  for (const row of state.rows.values()) {
    const shown = [...$("feed").children].filter((li) => li.dataset.rollNo === row.roll_no).length;
    if (!row.flags || shown >= row.flags) continue;
    try {
      const { events } = await request("GET", sessionUrl(`/students/${enc(row.roll_no)}/events`));
      if (state.session !== session) return;
      for (const event of events) addAlert(event, null);
    } catch { /* the next roster tries again */ }
  }
}

function buildCell(row) {
  const roll = row.roll_no;
  const parts = {
    live: el("img", { className: "live", alt: "", decoding: "async" }),
    photo: el("img", { className: "enrolled", alt: "", src: photoUrl(roll), loading: "lazy" }),
    overlay: el("span", { className: "overlay" }),
    status: el("span", { className: "status" }),
    priority: el("span", { className: "priority" }),
    reviewed: el("span", { className: "reviewed" }, "✓ reviewed"),
    steps: el("span", { className: "steps", "aria-hidden": "true" }),
    last: el("span", { className: "last" }),
  };
  const cell = el("button", {
    type: "button", className: "cell", dataset: { rollNo: roll },
    onclick: () => openPanel(roll),
  },
  el("span", { className: "media" }, parts.photo, parts.live, parts.overlay,
    el("span", { className: "tags" }, parts.priority, parts.reviewed)),
  el("span", { className: "body" },
    el("span", { className: "who" }, el("span", { className: "name" }, row.name || roll), el("span", { className: "roll" }, roll)),
    el("span", { className: "line" }, parts.status),
    parts.steps,
    parts.last));
  cell.parts = parts;
  // The list item holds the button, so the button keeps its role for screen readers.
  el("div", { className: "slot", role: "listitem" }, cell);
  state.cells.set(roll, cell);
  return cell;
}

function renderCell(row) {
  const cell = state.cells.get(row.roll_no) || buildCell(row);
  const { parts } = cell;
  const shown = shownState(row);
  const info = STATES[shown];
  const live = row.connection === "connected";
  if (!live) row.thumbReady = false;
  cell.className = `cell tone-${info.tone}` + (live && row.thumbReady ? " has-live" : "");
  Object.assign(cell.dataset, {
    state: shown,
    connection: row.connection || "not_joined",
    step: String(row.step || 0),
    steps: String(row.steps || 0),
    priority: row.priority || "",
    reviewed: String(Boolean(row.reviewed)),
  });
  const label = stateLabel(row);
  parts.status.replaceChildren(el("span", { className: "icon", "aria-hidden": "true" }, info.icon), label);
  parts.overlay.textContent = live || shown === "not_joined" ? "" : "Camera off";
  parts.priority.hidden = !row.priority;
  parts.priority.className = `priority p-${row.priority || "none"}`;
  parts.priority.textContent = row.priority ? `${row.priority} priority` : "";
  parts.reviewed.hidden = !row.reviewed;
  // The challenge's progress: one segment per step.
  const steps = shown === "prompting" ? row.steps || 0 : 0;
  parts.steps.hidden = !steps;
  if (steps) {
    const done = Math.max(0, (row.step || 1) - 1);
    parts.steps.replaceChildren(...Array.from({ length: steps }, (_, i) =>
      el("span", { className: i < done ? "done" : i === done && shown === "prompting" ? "current" : "" })));
  }
  const event = row.last_event;
  parts.last.replaceChildren(...(event
    ? [el("span", { className: `sev-${event.severity}` }, kindLabel(event)), el("time", { dateTime: event.occurred_at }, clock(event.occurred_at))]
    : [el("span", { className: "muted" }, "No events yet")]));
  const flags = row.flags ? `, ${row.flags} flag${row.flags === 1 ? "" : "s"}` : "";
  const priority = row.priority ? `, ${row.priority} review priority` : "";
  const lastText = event ? `, last event ${kindLabel(event)} at ${clock(event.occurred_at)}` : "";
  cell.setAttribute("aria-label", `${row.name || ""} ${row.roll_no}: ${label}${live ? "" : ", camera off"}${flags}${priority}${row.reviewed ? ", reviewed" : ""}${lastText}`);
  return cell;
}

function attentionScore(row) {
  const shown = shownState(row);
  const base = { failed: 50, flagged: 60, retrying: 30, disconnected: 15, not_joined: 5, verified: 0 }[shown] ?? 20;
  return (row.reviewed ? 0 : PRIORITY_RANK[row.priority || ""] * 100) + base;
}

function arrangeGrid() {
  const grid = $("grid");
  let rolls = [...state.order];
  if ($("sort").value === "attention") {
    const rank = new Map(rolls.map((r, i) => [r, i]));
    rolls.sort((a, b) => attentionScore(state.rows.get(b)) - attentionScore(state.rows.get(a)) || rank.get(a) - rank.get(b));
  }
  const current = [...grid.children].map((slot) => slot.firstElementChild.dataset.rollNo);
  if (current.join("\n") !== rolls.join("\n")) {
    grid.replaceChildren(...rolls.map((r) => state.cells.get(r).parentElement));
  }
  $("empty").hidden = Boolean(state.session);
}

function renderCounts() {
  const tally = { total: 0, not_joined: 0, progress: 0, verified: 0, failed: 0, flagged: 0, review: 0 };
  for (const row of state.rows.values()) {
    const shown = shownState(row);
    tally.total += 1;
    if (shown === "verified" || shown === "failed" || shown === "flagged" || shown === "not_joined") tally[shown] += 1;
    else tally.progress += 1;
    if (row.priority && !row.reviewed) tally.review += 1;
  }
  const chip = (key, label, tone) => el("li", { className: `count tone-${tone}`, dataset: { count: key } },
    el("b", {}, String(tally[key])), " ", label);
  $("counts").replaceChildren(
    chip("total", "students", "plain"),
    chip("verified", "verified", "ok"),
    chip("progress", "in progress", "info"),
    chip("flagged", "flagged", "flag"),
    chip("failed", "failed", "bad"),
    chip("not_joined", "not joined", "idle"),
    chip("review", "to review", "review"),
  );
}

// --- live thumbnails -----------------------------------------------------------------------

async function refreshThumbnail(row) {
  if (row.thumbBusy) return;
  row.thumbBusy = true;
  try {
    const response = await fetch(`${row.thumbnail_url}?t=${Date.now()}`, { cache: "no-store" });
    if (!response.ok || row.connection !== "connected") return;
    const url = URL.createObjectURL(await response.blob());
    const cell = state.cells.get(row.roll_no);
    if (!cell) { URL.revokeObjectURL(url); return; }
    const previous = row.thumbObject;
    row.thumbObject = url;
    cell.parts.live.src = url;
    row.thumbReady = true;
    cell.classList.add("has-live");
    if (state.panelRoll === row.roll_no) showPanelLive(row);
    if (previous) setTimeout(() => URL.revokeObjectURL(previous), 2000);
  } catch { /* a missed frame; the next tick tries again */ } finally {
    row.thumbBusy = false;
  }
}

setInterval(() => {
  if (document.hidden || !state.session) return;
  for (const row of state.rows.values()) if (row.connection === "connected") refreshThumbnail(row);
}, THUMBNAIL_PERIOD);

// --- the WebSocket -------------------------------------------------------------------------

function setLive(status, text) {
  const live = $("live");
  live.dataset.socket = status;
  live.textContent = text;
}

function connectSocket() {
  clearTimeout(state.retryTimer);
  const session = state.session;
  if (!session) return;
  const generation = ++state.generation;
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  const socket = new WebSocket(`${scheme}://${location.host}/api/sessions/${enc(session.id)}/live`);
  state.socket = socket;
  window.__dashboardSocket = socket; // tests close it to check the reconnect
  setLive("connecting", "Connecting…");
  socket.addEventListener("message", (message) => {
    if (generation !== state.generation) return;
    const arrived = Date.now();
    let data;
    try { data = JSON.parse(message.data); } catch { return; }
    if (data.type === "roster") {
      state.retries = 0;
      state.rosterLoads += 1;
      $("live").dataset.rosters = String(state.rosterLoads);
      setLive("open", "Live");
      applyRoster(data.students);
    } else if (data.type === "update") {
      onUpdate(data, arrived);
    }
  });
  socket.addEventListener("close", () => {
    if (generation !== state.generation) return; // closed on purpose
    scheduleReconnect();
  });
}

function scheduleReconnect() {
  const delay = Math.min(10_000, 500 * 2 ** state.retries) * (0.8 + Math.random() * 0.4);
  state.retries += 1;
  setLive("reconnecting", `Reconnecting in ${Math.max(1, Math.round(delay / 1000))} s…`);
  state.retryTimer = setTimeout(connectSocket, delay);
  // A socket refused for a lapsed login looks like any other drop: ask once in a while.
  if (state.retries % 3 === 0) request("GET", "/api/me").catch(() => null);
}

function closeSocket() {
  state.generation += 1;
  clearTimeout(state.retryTimer);
  if (state.socket) state.socket.close();
  state.socket = null;
  setLive("closed", "Offline");
}

function onUpdate(message, arrived) {
  const row = state.rows.get(message.roll_no);
  if (!row) return;
  const summary = message.summary;
  if (summary) {
    for (const key of ["state", "connection", "step", "steps", "attempt", "reason"]) {
      if (summary[key] !== undefined) row[key] = summary[key];
    }
  }
  if (message.kind === "event" && message.event) {
    const event = { ...message.event, detail: message.event.detail || {} };
    row.last_event = event;
    if (isAlert(event)) {
      row.flags = (row.flags || 0) + 1;
      const priority = eventPriority(event);
      if (PRIORITY_RANK[priority] > PRIORITY_RANK[row.priority || ""]) row.priority = priority;
      addAlert(event, { sentAt: message.sent_at, arrived });
    }
    if (event.kind === "verified") row.verified = true;
    if (event.kind === "id_check") row.id_check = event.detail.verdict;
    if (state.panelRoll === row.roll_no) {
      addTimelineItem(event, true);
      if (event.kind === "id_check") loadIdCheck(row.roll_no);
    }
  } else if (message.kind === "review") {
    row.reviewed = Boolean(message.reviewed);
    if (state.panelRoll === row.roll_no) renderReview(message);
  }
  renderCell(row);
  renderCounts();
  if ($("sort").value === "attention") arrangeGrid();
  if (state.panelRoll === row.roll_no) renderPanelHead();
}

// --- the alert feed ------------------------------------------------------------------------

function updateFeedCount() {
  const count = $("feed").children.length;
  $("feed-count").textContent = String(count);
  $("feed-empty").hidden = count > 0;
}

function eventImage(event) {
  if (event.snapshot_url) return event.snapshot_url;
  if (event.kind === "id_check" && event.detail && event.detail.photo_url) return event.detail.photo_url;
  return null;
}

// One alert, in time order (newest first). `live` (sentAt, arrived) marks one that came now.
function addAlert(event, live) {
  if (!isAlert(event) || state.feedIds.has(event.id)) return;
  state.feedIds.add(event.id);
  const row = state.rows.get(event.roll_no) || { name: "", roll_no: event.roll_no };
  const image = eventImage(event);
  const time = Date.parse(event.occurred_at);
  const item = el("li", {
    className: `alert sev-${event.severity} p-${eventPriority(event)}`,
    dataset: { kind: event.kind, rollNo: event.roll_no, eventId: String(event.id), time: String(time) },
  },
  el("button", { type: "button", className: "alert-body", onclick: () => openPanel(event.roll_no) },
    image
      ? el("img", { className: "snap", src: image, alt: `Snapshot: ${kindLabel(event)}`, loading: "lazy" })
      : el("span", { className: "snap none", "aria-hidden": "true" }, ALERT_ICONS[event.kind] || "⚑"),
    el("span", { className: "text" },
      el("span", { className: "title" }, kindLabel(event)),
      el("span", { className: "who" }, `${row.name || ""} · ${event.roll_no}`),
      el("span", { className: "detail" }, describe(event)),
      el("time", { dateTime: event.occurred_at }, clock(event.occurred_at)))));
  const feed = $("feed");
  const later = [...feed.children].find((li) => Number(li.dataset.time) <= time);
  feed.insertBefore(item, later || null);
  if (live) {
    // Event-to-screen latency: from the server sending the update to the item being in the page.
    item.dataset.latencyMs = String(Math.max(0, Date.now() - live.sentAt * 1000).toFixed(0));
    item.dataset.eventAgeMs = String(Math.max(0, Date.now() - time).toFixed(0));
    item.dataset.source = "live";
    item.classList.add("fresh");
    setTimeout(() => item.classList.remove("fresh"), 4000);
  } else {
    item.dataset.source = "history";
  }
  while (feed.children.length > FEED_LIMIT) {
    const last = feed.lastElementChild;
    state.feedIds.delete(Number(last.dataset.eventId));
    last.remove();
  }
  updateFeedCount();
}

// --- the student panel ---------------------------------------------------------------------

function renderPanelHead() {
  const row = state.rows.get(state.panelRoll);
  if (!row) return;
  const shown = shownState(row);
  $("panel-title").textContent = `${row.name || row.roll_no} · ${row.roll_no}`;
  const badges = [el("span", { className: `pill tone-${STATES[shown].tone}` }, `${STATES[shown].icon} ${stateLabel(row)}`)];
  if (row.connection !== "connected" && shown !== "not_joined") badges.push(el("span", { className: "badge" }, "camera off"));
  if (row.priority) badges.push(el("span", { className: `priority p-${row.priority}` }, `${row.priority} priority`));
  if (row.flags) badges.push(el("span", { className: "badge warn" }, `${row.flags} flag${row.flags === 1 ? "" : "s"}`));
  if (row.reviewed) badges.push(el("span", { className: "badge ok" }, "✓ reviewed"));
  $("panel-badges").replaceChildren(...badges);
  const toggle = $("review-toggle");
  toggle.textContent = row.reviewed ? "Mark as not reviewed" : "Mark reviewed";
  toggle.className = row.reviewed ? "secondary" : "";
  toggle.setAttribute("aria-pressed", String(Boolean(row.reviewed)));
}

async function openPanel(roll) {
  const row = state.rows.get(roll);
  if (!row) return;
  const opener = document.activeElement;
  closePanel(false);
  state.panelRoll = roll;
  state.panelOpener = opener;
  const panel = $("panel");
  panel.hidden = false;
  document.body.classList.add("panel-open");
  for (const cell of state.cells.values()) cell.classList.toggle("selected", cell.dataset.rollNo === roll);
  renderPanelHead();
  $("panel-photo").src = photoUrl(roll);
  showPanelLive(row);
  $("student-report").href = sessionUrl(`/students/${enc(roll)}/report.pdf`);
  $("timeline").replaceChildren(el("li", { className: "muted" }, "Loading…"));
  $("idcheck").replaceChildren();
  $("notes").replaceChildren();
  $("spark").replaceChildren();
  $("panel-title").focus();
  const base = sessionUrl(`/students/${enc(roll)}`);
  const [events, review] = await Promise.all([
    request("GET", `${base}/events`).catch(() => ({ events: [] })),
    request("GET", `${base}/review`).catch(() => null),
  ]);
  if (state.panelRoll !== roll) return;
  $("timeline").replaceChildren();
  state.panelEvents = new Set();
  for (const event of events.events) addTimelineItem(event, false);
  if (!events.events.length) $("timeline").append(el("li", { className: "muted empty-line" }, "No events yet."));
  if (review) renderReview(review);
  loadIdCheck(roll);
  drawSparkline(roll);
  state.panelTimer = setInterval(() => {
    const current = state.rows.get(roll);
    if (current && current.connection === "connected" && !document.hidden) drawSparkline(roll);
    if (current) showPanelLive(current);
  }, 1000);
}

// The newest camera picture, greyed when the camera has gone; a placeholder before any.
function showPanelLive(row) {
  const image = $("panel-live");
  const live = row.connection === "connected";
  image.hidden = !row.thumbObject;
  if (row.thumbObject && image.getAttribute("src") !== row.thumbObject) image.src = row.thumbObject;
  image.classList.toggle("stale", !live);
  $("panel-live-none").hidden = Boolean(row.thumbObject);
  $("panel-live-caption").textContent = live ? "Live camera (refreshed every second)" : "Live camera (not connected)";
}

function closePanel(restoreFocus = true) {
  clearInterval(state.panelTimer);
  state.panelTimer = null;
  if (!state.panelRoll) return;
  const opener = state.panelOpener;
  state.panelRoll = null;
  $("panel").hidden = true;
  document.body.classList.remove("panel-open");
  for (const cell of state.cells.values()) cell.classList.remove("selected");
  if (restoreFocus && opener && document.contains(opener)) opener.focus();
}

function addTimelineItem(event, live) {
  if (state.panelEvents.has(event.id)) return;
  state.panelEvents.add(event.id);
  const list = $("timeline");
  const placeholder = list.querySelector(".empty-line");
  if (placeholder) placeholder.remove();
  const image = eventImage(event);
  const item = el("li", { className: `sev-${event.severity}`, dataset: { kind: event.kind, eventId: String(event.id) } },
    el("span", { className: "dot", "aria-hidden": "true" }),
    el("div", { className: "what" },
      el("div", {}, el("strong", {}, kindLabel(event)), " ", el("time", { dateTime: event.occurred_at }, clock(event.occurred_at))),
      describe(event) ? el("div", { className: "muted" }, describe(event)) : null),
    image ? el("a", { href: image, target: "_blank", rel: "noopener", className: "tl-snap" },
      el("img", { src: image, alt: `Snapshot at ${clock(event.occurred_at)}`, loading: "lazy" })) : null);
  // Newest first: live events go on top; the history arrives oldest first, so each goes on top too.
  list.prepend(item);
  if (live) item.classList.add("fresh");
}

function renderReview(review) {
  const row = state.rows.get(review.roll_no);
  if (row) row.reviewed = Boolean(review.reviewed);
  const notes = review.notes || [];
  $("notes").replaceChildren(...notes.map((note) => el("li", {},
    el("div", { className: "note-meta" }, `${note.author} · ${clock(note.time)}`),
    el("div", {}, note.text))));
  if (!notes.length) $("notes").append(el("li", { className: "muted" }, "No notes yet."));
  renderPanelHead();
}

async function loadIdCheck(roll) {
  const box = $("idcheck");
  let checks = [];
  try {
    ({ id_checks: checks } = await request("GET", sessionUrl("/id-checks")));
  } catch (error) {
    box.replaceChildren(el("p", { className: "bad" }, error.message));
    return;
  }
  if (state.panelRoll !== roll) return;
  const own = checks.filter((c) => c.roll_no === roll);
  if (!own.length) {
    box.replaceChildren(el("p", { className: "muted" }, "No ID photo submitted."));
    return;
  }
  const check = own[own.length - 1];
  const tone = { ok: "ok", suspicious: "warn", forged: "bad" }[check.verdict] || "";
  const figure = (src, caption) => el("figure", {},
    el("a", { href: src, target: "_blank", rel: "noopener" }, el("img", { src, alt: caption, loading: "lazy" })),
    el("figcaption", {}, caption));
  box.replaceChildren(
    el("p", { className: "actions" },
      el("span", { className: `badge ${tone}` }, `verdict: ${check.verdict}`),
      el("span", { className: "muted" }, `SSIM ${number(check.ssim_score)} · forgery ${number(check.forgery_percent, 0)} % · risk ${check.risk_tier || "–"}`
        + (typeof check.face_distance === "number" ? ` · face distance ${number(check.face_distance)}` : ""))),
    check.summary && check.summary.recommendation ? el("p", { className: "muted" }, check.summary.recommendation) : null,
    el("div", { className: "heatmaps" },
      figure(check.photo_url, "Submitted ID photo"),
      figure(photoUrl(roll), "Enrolled photo"),
      ...Object.entries(check.heatmaps || {}).map(([name, url]) => {
        const words = name.split("_").map((w) => ACRONYMS[w] || w).join(" ");
        return figure(url, `${words[0].toUpperCase()}${words.slice(1)} heatmap`);
      })),
  );
}

// EAR and MAR of the last 30 s as an inline SVG: blinks are the dips of the EAR line.
async function drawSparkline(roll) {
  let samples;
  try {
    ({ samples } = await request("GET", sessionUrl(`/students/${enc(roll)}/timeline`)));
  } catch { return; }
  if (state.panelRoll !== roll) return;
  const box = $("spark");
  const recent = samples.filter((s) => s[0] >= -30);
  if (recent.length < 2) {
    box.replaceChildren(el("p", { className: "muted" }, "No signal yet: it appears once the camera streams."));
    return;
  }
  const width = 300, height = 80;
  const values = recent.flatMap((s) => [s[1], s[2]]).filter((v) => typeof v === "number");
  const top = Math.max(0.6, ...values);
  const x = (t) => ((t + 30) / 30) * width;
  const y = (v) => height - (v / top) * height;
  const path = (index) => {
    let d = "", pen = false;
    for (const sample of recent) {
      const v = sample[index];
      if (typeof v !== "number") { pen = false; continue; }
      d += `${pen ? "L" : "M"}${x(sample[0]).toFixed(1)} ${y(v).toFixed(1)}`;
      pen = true;
    }
    return d;
  };
  const ns = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(ns, "svg");
  svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
  svg.setAttribute("preserveAspectRatio", "none");
  svg.setAttribute("role", "img");
  const last = recent[recent.length - 1];
  svg.setAttribute("aria-label", `Eye and mouth openness over the last 30 seconds; now EAR ${number(last[1])}, MAR ${number(last[2])}`);
  for (const level of [0.2, 0.4]) {
    const line = document.createElementNS(ns, "line");
    Object.entries({ x1: 0, x2: width, y1: y(level), y2: y(level), class: "grid-line" }).forEach(([k, v]) => line.setAttribute(k, v));
    svg.append(line);
  }
  for (const [index, name] of [[2, "mar"], [1, "ear"]]) {
    const line = document.createElementNS(ns, "path");
    line.setAttribute("d", path(index));
    line.setAttribute("class", name);
    svg.append(line);
  }
  box.replaceChildren(svg, el("div", { className: "spark-axis" },
    el("span", {}, "−30 s"), el("span", {}, `now · EAR ${number(last[1])} · MAR ${number(last[2])}`)));
}

async function toggleReviewed() {
  const row = state.rows.get(state.panelRoll);
  if (!row) return;
  try {
    const review = await request("POST", sessionUrl(`/students/${enc(row.roll_no)}/review`), { reviewed: !row.reviewed });
    renderReview(review);
    renderCell(row);
    renderCounts();
  } catch (error) {
    notice(`${error.code}: ${error.message}`, false);
  }
}

async function saveNote(event) {
  event.preventDefault();
  const row = state.rows.get(state.panelRoll);
  const text = $("note").value.trim();
  if (!row || !text) return;
  try {
    const review = await request("POST", sessionUrl(`/students/${enc(row.roll_no)}/review`), { note: text });
    $("note").value = "";
    renderReview(review);
  } catch (error) {
    notice(`${error.code}: ${error.message}`, false);
  }
}

// --- create a session ----------------------------------------------------------------------

async function openCreate() {
  const dialog = $("create-dialog");
  $("create-form").reset();
  $("create-message").hidden = true;
  setRosterMode("pick");
  dialog.showModal();
  if (state.enrolled === null) {
    $("pick-list").replaceChildren(el("li", { className: "muted" }, "Loading enrolled students…"));
    try {
      state.enrolled = (await request("GET", "/api/students")).students;
    } catch (error) {
      $("pick-list").replaceChildren(el("li", { className: "bad" }, error.message));
      return;
    }
  }
  const list = $("pick-list");
  list.replaceChildren(...state.enrolled.map((s) => el("li", { dataset: { rollNo: s.roll_no, search: `${s.roll_no} ${s.name}`.toLowerCase() } },
    el("label", {},
      el("input", { type: "checkbox", name: "roll_nos", value: s.roll_no, onchange: countPicked }),
      el("img", { src: s.photo_url, alt: "", loading: "lazy" }),
      el("span", { className: "name" }, s.name),
      el("span", { className: "roll" }, s.roll_no)))));
  if (!state.enrolled.length) list.append(el("li", { className: "muted" }, "No students are enrolled yet: enrol them on the Students page, or paste a CSV."));
  countPicked();
}

function countPicked() {
  const boxes = [...$("pick-list").querySelectorAll("input[type=checkbox]")];
  $("pick-count").textContent = `${boxes.filter((b) => b.checked).length} of ${boxes.length} chosen`;
}

function setRosterMode(mode) {
  for (const radio of document.querySelectorAll("input[name=roster_mode]")) radio.checked = radio.value === mode;
  $("pick-box").hidden = mode !== "pick";
  $("csv-box").hidden = mode !== "csv";
}

function isoOrNull(value) {
  return value ? new Date(value).toISOString() : null;
}

async function createSession(event) {
  event.preventDefault();
  const form = $("create-form");
  const message = $("create-message");
  const mode = form.querySelector("input[name=roster_mode]:checked").value;
  const body = {
    name: $("create-name").value.trim(),
    starts_at: isoOrNull($("create-start").value),
    ends_at: isoOrNull($("create-end").value),
  };
  if (mode === "pick") {
    body.roll_nos = [...$("pick-list").querySelectorAll("input:checked")].map((b) => b.value);
    if (!body.roll_nos.length) { show(message, "Choose at least one student.", false); return; }
  } else {
    body.roster = $("create-csv").value;
    if (!body.roster.trim()) { show(message, "Paste the roster first.", false); return; }
  }
  const button = $("create-submit");
  button.disabled = true;
  try {
    const created = await request("POST", "/api/sessions", body);
    $("create-dialog").close();
    await loadSessions(created.session_id);
    const open = el("button", { type: "button", className: "small", onclick: showLinks }, "Show join links");
    notice(`Created “${created.session.name}” with ${created.session.roster.length} students. Send each student their join link.`, true, open);
  } catch (error) {
    show(message, `${error.code}: ${error.message}`, false);
  } finally {
    button.disabled = false;
  }
}

// --- join links ----------------------------------------------------------------------------

async function showLinks() {
  if (!state.session) return;
  const dialog = $("links-dialog");
  const body = $("links-body");
  $("links-message").hidden = true;
  body.replaceChildren(el("tr", {}, el("td", { colSpan: 4, className: "muted" }, "Loading…")));
  $("links-csv").href = sessionUrl("/links.csv");
  $("links-csv").setAttribute("download", `links-${state.session.id}.csv`);
  if (!dialog.open) dialog.showModal();
  try {
    const { links } = await request("GET", sessionUrl("/links"));
    state.links = links;
    body.replaceChildren(...Object.entries(links).map(([roll, link]) => {
      const row = state.rows.get(roll);
      const field = el("input", { type: "text", value: link, readOnly: true, className: "mono link-field", "aria-label": `Join link of ${roll}` });
      field.addEventListener("focus", () => field.select());
      return el("tr", { dataset: { rollNo: roll } },
        el("td", {}, roll), el("td", {}, row ? row.name : ""), el("td", {}, field),
        el("td", {}, el("button", { type: "button", className: "small secondary", onclick: async () => {
          show($("links-message"), await copyText(link) ? `Copied the link of ${roll}.` : "Copy failed: select the link and copy it by hand.", true);
        } }, "Copy")));
    }));
  } catch (error) {
    show($("links-message"), `${error.code}: ${error.message}`, false);
  }
}

async function copyAllLinks() {
  const lines = ["roll_no,name,link", ...Object.entries(state.links || {}).map(([roll, link]) => {
    const name = (state.rows.get(roll) || {}).name || "";
    return [roll, `"${name.replaceAll('"', '""')}"`, link].join(",");
  })];
  const ok = await copyText(lines.join("\n"));
  show($("links-message"), ok ? `Copied ${lines.length - 1} links as CSV.` : "Copy failed: download the CSV instead.", ok);
}

// --- wiring --------------------------------------------------------------------------------

function wire() {
  $("session-picker").addEventListener("change", (e) => { if (e.target.value) selectSession(e.target.value); });
  $("toggle-open").addEventListener("click", toggleOpen);
  $("show-links").addEventListener("click", showLinks);
  $("copy-all").addEventListener("click", copyAllLinks);
  $("new-session").addEventListener("click", openCreate);
  $("create-form").addEventListener("submit", createSession);
  for (const radio of document.querySelectorAll("input[name=roster_mode]")) radio.addEventListener("change", () => setRosterMode(radio.value));
  $("pick-filter").addEventListener("input", () => {
    const needle = $("pick-filter").value.trim().toLowerCase();
    for (const li of $("pick-list").children) if (li.dataset.search) li.hidden = !li.dataset.search.includes(needle);
  });
  const pick = (checked) => () => {
    for (const li of $("pick-list").children) {
      const box = li.querySelector("input");
      if (box && !li.hidden) box.checked = checked;
    }
    countPicked();
  };
  $("pick-all").addEventListener("click", pick(true));
  $("pick-none").addEventListener("click", pick(false));
  for (const button of document.querySelectorAll("dialog [data-close]")) {
    button.addEventListener("click", () => button.closest("dialog").close());
  }
  $("sort").addEventListener("change", arrangeGrid);
  $("panel-close").addEventListener("click", () => closePanel());
  $("review-toggle").addEventListener("click", toggleReviewed);
  $("note-form").addEventListener("submit", saveNote);
  document.addEventListener("keydown", (e) => {
    if (e.key === "Escape" && state.panelRoll && !document.querySelector("dialog[open]")) closePanel();
  });
  $("notice-close").addEventListener("click", () => { $("notice-box").hidden = true; });
  $("session-report").addEventListener("click", (e) => { if (!state.session) e.preventDefault(); });
}

async function main() {
  wire();
  state.user = await mountHeader();
  try {
    await loadSessions();
  } catch (error) {
    notice(`${error.code}: ${error.message}`, false);
  }
}

main();
