import { describe, expect, it } from "vitest";
import { formatDuration } from "../../core/format.js";

describe("durations", () => {
  it("reads m:ss below an hour and h:mm:ss above, by size when negative (overdue)", () => {
    expect(formatDuration(65_000)).toBe("1:05");
    expect(formatDuration(-65_999)).toBe("1:05");
    expect(formatDuration(0)).toBe("0:00");
    expect(formatDuration(-3_725_000)).toBe("1:02:05");
    expect(formatDuration(36_000_000)).toBe("10:00:00");
  });

  it("pads the minutes for the field app's countdowns", () => {
    expect(formatDuration(65_000, { padMinutes: true })).toBe("01:05");
    expect(formatDuration(-3_725_000, { padMinutes: true })).toBe("1:02:05");
  });
});
