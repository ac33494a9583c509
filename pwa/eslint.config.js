// ESLint over every JavaScript file of pwa/ (the field app, the command view, the shared
// core, their tests and the build scripts): `npm run lint`, run by `make test`.
import js from "@eslint/js";
import globals from "globals";

export default [
  { ignores: ["dist/**", "node_modules/**"] },
  js.configs.recommended,
  {
    languageOptions: { ecmaVersion: 2022, sourceType: "module", globals: { ...globals.browser } },
    linterOptions: { reportUnusedDisableDirectives: "error" },
    rules: {
      // `_name` marks a value left unused on purpose (a destructured field dropped).
      "no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_", caughtErrors: "none" }],
      eqeqeq: ["error", "always", { null: "ignore" }],
      "no-var": "error",
      "prefer-const": "error",
    },
  },
  {
    // The core is loaded unbuilt by the command view: it may import only its own modules.
    files: ["core/**/*.js"],
    rules: {
      "no-restricted-imports": ["error", {
        patterns: [{ regex: "^(?!\\./)", message: "core/ imports only core/ modules (the command view loads it unbuilt)." }],
      }],
    },
  },
  {
    // The command view has no build step: no packages, and the core only through its surface.
    files: ["command/**/*.js"],
    rules: {
      "no-restricted-imports": ["error", {
        patterns: [{
          regex: "^(?!\\./|\\.\\./core/index\\.js$)",
          message: "command/ imports its own modules and ../core/index.js only (no build step, no packages).",
        }],
      }],
    },
  },
  {
    // The citizen's rating page runs unbuilt in messaging apps' older WebViews: ES2017
    // syntax (no optional chaining, no object spread) and no imports at all.
    files: ["rate/**/*.js"],
    languageOptions: { ecmaVersion: 2017 },
    rules: {
      "no-restricted-imports": ["error", { patterns: [{ regex: ".", message: "rate/ is one plain module (no build step)." }] }],
    },
  },
  {
    // The field app takes the core through its public surface, like the command view.
    files: ["field/**/*.js"],
    rules: {
      "no-restricted-imports": ["error", {
        patterns: [{ regex: "^\\.\\./core/(?!index\\.js$)", message: "Import the core from ../core/index.js." }],
      }],
    },
  },
  {
    // The service worker: its own globals, and the shell list the build writes in.
    files: ["field/sw.js"],
    languageOptions: {
      globals: { ...globals.serviceworker, __QINGLING_SHELL__: "readonly" },
    },
  },
  {
    // Build config, scripts and tests run in Node.
    files: ["*.config.js", "scripts/**/*.mjs", "test/**/*.js"],
    languageOptions: { globals: { ...globals.node } },
  },
];
