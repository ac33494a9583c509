// The front-end core shared by the field app (field/, built by Vite) and the command view
// (command/, plain ES modules served as they are): the API client and its error, backoff,
// the protocol's codes and vocabulary, and the domain's labels. It imports nothing outside
// this folder, so the command view can load it without a build step.
export { ApiError, createClient, errorFromResponse, networkError, parseJson } from "./api.js";
export { fullJitter } from "./backoff.js";
export { formatDuration } from "./format.js";
export { newId } from "./ids.js";
export { createI18n, DEFAULT_LANG, fill, LANGS, normalizeLang, withWording } from "./i18n.js";
export { LABELS } from "./labels.js";
export {
  AGENCY_CLOCKS,
  AGENCY_OUTCOMES,
  AGREEMENTS,
  AREA_TYPES,
  CALLBACK_STATES,
  CASE_STAGES,
  CATEGORIES,
  CLOSE,
  COMMENT_MAX,
  COMMAND_ROLES,
  DIVERTED,
  ERROR,
  EVIDENCE_KINDS,
  FEEDBACK_SOURCES,
  FIELD_ROLES,
  isCommandRole,
  isOpen,
  NOTICE_KINDS,
  OPEN_STATUSES,
  RATING_DIMENSIONS,
  RATINGS,
  RECTIFICATION,
  RECTIFICATION_STATES,
  RESULTS,
  ROLES,
  STATION_KINDS,
  STATUSES,
  SUPERVISION_LEVELS,
  SUPERVISION_REPLY,
  SUPERVISION_STATES,
  unauthorizedCloseCode,
} from "./protocol.js";
