import { request, show } from "/web/api.js";

const form = document.getElementById("enrol");
const message = document.getElementById("message");
const tbody = document.getElementById("students");

function cell(row, content) {
  const td = document.createElement("td");
  if (content instanceof Node) td.append(content); else td.textContent = content;
  row.append(td);
}

async function refresh() {
  const { students } = await request("GET", "/api/students");
  tbody.replaceChildren();
  for (const student of students) {
    const row = document.createElement("tr");
    row.dataset.rollNo = student.roll_no;
    const img = document.createElement("img");
    img.className = "thumb"; img.alt = ""; img.src = student.photo_url;
    cell(row, img);
    cell(row, student.roll_no);
    cell(row, student.name);
    cell(row, new Date(student.created_at).toLocaleString());
    const remove = document.createElement("button");
    remove.className = "danger"; remove.textContent = "Delete";
    remove.addEventListener("click", async () => {
      if (!confirm(`Delete ${student.roll_no} with their photo and face data?`)) return;
      await request("DELETE", `/api/students/${encodeURIComponent(student.roll_no)}`);
      refresh();
    });
    cell(row, remove);
    tbody.append(row);
  }
  if (!students.length) {
    const row = document.createElement("tr");
    cell(row, "No students yet.");
    tbody.append(row);
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

refresh();
