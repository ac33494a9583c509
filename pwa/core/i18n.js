// Interface text and domain labels for a front end: Chinese (zh-CN) first, English second.
// Each front end has its own interface text (its screens differ) but takes the domain's
// words from labels.js, overriding only the values it words its own way.
import { LABELS } from "./labels.js";

export const LANGS = Object.freeze(["zh-CN", "en"]);
export const DEFAULT_LANG = "zh-CN";

/** A supported language, or the default for anything else. */
export function normalizeLang(value) {
  return LANGS.includes(value) ? value : DEFAULT_LANG;
}

/** Fill `{name}` placeholders from `vars`; a missing one stays visible as `{name}`. */
export function fill(text, vars = {}) {
  return text.replace(/\{(\w+)\}/g, (_, name) => String(vars[name] ?? `{${name}}`));
}

/**
 * A labels table with some values worded differently: `overrides` has the same shape as
 * LABELS (lang → group → value → text) and names only what differs. Returns a new table.
 */
export function withWording(overrides, base = LABELS) {
  const out = {};
  for (const lang of Object.keys(base)) {
    out[lang] = {};
    for (const group of new Set([...Object.keys(base[lang]), ...Object.keys(overrides[lang] || {})])) {
      out[lang][group] = { ...base[lang][group], ...overrides[lang]?.[group] };
    }
  }
  return out;
}

/**
 * A translator over `messages` (lang → key → text) and `labels` (the LABELS shape).
 * `t(key, vars)` is interface text, `label(group, value)` a domain value's words; both fall
 * back to zh-CN, then to the key or value itself.
 */
export function createI18n({ messages, labels = LABELS, lang = DEFAULT_LANG }) {
  let current = normalizeLang(lang);
  return {
    t(key, vars) {
      const text = messages[current]?.[key] ?? messages[DEFAULT_LANG]?.[key] ?? key;
      return fill(text, vars);
    },
    label(group, value) {
      if (value === null || value === undefined) return "";
      return labels[current]?.[group]?.[value] ?? labels[DEFAULT_LANG]?.[group]?.[value] ?? String(value);
    },
    getLang() {
      return current;
    },
    /** Switch language (and the page's `lang` attribute); returns the language now in use. */
    setLang(value) {
      current = normalizeLang(value);
      if (globalThis.document) globalThis.document.documentElement.lang = current;
      return current;
    },
  };
}
