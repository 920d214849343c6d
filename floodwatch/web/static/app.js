// floodwatch command center: live alert board (no build step).
"use strict";

const T = {
  zh: {}, // the page's own text is Chinese
  en: {
    title: "Flood warning command center", connecting: "connecting…", online: "live",
    offline: "reconnecting…", logout: "Log out", drill: "EXERCISE RUNNING — drill alerts are not sent to the public",
    login: "Duty officer login", name: "Account", password: "Password", signin: "Log in",
    active: "Active alerts", stations: "Stations", station: "Station", village: "Village",
    latest: "Latest", age: "Reading time", last6h: "Last 6 h", level: "Warning", health: "Sensor",
    back: "← back", ack: "Acknowledge alert", comment: "What is being done", cancel: "Cancel",
    confirm: "Acknowledge", none: "No active alerts", drillstart: "Drill",
    drilltitle: "Start a warning drill", drillhelp: "Drill alerts go to exercise destinations only; every text says EXERCISE.",
    drillgo: "Start drill",
  },
};
const COLOURS = { red: "红色", orange: "橙色", yellow: "黄色", blue: "蓝色", info: "设备" };
const COLOURS_EN = { red: "RED", orange: "ORANGE", yellow: "YELLOW", blue: "BLUE", info: "SENSOR" };
const KINDS = { level: ["水位", "level", "m"], flow: ["流量", "flow", "m³/s"], rain: ["雨量", "rain", "mm"] };
const HEALTH = { stale: "中断", stuck: "卡滞", spike: "突跳", out_of_range: "超量程" };
const state = {
  lang: localStorage.getItem("fw-lang") || "zh",
  token: localStorage.getItem("fw-token"),
  me: null, alerts: [], stations: new Map(), seen: new Set(), source: null, ackId: null,
  clock: null, // the service's event clock (ms): durations are measured against it
  tz: undefined, // the service's time zone (times are shown in it, not the browser's)
};

const $ = (sel) => document.querySelector(sel);
const esc = (s) => String(s ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
const en = () => state.lang === "en";
const when = (t, opts = {}) => new Date(t).toLocaleString(en() ? "en-GB" : "zh-CN", { timeZone: state.tz, ...opts });

function translate() {
  document.documentElement.lang = en() ? "en" : "zh-CN";
  $("#lang").textContent = en() ? "中文" : "English";
  for (const el of document.querySelectorAll("[data-t]")) {
    if (!el.dataset.zh) el.dataset.zh = el.textContent;
    el.textContent = en() ? (T.en[el.dataset.t] || el.dataset.zh) : el.dataset.zh;
  }
}

async function api(path, options = {}) {
  const headers = { ...(options.headers || {}) };
  if (state.token) headers.Authorization = `Bearer ${state.token}`;
  if (options.body) headers["Content-Type"] = "application/json";
  const response = await fetch(path, { ...options, headers });
  if (response.status === 401 && path !== "/api/login") { logout(); throw new Error("login"); }
  const data = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(data.error || response.statusText);
  return data;
}

function logout() {
  state.token = null; localStorage.removeItem("fw-token");
  $("#drill-start").hidden = true;
  if (state.source) state.source.close();
  show("login");
}

function show(which) {
  for (const id of ["login", "board", "station", "alert"]) $("#" + id).hidden = id !== which;
  $("#logout").hidden = which === "login";
}

function setClock(ms) {
  if (!ms || (state.clock && ms <= state.clock)) return;
  state.clock = ms;
  $("#clock").textContent = when(ms);
}

function since(iso) {
  const minutes = Math.max(0, Math.round(((state.clock || Date.now()) - Date.parse(iso)) / 60000));
  if (minutes < 60) return en() ? `${minutes} min` : `${minutes}分钟`;
  const h = Math.floor(minutes / 60), m = minutes % 60;
  return en() ? `${h} h ${m} min` : `${h}小时${m}分`;
}

function fmt(v, unit) { return v === null || v === undefined ? "—" : `${(+v).toFixed(2)}${unit ? " " + unit : ""}`; }

function renderAlerts() {
  const box = $("#alerts");
  $("#count").textContent = `(${state.alerts.length})`;
  if (!state.alerts.length) { box.innerHTML = `<p class="muted">${en() ? T.en.none : "暂无预警"}</p>`; return; }
  box.innerHTML = state.alerts.map((a) => {
    const st = state.stations.get(a.station) || {};
    const place = en() ? `${st.name_en || a.station_name}` : `${st.village || ""}${a.station_name}`;
    const crest = a.forecast && a.forecast.minutes_to_crest != null
      ? `<span>${en() ? "to crest" : "预计漫顶"} <b>${Math.round(a.forecast.minutes_to_crest)}${en() ? " min" : "分钟"}</b></span>` : "";
    const d = a.deliveries || {};
    const total = Object.values(d).reduce((x, y) => x + y, 0);
    const sent = total ? `<span>${en() ? "sent" : "已发送"} <b>${d.done || 0}/${total}</b>${d.dead ? ` <span class="unanswered">${en() ? "failed" : "失败"} ${d.dead}</span>` : ""}</span>` : "";
    const ack = a.acknowledged
      ? `<span class="acked">✔ ${esc(a.acknowledged.by)} ${en() ? "acknowledged" : "已确认"}${a.acknowledged.comment ? "：" + esc(a.acknowledged.comment) : ""}</span>`
      : `<button type="button" class="ack" data-id="${esc(a.id)}">${en() ? "Acknowledge" : "确认"}</button>`;
    const endDrill = a.rule === "floodwatch/drill" && state.me && state.me.role !== "viewer"
      ? `<button type="button" class="end-drill" data-id="${esc(a.id)}">${en() ? "End drill" : "结束演练"}</button>` : "";
    const unanswered = a.unanswered && a.unanswered.length && !a.acknowledged
      ? `<span class="unanswered">${en() ? "unanswered" : "未叫应"}：${a.unanswered.map(esc).join("、")}</span>` : "";
    return `<article class="alert ${a.severity} ${a.status}" id="alert-${esc(a.id)}" data-severity="${a.severity}">
      <div class="head"><span class="badge ${a.severity}">${en() ? COLOURS_EN[a.severity] : COLOURS[a.severity]}</span>
      <a class="where" href="#alert/${encodeURIComponent(a.id)}">${esc(place)}</a><span class="muted">${esc(a.rule)}</span>
      ${a.status === "exercise" ? `<span class="badge yellow">${en() ? "EXERCISE" : "演练"}</span>` : ""}</div>
      <div class="msg">${esc(en() ? a.message_en : a.message_zh)}</div>
      <div class="facts">${a.value === null && a.threshold === null ? "" : `<span>${en() ? "value" : "当前"} <b>${fmt(a.value, a.unit)}</b> / ${en() ? "line" : "预警线"} <b>${fmt(a.threshold, a.unit)}</b></span>`}
      ${crest}<span>${en() ? "active" : "持续"} <b>${since(a.episode_start)}</b></span>
      ${sent}</div>
      <div class="facts">${ack} ${endDrill} ${unanswered}</div></article>`;
  }).join("");
  for (const b of box.querySelectorAll("button.ack")) b.onclick = () => openAck(b.dataset.id);
  for (const b of box.querySelectorAll("button.end-drill")) {
    b.onclick = async () => {
      await api(`/api/drills/${encodeURIComponent(b.dataset.id)}`, { method: "DELETE" });
      await loadAlerts(false);
    };
  }
}

function spark(st) {
  const pts = st.spark || [];
  if (pts.length < 2) return "";
  const vals = pts.map((p) => p[1]).concat((st.lines || []).map((l) => l.value));
  const lo = Math.min(...vals), hi = Math.max(...vals), span = hi - lo || 1;
  const t0 = pts[0][0], t1 = pts[pts.length - 1][0], dt = t1 - t0 || 1;
  const x = (t) => ((t - t0) / dt) * 160, y = (v) => 30 - ((v - lo) / span) * 28 - 1;
  const line = pts.map((p, i) => `${i ? "L" : "M"}${x(p[0]).toFixed(1)},${y(p[1]).toFixed(1)}`).join("");
  const marks = (st.lines || []).map((l) => `<line x1="0" x2="160" y1="${y(l.value)}" y2="${y(l.value)}" stroke="var(--${l.severity || "info"})" stroke-dasharray="3 2" stroke-width="1"/>`).join("");
  return `<svg width="160" height="30" viewBox="0 0 160 30">${marks}<path d="${line}" fill="none" stroke="#9cd0ff" stroke-width="1.5"/></svg>`;
}

function renderStations() {
  const rows = [...state.stations.values()].map((s) => {
    const latest = Object.entries(s.latest || {}).map(([k, v]) => {
      const [zh, enName, unit] = KINDS[k] || [k, k, ""];
      return `${en() ? enName : zh} ${fmt(v.value, unit)}`;
    }).join("<br>");
    const ts = Object.values(s.latest || {}).map((v) => when(v.ts)).join("<br>");
    const level = s.level ? `<span class="dot ${s.level}"></span> ${en() ? COLOURS_EN[s.level] : COLOURS[s.level]}` : "";
    const health = (s.health || []).map((h) => `<span class="warn">⚠ ${en() ? h : (HEALTH[h] || h)}</span>`).join(" ") || (en() ? "ok" : "正常");
    return `<tr data-station="${esc(s.id)}"><td><a href="#station/${esc(s.id)}">${esc(en() ? s.name_en : s.name)}</a></td>
      <td>${esc(s.village || "")}</td><td>${latest}</td><td>${ts}</td><td>${spark(s)}</td><td>${level}</td><td>${health}</td></tr>`;
  });
  $("#stations tbody").innerHTML = rows.join("");
}

function alarm() {
  try {
    const ctx = new (window.AudioContext || window.webkitAudioContext)();
    for (let i = 0; i < 3; i++) {
      const osc = ctx.createOscillator(); const gain = ctx.createGain();
      osc.frequency.value = 880; osc.connect(gain); gain.connect(ctx.destination);
      gain.gain.setValueAtTime(0.3, ctx.currentTime + i * 0.4);
      osc.start(ctx.currentTime + i * 0.4); osc.stop(ctx.currentTime + i * 0.4 + 0.25);
    }
  } catch (e) { /* no audio device */ }
  document.body.classList.remove("flash"); void document.body.offsetWidth; document.body.classList.add("flash");
}

async function loadAlerts(fresh) {
  const status = await api("/api/status");
  state.tz = status.timezone;
  if (status.event_clock) setClock(Date.parse(status.event_clock));
  state.alerts = await api("/api/alerts?active=true");
  let loud = false;
  for (const a of state.alerts) {
    const key = `${a.id}:${a.severity}`;
    if (!state.seen.has(key) && fresh && (a.severity === "red" || a.severity === "orange")) loud = true;
    state.seen.add(key);
  }
  renderAlerts();
  if (loud) {
    alarm();
    for (const a of state.alerts) if (a.severity === "red" || a.severity === "orange") document.getElementById(`alert-${a.id}`)?.classList.add("flash");
  }
  $("#drill").hidden = !status.exercise;
}

async function loadStations() {
  for (const s of await api("/api/stations")) state.stations.set(s.id, s);
  renderStations();
  renderAlerts();
}

function connect() {
  if (state.source) state.source.close();
  const source = new EventSource(`/api/stream?token=${encodeURIComponent(state.token)}`);
  state.source = source;
  const link = $("#link");
  source.addEventListener("hello", () => {
    link.className = "link up"; link.textContent = en() ? T.en.online : "实时";
    loadAlerts(false).then(loadStations).catch(() => {});
  });
  source.addEventListener("alert", () => loadAlerts(true).catch(() => {}));
  source.addEventListener("ack", () => loadAlerts(false).catch(() => {}));
  source.addEventListener("stations", (e) => {
    for (const s of JSON.parse(e.data)) {
      state.stations.set(s.id, { ...state.stations.get(s.id), ...s });
      for (const v of Object.values(s.latest || {})) setClock(Date.parse(v.ts));
    }
    renderStations();
    renderAlerts(); // durations move with the clock
  });
  source.onerror = () => {
    link.className = "link down"; link.textContent = en() ? T.en.offline : "重新连接中…";
    if (source.readyState === EventSource.CLOSED) setTimeout(() => state.token && connect(), 3000);
  };
}

function openAck(id) {
  const a = state.alerts.find((x) => x.id === id);
  state.ackId = id;
  $("#ack-what").textContent = a ? (en() ? a.message_en : a.message_zh) : id;
  $("#ack-form").comment.value = "";
  $("#ack-dialog").showModal();
}

$("#ack-cancel").onclick = () => $("#ack-dialog").close();
$("#ack-form").onsubmit = async (e) => {
  e.preventDefault();
  const comment = $("#ack-form").comment.value;
  $("#ack-dialog").close();
  await api(`/api/alerts/${encodeURIComponent(state.ackId)}/ack`, { method: "POST", body: JSON.stringify({ comment }) });
  await loadAlerts(false);
};

async function stationPage(id) {
  show("station");
  const s = await api(`/api/stations/${encodeURIComponent(id)}`);
  $("#station-title").textContent = `${en() ? s.name_en : s.name} · ${s.village || ""}`;
  const kind = Object.keys(s.series).find((k) => s.series[k].length) || Object.keys(s.series)[0];
  let pts = s.series[kind] || [];
  let lines = s.thresholds.filter((l) => l.kind === "level");
  if (kind === "rain") { // 1 h accumulation against the 1 h rainfall lines
    pts = pts.map((p, i) => [p[0], pts.filter((q) => q[0] > p[0] - 3600000 && q[0] <= p[0]).reduce((x, q) => x + q[1], 0)]);
    lines = s.thresholds.filter((l) => l.kind === "rain" && l.window === "1h");
  }
  const W = 1000, H = 400, pad = 50;
  const vals = pts.map((p) => p[1]).concat(lines.map((l) => l.value));
  const lo = Math.min(...vals, 0 + (kind === "rain" ? 0 : Infinity)), hi = Math.max(...vals), span = hi - lo || 1;
  const x = (t) => pad + ((t - s.from) / (s.to - s.from)) * (W - 2 * pad);
  const y = (v) => H - pad - ((v - lo) / span) * (H - 2 * pad);
  const bands = [];
  const open = {};
  for (const a of s.alerts) {
    const t = Date.parse(a.ts);
    if (a.transition !== "firing" && open[a.id]) bands.push({ ...open[a.id], end: t });
    open[a.id] = a.transition === "resolved" ? null : { start: t, severity: a.severity };
  }
  for (const o of Object.values(open)) if (o) bands.push({ ...o, end: s.to });
  const svg = [`<svg viewBox="0 0 ${W} ${H}">`];
  for (const b of bands) if (b.severity !== "info") svg.push(`<rect x="${x(b.start)}" y="${pad}" width="${Math.max(1, x(b.end) - x(b.start))}" height="${H - 2 * pad}" fill="var(--${b.severity})" opacity="0.15"/>`);
  for (const l of lines) svg.push(`<line x1="${pad}" x2="${W - pad}" y1="${y(l.value)}" y2="${y(l.value)}" stroke="var(--${l.severity || "info"})" stroke-dasharray="6 4"/><text x="${W - pad + 4}" y="${y(l.value) + 4}" fill="#ccc" font-size="12">${esc(l.label || (en() ? COLOURS_EN[l.severity] : COLOURS[l.severity]))} ${(+l.value).toFixed(2)}</text>`);
  if (pts.length) svg.push(`<path d="${pts.map((p, i) => `${i ? "L" : "M"}${x(p[0]).toFixed(1)},${y(p[1]).toFixed(1)}`).join("")}" fill="none" stroke="#9cd0ff" stroke-width="2"/>`);
  for (let h = 0; h <= 24; h += 6) { const t = s.from + h * 3600000; svg.push(`<text x="${x(t)}" y="${H - pad + 18}" fill="#aaa" font-size="12" text-anchor="middle">${when(t, { hour: "2-digit", minute: "2-digit", year: undefined, month: undefined, day: undefined })}</text>`); }
  svg.push(`<text x="${pad}" y="${pad - 10}" fill="#ccc" font-size="14">${kind === "rain" ? (en() ? "1 h rain (mm)" : "1小时雨量(毫米)") : (en() ? "level (m)" : "水位(米)")}</text></svg>`);
  $("#station-chart").innerHTML = svg.join("");
  $("#station-alerts").innerHTML = s.alerts.slice(-20).reverse().map((a) => `<p><span class="badge ${a.severity}">${COLOURS[a.severity]}</span> ${esc(a.transition)} ${when(a.ts)} — ${esc(en() ? a.message_en : a.message_zh)}</p>`).join("");
}

const STATES = { done: "已送达", pending: "待发送", dead: "失败", silenced: "已静默" };
const NOTES = { reminder: "提醒", resend: "再次叫应", escalation: "升级", refresh: "刷新" };

async function alertPage(id) {
  show("alert");
  const t = await api(`/api/alerts/${encodeURIComponent(id)}`);
  const c = t.current;
  const rows = (items, cells) => items.map((i) => `<tr>${cells(i).map((x) => `<td>${x}</td>`).join("")}</tr>`).join("");
  const time = (s) => (s ? when(s * 1000) : "—");
    $("#alert-detail").innerHTML = `
    <h2><span class="badge ${c.severity}">${en() ? COLOURS_EN[c.severity] : COLOURS[c.severity]}</span>
      ${esc(c.station_name)} · ${esc(c.rule)} ${t.active ? "" : (en() ? "(ended)" : "（已结束）")}</h2>
    <p>${esc(en() ? c.message_en : c.message_zh)}</p>
    <h3>${en() ? "Transitions" : "预警过程"}</h3>
    <table><thead><tr><th>${en() ? "time" : "时间"}</th><th>${en() ? "change" : "变化"}</th><th>${en() ? "level" : "等级"}</th><th>${en() ? "value" : "数值"}</th></tr></thead>
    <tbody>${rows(t.transitions, (e) => [when(e.ts), esc(e.transition), `<span class="badge ${e.severity}">${COLOURS[e.severity]}</span>`, fmt(e.value, e.unit)])}</tbody></table>
    <h3>${en() ? "Deliveries" : "发送记录"}</h3>
    <table><thead><tr><th>${en() ? "destination" : "渠道"}</th><th>${en() ? "to" : "接收"}</th><th>${en() ? "why" : "类型"}</th><th>${en() ? "state" : "状态"}</th><th>${en() ? "attempts" : "尝试"}</th><th>${en() ? "last error" : "最近错误"}</th></tr></thead>
    <tbody>${rows(t.deliveries, (d) => [esc(d.destination), esc(d.recipient), esc(en() ? (d.note || d.transition) : (NOTES[(d.note || "").split(":")[0]] || d.transition)),
      esc(en() ? d.state : (STATES[d.state] || d.state)), `${d.tries.length} · ${d.tries.map((x) => time(x.at).split(" ").pop()).join(", ")}`, esc(d.tries.filter((x) => x.error).map((x) => x.error).pop() || "")])}</tbody></table>
    <h3>${en() ? "Call-and-answer" : "叫应"} ${t.call_state ? `(${esc(t.call_state)})` : ""}</h3>
    <table><thead><tr><th>${en() ? "person" : "人员"}</th><th>${en() ? "tier" : "层级"}</th><th>${en() ? "called" : "呼叫时间"}</th><th>${en() ? "answered" : "回复时间"}</th></tr></thead>
    <tbody>${rows(t.calls, (x) => [esc(x.name), x.tier, time(x.called_at), x.answered_at ? time(x.answered_at) : `<span class="unanswered">${en() ? "no answer" : "未回复"}</span>`])}</tbody></table>
    <h3>${en() ? "Acknowledgements" : "确认记录"}</h3>
    <table><tbody>${rows(t.acknowledgements, (k) => [esc(k.by), esc(k.via), time(k.at), esc(k.comment)]) || `<tr><td class="muted">${en() ? "none" : "无"}</td></tr>`}</tbody></table>`;
}

async function route() {
  if (!state.token) { show("login"); return; }
  const alertMatch = location.hash.match(/^#alert\/(.+)$/);
  if (alertMatch) { await alertPage(decodeURIComponent(alertMatch[1])); return; }
  const m = location.hash.match(/^#station\/(.+)$/);
  if (m) { await stationPage(decodeURIComponent(m[1])); return; }
  show("board");
}

$("#login-form").onsubmit = async (e) => {
  e.preventDefault();
  const form = e.target;
  try {
    const r = await api("/api/login", { method: "POST", body: JSON.stringify({ name: form.elements.namedItem("name").value, password: form.elements.namedItem("password").value }) });
    state.token = r.token; localStorage.setItem("fw-token", r.token);
    await start();
  } catch (err) { $("#login-error").textContent = err.message; }
};
$("#logout").onclick = logout;
$("#drill-start").onclick = () => {
  const select = $("#drill-form").elements.namedItem("station");
  select.innerHTML = [...state.stations.values()].map((s) => `<option value="${esc(s.id)}">${esc(en() ? s.name_en : s.name)}</option>`).join("");
  $("#drill-dialog").showModal();
};
$("#drill-cancel").onclick = () => $("#drill-dialog").close();
$("#drill-form").onsubmit = async (e) => {
  e.preventDefault();
  const f = $("#drill-form").elements;
  $("#drill-dialog").close();
  await api("/api/drills", { method: "POST", body: JSON.stringify({ station: f.namedItem("station").value, severity: f.namedItem("severity").value }) });
  await loadAlerts(true);
};
$("#lang").onclick = () => { state.lang = en() ? "zh" : "en"; localStorage.setItem("fw-lang", state.lang); translate(); renderAlerts(); renderStations(); };
window.onhashchange = () => route().catch(() => {});

async function start() {
  try { state.me = await api("/api/me"); } catch (e) { return; }
  $("#who").textContent = `${state.me.name} (${state.me.role})`;
  $("#drill-start").hidden = state.me.role === "viewer";
  await route();
  connect();
}

translate();
if (state.token) start(); else show("login");
