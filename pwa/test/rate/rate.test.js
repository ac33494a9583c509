// The citizen's rating page (pwa/rate/rate.js): its routing, normalising, the verdict it
// sends, what each answer shows, and that both languages say everything.
import { describe, expect, it } from "vitest";
import { LABELS } from "../../core/labels.js";
import { CATEGORIES } from "../../core/protocol.js";
import {
  CHOICES, DIMENSIONS, TEXT, contextLine, formatDay, loaded, missing, normalizeLast4, normalizeNumber,
  noticeText, outcome, retryMinutes, route, verdictBody, view,
} from "../../rate/rate.js";

const TOKEN = "ab".repeat(32);
const ALL = { reception: "satisfied", timeliness: "basically_satisfied", conduct: "satisfied", handling: "unsatisfied", overall: "basically_satisfied" };

function state(extra) {
  return Object.assign({
    lang: "zh-CN", kind: "token", token: TOKEN, screen: "form", info: null,
    choices: {}, comment: "", number: "", last4: "", notice: null, busy: false,
  }, extra);
}

describe("route", () => {
  it("reads a token or a station code from the path", () => {
    expect(route(`/rate/${TOKEN}`)).toEqual({ kind: "token", token: TOKEN });
    expect(route("/rate/s/CG01")).toEqual({ kind: "station", code: "CG01" });
    expect(route("/rate/s/%E5%9F%8E%E5%85%B3/")).toEqual({ kind: "station", code: "城关" });
  });

  it("refuses a token of any other shape (PROTOCOL §9: 32-256 lowercase hex)", () => {
    for (const bad of ["a".repeat(31), "A".repeat(64), "g".repeat(64), "a".repeat(257), "", "s"]) {
      expect(route(`/rate/${bad}`).kind, bad).toBe("invalid");
    }
    expect(route(`/rate/${"a".repeat(32)}`).kind).toBe("token");
    expect(route(`/rate/${"a".repeat(256)}`).kind).toBe("token");
    expect(route("/rate/s/%E5%9F").kind).toBe("invalid");
    expect(route("/other/x").kind).toBe("invalid");
  });
});

describe("what the citizen types", () => {
  it("writes an incident number in upper case without spaces", () => {
    expect(normalizeNumber(" j2026 1130-0001 ")).toBe("J20261130-0001");
    expect(normalizeNumber("ｊ２０２６１１３０－０００１")).toBe("J20261130-0001");
    expect(normalizeNumber("J20261130\u30000001")).toBe("J202611300001");
  });

  it("keeps four digits of the phone", () => {
    expect(normalizeLast4("12 34")).toBe("1234");
    expect(normalizeLast4("１２３４５")).toBe("1234");
    expect(normalizeLast4("ab")).toBe("");
  });
});

describe("the context line", () => {
  it("shows the station, the day and the category in Chinese, nothing else", () => {
    const info = { station: "城关派出所", category: "dispute", received_on: "2026-11-30", state: "open" };
    expect(contextLine(info, "zh-CN")).toBe("城关派出所 · 11月30日 · 纠纷");
    expect(contextLine(info, "en")).toBe("城关派出所 · 30 Nov · dispute");
    expect(formatDay("2026-01-05T08:00:00+08:00", "zh-CN")).toBe("1月5日");
    expect(contextLine({ station: null, category: null, received_on: null, state: "awaiting" }, "zh-CN")).toBe("");
  });

  it("names every category as the shared labels do", () => {
    for (const lang of ["zh-CN", "en"]) {
      for (const category of CATEGORIES) {
        expect(TEXT[lang].category[category], `${lang} ${category}`).toBe(LABELS[lang].category[category]);
      }
    }
    expect(TEXT["zh-CN"].category).toMatchObject({
      criminal: "刑事", public_order: "治安", dispute: "纠纷", help: "求助", traffic: "交通", non_police: "非警务", other: "其他",
    });
  });
});

describe("the form", () => {
  it("says what is missing, in order, until all five are chosen", () => {
    expect(missing(state({}), "zh-CN")).toEqual(["接警态度", "出警时间", "警容风纪", "现场处理", "总体评价"]);
    expect(missing(state({ choices: { reception: "satisfied", overall: "unsatisfied" } }), "zh-CN"))
      .toEqual(["出警时间", "警容风纪", "现场处理"]);
    expect(missing(state({ choices: ALL }), "zh-CN")).toEqual([]);
  });

  it("on the poster also needs the number and four digits", () => {
    const poster = state({ kind: "station", code: "CG01", choices: ALL });
    expect(missing(poster, "zh-CN")).toEqual(["警情编号", "电话后四位（4位数字）"]);
    expect(missing(Object.assign(poster, { number: "j1", last4: "123" }), "zh-CN")).toEqual(["电话后四位（4位数字）"]);
    expect(missing(Object.assign(poster, { last4: "1234" }), "zh-CN")).toEqual([]);
  });

  it("sends the verdict of PROTOCOL §9, and the poster's number and digits", () => {
    expect(verdictBody(state({ choices: ALL }))).toEqual({
      ratings: { reception: "satisfied", timeliness: "basically_satisfied", conduct: "satisfied", handling: "unsatisfied" },
      overall: "basically_satisfied",
    });
    expect(verdictBody(state({ choices: ALL, comment: "  很及时 " })).comment).toBe("很及时");
    expect(verdictBody(state({ choices: ALL, comment: "x".repeat(600) })).comment).toHaveLength(500);
    const poster = verdictBody(state({ kind: "station", choices: ALL, number: " j20261130-0001", last4: "1234" }));
    expect(poster.incident_number).toBe("J20261130-0001");
    expect(poster.phone_last4).toBe("1234");
    expect(poster.overall).toBe("basically_satisfied");
  });

  it("draws five groups of three choices, the chosen one checked, values escaped", () => {
    const html = view(state({ choices: { reception: "unsatisfied" }, comment: "<b>", info: { station: "<i>所", category: "help", received_on: "2026-11-30", state: "open" } }));
    expect(html.match(/<fieldset/g)).toHaveLength(5);
    expect(html.match(/type="radio"/g)).toHaveLength(15);
    expect(html).toContain('name="reception" value="unsatisfied" checked');
    expect(html).toContain("&lt;i&gt;所 · 11月30日 · 求助");
    expect(html).toContain("&lt;b&gt;</textarea>");
    expect(html).not.toContain("<b>");
    const poster = view(state({ kind: "station" }));
    expect(poster).toContain('placeholder="J20261130-0001"');
    expect(poster).toContain('inputmode="numeric"');
    expect(DIMENSIONS).toHaveLength(4);
    expect(CHOICES).toEqual(["satisfied", "basically_satisfied", "unsatisfied"]);
  });
});

describe("answers", () => {
  it("shows the form for open and awaiting tokens, a message for the rest", () => {
    expect(loaded({ status: 200, body: { state: "open" } }).screen).toBe("form");
    expect(loaded({ status: 200, body: { state: "awaiting", station: null } }).screen).toBe("form");
    expect(loaded({ status: 200, body: { state: "rated" } }).screen).toBe("rated");
    expect(loaded({ status: 200, body: { state: "expired" } }).screen).toBe("expired");
    expect(loaded({ status: 400, body: { code: "invalid_token" } }).screen).toBe("invalid");
    expect(loaded({ status: 0, body: null }).screen).toBe("loadFailed");
    expect(loaded({ status: 500, body: null }).screen).toBe("loadFailed");
  });

  it("maps every answer of the POST to a screen or a notice", () => {
    expect(outcome({ status: 201, body: {} })).toEqual({ screen: "thanks" });
    expect(outcome({ status: 202, body: { state: "awaiting" } })).toEqual({ screen: "awaiting" });
    expect(outcome({ status: 409, body: { code: "already_rated" } })).toEqual({ screen: "rated" });
    expect(outcome({ status: 410, body: { code: "expired" } })).toEqual({ screen: "expired" });
    expect(outcome({ status: 400, body: { code: "invalid_token" } })).toEqual({ screen: "invalid" });
    expect(outcome({ status: 404, body: { code: "no_such_incident" } })).toEqual({ notice: "notFound" });
    expect(outcome({ status: 429, body: {}, retryAfter: "1500" })).toEqual({ notice: "limited", minutes: 25 });
    expect(outcome({ status: 0, body: null })).toEqual({ notice: "network" });
    expect(outcome({ status: 503, body: null })).toEqual({ notice: "server" });
  });

  it("words the notices and screens as PROTOCOL §9's page must", () => {
    expect(noticeText({ notice: "limited", minutes: 25 }, "zh-CN")).toBe("操作太频繁，请稍后再试（约 25 分钟后）");
    expect(noticeText({ notice: "limited", minutes: null }, "zh-CN")).toBe("操作太频繁，请稍后再试");
    expect(noticeText({ notice: "notFound" }, "zh-CN")).toBe("未找到该警情，请核对编号和电话后四位");
    expect(view(state({ screen: "thanks" }))).toContain("感谢您的评价！");
    expect(view(state({ screen: "awaiting" }))).toContain("民警的手机同步后");
    expect(view(state({ screen: "rated" }))).toContain("本次处警已评价过，感谢您的关注");
    expect(view(state({ screen: "expired" }))).toContain("评价链接已过期（7天有效）");
    expect(view(state({ screen: "invalid" }))).toContain("链接无效");
  });

  it("reads Retry-After in seconds or as a date, in whole minutes", () => {
    expect(retryMinutes("1")).toBe(1);
    expect(retryMinutes("3600")).toBe(60);
    expect(retryMinutes(null)).toBe(null);
    expect(retryMinutes("Mon, 30 Nov 2026 10:00:00 GMT", Date.parse("2026-11-30T09:58:30Z"))).toBe(2);
  });
});

describe("the two languages", () => {
  it("say every message, Chinese first", () => {
    expect(Object.keys(TEXT)).toEqual(["zh-CN", "en"]);
    const flat = (o, prefix) => Object.entries(o).flatMap(([k, v]) => (typeof v === "object" ? flat(v, `${prefix}${k}.`) : [`${prefix}${k}`]));
    expect(flat(TEXT.en, "").sort()).toEqual(flat(TEXT["zh-CN"], "").sort());
    for (const key of flat(TEXT["zh-CN"], "")) {
      const value = key.split(".").reduce((o, k) => o[k], TEXT["zh-CN"]);
      expect(value.trim().length, key).toBeGreaterThan(0);
    }
  });
});
