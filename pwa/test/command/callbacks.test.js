// The callback desk's logic (command/callbacks.js, PROTOCOL §9): the order it works the due
// list in, the due time counting on the server's clock, the bodies it posts, its errors,
// and when live changes call for the lists again.
import { beforeEach, describe, expect, it } from "vitest";
import { ApiError } from "../../core/index.js";
import {
  attemptBody, attemptsOf, callbackErrorText, callbacksPath, dueText, formatSpan, newestClosedFirst, oldestDueFirst,
  refreshNeeded, taskRowHtml, verdictBody, verdictProblems,
} from "../../command/callbacks.js";
import { setLang } from "../../command/i18n.js";
import { store } from "../../command/store.js";

const T0 = Date.parse("2026-11-30T02:00:00Z");
const at = (hours) => new Date(T0 + hours * 3_600_000).toISOString();
const task = (number, dueHours, closedHours = dueHours - 72, extra = {}) => ({
  incident_id: `id-${number}`, number, station_id: "s1", category: "dispute",
  closed_at: at(closedHours), due_at: at(dueHours), caller_phone: "13900001111", state: "due", attempts: [], ...extra,
});
const numbers = (tasks) => tasks.map((x) => x.number);

beforeEach(() => {
  setLang("zh-CN");
  store.stationsById = new Map([["s1", { id: "s1", name: "城关派出所" }]]);
  store.people = new Map([["p1", { id: "p1", name: "王丽" }]]);
});

describe("the due list", () => {
  it("is worked oldest due first, then closed first, then by number; a task without a due time last", () => {
    const tasks = [
      task("J004", 30), task("J001", -5), task("J003", 10, -70), task("J002", 10, -65),
      { ...task("J000", 0), due_at: null }, task("J005", 10, -70),
    ];
    expect(numbers(oldestDueFirst(tasks))).toEqual(["J001", "J003", "J005", "J002", "J004", "J000"]);
    // The list given is left as it was.
    expect(tasks[0].number).toBe("J004");
  });

  it("done and unreachable lists show the latest closed first", () => {
    expect(numbers(newestClosedFirst([task("A", 1, -10), task("B", 1, -2), task("C", 1, -30)]))).toEqual(["B", "A", "C"]);
  });

  it("asks for a state, for the bureau or one station", () => {
    expect(callbacksPath("due")).toBe("/api/callbacks?state=due");
    expect(callbacksPath("unreachable", "s 1")).toBe("/api/callbacks?state=unreachable&station_id=s%201");
  });
});

describe("the due time", () => {
  it("counts down while time is left, in days from a day up", () => {
    expect(dueText(at(72), T0)).toEqual({ overdue: false, text: "剩余 3天 00:00:00" });
    expect(dueText(at(25.5), T0).text).toBe("剩余 1天 01:30:00");
    expect(dueText(at(2), T0 + 1000).text).toBe("剩余 1:59:59");
    expect(dueText(at(0.25), T0).text).toBe("剩余 15:00");
    expect(dueText(at(0), T0)).toEqual({ overdue: false, text: "剩余 0:00" });
  });

  it("says overdue in words once the due time has passed, counting up", () => {
    expect(dueText(at(0), T0 + 1000)).toEqual({ overdue: true, text: "⚠ 超时 0:01" });
    expect(dueText(at(-26), T0)).toEqual({ overdue: true, text: "⚠ 超时 1天 02:00:00" });
    expect(dueText(null, T0)).toEqual({ overdue: false, text: "—" });
  });

  it("reads in English too", () => {
    setLang("en");
    expect(dueText(at(49), T0).text).toBe("2d 01:00:00 left");
    expect(dueText(at(-1), T0).text).toBe("⚠ Overdue 1:00:00");
    expect(formatSpan(-59_000)).toBe("0:59");
  });
});

describe("the bodies posted", () => {
  const full = {
    reception: "satisfied", timeliness: "basically_satisfied", conduct: "satisfied", handling: "unsatisfied",
    overall: "basically_satisfied", comment: "  出警快，但处理不够细致  ",
  };

  it("an unanswered call is reached: false, nothing else", () => {
    expect(attemptBody()).toEqual({ reached: false });
  });

  it("a call answered carries the four dimensions, the overall verdict and the comment trimmed", () => {
    expect(verdictBody(full)).toEqual({
      reached: true,
      ratings: { reception: "satisfied", timeliness: "basically_satisfied", conduct: "satisfied", handling: "unsatisfied" },
      overall: "basically_satisfied",
      comment: "出警快，但处理不够细致",
    });
    const { comment: _c, ...silent } = full;
    expect(verdictBody(silent)).not.toHaveProperty("comment");
    expect(verdictBody({ ...silent, comment: "   " })).not.toHaveProperty("comment");
  });

  it("names what is missing or too long before anything is sent", () => {
    expect(verdictProblems(full)).toEqual([]);
    expect(verdictProblems({ reception: "satisfied", overall: "great" })).toEqual(["timeliness", "conduct", "handling", "overall"]);
    expect(verdictProblems({ ...full, comment: "好".repeat(500) })).toEqual([]);
    expect(verdictProblems({ ...full, comment: "好".repeat(501) })).toEqual(["comment"]);
  });
});

describe("errors and attempts", () => {
  it("word the protocol's two 409s plainly", () => {
    expect(callbackErrorText(new ApiError(409, "already_rated", "incident already rated"))).toBe("该警情已有评价（扫码或回访）");
    expect(callbackErrorText(new ApiError(409, "not_closed", "incident is not closed"))).toBe("该警情尚未办结，不能回访");
    expect(callbackErrorText(new ApiError(422, "invalid", "overall: bad value"))).toBe("overall: bad value");
  });

  it("tell unanswered calls from the one that reached the caller", () => {
    const attempts = [
      { at: at(-3), reached: false, by: "p1" }, { at: at(-2), reached: false, by: "p1" }, { at: at(-1), reached: true, by: "p1" },
    ];
    const { unanswered, reached } = attemptsOf({ attempts });
    expect(unanswered).toHaveLength(2);
    expect(reached.at).toBe(at(-1));
    expect(attemptsOf({})).toEqual({ unanswered: [], reached: null });
  });
});

describe("rows", () => {
  it("a due row: the number opens the incident, the phone has its copy button, the attempts so far, both acts", () => {
    const html = taskRowHtml(task("J20261130-0001", 5, -67, { attempts: [{ at: at(-1), reached: false, by: "p1" }] }), "due");
    expect(html).toContain('data-cb-open="id-J20261130-0001"');
    expect(html).toContain('data-copy="13900001111"');
    expect(html).toContain("城关派出所");
    expect(html).toContain("纠纷");
    expect(html).toContain("未接通 1 次");
    expect(html).toContain("王丽");
    expect(html).toContain('data-unanswered="id-J20261130-0001"');
    expect(html).toContain('data-record="id-J20261130-0001"');
    expect(html).toContain(`data-due="${at(5)}"`);
  });

  it("a done row says how it was done; every server value is escaped", () => {
    const byCall = taskRowHtml(task("J1", 5, -67, { state: "done", attempts: [{ at: at(-1), reached: true, by: "p1" }] }), "done");
    expect(byCall).toContain("电话回访");
    expect(byCall).not.toContain("data-record");
    const byCitizen = taskRowHtml(task("<b>J2</b>", 5, -67, { state: "done" }), "done");
    expect(byCitizen).toContain("群众已自行评价");
    expect(byCitizen).toContain("&lt;b&gt;J2&lt;/b&gt;");
    expect(byCitizen).not.toContain("<b>J2");
  });
});

describe("live changes", () => {
  const listed = new Set(["i1"]);

  it("load the lists again when a listed incident changes or any incident closes", () => {
    // A QR verdict on a listed incident: its `feedback` changed, its task is done now.
    expect(refreshNeeded([{ entity: "incident", data: { id: "i1", status: "closed", feedback: [{}] } }], listed)).toBe(true);
    // A close elsewhere may open a task.
    expect(refreshNeeded([{ entity: "incident", data: { id: "i2", status: "closed" } }], listed)).toBe(true);
  });

  it("leave them alone for open incidents, events and review items", () => {
    expect(refreshNeeded([
      { entity: "incident", data: { id: "i3", status: "dispatched" } },
      { entity: "event", data: { incident_id: "i1" } },
      { entity: "review", data: { incident_id: "i1", kind: "citizen_unsatisfied" } },
    ], listed)).toBe(false);
    expect(refreshNeeded([], listed)).toBe(false);
  });
});
