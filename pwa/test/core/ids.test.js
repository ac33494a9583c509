import { describe, expect, it } from "vitest";
import { newId } from "../../core/ids.js";

// 2026-12-03T08:30:00.123Z: 1,796,286,600,123 ms since the epoch (the same instant as
// tests/sync/test_ids.py), 0x01a23b0653bb in hex.
const NOW_MS = Date.UTC(2026, 11, 3, 8, 30, 0, 123);

describe("op ids", () => {
  it("are UUIDs version 7 whose first 48 bits are the millisecond they were made", () => {
    const id = newId(NOW_MS);
    expect(NOW_MS).toBe(1_796_286_600_123);
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(id.slice(0, 13)).toBe("01a23b06-53bb");
  });

  it("sort by the time they were made, as text", () => {
    const made = [0, 1, 255, 256, 65_536, NOW_MS - 1, NOW_MS, NOW_MS + 1, 2 ** 48 - 1].map((ms) =>
      newId(ms),
    );
    expect([...made].sort()).toEqual(made);
  });

  it("differ within one millisecond", () => {
    const made = new Set(Array.from({ length: 10_000 }, () => newId(NOW_MS)));
    expect(made.size).toBe(10_000);
  });
});
