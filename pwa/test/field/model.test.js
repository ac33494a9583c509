// Pure helpers the screens rely on: which incidents are mine, countdowns, point-checks,
// and which version of an editable record an edit is based on.
import { describe, expect, it } from "vitest";
import { buildOp, clockLeft, editableView, leadingClock, myWork, openPointChecks } from "../../field/model.js";

describe("my work", () => {
  const inc = (id, receivedAt, status, assignees) => ({
    id, kind: "incident", received_at: receivedAt, status, assignees: assignees.map((p) => ({ person_id: p })),
  });
  it("lists open incidents assigned to me, newest received first", () => {
    const list = myWork(
      [
        inc("old", "2026-11-27T01:00:00Z", "dispatched", ["me"]),
        inc("new", "2026-11-27T03:00:00Z", "dispatched", ["me", "other"]),
        inc("theirs", "2026-11-27T04:00:00Z", "dispatched", ["other"]),
        inc("closed", "2026-11-27T05:00:00Z", "closed", ["me"]),
        { id: "case", kind: "mediation" },
      ],
      "me",
    );
    expect(list.map((i) => i.id)).toEqual(["new", "old"]);
  });
});

describe("clocks", () => {
  const due = { due_at: "2026-11-27T08:10:00Z", met_at: null, state: "running" };
  it("counts down on the server's clock", () => {
    const now = Date.parse("2026-11-27T08:00:00Z");
    expect(clockLeft(due, now, 0).ms).toBe(600_000);
    // The phone is 2 minutes slow: the server is at 08:02, so 8 minutes are left.
    expect(clockLeft(due, now, 120_000).ms).toBe(480_000);
    expect(clockLeft(due, Date.parse("2026-11-27T08:11:00Z"), 0).state).toBe("overdue");
  });
  it("the leading clock is the first one still running", () => {
    const incident = { clocks: { arrival: { ...due, state: "met" }, initial_result: due, clear: due } };
    expect(leadingClock(incident)[0]).toBe("initial_result");
  });
});

describe("point-checks", () => {
  const incident = {
    point_checks: [
      { request_id: "a", person_ids: [], replied_at: null },
      { request_id: "b", person_ids: ["someone"], replied_at: null },
      { request_id: "c", person_ids: ["me"], replied_at: "2026-11-27T08:00:00Z" },
      { request_id: "d", person_ids: ["me"], replied_at: null },
    ],
  };
  it("shows the unanswered ones addressed to me or to everyone, not those replied here", () => {
    expect(openPointChecks(incident, "me").map((p) => p.request_id)).toEqual(["a", "d"]);
    expect(openPointChecks(incident, "me", new Set(["d"])).map((p) => p.request_id)).toEqual(["a"]);
  });
});

describe("editable records", () => {
  it("an edit made offline is based on the offline version, not the server's head", () => {
    const server = { record_id: "r", head: "r", versions: ["r"], conflicted: false, body: { terms: "v1" } };
    const local = [
      { op_id: "r", record_id: "r", seq: 1, local: true, body: { terms: "v1" } },
      { op_id: "e1", record_id: "r", seq: 2, local: true, body: { terms: "v2" } },
    ];
    expect(editableView(server, local)).toMatchObject({ head: "e1", pending: true, body: { terms: "v2" } });
    // Once the server reflects it, the server's view (and its conflict flag) is shown.
    const merged = { ...server, head: "e1", versions: ["r", "e1"], conflicted: true, body: { terms: "v2" } };
    expect(editableView(merged, local)).toMatchObject({ head: "e1", pending: false, conflicted: true });
  });
  it("a record created offline has no server view yet", () => {
    const local = [{ op_id: "r", record_id: "r", seq: 1, local: true, body: {} }];
    expect(editableView(null, local)).toMatchObject({ record_id: "r", head: "r", pending: true });
  });
});

describe("ops", () => {
  it("carry the device time in UTC and a whole-millisecond offset", () => {
    const op = buildOp("note", { text: "x" }, { incidentId: "i", deviceTime: new Date("2026-11-27T08:00:00+08:00"), clockOffsetMs: 12.7 });
    expect(op).toMatchObject({ type: "note", incident_id: "i", device_time: "2026-11-27T00:00:00.000Z", clock_offset_ms: 13, record_id: null, base_op_id: null });
    expect(op.op_id).toMatch(/^[0-9a-f-]{36}$/);
  });
});
