// The server's HTTP API as this view uses it, on the shared client (core/api.js): sign-in,
// the desk's session, JSON calls with the bearer token, sign-out that ends the token on the
// server (PROTOCOL §12), and file downloads that need the Authorization header (a plain
// link will not do: the file is fetched and handed to the browser through a Blob URL).
import { createClient, ERROR } from "../core/index.js";

const SESSION_KEY = "qingling.command.session";
const DEVICE_KEY = "qingling.command.device";
// localStorage, when there is one (the unit tests give their own).
const storage = () => globalThis.localStorage;

let session = loadSession();
let onSignedOut = () => {};

function loadSession() {
  try {
    return JSON.parse(storage()?.getItem(SESSION_KEY) || "null");
  } catch {
    return null;
  }
}

const client = createClient({
  getToken: () => session?.token,
  // The server no longer accepts the token: forget it, and let the view sign in again,
  // saying whether it expired (`token_expired`) or ended otherwise.
  onUnauthorized: (error) => {
    forgetSession();
    onSignedOut(error.code === ERROR.TOKEN_EXPIRED ? "expired" : "ended");
  },
});

/** The signed-in session `{token, device_id, person, server_time}` or null. */
export function currentSession() {
  return session;
}

/** Called with "expired" or "ended" when the server no longer accepts the token (401). */
export function whenSignedOut(callback) {
  onSignedOut = callback;
}

/** Forget the session on this desk only (the server already ended it). */
export function forgetSession() {
  session = null;
  storage()?.removeItem(SESSION_KEY);
}

/**
 * Sign out: `POST /api/auth/logout` with the token (best effort, at most 5 s), then forget
 * the session here whatever the answer. Resolves the client's `{confirmed, status, code}`:
 * not confirmed with no answer (status 0) or a server fault, when the token stays valid
 * until it expires or the device is revoked.
 */
export async function signOut() {
  const answer = await client.logout();
  forgetSession();
  return answer;
}

/** End a token this desk received but does not keep (a field role's sign-in). */
export function endToken(token) {
  return createClient({ getToken: () => token }).logout();
}

/** The desk's device id for each user name (an older version kept one id for everyone). */
function knownDevices() {
  const raw = storage()?.getItem(DEVICE_KEY);
  if (!raw) return {};
  try {
    const parsed = JSON.parse(raw);
    if (parsed && typeof parsed === "object") return parsed;
  } catch {
    /* a bare id, below */
  }
  return { "": raw };
}

/**
 * PROTOCOL §1. The desk keeps a device id per user name, so each person's sign-ins reuse
 * one device: a device belongs to the person who enrolled it, and a desk is shared (a
 * dispatcher, a supervisor, a field officer who tried the wrong page). A device id the
 * server refuses (`device_in_use`, `device_revoked`) is dropped and a new one enrolled.
 */
export async function login(username, password) {
  const devices = knownDevices();
  const known = devices[username] ?? devices[""];
  const attempt = (id) => {
    const device = { label: "指挥中心 command view" };
    if (id) device.id = id;
    return client.call("POST", "/api/auth/login", { json: { username, password, device }, auth: false });
  };
  let body;
  try {
    body = await attempt(known);
  } catch (error) {
    if (!known || (error.code !== ERROR.DEVICE_IN_USE && error.code !== ERROR.DEVICE_REVOKED)) throw error;
    body = await attempt(null);
  }
  const { "": _legacy, ...kept } = devices;
  storage()?.setItem(DEVICE_KEY, JSON.stringify({ ...kept, [username]: body.device_id }));
  return body;
}

/** Keep the session (only for command-center roles; the caller decides). */
export function keepSession(body) {
  session = body;
  storage()?.setItem(SESSION_KEY, JSON.stringify(body));
}

/** One JSON call. Throws ApiError with the server's code for any non-2xx answer. */
export function call(method, path, body) {
  return client.call(method, path, body === undefined ? {} : { json: body });
}

export const get = (path) => call("GET", path);
export const post = (path, body) => call("POST", path, body ?? {});

/** Fetch a file with the token as a Blob (a station's rating poster, a report's CSV). */
export function fetchBlob(path, accept = "*/*") {
  return client.blob(path, { headers: { Accept: accept } });
}

/** Fetch a file with the token and save it under `filename` (e.g. a report's CSV). */
export async function download(path, filename) {
  const blob = await client.blob(path);
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
