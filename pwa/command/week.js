// Calendar arithmetic for the reports' periods, on plain dates (YYYY-MM-DD, a Beijing-time
// calendar day as the report parameters mean it): days before and after, and ISO weeks
// (PROTOCOL §11 日结周评: `week=YYYY-Www`, Monday first; week 1 is the week holding the
// year's first Thursday, so 2026-12-31 may lie in 2026-W53 and 2027-01-01 too, while
// 2024-12-30 lies in 2025-W01). Dates are handled as UTC midnights so no desk's time zone
// or daylight saving can shift a day.

const DAY_MS = 86_400_000;

function toUtc(day) {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(day || "");
  if (!m) return null;
  const ms = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]));
  const d = new Date(ms);
  // 2026-02-30 is not a day: Date.UTC would quietly roll it into March.
  if (d.getUTCFullYear() !== Number(m[1]) || d.getUTCMonth() !== Number(m[2]) - 1 || d.getUTCDate() !== Number(m[3])) return null;
  return ms;
}

const fromUtc = (ms) => new Date(ms).toISOString().slice(0, 10);

/** `day` moved by `n` days (negative: back); null for a day that is not one. */
export function addDays(day, n) {
  const ms = toUtc(day);
  return ms === null ? null : fromUtc(ms + n * DAY_MS);
}

/** The day before `day`: the meeting's default (yesterday) from today. */
export const dayBefore = (day) => addDays(day, -1);

/** The ISO week a day lies in, as "YYYY-Www" (the year is the week's, not always the day's). */
export function isoWeekOf(day) {
  const ms = toUtc(day);
  if (ms === null) return null;
  const weekday = (new Date(ms).getUTCDay() + 6) % 7; // Monday 0 … Sunday 6
  const thursday = ms + (3 - weekday) * DAY_MS; // the week's Thursday names its year
  const year = new Date(thursday).getUTCFullYear();
  const week = 1 + Math.floor((thursday - Date.UTC(year, 0, 1)) / (7 * DAY_MS));
  return `${year}-W${String(week).padStart(2, "0")}`;
}

/** How many ISO weeks a year has: 53 when 28 December (always in its last week) is in W53. */
export function weeksInYear(year) {
  return Number(isoWeekOf(`${String(year).padStart(4, "0")}-12-28`).slice(-2));
}

/**
 * A week parameter checked as the server checks it (400 `invalid_date` otherwise):
 * "YYYY-Www", W01 up to the year's last week, year 1970–2100. Returns {year, week} or null.
 * A lower-case "w" is accepted (the desk may type it) and means the same.
 */
export function parseWeek(text) {
  const m = /^(\d{4})-[Ww](\d{2})$/.exec(String(text ?? "").trim());
  if (!m) return null;
  const year = Number(m[1]);
  const week = Number(m[2]);
  if (year < 1970 || year > 2100 || week < 1 || week > weeksInYear(year)) return null;
  return { year, week };
}

/** A week in the server's spelling ("2026-W05"), or null when it is not a week. */
export function normalWeek(text) {
  const w = parseWeek(text);
  return w ? `${w.year}-W${String(w.week).padStart(2, "0")}` : null;
}

/** The Monday a week starts on (YYYY-MM-DD), or null. */
export function weekMonday(text) {
  const w = parseWeek(text);
  if (!w) return null;
  // 4 January is always in week 1; its Monday starts week 1.
  const jan4 = Date.UTC(w.year, 0, 4);
  const monday1 = jan4 - ((new Date(jan4).getUTCDay() + 6) % 7) * DAY_MS;
  return fromUtc(monday1 + (w.week - 1) * 7 * DAY_MS);
}

/** A week's days, Monday to Sunday: [first, last] (YYYY-MM-DD), or null. */
export function weekRange(text) {
  const monday = weekMonday(text);
  return monday ? [monday, addDays(monday, 6)] : null;
}

/** The week before the one holding `day` (the weekly review reads last week by default). */
export const lastWeekOf = (day) => isoWeekOf(addDays(day, -7));

/**
 * A Beijing-time calendar day's bounds as UTC instants (RFC 3339): 2026-11-20 runs from
 * 2026-11-19T16:00:00Z to 2026-11-20T16:00:00Z (China keeps no daylight saving).
 */
export function beijingDayBounds(day) {
  const ms = toUtc(day);
  if (ms === null) return null;
  const start = ms - 8 * 3_600_000;
  return { since: new Date(start).toISOString(), until: new Date(start + DAY_MS).toISOString() };
}
