// What the screens read from IndexedDB: pending and rejected ops in seq order, conflicts
// counted, standalone mediation cases found (real IndexedDB through fake-indexeddb).
import "fake-indexeddb/auto";
import { beforeEach, describe, expect, it } from "vitest";
import { openAppDb } from "../../field/db.js";
import { buildOp } from "../../field/model.js";
import { applyResults, record } from "../../field/outbox.js";
import { loadSnapshot, mediationCases, stateOf } from "../../field/snapshot.js";

let db;
let n = 0;
beforeEach(async () => {
  db = await openAppDb(`snapshot-${++n}`);
});

describe("snapshot", () => {
  it("lists pending and rejected ops in seq order and says each op's state", async () => {
    const a = await record(db, buildOp("note", { text: "a" }, { incidentId: "i1" }));
    const b = await record(db, buildOp("note", { text: "b" }, { incidentId: "i1" }));
    const c = await record(db, buildOp("note", { text: "c" }, { incidentId: "i1" }));
    await applyResults(db, [
      { op_id: a.op_id, status: "applied" },
      { op_id: b.op_id, status: "rejected", code: "invalid", message: "bad" },
    ]);
    const snap = await loadSnapshot(db);
    expect(snap.pending.map((e) => e.seq)).toEqual([c.seq]);
    expect(snap.rejected.map((e) => e.code)).toEqual(["invalid"]);
    expect([stateOf(snap, a.op_id), stateOf(snap, b.op_id), stateOf(snap, c.op_id)]).toEqual(["sent", "rejected", "pending"]);
  });

  it("counts conflicted records on incidents and standalone cases", async () => {
    const tx = db.transaction("incidents", "readwrite");
    await tx.store.put({ id: "i1", kind: "incident", records: [{ conflicted: true }, { conflicted: false }, { conflicted: true }] });
    await tx.store.put({ id: "m1", kind: "mediation", record: { conflicted: true } });
    await tx.done;
    expect((await loadSnapshot(db)).conflicts).toBe(3);
  });

  it("finds a standalone mediation recorded here before the server has it", async () => {
    const op = await record(db, buildOp("mediation_outcome", { dispute_type: "邻里纠纷", parties: [], agreement: "reached" }));
    const cases = mediationCases(await loadSnapshot(db));
    expect(cases).toHaveLength(1);
    expect(cases[0]).toMatchObject({ record_id: op.op_id, pending: true, incident_id: null });
    expect(cases[0].body.dispute_type).toBe("邻里纠纷");
  });
});
