// The station chief's desk (command/chief.js, PROTOCOL §11): who may use the view, each
// role's menu, the desk's seq counter per device in localStorage, the ops a chief pushes
// (supervision_reply on the order's incident, rectification with incident_id null), the
// push's body and its outcome.
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";

function memoryStorage() {
  const map = new Map();
  return {
    getItem: (k) => (map.has(k) ? map.get(k) : null),
    setItem: (k, v) => map.set(k, String(v)),
    removeItem: (k) => map.delete(k),
    map,
  };
}

let chief;
let storage;

beforeEach(async () => {
  storage = memoryStorage();
  vi.stubGlobal("localStorage", storage);
  vi.resetModules();
  chief = await import("../../command/chief.js");
});

afterEach(() => vi.unstubAllGlobals());

describe("who uses the command view", () => {
  it("lets in the command roles and a station chief, not the other field roles", () => {
    for (const role of ["dispatcher", "supervisor", "admin", "station_chief"]) expect(chief.mayUseCommandView(role), role).toBe(true);
    for (const role of ["officer", "grid_worker", "mediator", "agency", undefined]) expect(chief.mayUseCommandView(role), role).toBe(false);
  });

  it("gives each role its menu: no callbacks or responsibility list for a chief", () => {
    expect(chief.pagesFor({ role: "station_chief" })).toEqual(["board", "reviews", "supervision", "notices", "reports", "meeting"]);
    expect(chief.pagesFor({ role: "dispatcher" })).toEqual(["board", "reviews", "callbacks", "supervision", "notices", "reports", "meeting"]);
    expect(chief.pagesFor({ role: "admin" })).toContain("duties");
    expect(chief.pagesFor({ role: "supervisor" })).not.toContain("duties");
    expect(chief.pagesFor({ role: "officer" })).toEqual([]);
  });

  it("lets supervisors and admins supervise, and a chief answer for their own station only", () => {
    expect(chief.maySupervise({ role: "supervisor" })).toBe(true);
    expect(chief.maySupervise({ role: "dispatcher" })).toBe(false);
    expect(chief.maySupervise({ role: "station_chief" })).toBe(false);
    const me = { role: "station_chief", station_id: "s1" };
    expect(chief.answersFor(me, "s1")).toBe(true);
    expect(chief.answersFor(me, "s2")).toBe(false);
    expect(chief.answersFor({ role: "supervisor", station_id: "s1" }, "s1")).toBe(false);
  });
});

describe("the desk's device", () => {
  it("counts seq per device id, kept in localStorage", () => {
    expect(chief.lastSeq("d1")).toBe(0);
    expect(chief.takeSeq("d1")).toBe(1);
    expect(chief.takeSeq("d1")).toBe(2);
    expect(chief.takeSeq("d2")).toBe(1);
    expect(JSON.parse(storage.getItem("qingling.command.seq"))).toEqual({ d1: 2, d2: 1 });
  });

  it("never counts below what the server holds", () => {
    chief.takeSeq("d1");
    chief.noteAckedSeq("d1", 7);
    expect(chief.takeSeq("d1")).toBe(8);
    chief.noteAckedSeq("d1", 3);
    expect(chief.lastSeq("d1")).toBe(8);
  });

  it("survives a broken table", () => {
    storage.setItem("qingling.command.seq", "not json");
    expect(chief.takeSeq("d1")).toBe(1);
  });
});

describe("the ops a chief pushes", () => {
  const now = new Date("2026-11-30T02:00:00Z");

  it("answers an order on its incident", () => {
    const op = chief.replyOp({ id: "o1", incident_id: "i1" }, "  已查处 ", { deviceId: "d1", now, offsetMs: 1234.4 });
    expect(op).toMatchObject({
      seq: 1,
      type: "supervision_reply",
      incident_id: "i1",
      device_time: "2026-11-30T02:00:00.000Z",
      clock_offset_ms: 1234,
      record_id: null,
      base_op_id: null,
      body: { order_id: "o1", text: "已查处", attachments: [] },
    });
    expect(op.op_id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });

  it("answers a notice with incident_id null", () => {
    const op = chief.rectificationOp({ id: "n1" }, "已整改", { deviceId: "d1", now });
    expect(op).toMatchObject({ type: "rectification", incident_id: null, seq: 1, body: { notice_id: "n1", text: "已整改", attachments: [] } });
    expect(chief.rectificationOp({ id: "n1" }, "x", { deviceId: "d1", now }).seq).toBe(2);
  });

  it("pushes one op under the desk's device", () => {
    const op = { op_id: "x" };
    expect(chief.pushBody("d1", op, now)).toEqual({ device_id: "d1", sent_at: "2026-11-30T02:00:00.000Z", ops: [op] });
  });

  it("sends an unanswered op again as it is, and before an edited one (no seq left as a gap)", () => {
    const first = chief.replyOp({ id: "o1", incident_id: "i1" }, "已查处", { deviceId: "d1", now });
    const build = () => chief.replyOp({ id: "o1", incident_id: "i1" }, "已查处，已约谈", { deviceId: "d1", now });
    expect(chief.opsToSend(undefined, "已查处，已约谈", build).map((o) => o.seq)).toEqual([2]);
    expect(chief.opsToSend([first], "已查处", build)).toEqual([first]);
    const edited = chief.opsToSend([first], "已查处，已约谈", build);
    expect(edited.map((o) => [o.seq, o.body.text])).toEqual([[1, "已查处"], [3, "已查处，已约谈"]]);
    expect(edited[0]).toBe(first);
    expect(chief.pushBody("d1", edited, now).ops).toEqual(edited);
  });

  it("reads the op's result from the push's answer", () => {
    const answer = { results: [{ op_id: "a", status: "applied" }, { op_id: "b", status: "rejected", code: "forbidden", message: "no" }] };
    expect(chief.pushOutcome(answer, "a")).toEqual({ status: "applied", code: null, message: "" });
    expect(chief.pushOutcome(answer, "b")).toEqual({ status: "rejected", code: "forbidden", message: "no" });
    expect(chief.pushOutcome({}, "c")).toEqual({ status: "rejected", code: "invalid", message: "" });
  });
});
