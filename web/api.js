// The documented HTTP API, for every page: JSON in and out, errors as {error: {code, message}}.
export class ApiError extends Error {
  constructor(code, message, status) { super(message); this.code = code; this.status = status; }
}

let csrf = null;
let who = null;

function toLogin() {
  location.href = `/login?next=${encodeURIComponent(location.pathname + location.search)}`;
}

// Who is logged in ({username, role, csrf}), or null; asked once per page.
export async function me() {
  if (who === null) {
    const response = await fetch("/api/me", { credentials: "same-origin" });
    who = response.ok ? await response.json() : false;
    csrf = who ? who.csrf : "";
  }
  return who || null;
}

// The CSRF token of the logged-in session, echoed on every state-changing request.
async function csrfToken() {
  if (csrf === null) await me();
  return csrf;
}

export async function request(method, url, body) {
  const headers = {};
  if (method !== "GET") headers["X-CSRF-Token"] = await csrfToken();
  if (body && !(body instanceof FormData) && typeof body !== "string") {
    body = JSON.stringify(body);
    headers["Content-Type"] = "application/json";
  }
  const response = await fetch(url, { method, body, headers, credentials: "same-origin" });
  if (response.status === 401) {
    toLogin();
    throw new ApiError("UNAUTHORIZED", "log in first", 401);
  }
  if (response.status === 204) return null;
  const data = await response.json().catch(() => ({}));
  if (!response.ok) {
    const error = data.error || { code: "HTTP_" + response.status, message: response.statusText };
    throw new ApiError(error.code, error.message, response.status);
  }
  return data;
}

export function show(element, text, ok) {
  element.textContent = text;
  element.className = "message " + (ok ? "ok" : "bad");
  element.hidden = false;
}

// A DOM element: el("a", {href: "/x", className: "button", dataset: {k: "v"}}, "text", child...).
// Properties are set as properties; names with a dash (aria-*, role ...) as attributes.
export function el(tag, props, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "dataset") Object.assign(node.dataset, value);
    else if (key === "style") node.style.cssText = value;
    else if (key.startsWith("on") && typeof value === "function") node.addEventListener(key.slice(2), value);
    else if (key.includes("-") || key === "role" || key === "for") node.setAttribute(key, value === true ? "" : value);
    else node[key] = value;
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : String(child));
  }
  return node;
}

// Local wall-clock time of an ISO timestamp: "14:03:07" (today) or "22 Nov, 14:03".
export function clock(iso) {
  if (!iso) return "";
  const date = new Date(iso);
  const today = new Date().toDateString() === date.toDateString();
  return today
    ? date.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit", hourCycle: "h23" })
    : date.toLocaleString([], { day: "numeric", month: "short", hour: "2-digit", minute: "2-digit", hourCycle: "h23" });
}

// The header of the staff pages: who is logged in, a log-out button, admin-only links.
export async function mountHeader() {
  const user = await me().catch(() => null);
  const slot = document.getElementById("user");
  if (!user) return null;
  for (const link of document.querySelectorAll("[data-admin-only]")) link.hidden = user.role !== "admin";
  const current = document.querySelector(`header nav a[href="${location.pathname}"]`);
  if (current) current.setAttribute("aria-current", "page");
  if (slot) {
    const out = el("button", { type: "button", className: "link" }, "Log out");
    out.addEventListener("click", async () => {
      await request("POST", "/api/logout").catch(() => null);
      location.href = "/login";
    });
    slot.replaceChildren(el("span", { className: "who" }, user.username, el("small", {}, user.role)), out);
  }
  return user;
}
