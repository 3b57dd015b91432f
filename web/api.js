// The documented HTTP API, for every page: JSON in and out, errors as {error: {code, message}}.
export class ApiError extends Error {
  constructor(code, message, status) { super(message); this.code = code; this.status = status; }
}

export async function request(method, url, body) {
  const response = await fetch(url, { method, body, credentials: "same-origin" });
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
