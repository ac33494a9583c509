// The protocol's codes and vocabulary, as both front ends read them. The server's own
// truth is sync/messages.py (its JSON Schema: `qingling schema`), server/errors.py and
// docs/errors.md; this module names the same values once for the JavaScript side.

/** WebSocket close codes (PROTOCOL §5, docs/errors.md). */
export const CLOSE = Object.freeze({
  /** We closed it: sign-out, page gone, network gone. */
  NORMAL: 1000,
  /** Ours, client side: no welcome or pong in time; the link is treated as dead. */
  NO_ANSWER: 4000,
  /** No `hello` in time, or a first message that is not a valid `hello`. */
  PROTOCOL: 4400,
  /** The token is unknown or revoked: stop and sign in again. */
  UNAUTHORIZED: 4401,
  /** The reader fell too far behind: reconnect at once from the cursor. */
  BACKLOG: 4408,
});

/** Error codes in `{code, message}` bodies (docs/errors.md), and the client's own `network`. */
export const ERROR = Object.freeze({
  /** No answer came back (client side; status 0). */
  NETWORK: "network",
  INVALID: "invalid",
  INVALID_DATE: "invalid_date",
  UNAUTHENTICATED: "unauthenticated",
  /** PROTOCOL §12: the token ended by sign-out, idle time or its maximum age (401). */
  TOKEN_EXPIRED: "token_expired",
  INVALID_CREDENTIALS: "invalid_credentials",
  FORBIDDEN: "forbidden",
  DEVICE_REVOKED: "device_revoked",
  NOT_FOUND: "not_found",
  METHOD_NOT_ALLOWED: "method_not_allowed",
  INVALID_STATE: "invalid_state",
  DEVICE_IN_USE: "device_in_use",
  ALREADY_RESOLVED: "already_resolved",
  ALREADY_REVIEWED: "already_reviewed",
  /** PROTOCOL §9: a callback on an incident not closed (409). */
  NOT_CLOSED: "not_closed",
  /** PROTOCOL §9: the incident already has a verdict, from any source (409). */
  ALREADY_RATED: "already_rated",
  /** PROTOCOL §9: a callback on a closed incident that owes none (no phone, or no_callback; 409). */
  NO_CALLBACK_TASK: "no_callback_task",
  /** PROTOCOL §9, public calls: a rating token of the wrong shape (400). */
  INVALID_TOKEN: "invalid_token",
  /** PROTOCOL §9, public calls: a poster rating naming no incident (404, one body whatever was wrong). */
  NO_SUCH_INCIDENT: "no_such_incident",
  /** PROTOCOL §9, public calls: a QR rating 7 days after its invite (410). */
  EXPIRED: "expired",
  TOO_LARGE: "too_large",
  INVALID_TIME: "invalid_time",
  UNKNOWN_STATION: "unknown_station",
  UNKNOWN_PERSON: "unknown_person",
  /** PROTOCOL §10: a divert naming no linked agency of the bureau (422). */
  UNKNOWN_AGENCY: "unknown_agency",
  HASH_MISMATCH: "hash_mismatch",
  INVALID_KEEP: "invalid_keep",
  TOO_MANY_ATTEMPTS: "too_many_attempts",
  UNAVAILABLE: "unavailable",
  INTERNAL: "internal",
  // Per-op codes in a push result (an op rejected inside a push, not an HTTP error).
  UNKNOWN_INCIDENT: "unknown_incident",
  OP_ID_REUSED: "op_id_reused",
  // PROTOCOL §11: supervision orders and notices.
  /** Supervising an incident that has no station yet (never dispatched; 409). */
  NO_STATION: "no_station",
  /** Accept or reject an order with no reply awaiting a decision (409). */
  NOT_ANSWERED: "not_answered",
  /** Accept or reject an order already accepted (409). */
  ALREADY_ACCEPTED: "already_accepted",
  /** A bad query parameter (e.g. `state=` of GET /api/supervision; 400). */
  INVALID_PARAM: "invalid_param",
  /** Per-op: a `supervision_reply` naming no order of the bureau. */
  UNKNOWN_ORDER: "unknown_order",
  /** Per-op: a `rectification` naming no notice of the bureau. */
  UNKNOWN_NOTICE: "unknown_notice",
});

/**
 * The error code a WebSocket close 4401 stands for. PROTOCOL gives the close no code of
 * its own, only a reason for people ("token expired", "token revoked or expired"): only a
 * reason that names expiry and nothing else is taken as `token_expired`.
 */
export function unauthorizedCloseCode(reason = "") {
  return /expired/i.test(reason) && !/revoked/i.test(reason) ? ERROR.TOKEN_EXPIRED : ERROR.UNAUTHENTICATED;
}

/** Incident statuses; an incident is open while received, dispatched or diverted (PROTOCOL §10). */
export const STATUSES = Object.freeze(["received", "dispatched", "diverted", "closed", "cancelled"]);
export const OPEN_STATUSES = Object.freeze(["received", "dispatched", "diverted"]);

/** Is an incident with this status still open (on the board, in "my work")? */
export function isOpen(status) {
  return OPEN_STATUSES.includes(status);
}

export const CATEGORIES = Object.freeze([
  "criminal", "public_order", "dispute", "help", "traffic", "non_police", "other",
]);
export const AREA_TYPES = Object.freeze(["urban", "rural"]);
export const STATION_KINDS = Object.freeze([
  "police_station", "branch", "joint_service_post", "command_center", "linked_agency",
]);

/** Command-center roles see the whole bureau; field roles their station and assignments. */
export const COMMAND_ROLES = Object.freeze(["dispatcher", "supervisor", "admin"]);
export const FIELD_ROLES = Object.freeze(["station_chief", "officer", "grid_worker", "mediator", "agency"]);
export const ROLES = Object.freeze([...COMMAND_ROLES, ...FIELD_ROLES]);

export function isCommandRole(role) {
  return COMMAND_ROLES.includes(role);
}

/** Op bodies' choices (PROTOCOL §2). */
export const RESULTS = Object.freeze([
  "resolved", "mediated", "case_accepted", "diverted", "no_finding", "transferred",
]);
export const AGREEMENTS = Object.freeze(["reached", "partial", "failed"]);
export const EVIDENCE_KINDS = Object.freeze(["interview_record", "witness_statement", "scene_inspection", "other"]);

/** PROTOCOL §9: the citizen's verdict. Each dimension and the overall take one of RATINGS. */
export const RATINGS = Object.freeze(["satisfied", "basically_satisfied", "unsatisfied"]);
export const RATING_DIMENSIONS = Object.freeze(["reception", "timeliness", "conduct", "handling"]);
export const FEEDBACK_SOURCES = Object.freeze(["callback", "qr", "poster"]);
export const CALLBACK_STATES = Object.freeze(["due", "done", "unreachable"]);
/** A verdict's comment, at most this many characters. */
export const COMMENT_MAX = 500;

/**
 * PROTOCOL §10: a call diverted to a linked agency has this status (open, like received
 * and dispatched; sync/messages.py gains it with the §10 server), and the agency answers
 * with the op `agency_feedback` whose `outcome` is one of AGENCY_OUTCOMES.
 */
export const DIVERTED = "diverted";
export const AGENCY_OUTCOMES = Object.freeze(["handled", "referred", "returned"]);
/** The clocks of a diverted call (instead of arrival and initial result). */
export const AGENCY_CLOCKS = Object.freeze(["agency_ack", "agency_feedback"]);

/**
 * PROTOCOL §11: supervision orders (督办; `bureau` is 挂牌督办) and their states, notices
 * (通报) and the rectification (整改) each named station owes, and a case's stages.
 */
export const SUPERVISION_LEVELS = Object.freeze(["station", "bureau"]);
export const SUPERVISION_STATES = Object.freeze(["open", "answered", "accepted"]);
export const NOTICE_KINDS = Object.freeze(["criticism", "commendation", "briefing"]);
export const RECTIFICATION_STATES = Object.freeze(["owed", "done", "overdue"]);
export const CASE_STAGES = Object.freeze(["filed", "solved", "closed", "transferred"]);
/** The op types a station chief records from the command view (PROTOCOL §11). */
export const SUPERVISION_REPLY = "supervision_reply";
export const RECTIFICATION = "rectification";
