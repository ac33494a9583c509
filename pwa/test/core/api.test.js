// The shared API client: how answers become values or ApiErrors. The server is the edge
// of the world here, so a scripted fetch stands in for it (the browser tests run the real one).
import { describe, expect, it } from "vitest";
import { ApiError, createClient, errorFromResponse, networkError } from "../../core/api.js";

/** A fetch that answers from a script and remembers every request. */
function scriptedFetch(...answers) {
  const requests = [];
  const fetchImpl = async (url, init) => {
    requests.push({ url, ...init });
    const next = answers.shift();
    if (next instanceof Error) throw next;
    return new Response(next.body ?? null, { status: next.status ?? 200, headers: next.headers ?? {} });
  };
  return { fetchImpl, requests };
}

describe("error mapping", () => {
  it("takes code and message from the server's {code, message} body", () => {
    const e = errorFromResponse(409, JSON.stringify({ code: "invalid_state", message: "already dispatched" }));
    expect(e).toBeInstanceOf(ApiError);
    expect(e).toBeInstanceOf(Error);
    expect([e.status, e.code, e.message]).toEqual([409, "invalid_state", "already dispatched"]);
    expect(e.retryAfterS).toBeNull();
    expect(e.retryable).toBe(false);
  });

  it("names a body without a code http_<status> and keeps at most 200 characters of it", () => {
    const page = `<html>${"x".repeat(500)}</html>`;
    const e = errorFromResponse(502, page);
    expect(e.code).toBe("http_502");
    expect(e.message).toBe(page.slice(0, 200));
    expect(errorFromResponse(404, "").message).toBe("http_404");
    expect(errorFromResponse(500, JSON.stringify({ detail: "x" })).code).toBe("http_500");
  });

  it("reads Retry-After in seconds, ignoring what is not a positive number", () => {
    const body = JSON.stringify({ code: "unavailable", message: "busy" });
    expect(errorFromResponse(503, body, "30").retryAfterS).toBe(30);
    expect(errorFromResponse(429, body, "0").retryAfterS).toBeNull();
    expect(errorFromResponse(429, body, "Wed, 21 Oct 2026 07:28:00 GMT").retryAfterS).toBeNull();
    expect(errorFromResponse(503, body, null).retryAfterS).toBeNull();
  });

  it("calls no answer, a server fault and a rate limit retryable, and nothing else", () => {
    expect(networkError(new TypeError("Failed to fetch"))).toMatchObject({ status: 0, code: "network", message: "Failed to fetch" });
    for (const status of [0, 429, 500, 502, 503]) expect(new ApiError(status, "x").retryable, String(status)).toBe(true);
    for (const status of [400, 401, 403, 404, 409, 413, 422]) expect(new ApiError(status, "x").retryable, String(status)).toBe(false);
  });
});

describe("client", () => {
  it("sends JSON with the bearer token and returns the parsed answer", async () => {
    const { fetchImpl, requests } = scriptedFetch({ body: JSON.stringify({ ok: 1 }) }, { status: 204 });
    const api = createClient({ base: "http://server", getToken: () => "tok", fetchImpl });
    expect(await api.call("POST", "/api/x", { json: { a: 1 } })).toEqual({ ok: 1 });
    expect(await api.call("DELETE", "/api/y")).toBeNull();
    const [first] = requests;
    expect(first.url).toBe("http://server/api/x");
    expect(first.method).toBe("POST");
    expect(first.body).toBe('{"a":1}');
    expect(first.headers).toMatchObject({ Authorization: "Bearer tok", "Content-Type": "application/json" });
    expect(first.cache).toBe("no-store");
  });

  it("sends no token when signed out or when the call says auth: false", async () => {
    const { fetchImpl, requests } = scriptedFetch({ body: "{}" }, { body: "{}" });
    let token = null;
    const api = createClient({ getToken: () => token, fetchImpl });
    await api.call("GET", "/a");
    token = "tok";
    await api.call("POST", "/api/auth/login", { json: {}, auth: false });
    expect(requests.map((r) => r.headers.Authorization)).toEqual([undefined, undefined]);
  });

  it("throws the mapped ApiError, and tells onUnauthorized only of a 401 to a call made with a token", async () => {
    const unauthorized = JSON.stringify({ code: "unauthenticated", message: "token revoked" });
    const { fetchImpl } = scriptedFetch(
      { status: 401, body: unauthorized },
      { status: 401, body: JSON.stringify({ code: "invalid_credentials", message: "wrong" }) },
      { status: 503, body: JSON.stringify({ code: "unavailable", message: "busy" }), headers: { "Retry-After": "5" } },
    );
    const told = [];
    const api = createClient({ getToken: () => "tok", fetchImpl, onUnauthorized: (e) => told.push(e.code) });
    await expect(api.call("GET", "/api/board")).rejects.toMatchObject({ status: 401, code: "unauthenticated" });
    await expect(api.call("POST", "/api/auth/login", { auth: false })).rejects.toMatchObject({ code: "invalid_credentials" });
    await expect(api.call("GET", "/api/board")).rejects.toMatchObject({ status: 503, retryAfterS: 5, retryable: true });
    expect(told).toEqual(["unauthenticated"]);
  });

  it("turns a request that got no answer into a network error", async () => {
    const { fetchImpl } = scriptedFetch(new TypeError("Failed to fetch"));
    const error = await createClient({ fetchImpl }).call("GET", "/api/x").catch((e) => e);
    expect(error).toBeInstanceOf(ApiError);
    expect([error.status, error.code, error.retryable]).toEqual([0, "network", true]);
  });

  it("fetches a file as a Blob, accepting any type, with the same error mapping", async () => {
    const { fetchImpl, requests } = scriptedFetch(
      { body: "\ufeffstation,received\n", headers: { "Content-Type": "text/csv" } },
      { status: 403, body: JSON.stringify({ code: "forbidden", message: "no" }) },
    );
    const api = createClient({ getToken: () => "tok", fetchImpl });
    const blob = await api.blob("/api/reports/daily?format=csv");
    expect(await blob.text()).toContain("station,received");
    expect(requests[0].headers).toMatchObject({ Accept: "*/*", Authorization: "Bearer tok" });
    await expect(api.blob("/api/reports/daily?format=csv")).rejects.toMatchObject({ status: 403, code: "forbidden" });
  });
});

describe("logout (PROTOCOL §12)", () => {
  it("posts to /api/auth/logout with the token and reports it confirmed", async () => {
    const { fetchImpl, requests } = scriptedFetch({ body: JSON.stringify({ device_id: "d1" }) });
    const result = await createClient({ getToken: () => "tok", fetchImpl }).logout();
    expect(result).toEqual({ confirmed: true, status: 200, code: null });
    expect(requests).toHaveLength(1);
    expect([requests[0].url, requests[0].method, requests[0].headers.Authorization]).toEqual(["/api/auth/logout", "POST", "Bearer tok"]);
  });

  it("never throws: no answer is unconfirmed, a 401 is confirmed (already ended) and not told to onUnauthorized", async () => {
    const told = [];
    const expired = JSON.stringify({ code: "token_expired", message: "ended" });
    const { fetchImpl } = scriptedFetch(
      new TypeError("Failed to fetch"),
      { status: 401, body: expired },
      { status: 404, body: JSON.stringify({ code: "not_found", message: "no route" }) },
      { status: 503, body: JSON.stringify({ code: "unavailable", message: "busy" }) },
    );
    const api = createClient({ getToken: () => "tok", fetchImpl, onUnauthorized: (e) => told.push(e.code) });
    expect(await api.logout()).toEqual({ confirmed: false, status: 0, code: "network" });
    expect(await api.logout()).toEqual({ confirmed: true, status: 401, code: "token_expired" });
    expect(await api.logout()).toEqual({ confirmed: false, status: 404, code: "not_found" });
    expect(await api.logout()).toEqual({ confirmed: false, status: 503, code: "unavailable" });
    expect(told).toEqual([]);
  });

  it("gives up after its time limit (a dead link on a patchy network)", async () => {
    const fetchImpl = (_url, init) =>
      new Promise((_resolve, reject) => init.signal.addEventListener("abort", () => reject(new DOMException("aborted", "AbortError"))));
    const result = await createClient({ getToken: () => "tok", fetchImpl }).logout({ timeoutMs: 20 });
    expect(result).toMatchObject({ confirmed: false, status: 0, code: "network" });
  });

  it("sends nothing without a token", async () => {
    const { fetchImpl, requests } = scriptedFetch();
    expect((await createClient({ getToken: () => null, fetchImpl }).logout()).confirmed).toBe(true);
    expect(requests).toEqual([]);
  });
});
