// Rating by QR, one incident (PROTOCOL §9): the phone makes a random token, records the op
// `rating_invite` {token_sha256} on the incident through the outbox like any other fact
// (so it works offline), keeps the token beside its local copy (sealed with the PIN, see
// field/at-rest.js) and shows the caller a QR code of `<this app's origin>/rate/<token>`.
// Only the hash leaves the phone in the op: whoever holds the token can rate, once.
//
// The QR code is made here, on the phone, with no network: the caller may be standing in
// the same dead zone as the officer. The encoder (qrcode-generator) is loaded with a
// dynamic import(), so it is not part of the first load; the build still lists its chunk
// in the service worker's shell, so it is cached with the rest of the app.
import { buildOp } from "./model.js";

/** 128 bits of randomness: the protocol's minimum, 32 hex characters in the URL. */
export const TOKEN_BYTES = 16;

/** Modules of white around the code: the QR standard's quiet zone. */
export const QUIET_ZONE = 4;

function hex(bytes) {
  return [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/** A new random token: 32 lowercase hex characters from the platform's CSPRNG. */
export function newRatingToken(cryptoImpl = globalThis.crypto) {
  return hex(cryptoImpl.getRandomValues(new Uint8Array(TOKEN_BYTES)));
}

/** The lowercase hex SHA-256 of the token's ASCII text, as the server hashes it from the URL. */
export async function tokenSha256(token, subtle = globalThis.crypto.subtle) {
  const digest = await subtle.digest("SHA-256", new TextEncoder().encode(token));
  return hex(new Uint8Array(digest));
}

/** The address the citizen opens: the server's public page on this app's own origin. */
export function ratingUrl(origin, token) {
  return `${origin}/rate/${token}`;
}

/** The op (without seq) that tells the server an invite was shown for this incident. */
export function ratingInviteOp(incidentId, token_sha256, opts = {}) {
  return buildOp("rating_invite", { token_sha256 }, { ...opts, incidentId });
}

/**
 * Whether the incident screen offers the QR: the incident is closed, or a disposition
 * (the handling result) has been recorded on it, here or by anyone the phone heard of.
 * A cancelled incident was never handled and has nobody to ask.
 */
export function canInvite(incident, records) {
  if (!incident || incident.kind !== "incident" || incident.status === "cancelled") return false;
  if (incident.status === "closed") return true;
  return records.some((r) => r.incident_id === incident.id && r.type === "disposition");
}

/**
 * Invites made on this phone for the incident whose token it still holds, oldest first:
 * `[{op_id, token, device_time}]`. The last one is the code to show again.
 */
export function invitesOf(records, incidentId) {
  return records
    .filter((r) => r.type === "rating_invite" && r.incident_id === incidentId && r.secret?.token)
    .sort((a, b) => (a.seq ?? 0) - (b.seq ?? 0) || (a.device_time < b.device_time ? -1 : 1))
    .map((r) => ({ op_id: r.op_id, token: r.secret.token, device_time: r.device_time }));
}

/**
 * Make an invite: a fresh token, its hash recorded as `rating_invite` through `act` (the
 * device's, which writes the outbox), the token kept as the local copy's secret.
 * Returns the token.
 */
export async function recordRatingInvite(act, incidentId, cryptoImpl = globalThis.crypto) {
  const token = newRatingToken(cryptoImpl);
  const token_sha256 = await tokenSha256(token, cryptoImpl.subtle);
  await act("rating_invite", { token_sha256 }, { incidentId, secret: { token } });
  return token;
}

/**
 * The QR code of `text` as rows of booleans (true: a dark module), error correction M,
 * the smallest version that holds it, byte mode. Loads the encoder on first use.
 */
export async function qrModules(text) {
  const { default: qrcode } = await import("qrcode-generator");
  const qr = qrcode(0, "M");
  qr.addData(text, "Byte");
  qr.make();
  const n = qr.getModuleCount();
  return Array.from({ length: n }, (_, row) => Array.from({ length: n }, (_, col) => qr.isDark(row, col)));
}

/** An SVG path of the dark modules (one unit each), runs in a row drawn as one rectangle. */
export function qrPath(modules) {
  const parts = [];
  modules.forEach((row, y) => {
    for (let x = 0; x < row.length; x++) {
      if (!row[x]) continue;
      let run = 1;
      while (x + run < row.length && row[x + run]) run += 1;
      parts.push(`M${x} ${y}h${run}v1h-${run}z`);
      x += run - 1;
    }
  });
  return parts.join("");
}
