// Small formatting both front ends need.

/**
 * A duration's size as "m:ss" (or "mm:ss" with padMinutes), "h:mm:ss" from an hour up;
 * negative durations (overdue) are shown by their size.
 */
export function formatDuration(ms, { padMinutes = false } = {}) {
  const total = Math.max(0, Math.floor(Math.abs(ms) / 1000));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const pad = (x) => String(x).padStart(2, "0");
  if (h > 0) return `${h}:${pad(m)}:${pad(total % 60)}`;
  return `${padMinutes ? pad(m) : m}:${pad(total % 60)}`;
}
