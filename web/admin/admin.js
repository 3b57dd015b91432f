// Administration: enrol, edit, delete and import students; sessions' reports; the ledger.
import { clock, el, mountHeader, request, show } from "/web/api.js";

const $ = (id) => document.getElementById(id);
const enc = encodeURIComponent;
const form = $("enrol");
const message = $("message");
const tbody = $("students");
let students = [];
let editing = null;

function cell(row, ...content) {
  row.append(el("td", {}, ...content));
}

function rowFor(student) {
  const row = el("tr", { dataset: { rollNo: student.roll_no, search: `${student.roll_no} ${student.name}`.toLowerCase() } });
  // Cache-busting: a new photo keeps the same URL.
  const stamp = enc(student.updated_at || student.created_at);
  cell(row, el("img", { className: "thumb", alt: "", src: `${student.photo_url}?v=${stamp}`, loading: "lazy" }));
  cell(row, el("span", { className: "mono" }, student.roll_no));
  cell(row, student.name);
  cell(row, clock(student.created_at));
  // Edit is a link to this page's editor (?edit=ROLL), so each row has one button: Delete.
  const edit = el("a", {
    href: `/admin?edit=${enc(student.roll_no)}`, className: "button small secondary", "aria-label": `Edit ${student.name}`,
    onclick: (event) => { event.preventDefault(); openEdit(student); },
  }, "Edit");
  const remove = el("button", { type: "button", className: "danger small", "aria-label": `Delete ${student.name}` }, "Delete");
  remove.addEventListener("click", async () => {
    if (!confirm(`Delete ${student.roll_no} with their photo and face data?`)) return;
    try {
      await request("DELETE", `/api/students/${enc(student.roll_no)}`);
      show(message, `Deleted ${student.roll_no}.`, true);
    } catch (error) {
      show(message, `${error.code}: ${error.message}`, false);
    }
    refresh();
  });
  cell(row, el("span", { className: "actions row-actions" }, edit, remove));
  return row;
}

function applyFilter() {
  const needle = $("filter").value.trim().toLowerCase();
  for (const row of tbody.children) if (row.dataset.search) row.hidden = !row.dataset.search.includes(needle);
}

async function refresh() {
  ({ students } = await request("GET", "/api/students"));
  tbody.replaceChildren(...students.map(rowFor));
  if (!students.length) tbody.append(el("tr", {}, el("td", { colSpan: 5, className: "muted" }, "No students yet.")));
  applyFilter();
  const wanted = new URLSearchParams(location.search).get("edit");
  if (wanted && !editing) {
    const student = students.find((s) => s.roll_no === wanted);
    if (student) openEdit(student);
  }
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  const button = form.querySelector("button");
  button.disabled = true;
  try {
    const student = await request("POST", "/api/students", new FormData(form));
    show(message, `Enrolled ${student.roll_no} (${student.name}).`, true);
    form.reset();
    refresh();
  } catch (error) {
    show(message, `${error.code}: ${error.message}`, false);
  } finally {
    button.disabled = false;
  }
});

// --- edit --------------------------------------------------------------------------------

function openEdit(student) {
  editing = student;
  $("edit-form").reset();
  $("edit-title").textContent = `Edit ${student.name} (${student.roll_no})`;
  $("edit-name").value = student.name;
  $("edit-current").src = `${student.photo_url}?v=${enc(student.updated_at || student.created_at)}`;
  $("edit-message").hidden = true;
  const url = new URL(location.href);
  url.searchParams.set("edit", student.roll_no);
  history.replaceState(null, "", url);
  $("edit-dialog").showModal();
}

$("edit-dialog").addEventListener("close", () => {
  editing = null;
  const url = new URL(location.href);
  url.searchParams.delete("edit");
  history.replaceState(null, "", url);
});

$("edit-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  if (!editing) return;
  const body = new FormData();
  const name = $("edit-name").value.trim();
  const photo = $("edit-photo").files[0];
  if (name !== editing.name) body.append("name", name);
  if (photo) body.append("photo", photo);
  if (![...body.keys()].length) { $("edit-dialog").close(); return; }
  const button = $("edit-save");
  button.disabled = true;
  try {
    const student = await request("PATCH", `/api/students/${enc(editing.roll_no)}`, body);
    $("edit-dialog").close();
    show(message, `Saved ${student.roll_no} (${student.name})${photo ? " with the new photo" : ""}.`, true);
    refresh();
  } catch (error) {
    show($("edit-message"), `${error.code}: ${error.message}`, false);
  } finally {
    button.disabled = false;
  }
});

for (const button of document.querySelectorAll("dialog [data-close]")) {
  button.addEventListener("click", () => button.closest("dialog").close());
}

// --- roster import -----------------------------------------------------------------------

$("import").addEventListener("submit", async (event) => {
  event.preventDefault();
  const importForm = event.target;
  const button = importForm.querySelector("button[type=submit]");
  const note = $("import-message");
  const table = $("import-results");
  button.disabled = true;
  show(note, "Importing: every photo is checked for one sharp face…", true);
  try {
    const result = await request("POST", "/api/students/import", new FormData(importForm));
    show(note, `Enrolled ${result.enrolled}, failed ${result.failed}.`, result.failed === 0);
    table.tBodies[0].replaceChildren(...result.results.map((r) => el("tr", { className: r.ok ? "" : "failed-row", dataset: { line: String(r.line), result: r.ok ? "ok" : r.code } },
      el("td", {}, String(r.line)),
      el("td", { className: "mono" }, r.roll_no),
      el("td", {}, r.name),
      el("td", {}, r.ok ? el("span", { className: "badge ok" }, "enrolled") : [el("span", { className: "badge bad" }, r.code), " ", el("span", { className: "muted" }, r.message)]))));
    table.hidden = false;
    if (result.enrolled) { importForm.reset(); refresh(); }
  } catch (error) {
    show(note, `${error.code}: ${error.message}`, false);
  } finally {
    button.disabled = false;
  }
});

// --- sessions and reports ----------------------------------------------------------------

async function loadSessions() {
  const body = $("sessions");
  try {
    const { sessions } = await request("GET", "/api/sessions");
    sessions.sort((a, b) => b.created_at.localeCompare(a.created_at));
    body.replaceChildren(...sessions.map((s) => el("tr", { dataset: { sessionId: s.id } },
      el("td", {}, el("a", { href: `/dashboard?session=${enc(s.id)}` }, s.name), el("div", { className: "muted small-print" }, clock(s.created_at))),
      el("td", {}, el("span", { className: `badge ${s.status === "open" ? "ok" : ""}` }, s.status)),
      el("td", {}, String(s.roster.length)),
      el("td", {}, el("span", { className: "links" },
        el("a", { href: `/api/sessions/${enc(s.id)}/report.pdf`, target: "_blank", rel: "noopener" }, "Report PDF"),
        el("a", { href: `/api/sessions/${enc(s.id)}/links.csv`, download: `links-${s.id}.csv` }, "Join links CSV"))))));
    if (!sessions.length) body.append(el("tr", {}, el("td", { colSpan: 4, className: "muted" }, "No sessions yet: create one on the dashboard.")));
  } catch (error) {
    body.replaceChildren(el("tr", {}, el("td", { colSpan: 4, className: "bad" }, error.message)));
  }
}

// --- the ledger --------------------------------------------------------------------------

function exportUrl(format, from, to) {
  const query = new URLSearchParams({ format });
  if (from) query.set("from", from);
  if (to) query.set("to", to);
  return `/api/attendance?${query}`;
}

function updateExportLinks() {
  const from = $("export-from").value, to = $("export-to").value;
  $("export-csv").href = exportUrl("csv", from, to);
  $("export-pdf").href = exportUrl("pdf", from, to);
}

async function loadLedger() {
  const status = $("ledger-state");
  const body = $("ledger-days");
  try {
    const ledger = await request("GET", "/api/ledger");
    status.replaceChildren(
      el("span", { className: `badge ${ledger.ok ? "ok" : "bad"}` }, ledger.ok ? "✓ hash chain verifies" : "✕ hash chain broken"),
      el("span", { className: "muted" }, `${ledger.days.length} day${ledger.days.length === 1 ? "" : "s"}`));
    status.dataset.ok = String(ledger.ok);
    $("ledger-verify").textContent = ledger.verify;
    const days = [...ledger.days].reverse();
    body.replaceChildren(...days.map((day) => el("tr", { dataset: { day } },
      el("td", {}, new Date(`${day}T12:00:00`).toLocaleDateString([], { weekday: "short", day: "numeric", month: "short", year: "numeric" }), " ", el("span", { className: "muted mono" }, day)),
      el("td", {}, el("span", { className: "links" },
        el("a", { href: exportUrl("csv", day, day), download: `attendance-${day}.csv` }, "CSV"),
        el("a", { href: exportUrl("pdf", day, day), download: `attendance-${day}.pdf` }, "PDF"))))));
    if (!days.length) body.append(el("tr", {}, el("td", { colSpan: 2, className: "muted" }, "No attendance recorded yet.")));
  } catch (error) {
    status.replaceChildren(el("span", { className: "bad" }, `${error.code}: ${error.message}`));
  }
}

$("filter").addEventListener("input", applyFilter);
$("export-from").addEventListener("input", updateExportLinks);
$("export-to").addEventListener("input", updateExportLinks);

mountHeader();
refresh();
loadSessions();
loadLedger();
