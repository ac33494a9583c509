// Vite builds the field app into dist/. The plugin below writes dist/sw.js from field/sw.js
// with the list of files to precache and a version made from their content, so every
// deploy that changes the shell gives a new worker (and the "新版本可用" prompt).
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { defineConfig } from "vite";

function serviceWorker() {
  return {
    name: "qingling-service-worker",
    apply: "build",
    generateBundle(_options, bundle) {
      const files = Object.keys(bundle).filter((f) => !f.endsWith(".map"));
      const statics = ["manifest.webmanifest", "icons/icon-192.png", "icons/icon-512.png", "icons/maskable-512.png"];
      const hash = createHash("sha256");
      for (const name of files.sort()) {
        const item = bundle[name];
        hash.update(name);
        hash.update(item.type === "chunk" ? item.code : item.source);
      }
      for (const name of statics) hash.update(readFileSync(new URL(`public/${name}`, import.meta.url)));
      const version = process.env.QINGLING_PWA_VERSION || hash.digest("hex").slice(0, 12);
      const shell = ["/index.html", ...[...files, ...statics].filter((f) => f !== "index.html").map((f) => `/${f}`)];
      const source = readFileSync(new URL("field/sw.js", import.meta.url), "utf8")
        .replace("__QINGLING_VERSION__", version)
        .replace("__QINGLING_SHELL__", JSON.stringify(shell));
      this.emitFile({ type: "asset", fileName: "sw.js", source });
    },
  };
}

export default defineConfig({
  build: { target: "es2022", outDir: "dist", emptyOutDir: true, sourcemap: false },
  plugins: [serviceWorker()],
  test: { environment: "node", include: ["test/**/*.test.js"] },
});
