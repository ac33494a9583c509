// The device's estimate of (server clock - device clock), from request round trips.
//
// Each round trip that carries a `server_time` gives one sample: the server read its clock
// somewhere between our send and our receipt, so assume the middle. The sample with the
// shortest round trip among the recent ones is the most trustworthy.
const KEEP = 8;

export function sampleFrom(sentAtMs, receivedAtMs, serverTimeIso) {
  const server = Date.parse(serverTimeIso);
  if (Number.isNaN(server)) return null;
  const rtt = Math.max(0, receivedAtMs - sentAtMs);
  return { offsetMs: Math.round(server - (sentAtMs + rtt / 2)), rttMs: rtt, at: receivedAtMs };
}

/** Keep the last KEEP samples. */
export function addSample(samples, sample) {
  if (!sample) return samples;
  return [...samples, sample].slice(-KEEP);
}

/** The offset of the sample with the shortest round trip, or null without samples. */
export function bestOffset(samples) {
  if (!samples || samples.length === 0) return null;
  let best = samples[0];
  for (const s of samples) if (s.rttMs < best.rttMs) best = s;
  return best.offsetMs;
}
