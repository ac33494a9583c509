import { describe, expect, it } from "vitest";
import { fullJitter } from "../../core/backoff.js";

describe("full jitter", () => {
  it("grows with the attempt and stays under the cap", () => {
    expect(fullJitter(0, { random: () => 0.999 })).toBeLessThan(1000);
    expect(fullJitter(3, { random: () => 0.999 })).toBeLessThan(8000);
    expect(fullJitter(3, { random: () => 0.999 })).toBeGreaterThan(7000);
    expect(fullJitter(30, { random: () => 0.999 })).toBeLessThan(60000);
    expect(fullJitter(30, { random: () => 0.999 })).toBeGreaterThan(59000);
  });

  it("can wait not at all, in whole milliseconds", () => {
    expect(fullJitter(5, { random: () => 0 })).toBe(0);
    expect(Number.isInteger(fullJitter(2, { random: () => 0.123456 }))).toBe(true);
  });

  it("takes its base and cap from the caller (the command view's socket: 0.5 s, 15 s)", () => {
    const desk = { baseMs: 500, capMs: 15_000, random: () => 0.5 };
    expect(fullJitter(0, desk)).toBe(250);
    expect(fullJitter(3, desk)).toBe(2000);
    expect(fullJitter(10, desk)).toBe(7500);
  });

  it("spreads the waits over the whole window (random, not fixed)", () => {
    const waits = Array.from({ length: 200 }, () => fullJitter(4, { baseMs: 1000, capMs: 60000 }));
    expect(Math.min(...waits)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...waits)).toBeLessThan(16000);
    expect(new Set(waits).size).toBeGreaterThan(100);
  });
});
