// Print the gzipped size of the JavaScript the first load fetches (every script index.html
// references and its static imports) and fail the build above the budget.
import { readFileSync } from "node:fs";
import { gzipSync } from "node:zlib";

const BUDGET = 100 * 1024;
const dist = new URL("../dist/", import.meta.url);
const html = readFileSync(new URL("index.html", dist), "utf8");
const entries = [...html.matchAll(/<script[^>]+src="\/([^"]+\.js)"/g)].map((m) => m[1]);
const preloads = [...html.matchAll(/<link[^>]+rel="modulepreload"[^>]+href="\/([^"]+\.js)"/g)].map((m) => m[1]);
const seen = new Set();
const queue = [...entries, ...preloads];
while (queue.length) {
  const file = queue.shift();
  if (seen.has(file)) continue;
  seen.add(file);
  const code = readFileSync(new URL(file, dist), "utf8");
  // Static imports between chunks ("./x.js" or "/assets/x.js"); dynamic import() is not first load.
  for (const m of code.matchAll(/(?:^|[;\n}])\s*import\s*(?:[^"'()]*?from\s*)?["']([^"']+\.js)["']/g)) {
    const target = new URL(m[1], new URL(file, dist)).pathname.split("/dist/").pop();
    queue.push(target);
  }
}
let total = 0;
for (const file of seen) {
  const size = gzipSync(readFileSync(new URL(file, dist))).length;
  total += size;
  console.log(`  ${file}  ${(size / 1024).toFixed(1)} KB gzipped`);
}
console.log(`first-load JavaScript: ${(total / 1024).toFixed(1)} KB gzipped (budget ${BUDGET / 1024} KB)`);
if (entries.length === 0) {
  console.error("no script found in dist/index.html");
  process.exit(1);
}
if (total > BUDGET) {
  console.error("over the size budget");
  process.exit(1);
}
