// The review queue's logic (command/reviews.js).
import { beforeEach, describe, expect, it } from "vitest";
import { label, setLang } from "../../command/i18n.js";
import { conflictHeads, detailHtml, incidentLabel, newestFirst, resolveBody } from "../../command/reviews.js";
import { resetStore, store } from "../../command/store.js";

beforeEach(() => {
  setLang("zh-CN");
  resetStore();
});

describe("the queue", () => {
  it("lists the newest item first, items without a time last", () => {
    const items = [
      { id: "old", created_at: "2026-11-27T01:00:00Z" },
      { id: "none" },
      { id: "new", created_at: "2026-11-27T03:00:00Z" },
    ];
    expect(newestFirst(items).map((i) => i.id)).toEqual(["new", "old", "none"]);
    expect(items.map((i) => i.id)).toEqual(["old", "none", "new"]); // a copy is sorted
  });

  it("names the incident by number and address when held", () => {
    store.incidents.set("i1", { id: "i1", number: "J001", address: "人民路1号" });
    expect(incidentLabel("i1")).toBe("J001 · 人民路1号");
    expect(incidentLabel("0123456789")).toBe("01234567");
    expect(incidentLabel(null)).toBe("—");
  });

  it("says what an item's detail means", () => {
    const html = detailHtml({ detail: { due_at: "2026-11-27T02:00:00Z", missing: ["interview_record", "<x>"] } });
    expect(html).toContain("时限 11/27 10:00:00");
    expect(html).toContain("缺少：询问笔录、&lt;x&gt;");
    expect(detailHtml({ detail: {} })).toBe("");
  });

  it("names the §9 and far-arrival kinds, and says what their detail holds", () => {
    expect(label("review", "citizen_unsatisfied")).toBe("群众不满意");
    expect(label("review", "far_arrival")).toBe("到达位置偏远");
    expect(label("flag", "far_arrival")).toBe("到达位置偏远");
    expect(detailHtml({ kind: "far_arrival", detail: { distance_m: 2345, max_distance_m: 1000 } }))
      .toContain("距离现场约 2345 米（上限 1000 米）");
    const unsatisfied = detailHtml({ kind: "citizen_unsatisfied", detail: { source: "qr", comment: "<太慢>" } });
    expect(unsatisfied).toContain("扫码");
    expect(unsatisfied).toContain("&lt;太慢&gt;");
    setLang("en");
    expect(label("review", "citizen_unsatisfied")).toBe("citizen unsatisfied");
    expect(label("review", "far_arrival")).toBe("arrival far from the scene");
  });
});

describe("resolving", () => {
  it("offers a conflict's own heads, else its record's", () => {
    const incident = { records: [{ record_id: "r1", heads: ["op-a", "op-b"] }] };
    expect(conflictHeads({ detail: { heads: ["op-x"] }, record_id: "r1" }, incident)).toEqual(["op-x"]);
    expect(conflictHeads({ detail: {}, record_id: "r1" }, incident)).toEqual(["op-a", "op-b"]);
    expect(conflictHeads({ record_id: "r2" }, incident)).toEqual([]);
    expect(conflictHeads({ record_id: "r1" }, null)).toEqual([]);
  });

  it("sends the version kept and the note only when given", () => {
    expect(resolveBody({ keep_op_id: "op-a", note: "以和解版本为准" })).toEqual({ keep_op_id: "op-a", note: "以和解版本为准" });
    expect(resolveBody({})).toEqual({});
  });
});

describe("督办 from the queue (PROTOCOL §11)", () => {
  it("is offered to supervisors and admins on an overdue item with an incident", async () => {
    const { mayOrder } = await import("../../command/reviews.js");
    const item = { kind: "overdue", clock: "arrival", incident_id: "i1" };
    expect(mayOrder(item, { role: "supervisor" })).toBe(true);
    expect(mayOrder(item, { role: "admin" })).toBe(true);
    expect(mayOrder(item, { role: "dispatcher" })).toBe(false);
    expect(mayOrder(item, { role: "station_chief" })).toBe(false);
    expect(mayOrder({ ...item, kind: "late" }, { role: "supervisor" })).toBe(false);
    // An owed rectification names no incident: nothing to supervise.
    expect(mayOrder({ kind: "overdue", clock: "rectification", incident_id: null }, { role: "supervisor" })).toBe(false);
  });

  it("names the new clocks and what their detail holds", () => {
    store.stationsById = new Map([["s1", { id: "s1", name: "城关派出所" }]]);
    expect(label("clock", "supervision")).toBe("督办时限");
    expect(label("clock", "rectification")).toBe("整改时限");
    expect(detailHtml({ detail: { clock: "supervision", order_id: "o", due_at: "2026-11-27T02:00:00Z", level: "bureau" } }))
      .toContain("挂牌督办");
    expect(detailHtml({ detail: { clock: "rectification", notice_id: "n", station_id: "s1", due_at: "2026-11-27T02:00:00Z" } }))
      .toContain("城关派出所");
  });
});
