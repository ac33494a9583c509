// The core's protocol values against the server's own statement of them: the wire
// vocabulary in sync/messages.py and the codes in docs/errors.md. Either side changing
// alone fails here.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import {
  AGREEMENTS, AREA_TYPES, CATEGORIES, CLOSE, COMMAND_ROLES, ERROR, EVIDENCE_KINDS, FIELD_ROLES,
  isCommandRole, isOpen, OPEN_STATUSES, RESULTS, STATION_KINDS, STATUSES,
} from "../../core/protocol.js";

const repo = new URL("../../../", import.meta.url);
const messages = readFileSync(new URL("sync/messages.py", repo), "utf8");
const errors = readFileSync(new URL("docs/errors.md", repo), "utf8");

/** The strings of a `Name = Literal[...]` or `name: Literal[...]` in sync/messages.py. */
function literal(pattern) {
  const m = messages.match(new RegExp(`\\b${pattern}\\s*[:=]\\s*Literal\\[([^\\]]*)\\]`));
  if (!m) throw new Error(`${pattern} not found in sync/messages.py`);
  return [...m[1].matchAll(/"([^"]+)"/g)].map((x) => x[1]);
}

/** The strings of a `NAME: tuple[str, ...] = (...)` in sync/messages.py. */
function tuple(name) {
  const m = messages.match(new RegExp(`\\b${name}: tuple\\[str, \\.\\.\\.\\] = \\(([^)]*)\\)`));
  if (!m) throw new Error(`${name} not found in sync/messages.py`);
  return [...m[1].matchAll(/"([^"]+)"/g)].map((x) => x[1]);
}

describe("vocabulary", () => {
  it("matches sync/messages.py", () => {
    expect(CATEGORIES).toEqual(literal("Category"));
    expect(AREA_TYPES).toEqual(literal("AreaType"));
    expect(STATION_KINDS).toEqual(literal("StationKind"));
    // `diverted` (PROTOCOL §10) reaches sync/messages.py with the server's side of §10
    // (branch diversion-server); until then the wire's list lacks only it. Order is free.
    const wire = literal("IncidentStatus");
    expect([...STATUSES].sort()).toEqual([...new Set([...wire, "diverted"])].sort());
    expect(COMMAND_ROLES).toEqual(tuple("COMMAND_ROLES"));
    expect(FIELD_ROLES).toEqual(tuple("FIELD_ROLES"));
    expect(RESULTS).toEqual(literal("result"));
    expect(AGREEMENTS).toEqual(literal("agreement"));
    expect(EVIDENCE_KINDS).toEqual(literal("kind"));
  });

  it("calls received, dispatched and diverted open, closed and cancelled not", () => {
    expect(OPEN_STATUSES).toEqual(["received", "dispatched", "diverted"]);
    expect(STATUSES.filter(isOpen)).toEqual(["received", "dispatched", "diverted"]);
    expect(isOpen(undefined)).toBe(false);
  });

  it("tells command-center roles from field roles", () => {
    expect(COMMAND_ROLES.every(isCommandRole)).toBe(true);
    expect(FIELD_ROLES.some(isCommandRole)).toBe(false);
  });
});

describe("codes", () => {
  it("every close code docs/errors.md lists is named, with the server's number", () => {
    const documented = [...errors.matchAll(/^\| (4\d\d\d) \|/gm)].map((m) => Number(m[1]));
    expect(documented.length).toBeGreaterThan(0);
    for (const code of documented) expect(Object.values(CLOSE), String(code)).toContain(code);
    expect([CLOSE.PROTOCOL, CLOSE.UNAUTHORIZED, CLOSE.BACKLOG]).toEqual([4400, 4401, 4408]);
  });

  it("every error code docs/errors.md lists is named", () => {
    const documented = new Set([...errors.matchAll(/^\| (?:\d{3} \| )?`([a-z_]+)`/gm)].map((m) => m[1]));
    expect(documented.size).toBeGreaterThan(15);
    const named = new Set(Object.values(ERROR));
    // name_taken and common_password are the CLI's (account creation); no front end sees them.
    const cliOnly = new Set(["name_taken", "common_password"]);
    for (const code of documented) if (!cliOnly.has(code)) expect(named.has(code), code).toBe(true);
    expect(ERROR.NETWORK).toBe("network");
  });
});
