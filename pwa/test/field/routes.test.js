import { describe, expect, it } from "vitest";
import { parseRoute } from "../../field/routes.js";

describe("routes", () => {
  it("reads each screen from the hash, and lights its tab", () => {
    expect(parseRoute("#/incident/abc")).toEqual({ name: "incident", id: "abc", key: "#/" });
    expect(parseRoute("#/mediation/new?incident=i-1")).toEqual({ name: "mediation", incidentId: "i-1", key: "#/mediation/new" });
    expect(parseRoute("#/mediation/new")).toEqual({ name: "mediation", incidentId: null, key: "#/mediation/new" });
    expect(parseRoute("#/mediation/r-9")).toEqual({ name: "mediation", recordId: "r-9", key: "#/mediation/new" });
    expect(parseRoute("#/outbox")).toEqual({ name: "outbox", key: "#/outbox" });
    expect(parseRoute("#/settings")).toEqual({ name: "settings", key: "#/settings" });
  });

  it("sends anything else to my work", () => {
    for (const hash of ["", "#/", "#/incident", "#/nowhere", undefined]) {
      expect(parseRoute(hash), String(hash)).toEqual({ name: "work", key: "#/" });
    }
  });
});
