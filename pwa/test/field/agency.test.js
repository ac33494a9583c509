// A linked agency's flow (PROTOCOL §10) in the field app: which calls are the agency's
// ("交办事项") and in what order, the ops it records (exact wire shapes, through a real
// device and outbox, offline then pushed, photos uploaded after the op), the feedback
// form's rules, and the screens an agency person gets: none of the police's controls.
import "fake-indexeddb/auto";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import {
  acknowledgement, agencyFeedbackBody, agencyState, agencyWork, feedbackView, forCurrentDiversion, isAgency,
  recordAck, recordFeedback, validateFeedback,
} from "../../field/agency.js";
import { openAppDb } from "../../field/db.js";
import { openDevice } from "../../field/device.js";
import { setLang } from "../../field/i18n.js";
import { pendingEntries } from "../../field/outbox.js";
import { AgencyIncidentView, agencyIncidentView } from "../../field/screens/agency-incident.js";
import { AgencyWorkView } from "../../field/screens/agency-work.js";
import { Nav } from "../../field/screens/nav.js";
import { loadSnapshot } from "../../field/snapshot.js";
import { applyChanges } from "../../field/sync.js";
import { createVault } from "../../field/vault.js";

const HOTLINE = "st-hotline";
const ME = { id: "p-zheng", name: "郑洁", role: "agency", station_id: HOTLINE };

/** An incident record as the §10 server sends it (choices 1–3 of the diversion notes). */
function diverted(id, divertedAt, over = {}) {
  return {
    id,
    kind: "incident",
    number: `J20261130-${id}`,
    status: "diverted",
    version: 1,
    category: "non_police",
    area_type: "urban",
    address: `城关镇滨河路${id}号`,
    narrative: "自来水管爆裂",
    received_at: "2026-11-30T01:00:00Z",
    station_id: HOTLINE,
    assignees: [],
    clocks: {
      agency_ack: { due_at: "2026-11-30T02:30:00Z", met_at: null, state: "running" },
      agency_feedback: { due_at: "2026-12-01T02:00:00Z", met_at: null, state: "running" },
      clear: { due_at: "2026-12-01T01:00:00Z", met_at: null, state: "running" },
    },
    records: [],
    point_checks: [],
    diversion: {
      agency_id: HOTLINE,
      agency_name: "县12345热线",
      diverted_at: divertedAt,
      instructions: "请联系供水公司抢修，并回复处置情况",
      person_ids: [],
      acknowledged_at: null,
      feedback: null,
    },
    diversions_returned: 0,
    returned_reason: null,
    ...over,
  };
}

/** A fact in `records` as the outbox writes it (local) or the feed brings it. */
function fact(type, incidentId, over = {}) {
  return {
    op_id: `${type}-${incidentId}-${Math.random()}`,
    type,
    incident_id: incidentId,
    person_id: ME.id,
    device_time: "2026-11-30T02:10:00Z",
    body: {},
    local: true,
    delivered: false,
    flags: [],
    ...over,
  };
}

describe("the agency's list (交办事项)", () => {
  it("holds only calls diverted to the person's station, newest diversion first", () => {
    const list = agencyWork(
      [
        diverted("0001", "2026-11-30T02:00:00Z"),
        diverted("0002", "2026-11-30T04:00:00Z"),
        diverted("0003", "2026-11-30T03:00:00Z"),
        diverted("other", "2026-11-30T05:00:00Z", { station_id: "st-zhujian" }),
        diverted("received", "2026-11-30T05:00:00Z", { status: "received", station_id: null, diversion: null }),
        diverted("closed", "2026-11-30T05:00:00Z", { status: "closed" }),
        diverted("police", "2026-11-30T05:00:00Z", { status: "dispatched", station_id: "st-chengguan", diversion: null }),
        { id: "case", kind: "mediation", record: {} },
      ],
      ME,
    );
    expect(list.map((i) => i.id)).toEqual(["0002", "0003", "0001"]);
  });

  it("is empty for someone of no station, and orders by received time when no diversion is named", () => {
    expect(agencyWork([diverted("0001", "2026-11-30T02:00:00Z")], { ...ME, station_id: null })).toEqual([]);
    const list = agencyWork(
      [
        diverted("a", null, { received_at: "2026-11-30T01:00:00Z", diversion: null }),
        diverted("b", null, { received_at: "2026-11-30T03:00:00Z", diversion: null }),
      ],
      ME,
    );
    expect(list.map((i) => i.id)).toEqual(["b", "a"]);
  });

  it("drops a call once the server took our `returned`, and shows it again when diverted to us anew", () => {
    const first = "2026-11-30T02:00:00Z";
    const call = diverted("0001", first);
    const returned = fact("agency_feedback", "0001", {
      body: { outcome: "returned", text: "不属本单位职责", attachments: [] },
      diverted_at: first,
    });
    // Still in the outbox: listed, marked as being returned.
    expect(agencyWork([call], ME, [returned]).map((i) => i.id)).toEqual(["0001"]);
    expect(agencyState(call, [returned], new Set([returned.op_id]))).toBe("returning");
    // The server answered `applied`: the call is back at 110, whatever our stored copy says.
    const taken = { ...returned, delivered: true };
    expect(agencyWork([call], ME, [taken])).toEqual([]);
    // Rejected by the server: still ours.
    expect(agencyWork([call], ME, [taken], new Set([taken.op_id])).map((i) => i.id)).toEqual(["0001"]);
    // The server's own record saying so also drops it (status received, station cleared).
    expect(agencyWork([{ ...call, status: "received", station_id: null, diversion: null }], ME, [])).toEqual([]);
    // Diverted to us again later: the old answer does not count for the new diversion.
    const again = diverted("0001", "2026-11-30T06:00:00Z", { version: 5 });
    expect(agencyWork([again], ME, [taken]).map((i) => i.id)).toEqual(["0001"]);
    expect(agencyState(again, [taken])).toBe("new");
  });

  it("tells facts of the current diversion by the diversion they were made for, or by time", () => {
    const call = diverted("0001", "2026-11-30T02:00:00Z");
    expect(forCurrentDiversion(call, { diverted_at: "2026-11-30T02:00:00.000+00:00" })).toBe(true);
    expect(forCurrentDiversion(call, { diverted_at: "2026-11-29T02:00:00Z", device_time: "2026-11-30T09:00:00Z" })).toBe(false);
    expect(forCurrentDiversion(call, { effective_time: "2026-11-30T02:01:00Z" })).toBe(true); // a colleague's, from the feed
    expect(forCurrentDiversion(call, { effective_time: "2026-11-30T01:59:00Z" })).toBe(false);
  });
});

describe("acknowledgement and feedback as shown", () => {
  const call = diverted("0001", "2026-11-30T02:00:00Z");
  it("acknowledged: here (pending, then sent) or by the server's record", () => {
    expect(acknowledgement(call, [])).toBeNull();
    const ack = fact("ack_dispatch", "0001", { diverted_at: call.diversion.diverted_at });
    expect(acknowledgement(call, [ack], new Set([ack.op_id]))).toMatchObject({ pending: true, at: ack.device_time });
    expect(acknowledgement(call, [ack])).toMatchObject({ pending: false });
    const server = { ...call, diversion: { ...call.diversion, acknowledged_at: "2026-11-30T02:05:00Z" } };
    expect(acknowledgement(server, [])).toEqual({ at: "2026-11-30T02:05:00Z", pending: false, opId: null });
  });

  it("feedback: pending until pushed, sent until the record has it, then the server's diversion.feedback", () => {
    const body = { outcome: "handled", text: "已抢修", attachments: [] };
    const fb = fact("agency_feedback", "0001", { body, diverted_at: call.diversion.diverted_at });
    expect(feedbackView(call, [])).toBeNull();
    expect(feedbackView(call, [fb], { pendingIds: new Set([fb.op_id]) })).toMatchObject({ ...body, state: "pending" });
    expect(feedbackView(call, [fb])).toMatchObject({ ...body, state: "sent" });
    const serverFb = { outcome: "handled", text: "已抢修", attachments: [], at: "2026-11-30T03:00:00Z", person_id: ME.id };
    const recorded = { ...call, diversion: { ...call.diversion, feedback: serverFb } };
    expect(feedbackView(recorded, [fb])).toEqual({ ...serverFb, state: "recorded", opId: null });
    // A rejected answer is no answer: the form comes back.
    expect(feedbackView(call, [fb], { rejectedIds: new Set([fb.op_id]) })).toBeNull();
  });
});

describe("the feedback form's rules", () => {
  it("wants an outcome of the protocol's and some text", () => {
    expect(validateFeedback({ outcome: "handled", text: "已处理" })).toEqual({ ok: true, errors: {} });
    expect(validateFeedback({ outcome: null, text: "" })).toEqual({ ok: false, errors: { outcome: "required", text: "required" } });
    expect(validateFeedback({ outcome: "returned", text: "   \n " })).toEqual({ ok: false, errors: { text: "required" } });
    expect(validateFeedback({ outcome: "closed", text: "x" })).toEqual({ ok: false, errors: { outcome: "required" } });
    for (const outcome of ["handled", "referred", "returned"]) expect(validateFeedback({ outcome, text: "x" }).ok).toBe(true);
  });

  it("builds the body PROTOCOL §10 names, and nothing else", () => {
    expect(agencyFeedbackBody({ outcome: "referred", text: "  已转交住建局  ", attachments: ["a", "b", "a"] }))
      .toEqual({ outcome: "referred", text: "已转交住建局", attachments: ["a", "b"] });
    expect(agencyFeedbackBody({ outcome: "handled", text: "ok" })).toEqual({ outcome: "handled", text: "ok", attachments: [] });
  });

  it("records nothing when the form is invalid", async () => {
    const act = vi.fn();
    const saveBlob = vi.fn();
    await expect(recordFeedback(act, saveBlob, diverted("0001", null), { outcome: "returned", text: " ", photos: [] }))
      .rejects.toThrow(/invalid/);
    expect(act).not.toHaveBeenCalled();
    expect(saveBlob).not.toHaveBeenCalled();
  });
});

/** A §10 server at the edge: logs in an agency person, takes pushes and blobs. */
function scriptedServer() {
  const server = {
    online: true,
    requests: [],
    pushed: [],
    blobs: [],
    async fetch(url, init) {
      if (!server.online) throw new TypeError("Failed to fetch");
      const path = url.split("?")[0];
      server.requests.push(`${init.method} ${path}`);
      const json = (status, body) => new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json" } });
      if (path === "/api/auth/login")
        return json(200, { token: "tok", device_id: "dev-1", person: ME, server_time: new Date().toISOString() });
      if (path === "/api/sync/push") {
        const { ops } = JSON.parse(init.body);
        server.pushed.push(...ops);
        return json(200, {
          server_time: new Date().toISOString(),
          acked_seq: ops.at(-1).seq,
          cursor: "c1",
          results: ops.map((o) => ({ op_id: o.op_id, status: "applied" })),
        });
      }
      if (path.startsWith("/api/blobs/")) {
        server.blobs.push(path.slice("/api/blobs/".length));
        return json(201, {});
      }
      if (path.startsWith("/api/incidents/")) return json(404, { code: "not_found", message: "not found" });
      if (path === "/api/sync/pull") return json(200, { changes: [], cursor: "c1", more: false });
      return json(404, { code: "not_found", message: "no such route" });
    },
  };
  return server;
}

const OP_KEYS = ["base_op_id", "body", "clock_offset_ms", "device_time", "incident_id", "op_id", "record_id", "seq", "type"];

describe("the ops an agency person records, through the device's outbox", () => {
  let db;
  let server;
  let device;
  const call = diverted("0001", "2026-11-30T02:00:00Z");
  beforeEach(async () => {
    vi.stubGlobal("location", { protocol: "http:", host: "phone.test", hash: "" });
    vi.stubGlobal("navigator", { onLine: true });
    vi.stubGlobal("WebSocket", undefined);
    db = await openAppDb(`agency-${Math.random()}`);
    server = scriptedServer();
    device = await openDevice(db, { vault: createVault({ iterations: 1000 }), fetchImpl: server.fetch });
    await device.signIn("agency.hotline", "pw", "phone");
    await device.sync.flush();
    await applyChanges(db, [{ pos: "1", entity: "incident", id: call.id, data: call }], "c0");
  });
  afterEach(() => {
    device.sync?.stop();
    db.close();
    vi.unstubAllGlobals();
  });

  it("queues 签收 and 办理反馈 offline with exact shapes, pushes them in order, then uploads the photos", async () => {
    server.online = false;
    await recordAck(device.act, call);
    const photo = new Blob(["fake photo bytes"], { type: "image/jpeg" });
    const sha = "a".repeat(64);
    await recordFeedback(device.act, device.saveBlob, call, {
      outcome: "handled", text: " 已联系供水公司抢修完毕 ", photos: [{ sha256: sha, file: photo }],
    });
    await device.sync.flush();
    const queued = (await pendingEntries(db)).map((e) => e.op);
    expect(queued.map((o) => o.type)).toEqual(["ack_dispatch", "agency_feedback"]);
    for (const op of queued) {
      expect(Object.keys(op).sort()).toEqual(OP_KEYS);
      expect(op).toMatchObject({ incident_id: "0001", record_id: null, base_op_id: null });
    }
    expect(queued[0].body).toEqual({});
    expect(queued[1].body).toEqual({ outcome: "handled", text: "已联系供水公司抢修完毕", attachments: [sha] });
    expect(queued[1].seq).toBe(queued[0].seq + 1);

    // On screen meanwhile: acknowledged and fed back, both pending.
    let snap = await loadSnapshot(db);
    let view = agencyIncidentView(snap, snap.byId.get("0001"));
    expect(view.ack).toMatchObject({ pending: true });
    expect(view.feedback).toMatchObject({ outcome: "handled", state: "pending", attachments: [sha] });

    server.online = true;
    await device.sync.flush();
    expect(server.pushed.map((o) => o.type)).toEqual(["ack_dispatch", "agency_feedback"]);
    expect(server.pushed[1].body).toEqual({ outcome: "handled", text: "已联系供水公司抢修完毕", attachments: [sha] });
    expect(server.blobs).toEqual([sha]);
    const order = server.requests.filter((r) => r.startsWith("POST /api/sync/push") || r.startsWith("PUT"));
    expect(order.at(-1)).toBe(`PUT /api/blobs/${sha}`); // the file after the op
    snap = await loadSnapshot(db);
    expect(snap.pending).toEqual([]);
    view = agencyIncidentView(snap, snap.byId.get("0001"));
    expect(view.feedback).toMatchObject({ state: "sent" });
  });

  it("a returned call leaves the list once pushed, and leaves the phone when the server says it is out of scope", async () => {
    await recordFeedback(device.act, device.saveBlob, call, { outcome: "returned", text: "属社区职责" });
    await device.sync.flush();
    let snap = await loadSnapshot(db);
    expect(agencyWork(snap.incidents, ME, snap.records, snap.rejectedIds)).toEqual([]);
    await device.fetchIncident("0001"); // 404: not ours any more
    snap = await loadSnapshot(db);
    expect(snap.byId.has("0001")).toBe(false);
    expect(agencyWork(snap.incidents, ME, snap.records, snap.rejectedIds)).toEqual([]);
  });
});

/** Every element of a vnode tree, function components (hookless) expanded. */
function elements(node, out = []) {
  if (node == null || typeof node !== "object") return out;
  if (Array.isArray(node)) {
    for (const n of node) elements(n, out);
    return out;
  }
  if (typeof node.type === "function") return elements(node.type(node.props), out);
  out.push(node);
  elements(node.props?.children, out);
  return out;
}
const testIds = (tree) => new Set(elements(tree).map((e) => e.props?.["data-testid"]).filter(Boolean));
const textOf = (tree) => {
  const parts = [];
  const walk = (n) => {
    if (n == null || typeof n === "boolean") return;
    if (typeof n === "string" || typeof n === "number") return parts.push(String(n));
    if (Array.isArray(n)) return n.forEach(walk);
    if (typeof n.type === "function") return walk(n.type(n.props));
    walk(n.props?.children);
  };
  walk(tree);
  return parts.join("");
};

describe("what an agency person's screens show", () => {
  beforeEach(() => setLang("zh-CN"));
  const call = diverted("0001", "2026-11-30T02:00:00Z");
  const snapOf = (incidents, records = []) => ({
    incidents,
    byId: new Map(incidents.map((i) => [i.id, i])),
    records,
    pending: [],
    rejected: [],
    pendingIds: new Set(),
    rejectedIds: new Set(),
  });
  const form = { outcome: null, text: "", photos: [] };
  const draw = (snap, incident, extra = {}) =>
    AgencyIncidentView({
      incident, view: agencyIncidentView(snap, incident), snap, now: Date.parse("2026-11-30T02:10:00Z"), offset: 0,
      form, errors: {}, busy: false, saved: false, handlers: {}, ...extra,
    });

  it("is the agency's role only", () => {
    expect(isAgency(ME)).toBe(true);
    for (const role of ["officer", "station_chief", "grid_worker", "mediator", "dispatcher"]) expect(isAgency({ role })).toBe(false);
    expect(isAgency(null)).toBe(false);
  });

  it("the incident: instructions, agency clocks, 签收 and the feedback form; no police controls", () => {
    const snap = snapOf([call]);
    const tree = draw(snap, call);
    const ids = testIds(tree);
    for (const id of ["instructions", "agency-ack", "agency-feedback-form", "recorded"]) expect(ids.has(id), id).toBe(true);
    for (const id of ["arrive", "scene-form", "disposition-form", "bodycam-form", "evidence-form", "rating-invite", "rating",
      "new-mediation", "point-checks"]) {
      expect(ids.has(id), id).toBe(false);
    }
    const text = textOf(tree);
    expect(text).toContain("请联系供水公司抢修，并回复处置情况");
    expect(text).toContain("签收时限");
    expect(text).toContain("反馈时限");
    expect(text).not.toContain("到达");
    expect(text).not.toContain("日清"); // the police's clear clock is not the agency's
    for (const words of ["已办结", "已转交", "退回（非本单位职责）"]) expect(text).toContain(words);
    const clocks = elements(tree).filter((e) => e.props?.["data-clock"]).map((e) => e.props["data-clock"]);
    expect(clocks).toEqual(["agency_ack", "agency_feedback"]);
  });

  it("the form says what is missing, and for returned that the call goes back to 110", () => {
    const snap = snapOf([call]);
    const tree = draw(snap, call, { errors: { outcome: "required", text: "required" } });
    expect(testIds(tree).has("error-outcome")).toBe(true);
    expect(textOf(tree)).toContain("请填写反馈内容");
    const returned = draw(snap, call, { form: { ...form, outcome: "returned" }, errors: { text: "required" } });
    expect(testIds(returned).has("returned-hint")).toBe(true);
    expect(textOf(returned)).toContain("请填写退回理由");
    expect(textOf(returned)).toContain("110 接警员");
  });

  it("once fed back, the feedback as recorded replaces the form", () => {
    const serverFb = { outcome: "handled", text: "已抢修完毕", attachments: ["b".repeat(64)], at: "2026-11-30T03:00:00Z", person_id: ME.id };
    const done = { ...call, diversion: { ...call.diversion, acknowledged_at: "2026-11-30T02:05:00Z", feedback: serverFb } };
    const tree = draw(snapOf([done]), done);
    const ids = testIds(tree);
    expect(ids.has("agency-feedback-form")).toBe(false);
    expect(ids.has("agency-feedback")).toBe(true);
    const text = textOf(tree);
    expect(text).toContain("已抢修完毕");
    expect(text).toContain("已记录");
    expect(text).toContain("已附 1 张照片");
    const ack = elements(tree).find((e) => e.props?.["data-testid"] === "agency-ack");
    expect(ack.props["data-acked"]).toBe("yes");
    expect(ack.props.disabled).toBe(true);
  });

  it("the list: 交办事项 with each call's instructions and both agency clocks", () => {
    const snap = snapOf([call, diverted("x", "2026-11-30T05:00:00Z", { station_id: "st-zhujian" })]);
    const tree = AgencyWorkView({ snap, session: { person: ME }, now: Date.parse("2026-11-30T02:10:00Z"), offset: 0 });
    const cards = elements(tree).filter((e) => e.props?.["data-incident"]);
    expect(cards.map((c) => c.props["data-incident"])).toEqual(["0001"]);
    const text = textOf(tree);
    expect(text).toContain("交办事项");
    expect(text).toContain("请联系供水公司抢修");
    expect(text).toContain("待签收");
    expect(text).toContain("签收时限 · 剩余 20:00");
  });

  it("the tabs: 交办事项 and no mediation for an agency; unchanged for the police", () => {
    const agencyTabs = textOf(Nav({ route: "#/", agency: true }));
    expect(agencyTabs).toContain("交办事项");
    expect(agencyTabs).not.toContain("调解");
    const policeTabs = textOf(Nav({ route: "#/" }));
    expect(policeTabs).toContain("我的警情");
    expect(policeTabs).toContain("调解");
  });
});
