// The citizen's rating page (PROTOCOL §9): opened from a QR code an officer shows
// (/rate/{token}) or a station's poster (/rate/s/{station_code}), often inside a messaging
// app's built-in browser. One plain module, no imports, no build, no service worker, no
// sign-in; it shows only what the public API returns (station, day, category) and never
// anything personal. Written to ES2017 (no optional chaining, no object spread) so an
// older in-app WebView runs it. The logic is in exported pure functions (test/rate/);
// the page starts itself at the bottom when loaded in a browser.

export const DIMENSIONS = ["reception", "timeliness", "conduct", "handling"];
export const CHOICES = ["satisfied", "basically_satisfied", "unsatisfied"];
export const COMMENT_MAX = 500;
const TOKEN = /^[0-9a-f]{32,256}$/;
const LANG_KEY = "qingling.rate.lang";
const TIMEOUT_MS = 20000;

export const TEXT = {
  "zh-CN": {
    title: "处警满意度评价",
    otherLang: "English",
    loading: "正在读取…",
    intro: "请对本次民警处警作出评价。无需登录，本页不会显示您的个人信息。",
    posterIntro: "请输入警情编号和报警电话号码的后四位，再对本次处警作出评价。",
    awaitingContext: "本次处警的信息还在民警手机上，尚未同步到服务器；您现在就可以评价。",
    dimension: { reception: "接警态度", timeliness: "出警时间", conduct: "警容风纪", handling: "现场处理" },
    overall: "总体评价",
    choice: { satisfied: "满意", basically_satisfied: "基本满意", unsatisfied: "不满意" },
    category: {
      criminal: "刑事", public_order: "治安", dispute: "纠纷", help: "求助",
      traffic: "交通", non_police: "非警务", other: "其他",
    },
    day: "{m}月{d}日",
    comment: "意见或建议（选填）",
    commentHint: "请勿填写姓名、电话、住址等个人信息。",
    counter: "{n}/{max} 字",
    number: "警情编号",
    numberHint: "可向民警询问，或见报警回执",
    last4: "报警电话后四位",
    last4Hint: "报警时所用电话号码的最后四位数字",
    submit: "提交评价",
    sending: "正在提交…",
    needs: "还需完成：{list}",
    listSep: "、",
    last4Need: "电话后四位（4位数字）",
    thanks: "感谢您的评价！",
    thanksBody: "您的评价已提交。我们会认真对待每一条意见。",
    awaitingBody: "您的评价已记录，待民警的手机同步后即计入统计。",
    closeHint: "您现在可以关闭此页面。",
    rated: "本次处警已评价过，感谢您的关注",
    expired: "评价链接已过期（7天有效）",
    expiredBody: "如需反映意见，请联系处警的派出所。",
    invalid: "链接无效",
    invalidBody: "请核对链接，或重新扫描民警出示的二维码。",
    notFound: "未找到该警情，请核对编号和电话后四位",
    limited: "操作太频繁，请稍后再试",
    limitedWait: "（约 {m} 分钟后）",
    network: "网络连接失败，评价尚未提交。您的选择已保留，请检查网络后重试。",
    server: "服务暂时不可用，评价尚未提交。您的选择已保留，请稍后重试。",
    loadFailed: "暂时无法读取评价信息，请检查网络后重试。",
    retry: "重试",
  },
  en: {
    title: "Rate the police response",
    otherLang: "中文",
    loading: "Loading…",
    intro: "Please rate how the police handled your call. No sign-in; this page shows none of your personal details.",
    posterIntro: "Enter the incident number and the last four digits of the phone you called from, then rate the police response.",
    awaitingContext: "The details of this call are still on the officer's phone and have not reached the server yet; you can rate it now.",
    dimension: { reception: "Call reception", timeliness: "Response time", conduct: "Appearance and conduct", handling: "Handling at the scene" },
    overall: "Overall",
    choice: { satisfied: "Satisfied", basically_satisfied: "Mostly satisfied", unsatisfied: "Unsatisfied" },
    category: {
      criminal: "criminal", public_order: "public order", dispute: "dispute", help: "help",
      traffic: "traffic", non_police: "non-police", other: "other",
    },
    day: "{d} {mon}",
    comment: "Comments or suggestions (optional)",
    commentHint: "Please do not write names, phone numbers or addresses.",
    counter: "{n}/{max} characters",
    number: "Incident number",
    numberHint: "Ask the officer, or see your call receipt",
    last4: "Last four digits of your phone",
    last4Hint: "The last four digits of the number you called from",
    submit: "Submit",
    sending: "Submitting…",
    needs: "Still needed: {list}",
    listSep: ", ",
    last4Need: "last four digits (4 digits)",
    thanks: "Thank you for your rating!",
    thanksBody: "Your rating has been submitted. Every comment is read.",
    awaitingBody: "Your rating is recorded and will be counted when the officer's phone syncs.",
    closeHint: "You may close this page now.",
    rated: "This call has already been rated. Thank you for your interest.",
    expired: "This rating link has expired (links are valid for 7 days).",
    expiredBody: "To give feedback, please contact the police station that handled your call.",
    invalid: "Invalid link",
    invalidBody: "Please check the link, or scan the officer's QR code again.",
    notFound: "No such incident: please check the number and the last four digits.",
    limited: "Too many attempts, please try again later",
    limitedWait: " (in about {m} min)",
    network: "No connection: your rating was not sent. Your choices are kept; check the network and try again.",
    server: "The service is unavailable: your rating was not sent. Your choices are kept; please try again later.",
    loadFailed: "Could not load this rating; check the network and try again.",
    retry: "Try again",
  },
};
const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/** `template` with each {name} replaced by vars[name]. */
export function fill(template, vars) {
  return template.replace(/\{(\w+)\}/g, (whole, name) => (name in vars ? String(vars[name]) : whole));
}

/** Escape text for HTML: every value from the server or the citizen goes through this. */
export function esc(value) {
  if (value === null || value === undefined) return "";
  return String(value).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
}

/** Which page a path asks for: a QR token, a station's poster, or neither. */
export function route(pathname) {
  const parts = pathname.split("/").filter((p) => p !== "");
  if (parts[0] !== "rate") return { kind: "invalid" };
  let segments;
  try {
    segments = parts.slice(1).map(decodeURIComponent);
  } catch (e) {
    return { kind: "invalid" };
  }
  if (segments.length === 2 && segments[0] === "s" && segments[1]) return { kind: "station", code: segments[1] };
  if (segments.length === 1 && TOKEN.test(segments[0])) return { kind: "token", token: segments[0] };
  return { kind: "invalid" };
}

/** Full-width ASCII (a Chinese keyboard's ＪＡ１２) as plain ASCII. */
function halfWidth(text) {
  return text.replace(/[\uFF01-\uFF5E]/g, (c) => String.fromCharCode(c.charCodeAt(0) - 0xFEE0));
}

/** An incident number as typed ("j2026 1130-0001") as the server writes it ("J20261130-0001"). */
export function normalizeNumber(text) {
  return halfWidth(text).replace(/[\s\u3000]+/g, "").toUpperCase();
}

/** Only the digits of what was typed (full-width digits too), at most four. */
export function normalizeLast4(text) {
  return halfWidth(text).replace(/[^0-9]/g, "").slice(0, 4);
}

/** "11月30日" / "30 Nov" from a received_on day ("2026-11-30", or a timestamp starting so). */
export function formatDay(receivedOn, lang) {
  const m = /^(\d{4})-(\d{2})-(\d{2})/.exec(receivedOn || "");
  if (!m) return "";
  const month = Number(m[2]);
  const day = Number(m[3]);
  return fill(TEXT[lang].day, { m: month, d: day, mon: MONTHS[month - 1] || "" });
}

/** "城关派出所 · 11月30日 · 纠纷": what the public API says about the call, nothing more. */
export function contextLine(info, lang) {
  if (!info) return "";
  const words = TEXT[lang];
  const category = info.category ? words.category[info.category] || words.category.other : "";
  return [info.station || "", formatDay(info.received_on, lang), category].filter((s) => s !== "").join(" · ");
}

/** What the citizen has yet to fill in before the verdict can be sent, as words. */
export function missing(state, lang) {
  const words = TEXT[lang];
  const out = [];
  if (state.kind === "station") {
    if (normalizeNumber(state.number) === "") out.push(words.number);
    if (normalizeLast4(state.last4).length !== 4) out.push(words.last4Need);
  }
  for (const key of DIMENSIONS) if (!state.choices[key]) out.push(words.dimension[key]);
  if (!state.choices.overall) out.push(words.overall);
  return out;
}

/** The request body (PROTOCOL §9 verdict; the poster adds the number and the digits). */
export function verdictBody(state) {
  const ratings = {};
  for (const key of DIMENSIONS) ratings[key] = state.choices[key];
  const body = { ratings: ratings, overall: state.choices.overall };
  const comment = state.comment.trim();
  if (comment !== "") body.comment = comment.slice(0, COMMENT_MAX);
  if (state.kind === "station") {
    return Object.assign({ incident_number: normalizeNumber(state.number), phone_last4: normalizeLast4(state.last4) }, body);
  }
  return body;
}

/** Whole minutes to wait from a Retry-After header (seconds or an HTTP date), at least 1. */
export function retryMinutes(header, now) {
  if (!header) return null;
  let seconds = Number(header);
  if (!Number.isFinite(seconds)) {
    const at = Date.parse(header);
    if (Number.isNaN(at)) return null;
    seconds = (at - (now === undefined ? Date.now() : now)) / 1000;
  }
  return Math.max(1, Math.ceil(seconds / 60));
}

/** The page to show for the GET of a token: {screen, info}. */
export function loaded(result) {
  const body = result.body || {};
  if (result.status === 200) {
    if (body.state === "open" || body.state === "awaiting") return { screen: "form", info: body };
    if (body.state === "rated" || body.state === "expired") return { screen: body.state, info: body };
  }
  if (result.status === 400 && body.code === "invalid_token") return { screen: "invalid", info: null };
  if (result.status === 410) return { screen: "expired", info: null };
  return { screen: "loadFailed", info: null };
}

/** What an answer to the POST means: a new screen, or a notice above the kept form. */
export function outcome(result) {
  const code = result.body && result.body.code;
  switch (result.status) {
    case 201:
      return { screen: "thanks" };
    case 202:
      return { screen: "awaiting" };
    case 409:
      return { screen: "rated" };
    case 410:
      return { screen: "expired" };
    case 400:
      if (code === "invalid_token") return { screen: "invalid" };
      break;
    case 404:
      if (code === "no_such_incident") return { notice: "notFound" };
      break;
    case 429:
      return { notice: "limited", minutes: retryMinutes(result.retryAfter) };
    case 0:
      return { notice: "network" };
  }
  return { notice: "server" };
}

// ---------------------------------------------------------------------------------------
// Views: HTML strings from the state (every outside value escaped).

function choiceGroup(name, legend, chosen, words) {
  const options = CHOICES.map((value) =>
    `<label class="choice"><input type="radio" name="${name}" value="${value}"${chosen === value ? " checked" : ""}>` +
    `<span>${esc(words.choice[value])}</span></label>`).join("");
  return `<fieldset class="dim" data-testid="dim-${name}"><legend>${esc(legend)}</legend><div class="choices">${options}</div></fieldset>`;
}

export function noticeText(notice, lang) {
  if (!notice) return "";
  const words = TEXT[lang];
  if (notice.notice === "limited" && notice.minutes) return words.limited + fill(words.limitedWait, { m: notice.minutes });
  return words[notice.notice];
}

function formView(state, words, lang) {
  let head = "";
  if (state.kind === "station") {
    head = `<p class="intro">${esc(words.posterIntro)}</p>
<label class="field" for="incident_number">${esc(words.number)}</label>
<input id="incident_number" name="incident_number" type="text" autocomplete="off" autocapitalize="characters" spellcheck="false" maxlength="40" placeholder="J20261130-0001" value="${esc(state.number)}" aria-describedby="number-hint">
<p class="hint" id="number-hint">${esc(words.numberHint)}</p>
<label class="field" for="phone_last4">${esc(words.last4)}</label>
<input id="phone_last4" name="phone_last4" type="text" inputmode="numeric" pattern="[0-9]*" autocomplete="off" maxlength="4" placeholder="0000" value="${esc(state.last4)}" aria-describedby="last4-hint">
<p class="hint" id="last4-hint">${esc(words.last4Hint)}</p>`;
  } else {
    const line = contextLine(state.info, lang);
    head = (line ? `<p class="context" data-testid="context">${esc(line)}</p>` : "") +
      (state.info && state.info.state === "awaiting" ? `<p class="note">${esc(words.awaitingContext)}</p>` : "") +
      `<p class="intro">${esc(words.intro)}</p>`;
  }
  const groups = DIMENSIONS.map((key) => choiceGroup(key, words.dimension[key], state.choices[key], words)).join("") +
    choiceGroup("overall", words.overall, state.choices.overall, words);
  return `${head}
<form id="verdict" novalidate>
${groups}
<label class="field" for="comment">${esc(words.comment)}</label>
<textarea id="comment" name="comment" rows="4" maxlength="${COMMENT_MAX}" aria-describedby="comment-hint counter">${esc(state.comment)}</textarea>
<p class="hint"><span id="comment-hint">${esc(words.commentHint)}</span> <span id="counter" class="counter"></span></p>
<p id="notice" class="notice" role="alert"></p>
<p id="why" class="why"></p>
<button type="submit" class="submit" aria-describedby="why">${esc(words.submit)}</button>
</form>`;
}

function messageView(title, lines, kind) {
  return `<div class="done ${kind}" data-testid="result-${kind}"><h2 tabindex="-1">${esc(title)}</h2>` +
    lines.map((line) => `<p>${esc(line)}</p>`).join("") + `</div>`;
}

/** The page's content for a state. */
export function view(state) {
  const lang = state.lang;
  const words = TEXT[lang];
  let body;
  switch (state.screen) {
    case "loading":
      body = `<p class="boot">${esc(words.loading)}</p>`;
      break;
    case "form":
      body = formView(state, words, lang);
      break;
    case "thanks":
      body = messageView(words.thanks, [words.thanksBody, words.closeHint], "thanks");
      break;
    case "awaiting":
      body = messageView(words.thanks, [words.awaitingBody, words.closeHint], "awaiting");
      break;
    case "rated":
      body = messageView(words.rated, [], "rated");
      break;
    case "expired":
      body = messageView(words.expired, [words.expiredBody], "expired");
      break;
    case "invalid":
      body = messageView(words.invalid, [words.invalidBody], "invalid");
      break;
    default:
      body = messageView(words.loadFailed, [], "failed") +
        `<button type="button" class="submit" data-action="reload">${esc(words.retry)}</button>`;
  }
  const context = state.screen !== "form" && state.screen !== "loading" ? contextLine(state.info, lang) : "";
  return `<header class="bar"><h1>${esc(words.title)}</h1>` +
    `<button type="button" class="lang" data-action="lang" lang="${lang === "en" ? "zh-CN" : "en"}">${esc(words.otherLang)}</button></header>` +
    (context ? `<p class="context">${esc(context)}</p>` : "") + body;
}

// ---------------------------------------------------------------------------------------
// The page in a browser.

async function call(method, path, body) {
  const controller = typeof AbortController === "function" ? new AbortController() : null;
  const timer = controller ? setTimeout(() => controller.abort(), TIMEOUT_MS) : 0;
  let response;
  try {
    response = await fetch(path, {
      method: method,
      headers: body ? { "Content-Type": "application/json" } : {},
      body: body ? JSON.stringify(body) : undefined,
      credentials: "omit",
      cache: "no-store",
      signal: controller ? controller.signal : undefined,
    });
  } catch (e) {
    clearTimeout(timer);
    return { status: 0, body: null, retryAfter: null };
  }
  let data = null;
  try {
    data = await response.json();
  } catch (e) {
    data = null;
  }
  clearTimeout(timer);
  return { status: response.status, body: data, retryAfter: response.headers.get("Retry-After") };
}

function storedLang() {
  try {
    return window.localStorage.getItem(LANG_KEY) === "en" ? "en" : "zh-CN";
  } catch (e) {
    return "zh-CN";
  }
}

function start(root) {
  const where = route(window.location.pathname);
  const state = {
    lang: storedLang(), kind: where.kind, token: where.token, code: where.code,
    screen: where.kind === "token" ? "loading" : where.kind === "station" ? "form" : "invalid",
    info: null, choices: {}, comment: "", number: "", last4: "", notice: null, busy: false,
  };

  function render(focus) {
    document.documentElement.lang = state.lang;
    document.title = TEXT[state.lang].title;
    root.innerHTML = view(state);
    refresh();
    if (focus) {
      const heading = root.querySelector("h2");
      if (heading) heading.focus();
      window.scrollTo(0, 0);
    }
  }

  // The parts of the form that change without redrawing it (so focus and typing stay put).
  function refresh() {
    const words = TEXT[state.lang];
    const counter = root.querySelector("#counter");
    if (counter) counter.textContent = fill(words.counter, { n: state.comment.length, max: COMMENT_MAX });
    const notice = root.querySelector("#notice");
    if (notice) {
      notice.textContent = noticeText(state.notice, state.lang);
      notice.className = state.notice ? "notice error" : "notice";
    }
    const why = root.querySelector("#why");
    const submit = root.querySelector("#verdict .submit");
    if (why && submit) {
      const todo = missing(state, state.lang);
      why.textContent = todo.length ? fill(words.needs, { list: todo.join(words.listSep) }) : "";
      submit.disabled = state.busy || todo.length > 0;
      submit.textContent = state.busy ? words.sending : words.submit;
    }
  }

  async function load() {
    state.screen = "loading";
    render(false);
    const result = await call("GET", "/api/public/ratings/" + encodeURIComponent(state.token));
    const next = loaded(result);
    state.screen = next.screen;
    state.info = next.info;
    render(next.screen !== "form");
  }

  async function send() {
    if (state.busy || missing(state, state.lang).length) return;
    state.busy = true;
    state.notice = null;
    refresh();
    const path = state.kind === "station"
      ? "/api/public/stations/" + encodeURIComponent(state.code) + "/ratings"
      : "/api/public/ratings/" + encodeURIComponent(state.token);
    const result = await call("POST", path, verdictBody(state));
    state.busy = false;
    const next = outcome(result);
    if (next.screen) {
      state.screen = next.screen;
      render(true);
    } else {
      state.notice = next;
      refresh();
    }
  }

  root.addEventListener("change", (event) => {
    const input = event.target;
    if (input.type === "radio") state.choices[input.name] = input.value;
    if (input.name === "incident_number") {
      state.number = normalizeNumber(input.value);
      input.value = state.number;
    }
    refresh();
  });
  root.addEventListener("input", (event) => {
    const input = event.target;
    if (input.name === "comment") state.comment = input.value;
    if (input.name === "incident_number") state.number = input.value;
    if (input.name === "phone_last4") {
      const digits = normalizeLast4(input.value);
      if (digits !== input.value) input.value = digits;
      state.last4 = digits;
    }
    refresh();
  });
  root.addEventListener("submit", (event) => {
    event.preventDefault();
    send();
  });
  root.addEventListener("click", (event) => {
    const button = event.target.closest ? event.target.closest("[data-action]") : null;
    if (!button) return;
    if (button.getAttribute("data-action") === "lang") {
      state.lang = state.lang === "en" ? "zh-CN" : "en";
      try {
        window.localStorage.setItem(LANG_KEY, state.lang);
      } catch (e) {
        // A private-mode WebView without storage: the switch lasts for this page only.
      }
      render(false);
    } else if (button.getAttribute("data-action") === "reload") {
      load();
    }
  });

  if (state.kind === "token") load();
  else render(state.screen !== "form");
}

if (typeof document !== "undefined") {
  const root = document.getElementById("rate");
  if (root) start(root);
}
