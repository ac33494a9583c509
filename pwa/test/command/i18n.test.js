// The command view's words (command/i18n.js): interface text, the shared labels, Beijing time.
import { afterEach, describe, expect, it } from "vitest";
import { currentLang, formatTime, label, setLang, t } from "../../command/i18n.js";

afterEach(() => setLang("zh-CN"));

describe("the command view's words", () => {
  it("are Chinese by default and English on request", () => {
    expect(currentLang()).toBe("zh-CN");
    expect(t("nav_board")).toBe("警情看板");
    expect(t("signed_in_as", { name: "张伟", role: label("role", "dispatcher") })).toBe("张伟（接警员）");
    setLang("en");
    expect(t("nav_board")).toBe("Board");
    expect(t("show_more", { n: 200, rest: 350 })).toBe("Show 200 more (350 not shown)");
    expect(label("review", "missing_evidence")).toBe("missing evidence");
  });

  it("take the domain's words from the shared core", () => {
    expect(label("status", "received")).toBe("待派警");
    expect(label("clock", "arrival")).toBe("到场");
    expect(label("flag", "clock_suspect")).toBe("时间可疑");
    expect(label("event", "bodycam_reviewed")).toBe("视频已查看");
  });

  it("show times in Beijing time, to the second", () => {
    expect(formatTime("2026-11-27T16:03:04Z")).toBe("11/28 00:03:04");
    expect(formatTime("2026-11-27T16:03:04Z", { date: false })).toBe("00:03:04");
    expect(formatTime(null)).toBe("—");
    expect(formatTime("garbage")).toBe("garbage");
  });
});
