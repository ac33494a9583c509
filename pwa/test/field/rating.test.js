// Rating by QR, one incident (PROTOCOL §9), on the phone: the token and its hash, the op
// recorded through the device's outbox (offline, then pushed), the token kept only in the
// local copy and sealed with a PIN, and a QR code that a decoder (jsQR) reads back as
// exactly the rating address. Real IndexedDB (fake-indexeddb), Node's WebCrypto, a
// scripted server at the edge.
import "fake-indexeddb/auto";
import jsQR from "jsqr";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { openAppDb } from "../../field/db.js";
import { openDevice } from "../../field/device.js";
import { pendingEntries } from "../../field/outbox.js";
import {
  QUIET_ZONE, canInvite, invitesOf, newRatingToken, qrModules, qrPath, ratingInviteOp, ratingUrl,
  recordRatingInvite, tokenSha256,
} from "../../field/rating.js";
import { loadSnapshot } from "../../field/snapshot.js";
import { createVault, isSealed } from "../../field/vault.js";
import { dumpDatabase } from "./idb-dump.js";

const FIXED_TOKEN = "00112233445566778899aabbccddeeff";
// python3 -c "import hashlib; print(hashlib.sha256(b'00112233445566778899aabbccddeeff').hexdigest())"
const FIXED_SHA256 = "5947d7c33d783f94b3b4c1a96ebc8991ed28f1b069b71e03376cba8caa98a720";

describe("the token", () => {
  it("is 32 lowercase hex characters from the CSPRNG, different every time", () => {
    const tokens = new Set();
    for (let i = 0; i < 200; i++) {
      const token = newRatingToken();
      expect(token).toMatch(/^[0-9a-f]{32}$/);
      tokens.add(token);
    }
    expect(tokens.size).toBe(200);
  });

  it("is the 16 random bytes getRandomValues gives, in hex", () => {
    const fake = { getRandomValues: (a) => a.map((_, i) => i * 17) };
    expect(newRatingToken(fake)).toBe(FIXED_TOKEN);
  });

  it("is hashed as the lowercase hex SHA-256 of its ASCII text", async () => {
    expect(await tokenSha256(FIXED_TOKEN)).toBe(FIXED_SHA256);
  });

  it("makes the rating address on the app's own origin", () => {
    expect(ratingUrl("https://jq.example.gov.cn", FIXED_TOKEN)).toBe(`https://jq.example.gov.cn/rate/${FIXED_TOKEN}`);
  });
});

describe("the op", () => {
  it("has exactly the wire shape of PROTOCOL §2/§9", () => {
    const op = ratingInviteOp("inc-1", FIXED_SHA256, { deviceTime: new Date("2026-11-30T10:00:00+08:00"), clockOffsetMs: 12.4 });
    expect(Object.keys(op).sort()).toEqual(
      ["base_op_id", "body", "clock_offset_ms", "device_time", "incident_id", "op_id", "record_id", "type"],
    );
    expect(op).toMatchObject({
      type: "rating_invite",
      incident_id: "inc-1",
      record_id: null,
      base_op_id: null,
      device_time: "2026-11-30T02:00:00.000Z",
      clock_offset_ms: 12,
    });
    expect(op.body).toEqual({ token_sha256: FIXED_SHA256 });
    expect(op.op_id).toMatch(/^[0-9a-f-]{36}$/);
  });
});

describe("when the button is offered", () => {
  const incident = (status) => ({ id: "inc-1", kind: "incident", status });
  const disposition = { incident_id: "inc-1", type: "disposition" };

  it("on a closed incident, or one with a disposition recorded", () => {
    expect(canInvite(incident("closed"), [])).toBe(true);
    expect(canInvite(incident("dispatched"), [disposition])).toBe(true);
  });

  it("not before the incident is handled, nor on a cancelled one or another incident's disposition", () => {
    expect(canInvite(incident("dispatched"), [])).toBe(false);
    expect(canInvite(incident("dispatched"), [{ ...disposition, incident_id: "inc-2" }])).toBe(false);
    expect(canInvite(incident("cancelled"), [disposition])).toBe(false);
    expect(canInvite({ id: "m-1", kind: "mediation" }, [])).toBe(false);
    expect(canInvite(undefined, [])).toBe(false);
  });
});

describe("the QR code", () => {
  /** The module matrix drawn as an RGBA image, `scale` pixels a module, with the quiet zone. */
  function rasterize(modules, scale = 4) {
    const n = modules.length + 2 * QUIET_ZONE;
    const width = n * scale;
    const data = new Uint8ClampedArray(width * width * 4).fill(255);
    modules.forEach((row, y) =>
      row.forEach((dark, x) => {
        if (!dark) return;
        for (let dy = 0; dy < scale; dy++) {
          for (let dx = 0; dx < scale; dx++) {
            const p = (((y + QUIET_ZONE) * scale + dy) * width + (x + QUIET_ZONE) * scale + dx) * 4;
            data[p] = data[p + 1] = data[p + 2] = 0;
          }
        }
      }),
    );
    return { data, width };
  }

  it("decodes to exactly the rating address", async () => {
    for (const origin of ["http://127.0.0.1:8000", "https://jq.example.gov.cn"]) {
      const url = ratingUrl(origin, newRatingToken());
      const modules = await qrModules(url);
      const { data, width } = rasterize(modules);
      const decoded = jsQR(data, width, width);
      expect(decoded?.data).toBe(url);
      expect(decoded.version).toBeLessThanOrEqual(5); // small enough for a phone screen at arm's length
    }
  });

  it("the SVG path covers exactly the dark modules", () => {
    const modules = [
      [true, true, false, true],
      [false, false, false, false],
      [true, false, true, true],
    ];
    expect(qrPath(modules)).toBe("M0 0h2v1h-2zM3 0h1v1h-1zM0 2h1v1h-1zM2 2h2v1h-2z");
  });
});

/** A server at the edge that takes sign-in and pushes; `online` false makes fetch fail. */
function scriptedServer() {
  const server = {
    online: true,
    pushBodies: [],
    async fetch(url, init) {
      if (!server.online) throw new TypeError("Failed to fetch");
      const path = url.split("?")[0];
      const json = (status, body) => new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json" } });
      if (path === "/api/auth/login") {
        return json(200, {
          token: "tok-1", device_id: "dev-1",
          person: { id: "p-1", name: "张警官", role: "officer", station_id: "s1" },
          server_time: new Date().toISOString(),
        });
      }
      if (path === "/api/sync/push") {
        server.pushBodies.push(init.body);
        const { ops } = JSON.parse(init.body);
        return json(200, {
          server_time: new Date().toISOString(), acked_seq: 0, cursor: "c1",
          results: ops.map((o) => ({ op_id: o.op_id, status: "applied" })),
        });
      }
      if (path === "/api/sync/pull") return json(200, { changes: [], cursor: "c1", more: false });
      return json(404, { code: "not_found", message: "no such route" });
    },
  };
  return server;
}

describe("an invite made on the phone", () => {
  let db;
  let name;
  let n = 0;
  let server;
  let device;
  beforeEach(async () => {
    vi.stubGlobal("location", { protocol: "http:", host: "phone.test", hash: "" });
    vi.stubGlobal("navigator", { onLine: true });
    vi.stubGlobal("WebSocket", undefined);
    name = `rating-test-${++n}`;
    db = await openAppDb(name);
    server = scriptedServer();
    device = await openDevice(db, { vault: createVault({ iterations: 1000 }), fetchImpl: server.fetch });
    await device.signIn("officer.zhang", "pw", "phone");
    await device.sync.flush();
  });
  afterEach(() => {
    device?.sync?.stop();
    vi.unstubAllGlobals();
  });

  it("is queued offline with only the hash, keeps the token here, and goes out once online", async () => {
    server.online = false;
    const token = await recordRatingInvite(device.act, "inc-1");
    expect(token).toMatch(/^[0-9a-f]{32}$/);

    const [entry] = await pendingEntries(db);
    const { seq, op_id, ...rest } = entry.op;
    expect(seq).toBe(1);
    expect(rest).toEqual({
      type: "rating_invite",
      incident_id: "inc-1",
      device_time: expect.any(String),
      clock_offset_ms: expect.toSatisfy((v) => v === null || Number.isInteger(v)),
      record_id: null,
      base_op_id: null,
      body: { token_sha256: await tokenSha256(token) },
    });
    expect(JSON.stringify(entry.op)).not.toContain(token);

    // The token stays beside the local copy, so the same code can be shown again.
    const snap = await loadSnapshot(db, device.vault);
    expect(invitesOf(snap.records, "inc-1")).toEqual([{ op_id, token, device_time: entry.op.device_time }]);
    expect(invitesOf(snap.records, "inc-2")).toEqual([]);

    server.online = true;
    await device.sync.flush();
    expect(await pendingEntries(db)).toEqual([]);
    expect(server.pushBodies).toHaveLength(1);
    const [pushed] = JSON.parse(server.pushBodies[0]).ops;
    expect(pushed).toMatchObject({ op_id, type: "rating_invite", body: { token_sha256: await tokenSha256(token) } });
    expect(server.pushBodies[0]).not.toContain(token);
    // Delivered, and still there to show again.
    const after = await loadSnapshot(db, device.vault);
    expect(invitesOf(after.records, "inc-1").map((i) => i.token)).toEqual([token]);
  });

  it("keeps the token sealed once a PIN is set, and still shows it after unlocking", async () => {
    server.online = false;
    const before = await recordRatingInvite(device.act, "inc-1");
    expect(await dumpDatabase(name)).toContain(before); // no PIN: nothing is sealed
    await device.setPin("2468");
    const after = await recordRatingInvite(device.act, "inc-1");
    const dump = await dumpDatabase(name);
    expect(dump).not.toContain(before);
    expect(dump).not.toContain(after);
    const stored = (await db.getAll("records")).filter((r) => r.type === "rating_invite");
    expect(stored.every((r) => isSealed(r.secret) && isSealed(r.body))).toBe(true);

    device.sync?.stop();
    device = await openDevice(db, { vault: createVault({ iterations: 1000 }), fetchImpl: server.fetch });
    expect(device.phase).toBe("lock");
    expect((await device.unlock("2468")).ok).toBe(true);
    const snap = await loadSnapshot(db, device.vault);
    expect(invitesOf(snap.records, "inc-1").map((i) => i.token)).toEqual([before, after]);
  });
});
