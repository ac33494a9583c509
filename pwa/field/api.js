// The field app's calls to the Qingling server, on the shared client (core/api.js): every
// failure is an ApiError with `status`, `code` ("network" when no answer came back) and
// `message`, and `retryAfterS` from a Retry-After header.
import { createClient } from "../core/index.js";

export function createApi({ base = "", getToken = () => null, onUnauthorized, fetchImpl } = {}) {
  const { call, logout } = createClient({ base, getToken, onUnauthorized, fetchImpl });
  return {
    /** PROTOCOL §1: a token bound to this device. */
    login: (username, password, device) =>
      call("POST", "/api/auth/login", { json: { username, password, device }, auth: false }),
    /** PROTOCOL §12: end the token on the server; never throws ({confirmed, status, code}). */
    logout,
    /** PROTOCOL §3. */
    push: (deviceId, ops, sentAt) =>
      call("POST", "/api/sync/push", { json: { device_id: deviceId, sent_at: sentAt, ops } }),
    /** PROTOCOL §4. */
    pull: (cursor, limit = 500) =>
      call("GET", `/api/sync/pull?cursor=${encodeURIComponent(cursor || "")}&limit=${limit}`),
    /** PROTOCOL §8: 201 new, 200 already held. */
    putBlob: (sha256, blob) =>
      call("PUT", `/api/blobs/${sha256}`, {
        body: blob,
        headers: { "Content-Type": "application/octet-stream" },
      }),
    incident: (id) => call("GET", `/api/incidents/${encodeURIComponent(id)}`),
  };
}
