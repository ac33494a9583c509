// The device's session over a real IndexedDB implementation (fake-indexeddb), Node's
// WebCrypto and a scripted server at the edge (a fetch that answers like PROTOCOL §1, §3
// and §12): sign-out ends the token on the server, a lost session keeps the outbox, the
// PIN's attempt limit wants a full sign-in and the outbox survives it, sealed.
import "fake-indexeddb/auto";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { getMeta, openAppDb } from "../../field/db.js";
import { openDevice } from "../../field/device.js";
import { PIN_ATTEMPTS } from "../../field/pin.js";
import { createVault, isSealed } from "../../field/vault.js";
import { dumpDatabase } from "./idb-dump.js";

const FAST = { iterations: 1000 };

/** A server at the edge: remembers every request; `online` false makes fetch fail. */
function scriptedServer() {
  const server = {
    online: true,
    requests: [],
    pushed: [],
    tokens: 0,
    expireNextPush: false,
    async fetch(url, init) {
      if (!server.online) throw new TypeError("Failed to fetch");
      const path = url.split("?")[0];
      const auth = init.headers.Authorization || null;
      server.requests.push({ method: init.method, path, auth });
      const json = (status, body) => new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json" } });
      if (path === "/api/auth/login") {
        const { username } = JSON.parse(init.body);
        server.tokens += 1;
        return json(200, {
          token: `tok-${server.tokens}-secret`,
          device_id: "dev-1",
          person: { id: `p-${username}`, name: username, role: "officer", station_id: "s1" },
          server_time: new Date().toISOString(),
        });
      }
      if (path === "/api/auth/logout") return json(200, { device_id: "dev-1" });
      if (path === "/api/sync/push") {
        if (server.expireNextPush) {
          server.expireNextPush = false;
          return json(401, { code: "token_expired", message: "session expired" });
        }
        const { ops } = JSON.parse(init.body);
        server.pushed.push(...ops.map((o) => o.body.text));
        return json(200, {
          server_time: new Date().toISOString(),
          acked_seq: 0,
          cursor: "c1",
          results: ops.map((o) => ({ op_id: o.op_id, status: "applied" })),
        });
      }
      if (path === "/api/sync/pull") return json(200, { changes: [], cursor: "c1", more: false });
      return json(404, { code: "not_found", message: "no such route" });
    },
  };
  return server;
}

let db;
let name;
let n = 0;
let server;
let device;
beforeEach(async () => {
  vi.stubGlobal("location", { protocol: "http:", host: "phone.test", hash: "" });
  vi.stubGlobal("navigator", { onLine: true });
  vi.stubGlobal("WebSocket", undefined);
  name = `device-test-${++n}`;
  db = await openAppDb(name);
  server = scriptedServer();
  device = await open();
});

afterEach(() => {
  device?.sync?.stop();
  vi.unstubAllGlobals();
});

function open() {
  return openDevice(db, { vault: createVault(FAST), fetchImpl: server.fetch });
}

const pending = async () => (await db.getAll("outbox")).filter((e) => e.state === "pending");

describe("signing out", () => {
  it("ends the token on the server, then forgets the person here", async () => {
    await device.signIn("officer.zhang", "pw", "phone");
    await device.sync.flush();
    const result = await device.signOut();
    expect(result).toMatchObject({ confirmed: true, status: 200 });
    const logout = server.requests.filter((r) => r.path === "/api/auth/logout");
    expect(logout).toEqual([{ method: "POST", path: "/api/auth/logout", auth: "Bearer tok-1-secret" }]);
    expect(device.phase).toBe("signin");
    expect(device.signOutNote).toBeNull();
    expect(await getMeta(db, "session")).toBeNull();
    expect(await dumpDatabase(name)).not.toContain("tok-1-secret");
  });

  it("offline, still signs out here and notes that the server was not told", async () => {
    await device.signIn("officer.zhang", "pw", "phone");
    await device.sync.flush();
    server.online = false;
    const result = await device.signOut();
    expect(result).toMatchObject({ confirmed: false, status: 0, code: "network" });
    expect(device.phase).toBe("signin");
    expect(device.signOutNote).toMatchObject({ status: 0 });
    expect(await getMeta(db, "session")).toBeNull();
  });

  it("takes a 401 (already ended) as done, and an older server's 404 without a warning", async () => {
    for (const status of [401, 404]) {
      const old = server.fetch;
      server.fetch = async (url, init) =>
        url === "/api/auth/logout" ? new Response(JSON.stringify({ code: "x", message: "x" }), { status }) : old(url, init);
      device = await open();
      await device.signIn("officer.zhang", "pw", "phone");
      await device.sync.flush();
      await device.signOut();
      expect(device.phase).toBe("signin");
      expect(device.signOutNote).toBeNull();
      server.fetch = old;
    }
  });

  it("is refused while ops wait to be sent", async () => {
    await device.signIn("officer.zhang", "pw", "phone");
    server.online = false;
    await device.act("note", { text: "未发送" }, { incidentId: "inc-1" });
    await expect(device.signOut()).rejects.toMatchObject({ code: "outbox_not_empty" });
    expect(device.phase).toBe("ready");
    expect(await pending()).toHaveLength(1);
    expect(server.requests.some((r) => r.path === "/api/auth/logout")).toBe(false);
  });
});

describe("a session that ends", () => {
  it("on 401 token_expired asks for the password again and keeps the outbox; the same person sends it", async () => {
    await device.signIn("officer.zhang", "pw", "phone");
    server.expireNextPush = true;
    await device.act("note", { text: "过期前记录" }, { incidentId: "inc-1" });
    await device.sync?.flush();
    await vi.waitFor(() => expect(device.phase).toBe("signin"));
    expect(device.session).toMatchObject({ token: null, ended: "expired", username: "officer.zhang" });
    expect((await getMeta(db, "session")).token).toBeNull();
    expect(await pending()).toHaveLength(1);
    await expect(device.signIn("officer.li", "pw", "phone")).rejects.toMatchObject({ code: "outbox_not_empty" });
    await device.signIn("officer.zhang", "pw", "phone");
    await device.sync.flush();
    expect(server.pushed).toEqual(["过期前记录"]);
    expect(await pending()).toHaveLength(0);
  });

  it(`after ${PIN_ATTEMPTS} wrong PINs drops the token, keeps the outbox sealed, and opens it after a sign-in and the PIN`, async () => {
    await device.signIn("officer.zhang", "pw", "phone");
    await device.setPin("2468");
    server.online = false;
    await device.act("note", { text: "锁定前记录" }, { incidentId: "inc-1" });
    device.lock();
    expect(device.phase).toBe("lock");
    const lefts = [];
    for (let i = 0; i < PIN_ATTEMPTS; i++) lefts.push((await device.unlock("0000")).left);
    expect(lefts).toEqual([4, 3, 2, 1, 0]);
    expect(device.phase).toBe("signin");
    expect(device.session).toMatchObject({ token: null, ended: "pin_lockout" });
    expect(device.vault.unlocked).toBe(false);
    expect(device.sync).toBeNull();
    const [entry] = await pending();
    expect(isSealed(entry.op)).toBe(true);
    const dump = await dumpDatabase(name);
    expect(dump).not.toContain("tok-1-secret");
    expect(dump).not.toContain("锁定前记录");

    server.online = true;
    await device.signIn("officer.zhang", "pw", "phone");
    expect(device.phase).toBe("lock");
    expect(device.reopening).toBe(true);
    expect(server.pushed).toEqual([]); // nothing can be read, so nothing goes out, before the PIN
    expect((await device.unlock("2468")).ok).toBe(true);
    expect(device.phase).toBe("ready");
    await device.sync.flush();
    expect(server.pushed).toEqual(["锁定前记录"]);
    expect(await dumpDatabase(name)).not.toContain("tok-2-secret");
  });

  it("with a PIN, a reload starts locked and sends nothing until the PIN is entered", async () => {
    await device.signIn("officer.zhang", "pw", "phone");
    await device.setPin("2468");
    server.online = false;
    await device.act("note", { text: "重启前记录" }, { incidentId: "inc-1" });
    device.sync.stop();
    server.online = true;
    device = await open(); // a reload: a new page, the same IndexedDB
    expect(device.phase).toBe("lock");
    expect(device.session.token).toBeNull();
    expect(await device.attemptsLeft()).toBe(PIN_ATTEMPTS);
    expect((await device.unlock("2468")).ok).toBe(true);
    expect(device.session.token).toBe("tok-1-secret");
    await device.sync.flush();
    expect(server.pushed).toEqual(["重启前记录"]);
  });

  it("signed in again with the PIN forgotten, the sealed data can be given up to carry on", async () => {
    await device.signIn("officer.zhang", "pw", "phone");
    await device.setPin("2468");
    server.online = false;
    await device.act("note", { text: "将被放弃" }, { incidentId: "inc-1" });
    device.lock();
    for (let i = 0; i < PIN_ATTEMPTS; i++) await device.unlock("0000");
    server.online = true;
    await device.signIn("officer.zhang", "pw", "phone");
    expect(device.reopening).toBe(true);
    await device.discardSealed();
    expect(device.phase).toBe("ready");
    expect(device.hasPin).toBe(false);
    expect(await pending()).toHaveLength(0);
    await device.sync.flush();
    expect(server.pushed).toEqual([]);
  });
});
