// HTTP calls to the Qingling server. Every failure is an ApiError with a `code`:
// the server's error code, or "network" when no answer came back.

export class ApiError extends Error {
  constructor(status, code, message, retryAfterS = null) {
    super(message || code);
    this.status = status;
    this.code = code;
    this.retryAfterS = retryAfterS;
  }

  /** A failure a later retry can fix (no answer, a temporary fault, a rate limit). */
  get retryable() {
    return this.status === 0 || this.status === 503 || this.status === 429 || this.status >= 500;
  }
}

export function createApi({ base = "", getToken = () => null, fetchImpl = (...a) => fetch(...a) } = {}) {
  async function call(method, path, { json, body, headers = {} } = {}) {
    const h = { ...headers };
    const token = getToken();
    if (token) h.Authorization = `Bearer ${token}`;
    if (json !== undefined) {
      h["Content-Type"] = "application/json";
      body = JSON.stringify(json);
    }
    let response;
    try {
      response = await fetchImpl(base + path, { method, headers: h, body, cache: "no-store" });
    } catch (e) {
      throw new ApiError(0, "network", String(e?.message || e));
    }
    const text = await response.text();
    let data = null;
    try {
      data = text ? JSON.parse(text) : null;
    } catch {
      data = null;
    }
    if (!response.ok) {
      const retry = Number(response.headers.get("Retry-After"));
      throw new ApiError(
        response.status,
        data?.code || `http_${response.status}`,
        data?.message || text.slice(0, 200),
        Number.isFinite(retry) && retry > 0 ? retry : null,
      );
    }
    return data;
  }

  return {
    /** PROTOCOL §1: a token bound to this device. */
    login: (username, password, device) =>
      call("POST", "/api/auth/login", { json: { username, password, device } }),
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
