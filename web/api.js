// The documented HTTP API, for every page: JSON in and out, errors as {error: {code, message}}.
export class ApiError extends Error {
  constructor(code, message, status) { super(message); this.code = code; this.status = status; }
}

let csrf = null;

// The CSRF token of the logged-in session, echoed on every state-changing request.
async function csrfToken() {
  if (csrf === null) {
    const response = await fetch("/api/me", { credentials: "same-origin" });
    csrf = response.ok ? (await response.json()).csrf : "";
  }
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
    location.href = `/login?next=${encodeURIComponent(location.pathname)}`;
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
