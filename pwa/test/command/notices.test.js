// Notices (通报) and rectification (整改), PROTOCOL §11, in the command view
// (command/notices.js): numbers typed, resolved to ids, the form's checks and body, the
// stations' states as shown (owed, done, done late, overdue), the feed's `notice` changes.
import { beforeEach, describe, expect, it } from "vitest";
import { ApiError } from "../../core/index.js";
import { setLang } from "../../command/i18n.js";
import {
  noticeBody,
  noticeErrorText,
  noticeProblems,
  notices,
  noticesChanged,
  noticesShown,
  resetNotices,
  resolveNumbers,
  splitNumbers,
  stationState,
} from "../../command/notices.js";

const NOW = Date.parse("2026-11-30T02:00:00Z");

beforeEach(() => {
  setLang("zh-CN");
  resetNotices();
});

describe("the notice form", () => {
  it("splits incident numbers on commas, 、, spaces and new lines, each once", () => {
    expect(splitNumbers(" J1, J2，J3、J1\nJ4 ;J5")).toEqual(["J1", "J2", "J3", "J4", "J5"]);
    expect(splitNumbers("")).toEqual([]);
    expect(splitNumbers(undefined)).toEqual([]);
  });

  it("resolves numbers to ids and names the unknown ones", () => {
    const known = [{ id: "a", number: "J1" }, { id: "b", number: "J2" }];
    expect(resolveNumbers(["J2", "J1", "J9"], known)).toEqual({ ids: ["b", "a"], unknown: ["J9"] });
  });

  it("asks for a kind, a station, the text, and a rectification time in the future", () => {
    const ok = { kind: "criticism", station_ids: ["s1"], text: "x" };
    expect(noticeProblems(ok, NOW)).toEqual([]);
    expect(noticeProblems({ ...ok, station_ids: "s1" }, NOW)).toEqual([]); // one box ticked
    expect(noticeProblems({ kind: "praise", text: " " }, NOW)).toEqual(["kind", "stations", "text"]);
    expect(noticeProblems({ ...ok, rectify_by: "2026-11-30T09:00" }, NOW)).toEqual(["rectify_by"]);
    expect(noticeProblems({ ...ok, rectify_by: "2026-12-01T09:00" }, NOW)).toEqual([]);
  });

  it("sends the stations once each, the incidents' ids, and rectify_by only when given", () => {
    expect(noticeBody({ kind: "briefing", station_ids: ["s1", "s2", "s1"], text: " 情况 " }, ["i1"])).toEqual({
      kind: "briefing",
      station_ids: ["s1", "s2"],
      incident_ids: ["i1"],
      text: "情况",
    });
    expect(noticeBody({ kind: "criticism", station_ids: "s1", text: "x", rectify_by: "2026-12-01T18:00" })).toEqual({
      kind: "criticism",
      station_ids: ["s1"],
      incident_ids: [],
      text: "x",
      rectify_by: "2026-12-01T18:00:00+08:00",
    });
  });

  it("words the server's refusals", () => {
    expect(noticeErrorText(new ApiError(422, "unknown_station", ""))).toBe("所选单位不属于本局");
    expect(noticeErrorText(new ApiError(422, "unknown_incident", ""))).toBe("所填警情不属于本局");
    expect(noticeErrorText(new ApiError(422, "invalid_time", ""))).toContain("整改期限");
    expect(noticeErrorText(new ApiError(403, "forbidden", ""))).toContain("仅督察或管理员");
  });
});

describe("the stations' rectification", () => {
  const notice = { id: "n1", rectify_by: "2026-11-30T04:00:00Z" };

  it("reads owed with the time left, overdue in words past it", () => {
    expect(stationState(notice, { state: "owed" }, NOW)).toEqual({ state: "owed", late: false, text: "待整改 · 剩余 2:00:00" });
    const past = stationState(notice, { state: "owed" }, Date.parse("2026-11-30T04:00:30Z"));
    expect(past.state).toBe("overdue");
    expect(past.text).toBe("⚠ 整改超期 0:30");
    expect(stationState(notice, { state: "overdue" }, NOW).state).toBe("overdue");
  });

  it("reads done, and says when it came late", () => {
    const done = stationState(notice, { state: "done", done_at: "2026-11-30T03:00:00Z" }, NOW);
    expect(done).toMatchObject({ state: "done", late: false });
    expect(done.text).toBe("✓ 已整改 11/30 11:00:00");
    const late = stationState(notice, { state: "done", done_at: "2026-11-30T05:00:00Z" }, NOW);
    expect(late).toMatchObject({ state: "done", late: true });
    expect(late.text).toContain("逾期完成");
  });

  it("asks nothing of a notice without rectify_by", () => {
    expect(stationState({ id: "n2", rectify_by: null }, { state: null }, NOW)).toMatchObject({ state: "none", text: "无需整改" });
  });
});

describe("the list", () => {
  it("keeps one copy per notice (the feed sends one per station), newest first", () => {
    const a = { id: "a", issued_at: "2026-11-30T01:00:00Z", stations: [{ station_id: "s1", state: "owed" }] };
    const b = { id: "b", issued_at: "2026-11-30T02:00:00Z", stations: [] };
    noticesChanged([
      { entity: "notice", id: "a", data: a },
      { entity: "notice", id: "a", data: a },
      { entity: "notice", id: "b", data: b },
    ]);
    expect(notices.size).toBe(2);
    noticesChanged([{ entity: "notice", id: "a", data: { ...a, stations: [{ station_id: "s1", state: "done" }] } }]);
    expect(notices.get("a").stations[0].state).toBe("done");
    expect(noticesShown(notices.values()).map((n) => n.id)).toEqual(["b", "a"]);
    expect(noticesChanged([{ entity: "incident", data: { id: "x" } }])).toBe(false);
  });
});
