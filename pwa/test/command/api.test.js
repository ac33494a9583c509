// The command view's API module (command/api.js): the desk's session in localStorage,
// one device id across sign-ins, a 401 signing the desk out. fetch is scripted: the
// server is the edge of the world here.
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";

/** localStorage as a Map. */
function memoryStorage(initial = {}) {
  const map = new Map(Object.entries(initial));
  return {
    getItem: (k) => (map.has(k) ? map.get(k) : null),
    setItem: (k, v) => map.set(k, String(v)),
    removeItem: (k) => map.delete(k),
    map,
  };
}

let requests;
let answers;
let storage;

/** A fresh command/api.js over `initial` storage (the module reads the session on load). */
async function load(initial = {}) {
  storage = memoryStorage(initial);
  vi.stubGlobal("localStorage", storage);
  vi.resetModules();
  return import("../../command/api.js");
}

beforeEach(() => {
  requests = [];
  answers = [];
  vi.stubGlobal("fetch", async (url, init) => {
    requests.push({ url, ...init });
    const { status = 200, body = {} } = answers.shift() ?? {};
    return new Response(JSON.stringify(body), { status });
  });
});

afterEach(() => {
  vi.unstubAllGlobals();
});

const person = { id: "p1", name: "接警员", role: "dispatcher", station_id: null };

describe("signing in", () => {
  it("enrols a device once and names it again at every later sign-in", async () => {
    const api = await load();
    answers.push({ body: { token: "t1", device_id: "dev-1", person } }, { body: { token: "t2", device_id: "dev-1", person } });
    await api.login("dispatcher", "pw");
    await api.login("dispatcher", "pw");
    expect(JSON.parse(requests[0].body).device).toEqual({ label: "指挥中心 command view" });
    expect(JSON.parse(requests[1].body).device).toEqual({ label: "指挥中心 command view", id: "dev-1" });
    expect(requests.map((r) => r.headers.Authorization)).toEqual([undefined, undefined]);
    expect(JSON.parse(storage.getItem("qingling.command.device"))).toEqual({ dispatcher: "dev-1" });
  });

  it("keeps one device per person at a shared desk, and enrols anew when the server refuses an id", async () => {
    const api = await load({ "qingling.command.device": "dev-old" }); // an older version's single id
    answers.push(
      { status: 409, body: { code: "device_in_use", message: "enrolled by another person" } },
      { body: { token: "t1", device_id: "dev-sup", person } },
      { body: { token: "t2", device_id: "dev-disp", person } },
      { body: { token: "t3", device_id: "dev-sup", person } },
    );
    await api.login("supervisor", "pw");
    await api.login("dispatcher", "pw");
    await api.login("supervisor", "pw");
    const sent = requests.map((r) => JSON.parse(r.body).device.id ?? null);
    expect(sent).toEqual(["dev-old", null, null, "dev-sup"]);
    expect(JSON.parse(storage.getItem("qingling.command.device"))).toEqual({ supervisor: "dev-sup", dispatcher: "dev-disp" });
  });

  it("keeps a session only when told, and it outlives a reload", async () => {
    let api = await load();
    answers.push({ body: { token: "t1", device_id: "dev-1", person } });
    const body = await api.login("dispatcher", "pw");
    expect(api.currentSession()).toBeNull();
    api.keepSession(body);
    api = await load(Object.fromEntries(storage.map));
    expect(api.currentSession()).toMatchObject({ token: "t1", person });
  });

  it("a wrong password is an ApiError and signs nobody out", async () => {
    const api = await load({ "qingling.command.session": JSON.stringify({ token: "t0", person }) });
    const signedOut = vi.fn();
    api.whenSignedOut(signedOut);
    answers.push({ status: 401, body: { code: "invalid_credentials", message: "wrong username or password" } });
    await expect(api.login("dispatcher", "nope")).rejects.toMatchObject({ status: 401, code: "invalid_credentials" });
    expect(signedOut).not.toHaveBeenCalled();
    expect(api.currentSession()).not.toBeNull();
  });
});

describe("calls", () => {
  it("carry the token, send JSON, and map errors to the server's code", async () => {
    const api = await load({ "qingling.command.session": JSON.stringify({ token: "t1", person }) });
    answers.push({ body: { incidents: [] } }, { status: 409, body: { code: "invalid_state", message: "already dispatched" } });
    expect(await api.get("/api/board")).toEqual({ incidents: [] });
    await expect(api.post("/api/incidents/i1/dispatch", { station_id: "s1" })).rejects.toMatchObject({
      status: 409, code: "invalid_state", message: "already dispatched",
    });
    expect(requests[0].headers.Authorization).toBe("Bearer t1");
    expect(requests[1].method).toBe("POST");
    expect(JSON.parse(requests[1].body)).toEqual({ station_id: "s1" });
  });

  it("post sends an empty object when given no body", async () => {
    const api = await load({ "qingling.command.session": JSON.stringify({ token: "t1", person }) });
    await api.post("/api/bodycam/op-1/review");
    expect(requests[0].body).toBe("{}");
  });

  it("a 401 to a signed-in call forgets the session and says so", async () => {
    const api = await load({ "qingling.command.session": JSON.stringify({ token: "t1", person }) });
    const signedOut = vi.fn();
    api.whenSignedOut(signedOut);
    answers.push({ status: 401, body: { code: "unauthenticated", message: "token revoked" } });
    await expect(api.get("/api/board")).rejects.toMatchObject({ code: "unauthenticated" });
    expect(signedOut).toHaveBeenCalledOnce();
    expect(api.currentSession()).toBeNull();
    expect(storage.getItem("qingling.command.session")).toBeNull();
  });
});

describe("signing out (PROTOCOL §12)", () => {
  it("ends the token on the server, then forgets the session", async () => {
    const api = await load({ "qingling.command.session": JSON.stringify({ token: "t1", person }) });
    answers.push({ body: { device_id: "dev-1" } });
    expect(await api.signOut()).toMatchObject({ confirmed: true, status: 200 });
    expect(requests.map((r) => [r.url, r.method, r.headers.Authorization])).toEqual([["/api/auth/logout", "POST", "Bearer t1"]]);
    expect(api.currentSession()).toBeNull();
    expect(storage.getItem("qingling.command.session")).toBeNull();
  });

  it("offline, forgets the session all the same and says the server was not told", async () => {
    const api = await load({ "qingling.command.session": JSON.stringify({ token: "t1", person }) });
    const signedOut = vi.fn();
    api.whenSignedOut(signedOut);
    vi.stubGlobal("fetch", async () => {
      throw new TypeError("Failed to fetch");
    });
    expect(await api.signOut()).toMatchObject({ confirmed: false, status: 0 });
    expect(api.currentSession()).toBeNull();
    expect(signedOut).not.toHaveBeenCalled();
  });

  it("a 401 token_expired says expired; any other 401 says ended", async () => {
    const api = await load({ "qingling.command.session": JSON.stringify({ token: "t1", person }) });
    const why = [];
    api.whenSignedOut((w) => why.push(w));
    answers.push({ status: 401, body: { code: "token_expired", message: "idle too long" } });
    await expect(api.get("/api/board")).rejects.toMatchObject({ code: "token_expired" });
    api.keepSession({ token: "t2", person });
    answers.push({ status: 401, body: { code: "unauthenticated", message: "revoked" } });
    await expect(api.get("/api/board")).rejects.toMatchObject({ code: "unauthenticated" });
    expect(why).toEqual(["expired", "ended"]);
  });

  it("ends a token it was given but does not keep (a field role at the desk)", async () => {
    const api = await load();
    answers.push({ body: {} });
    await api.endToken("field-token");
    expect(requests.map((r) => [r.url, r.method, r.headers.Authorization])).toEqual([["/api/auth/logout", "POST", "Bearer field-token"]]);
  });
});
