// Retry delays with full jitter: a random wait in [0, min(cap, base · 2^attempt)), so many
// clients coming back after the same outage do not retry in step (AWS Architecture Blog,
// "Exponential Backoff And Jitter"). The field app's outbox and socket and the command
// view's socket all wait this way, each with its own base and cap.

/** Full jitter: a random delay in whole ms in [0, min(capMs, baseMs * 2^attempt)). */
export function fullJitter(attempt, { baseMs = 1000, capMs = 60000, random = Math.random } = {}) {
  return Math.floor(random() * Math.min(capMs, baseMs * 2 ** attempt));
}
