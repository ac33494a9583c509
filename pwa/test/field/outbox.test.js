// The outbox against a real IndexedDB implementation (fake-indexeddb): what a phone relies
// on is that an op stays until the server has answered for it.
import "fake-indexeddb/auto";
import { beforeEach, describe, expect, it } from "vitest";
import { openAppDb } from "../../field/db.js";
import { buildOp } from "../../field/model.js";
import { applyResults, outboxStats, pendingEntries, record, rejectedEntries } from "../../field/outbox.js";

let db;
let n = 0;
beforeEach(async () => {
  db = await openAppDb(`outbox-test-${++n}`);
});

const note = (text) => buildOp("note", { text }, { incidentId: "inc-1" });

describe("outbox", () => {
  it("numbers ops 1, 2, 3 in the order they were recorded", async () => {
    const a = await record(db, note("a"));
    const b = await record(db, note("b"));
    const c = await record(db, note("c"));
    expect([a.seq, b.seq, c.seq]).toEqual([1, 2, 3]);
    expect((await pendingEntries(db)).map((e) => e.op.body.text)).toEqual(["a", "b", "c"]);
  });

  it("keeps ops across a reopen of the database (a reload)", async () => {
    await record(db, note("kept"));
    db.close();
    db = await openAppDb(`outbox-test-${n}`);
    const pending = await pendingEntries(db);
    expect(pending.map((e) => e.op.body.text)).toEqual(["kept"]);
    expect((await record(db, note("next"))).seq).toBe(2);
  });

  it("removes applied and duplicate ops, keeps rejected ones with the reason", async () => {
    const a = await record(db, note("a"));
    const b = await record(db, note("b"));
    const c = await record(db, note("c"));
    const d = await record(db, note("d"));
    await applyResults(db, [
      { op_id: a.op_id, status: "applied" },
      { op_id: b.op_id, status: "duplicate" },
      { op_id: c.op_id, status: "rejected", code: "forbidden", message: "not your incident" },
    ]);
    expect((await pendingEntries(db)).map((e) => e.op.op_id)).toEqual([d.op_id]);
    const rejected = await rejectedEntries(db);
    expect(rejected).toHaveLength(1);
    expect(rejected[0]).toMatchObject({ code: "forbidden", message: "not your incident" });
    expect(rejected[0].op.op_id).toBe(c.op_id);
    expect(await outboxStats(db)).toMatchObject({ pending: 1, rejected: 1 });
  });

  it("a result for an op we do not hold changes nothing", async () => {
    const a = await record(db, note("a"));
    await applyResults(db, [{ op_id: "someone-else", status: "applied" }]);
    expect((await pendingEntries(db)).map((e) => e.op.op_id)).toEqual([a.op_id]);
  });

  it("keeps a local copy of each op for the screens, marked delivered once answered", async () => {
    const a = await record(db, note("a"), { personId: "p1" });
    let copy = await db.get("records", a.op_id);
    expect(copy).toMatchObject({ local: true, person_id: "p1", parent: "inc-1" });
    await applyResults(db, [{ op_id: a.op_id, status: "applied" }]);
    copy = await db.get("records", a.op_id);
    expect(copy.delivered).toBe(true);
  });

  it("a standalone mediation is filed under its own case (its first version's op_id)", async () => {
    const op = buildOp("mediation_outcome", { dispute_type: "x", parties: [], agreement: "failed" });
    const first = await record(db, op);
    const copy = await db.get("records", first.op_id);
    expect(copy.record_id).toBe(first.op_id);
    expect(copy.parent).toBe(`mediation:${first.op_id}`);
  });
});
