// ESLint (flat config) for the browser scripts in webmap/static/js: plain scripts (no modules, no build step)
// that run on the pages beside Leaflet and its plugins. scripts/test runs it before the tests:
//   node_modules/.bin/eslint .
import js from "@eslint/js";
import globals from "globals";

export default [
  { ignores: ["node_modules/", ".venv/", ".venv-bench/", "instance/", "benchmark-output/"] },
  js.configs.recommended,
  {
    files: ["webmap/static/js/**/*.js"],
    languageOptions: {
      ecmaVersion: "latest",
      sourceType: "script",
      globals: { ...globals.browser, L: "readonly" },
    },
    rules: {
      // an unused function argument is often part of a callback's signature (Leaflet's, forEach's)
      "no-unused-vars": ["error", { args: "none" }],
      eqeqeq: ["error", "always", { null: "ignore" }],
      "no-implicit-globals": "error",
      strict: ["error", "function"],
    },
  },
  {
    files: ["eslint.config.mjs"],
    languageOptions: { sourceType: "module", globals: globals.node },
  },
];
