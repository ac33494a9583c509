// The server's HTTP API, as this view uses it: sign-in, JSON calls with the bearer
// token, and file downloads that need the Authorization header (so a plain link will
// not do: the file is fetched and handed to the browser through a Blob URL).

const SESSION_KEY = "qingling.command.session";
const DEVICE_KEY = "qingling.command.device";

/** An API error: the server's `{code, message}` and the HTTP status. */
export class ApiError extends Error {
  constructor(status, code, message) {
    super(message || code || `HTTP ${status}`);
    this.status = status;
    this.code = code;
  }
}

let session = loadSession();
let onSignedOut = () => {};

function loadSession() {
  try {
    return JSON.parse(localStorage.getItem(SESSION_KEY) || "null");
  } catch {
    return null;
  }
}

/** The signed-in session `{token, device_id, person, server_time}` or null. */
export function currentSession() {
  return session;
}

/** Called when the server no longer accepts the token (401). */
export function whenSignedOut(callback) {
  onSignedOut = callback;
}

export function signOut() {
  session = null;
  localStorage.removeItem(SESSION_KEY);
}

/** PROTOCOL §1. The desk keeps its device id, so each sign-in reuses one device. */
export async function login(username, password) {
  const device = { label: "指挥中心 command view" };
  const known = localStorage.getItem(DEVICE_KEY);
  if (known) device.id = known;
  const body = await call("POST", "/api/auth/login", { username, password, device }, { auth: false });
  localStorage.setItem(DEVICE_KEY, body.device_id);
  return body;
}

/** Keep the session (only for command-center roles; the caller decides). */
export function keepSession(body) {
  session = body;
  localStorage.setItem(SESSION_KEY, JSON.stringify(body));
}

/** One JSON call. Throws ApiError with the server's code for any non-2xx answer. */
export async function call(method, path, body, { auth = true } = {}) {
  const headers = { Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (auth && session) headers.Authorization = `Bearer ${session.token}`;
  let response;
  try {
    response = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (err) {
    throw new ApiError(0, "network", String(err));
  }
  const text = await response.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = null;
  }
  if (!response.ok) {
    if (response.status === 401 && auth) {
      signOut();
      onSignedOut();
    }
    throw new ApiError(response.status, data?.code, data?.message || text);
  }
  return data;
}

export const get = (path) => call("GET", path);
export const post = (path, body) => call("POST", path, body ?? {});

/** Fetch a file with the token and save it under `filename` (e.g. a report's CSV). */
export async function download(path, filename) {
  const response = await fetch(path, { headers: { Authorization: `Bearer ${session?.token}` } });
  if (!response.ok) {
    let data = null;
    try {
      data = await response.json();
    } catch {
      data = null;
    }
    throw new ApiError(response.status, data?.code, data?.message);
  }
  const blob = await response.blob();
  const url = URL.createObjectURL(blob);
  const a = document.createElement("a");
  a.href = url;
  a.download = filename;
  document.body.append(a);
  a.click();
  a.remove();
  // Give the browser time to start the download before the URL goes.
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}
