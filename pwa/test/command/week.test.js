// Calendar arithmetic for the reports (command/week.js): days, and ISO weeks across year ends.
import { describe, expect, it } from "vitest";
import {
  addDays, beijingDayBounds, dayBefore, isoWeekOf, lastWeekOf, normalWeek, parseWeek, weekMonday, weekRange, weeksInYear,
} from "../../command/week.js";

describe("days", () => {
  it("step across month, year and leap-day ends", () => {
    expect(dayBefore("2026-12-01")).toBe("2026-11-30");
    expect(dayBefore("2027-01-01")).toBe("2026-12-31");
    expect(dayBefore("2028-03-01")).toBe("2028-02-29");
    expect(addDays("2026-12-31", 1)).toBe("2027-01-01");
    expect(addDays("2026-02-30", 1)).toBeNull();
    expect(dayBefore("garbage")).toBeNull();
  });

  it("bound a Beijing-time day in UTC", () => {
    expect(beijingDayBounds("2026-11-20")).toEqual({ since: "2026-11-19T16:00:00.000Z", until: "2026-11-20T16:00:00.000Z" });
    expect(beijingDayBounds("2027-01-01").since).toBe("2026-12-31T16:00:00.000Z");
  });
});

describe("ISO weeks", () => {
  it("name the week of a day, Monday first", () => {
    expect(isoWeekOf("2026-11-30")).toBe("2026-W49"); // a Monday
    expect(isoWeekOf("2026-11-29")).toBe("2026-W48"); // the Sunday before
    expect(isoWeekOf("2026-01-05")).toBe("2026-W02");
  });

  it("give days at a year's end to the week holding its Thursday", () => {
    // 2024-12-30 (Monday) is in 2025's first week; 2021-01-03 (Sunday) in 2020's last.
    expect(isoWeekOf("2024-12-30")).toBe("2025-W01");
    expect(isoWeekOf("2021-01-03")).toBe("2020-W53");
    expect(isoWeekOf("2021-01-04")).toBe("2021-W01");
    // 2026 starts on a Thursday: 53 weeks, and 1 January 2027 (Friday) is still in 2026-W53.
    expect(isoWeekOf("2026-01-01")).toBe("2026-W01");
    expect(isoWeekOf("2026-12-31")).toBe("2026-W53");
    expect(isoWeekOf("2027-01-03")).toBe("2026-W53");
    expect(isoWeekOf("2027-01-04")).toBe("2027-W01");
    expect(isoWeekOf("2027-12-31")).toBe("2027-W52");
  });

  it("know which years have 53 weeks", () => {
    expect(weeksInYear(2020)).toBe(53);
    expect(weeksInYear(2026)).toBe(53);
    expect(weeksInYear(2025)).toBe(52);
    expect(weeksInYear(2027)).toBe(52);
    expect(weeksInYear(2032)).toBe(53); // a leap year starting on a Thursday
  });

  it("check a week as the server does", () => {
    expect(parseWeek("2026-W49")).toEqual({ year: 2026, week: 49 });
    expect(normalWeek(" 2026-w05 ")).toBe("2026-W05");
    expect(parseWeek("2026-W53")).not.toBeNull();
    for (const bad of ["2025-W53", "2026-W00", "2026-W54", "2026-49", "2026-W5", "1969-W10", "2101-W01", "", null]) {
      expect(parseWeek(bad)).toBeNull();
    }
  });

  it("start on the Monday and end on the Sunday", () => {
    expect(weekMonday("2026-W49")).toBe("2026-11-30");
    expect(weekMonday("2025-W01")).toBe("2024-12-30");
    expect(weekMonday("2026-W53")).toBe("2026-12-28");
    expect(weekMonday("2026-W01")).toBe("2025-12-29");
    expect(weekRange("2020-W53")).toEqual(["2020-12-28", "2021-01-03"]);
    expect(weekRange("2025-W53")).toBeNull();
    // Round trip: every Monday of several years names its own week.
    for (let d = "2019-12-30"; d < "2028-01-10"; d = addDays(d, 7)) expect(weekMonday(isoWeekOf(d))).toBe(d);
  });

  it("find last week", () => {
    expect(lastWeekOf("2026-11-30")).toBe("2026-W48");
    expect(lastWeekOf("2027-01-04")).toBe("2026-W53");
  });
});
