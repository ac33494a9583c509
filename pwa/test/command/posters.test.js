// Station rating posters (command/posters.js, PROTOCOL §9): admins only, the stations the
// server gave a rating code, the poster's path.
import { beforeEach, describe, expect, it } from "vitest";
import { setLang } from "../../command/i18n.js";
import { mayPrintPosters, posterPath, posterStations, postersHtml } from "../../command/posters.js";

const stations = [
  { id: "s2", name: "河口派出所", kind: "police_station", rating_code: "K7Q2M9" },
  { id: "c", name: "指挥中心", kind: "command_center", rating_code: "CCCCCC" },
  { id: "a", name: "县12345热线", kind: "linked_agency", rating_code: "AAAAAA" },
  { id: "s1", name: "城关派出所", kind: "police_station", rating_code: "<A1>" },
];

beforeEach(() => setLang("zh-CN"));

describe("posters", () => {
  it("are for admins only", () => {
    expect(mayPrintPosters({ role: "admin" })).toBe(true);
    for (const role of ["dispatcher", "supervisor", "officer", undefined]) expect(mayPrintPosters({ role })).toBe(false);
    expect(postersHtml({ role: "dispatcher" }, stations)).toBe("");
  });

  it("list the stations with a rating code but the command center and agencies, by name, escaped", () => {
    expect(posterStations(stations).map((s) => s.id)).toEqual(["s1", "s2"]);
    const html = postersHtml({ role: "admin" }, stations);
    expect(html).toContain("评价海报");
    expect(html).toContain('data-poster="s1"');
    expect(html).toContain("&lt;A1&gt;");
    expect(html).not.toContain('data-poster="c"');
    expect(html).not.toContain('data-poster="a"');
    // An older server gives no codes: no section.
    expect(postersHtml({ role: "admin" }, [{ id: "s1", name: "城关派出所" }])).toBe("");
  });

  it("fetch the station's poster", () => {
    expect(posterPath("s 1")).toBe("/api/stations/s%201/rating-poster");
  });
});
