// The HTTP client both front ends use. Every failure is an ApiError with the HTTP `status`
// (0 when no answer came back), the server's `code` (docs/errors.md; "network" with no
// answer, "http_<status>" when the body named none) and a `message` for people.
import { ERROR } from "./protocol.js";

export class ApiError extends Error {
  /**
   * @param {number} status HTTP status, 0 for no answer
   * @param {string} code the server's error code, "network" or "http_<status>"
   * @param {string} [message] for people; defaults to the code
   * @param {number|null} [retryAfterS] seconds from a Retry-After header
   */
  constructor(status, code, message, retryAfterS = null) {
    super(message || code);
    this.name = "ApiError";
    this.status = status;
    this.code = code;
    this.retryAfterS = retryAfterS;
  }

  /** A failure a later retry can fix (no answer, a server fault, a rate limit). */
  get retryable() {
    return this.status === 0 || this.status === 429 || this.status >= 500;
  }
}

/** A body as JSON, or null when it is empty or not JSON (a proxy's HTML error page). */
export function parseJson(text) {
  if (!text) return null;
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

/**
 * The ApiError for a non-2xx answer: the `{code, message}` body when there is one,
 * else `http_<status>` and the first 200 characters of the text.
 */
export function errorFromResponse(status, text, retryAfter = null) {
  const data = parseJson(text);
  const seconds = Number(retryAfter);
  return new ApiError(
    status,
    (typeof data?.code === "string" && data.code) || `http_${status}`,
    (typeof data?.message === "string" && data.message) || (text || "").slice(0, 200),
    retryAfter != null && Number.isFinite(seconds) && seconds > 0 ? seconds : null,
  );
}

/** The ApiError for a request that got no answer at all. */
export function networkError(cause) {
  return new ApiError(0, ERROR.NETWORK, String(cause?.message || cause));
}

/**
 * A client for the Qingling API.
 * @param {object} [opts]
 * @param {string} [opts.base] prefix of every path ("" for the page's own origin)
 * @param {() => (string|null|undefined)} [opts.getToken] the bearer token, if signed in
 * @param {(error: ApiError) => void} [opts.onUnauthorized] a 401 answered a call made with a token
 * @param {typeof fetch} [opts.fetchImpl]
 */
export function createClient({
  base = "",
  getToken = () => null,
  onUnauthorized = () => {},
  fetchImpl = (...args) => fetch(...args),
} = {}) {
  async function send(method, path, { json, body, headers = {}, auth = true, quiet = false, signal } = {}) {
    const h = { Accept: "application/json", ...headers };
    const token = auth ? getToken() : null;
    if (token) h.Authorization = `Bearer ${token}`;
    if (json !== undefined) {
      h["Content-Type"] = "application/json";
      body = JSON.stringify(json);
    }
    let response;
    try {
      // API answers are never taken from the HTTP cache.
      response = await fetchImpl(base + path, { method, headers: h, body, cache: "no-store", signal });
    } catch (e) {
      throw networkError(e);
    }
    if (!response.ok) {
      const error = errorFromResponse(response.status, await response.text(), response.headers.get("Retry-After"));
      if (response.status === 401 && token && !quiet) onUnauthorized(error);
      throw error;
    }
    return response;
  }

  return {
    /** One JSON call; resolves to the parsed body (null when empty). */
    async call(method, path, opts) {
      const response = await send(method, path, opts);
      return parseJson(await response.text());
    },
    /**
     * PROTOCOL §12: end this token on the server (sign-out). Best effort, never throws,
     * gives up after `timeoutMs`; the caller forgets the session locally whatever the
     * answer. Resolves `{confirmed, status, code}`: `confirmed` when the server answered
     * 2xx, or 401 (the token had already ended). No answer (`status` 0: offline, timed
     * out) or any other status leaves the token valid until it expires or the device is
     * revoked. A 404/405 is an older server without the call. A 401 here is not reported
     * to `onUnauthorized`: the session is being ended anyway.
     */
    async logout({ timeoutMs = 5000 } = {}) {
      if (!getToken()) return { confirmed: true, status: 0, code: null };
      const controller = typeof AbortController === "function" ? new AbortController() : null;
      const timer = controller ? setTimeout(() => controller.abort(), timeoutMs) : null;
      try {
        const response = await send("POST", "/api/auth/logout", { quiet: true, signal: controller?.signal });
        return { confirmed: true, status: response.status, code: null };
      } catch (error) {
        const status = error instanceof ApiError ? error.status : 0;
        const code = error instanceof ApiError ? error.code : ERROR.NETWORK;
        return { confirmed: status === 401, status, code };
      } finally {
        if (timer) clearTimeout(timer);
      }
    },
    /** A file (a report's CSV): resolves to a Blob. */
    async blob(path, { headers = {}, ...opts } = {}) {
      const response = await send("GET", path, { ...opts, headers: { Accept: "*/*", ...headers } });
      return response.blob();
    },
  };
}
