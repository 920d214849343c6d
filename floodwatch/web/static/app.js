// floodwatch command center: the wall screen (no build step). One card per
// incident, most urgent first, with live values; a map; charts per station;
// every control only where the account may use it (GET /api/me), none in
// wall mode (?wall=1).
"use strict";

const state = {
  token: localStorage.getItem("fw-token"),
  me: null, incidents: [], alerts: [], silences: [], silenceStation: null, stations: new Map(), seen: new Set(), source: null, ackId: null,
  up: false, clock: null, tz: undefined, rules: {}, destinations: {}, mapLoaded: false, reload: null, charts: [],
  page: "board",
};
const WALL = new URLSearchParams(location.search).get("wall") === "1";
if (WALL) document.body.classList.add("wall");

const $ = (sel) => document.querySelector(sel);
const esc = (s) => String(s ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
const when = (ms, opts = {}) => new Date(ms).toLocaleString(en() ? "en-GB" : "zh-CN", { timeZone: state.tz, ...opts });
const hhmm = (ms) => when(ms, { hour: "2-digit", minute: "2-digit" });
const COLON = () => (en() ? ": " : "："), COMMA = () => (en() ? ", " : "，");
const paren = (x) => (en() ? ` (${x})` : `（${x}）`);
const may = (what) => !WALL && !!(state.me && state.me.may && state.me.may[what]);
const num = (v, digits = 2) => (v === null || v === undefined || !isFinite(v) ? "—" : (+v).toFixed(digits));
const DIGITS = { m: 2, "m/h": 2, mm: 1, "m³/s": 3, min: 0 };
/** A value with its unit, to the digits its measure is read in (米 2, 毫米 1, 立方米/秒 3, 分钟 0). */
const measure = (v, unit) => `<b>${num(v, DIGITS[unit] ?? 2)}</b>${en() ? " " + unitWord(unit) : unitWord(unit)}`;
/** Freeboard as a duty officer says it: "距坝顶 0.20米", or "高出坝顶 0.03米" when over. */
const freeboardText = (fb, cls = "") => {
  if (fb >= 0) return `${t("freeboard")} <b class="${cls}">${num(fb)}</b>${en() ? " m" : "米"}`;
  return en() ? `<b class="${cls}">${num(-fb)}</b> m above the crest` : `高出坝顶 <b class="${cls}">${num(-fb)}</b>米`;
};
/** Rise per hour as said: "涨速 0.50米/小时", or "回落 0.27米/小时" when falling. */
const riseText = (v) => (v < 0 ? `${t("fall")} ${measure(-v, "m/h")}` : `${t("rise")} ${measure(v, "m/h")}`);
/** The value an alert was raised with, in its rule's own phrase. */
function raisedValue(a) {
  if (a.forecast && a.forecast.overtopping) return t("overtopping");
  if (a.value == null) return "";
  if (a.kind === "time_to_crest") return t("to_crest", { m: Math.round(a.value) });
  if (a.kind === "freeboard") return freeboardText(a.value);
  if (a.kind === "rainfall" && a.details && a.details.window) return `${t("rain_window", { w: windowWord(a.details.window) })} ${measure(a.value, "mm")}`;
  return measure(a.value, a.unit);
}
const ruleName = (id, fallback) => {
  const r = state.rules[id];
  if (r) return en() ? r.name_en : r.name;
  return fallback || (en() ? "warning" : "预警");
};
const stationName = (sid, fallback) => {
  const st = state.stations.get(sid);
  if (st) return en() ? st.name_en : st.name;
  return fallback || "";
};

function translate() {
  document.documentElement.lang = en() ? "en" : "zh-CN";
  document.title = t("title");
  $("#lang").textContent = en() ? "中文" : "English";
  for (const el of document.querySelectorAll("[data-t]")) el.textContent = t(el.dataset.t);
  setLink(state.up);
  if (state.me) $("#who").textContent = `${state.me.name}${paren(roleWord(state.me.role))}`;
}

function setLink(up) {
  state.up = up;
  const link = $("#link");
  link.className = `link ${up ? "up" : "down"}`;
  link.textContent = up ? t("online") : (state.source ? t("offline") : t("connecting"));
}

async function api(path, options = {}) {
  const headers = { ...(options.headers || {}) };
  if (state.token) headers.Authorization = `Bearer ${state.token}`;
  if (options.body) headers["Content-Type"] = "application/json";
  const response = await fetch(path, { ...options, headers });
  if (response.status === 401 && path !== "/api/login") { logout(); throw new Error("log in first"); }
  const data = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(data.error || response.statusText);
  return data;
}

function logout() {
  state.token = null; localStorage.removeItem("fw-token");
  state.me = null;
  $("#drill-start").hidden = true;
  if (state.source) state.source.close();
  state.source = null;
  show("login");
}

function show(which) {
  state.page = which;
  for (const id of ["login", "board", "station", "alert", "notices"]) $("#" + id).hidden = id !== which;
  $("#logout").hidden = which === "login";
  if (which === "board" && MAP.map) setTimeout(() => MAP.map.invalidateSize(), 0);
}

function setClock(ms) {
  if (!ms || (state.clock && ms <= state.clock)) return;
  state.clock = ms;
  $("#clock").textContent = when(ms, { month: "numeric", day: "numeric", hour: "2-digit", minute: "2-digit" });
}

function since(iso) {
  const minutes = Math.max(0, Math.round(((state.clock || Date.now()) - Date.parse(iso)) / 60000));
  if (minutes < 60) return t("min", { m: minutes });
  return t("hmin", { h: Math.floor(minutes / 60), m: minutes % 60 });
}

// --- incidents ---------------------------------------------------------------

/** The incident's station now: its latest readings (the live stream, once a
 * second) over what the incident list said, and what follows from them. */
function liveOf(i) {
  const now = { ...(i.live || {}) };
  const st = state.stations.get(i.station);
  const level = st && st.latest && st.latest.level;
  if (level && (!now.level || Date.parse(level.ts) >= now.level.at)) now.level = { value: level.value, at: Date.parse(level.ts) };
  if (now.level && now.crest != null) {
    now.freeboard = now.crest - now.level.value;
    now.overtopping = now.level.value >= now.crest;
  }
  const minutes = Object.values(now.forecasts || {}).map((f) => f.minutes_to_crest).filter((m) => m != null && isFinite(m));
  now.minutes = minutes.length ? Math.min(...minutes) : null;
  return now;
}

function headline(i, now) {
  const parts = [stationName(i.station, i.station_name), sevWord(i.severity)];
  if (now.overtopping) parts.push(t("overtopping"));
  else if (now.minutes != null && now.minutes > 0) parts.push(t("to_crest", { m: Math.round(now.minutes) }));
  else if (i.worst_now) {
    // the leading condition, with its value now (the notice's text has the value it had then)
    const lead = (i.alerts || []).find((a) => a.id === i.worst_now.alert);
    const r = lead && lead.kind === "rainfall" ? lead.rain : null;
    // a rain red after its burst: the headline says the peak that made it
    const live = r && r.peak > r.now
      ? `${t("rain_window", { w: windowWord(r.window) })} ${t("rain_peak")} ${num(r.peak, 1)}${en() ? " mm" : "毫米"}`
      : lead ? liveText(lead, now).replace(/<[^>]+>/g, "").trim() : "";
    parts.push(live || (en() ? i.worst_now.en : i.worst_now.zh));
  }
  return parts.join(" · ");
}

function liveText(a, now) {
  const m = en() ? " m" : "米";
  switch (a.kind) {
    case "level": return now.level ? `${t("level_now")} <b class="live-level">${num(now.level.value)}</b>${m}` : "";
    case "freeboard": return now.freeboard != null ? freeboardText(now.freeboard) : "";
    case "rate_of_rise": return now.rise_per_hour != null ? riseText(now.rise_per_hour) : "";
    case "time_to_crest": {
      if (now.overtopping) return `<b>${t("overtopping")}</b> ${t("level_now")} <b>${num(now.level.value)}</b>${m}`;
      const f = (now.forecasts || {})[a.rule];
      if (!f) return "";
      if (f.minutes_to_crest != null) return `<b>${t("to_crest", { m: Math.round(f.minutes_to_crest) })}</b>`;
      // not reaching the crest: how high it is expected to go, and when
      return f.peak_level != null && f.peak_in_minutes > 0
        ? `${t("no_overtop")} · ${t("peak", { v: num(f.peak_level), m: Math.round(f.peak_in_minutes) })}` : t("no_overtop");
    }
    case "rainfall": {
      // the window that fired: its total now, and its peak since the raise (why it is red)
      const r = a.rain;
      const w = (r && r.window) || (a.details && a.details.window) || "1h";
      const v = r ? r.now : (now.rain_totals || {})[w === "1d" ? "24h" : w];
      if (v == null) return "";
      const peak = r && r.peak > v ? ` · ${t("rain_peak")} ${measure(r.peak, "mm")}${paren(hhmm(r.peak_at))}` : "";
      return `${t("rain_window", { w: windowWord(w) })} ${measure(v, "mm")}${peak}`;
    }
    case "compound": {
      const bits = [];
      if (now.outlet) bits.push(`${t("outlet_flow")} ${measure(now.outlet.flow, "m³/s")}`);
      if (now.rise_per_hour != null) bits.push(riseText(now.rise_per_hour));
      return bits.join(" · ");
    }
    default: return "";
  }
}

function chainHtml(i) {
  const bits = [];
  if (i.acknowledged) {
    bits.push(`<span class="acked">✔ ${esc(t("acked_by", { who: i.acknowledged.by }))}${i.acknowledged.comment ? COLON() + esc(i.acknowledged.comment) : ""}</span>`);
  } else {
    bits.push(`<span class="unacked">${t("not_acked")}</span>`);
    if (may("ack")) bits.push(`<button type="button" class="ack" data-id="${esc(i.id)}">${t("ack_button")}</button>`);
  }
  const members = new Set([i.station, ...(i.alerts || []).map((a) => a.station)]);
  for (const x of state.silences.filter((x) => x.stations.some((sid) => members.has(sid)))) {
    bits.push(`<span class="silenced">🔕 ${esc(t("silenced_until", { t: hhmm(x.ends * 1000), who: x.author, why: x.reason }))}</span>`);
    if (may("silence")) bits.push(`<button type="button" class="unsilence" data-id="${esc(x.id)}">${t("unsilence")}</button>`);
  }
  if (may("silence")) bits.push(`<button type="button" class="silence" data-station="${esc(i.station)}">${t("silence_button")}</button>`);
  const calls = i.calls || [];
  if (calls.length) {
    const answered = calls.filter((c) => c.answered_at).length;
    const open = i.unanswered || [];
    bits.push(`<span class="calls">${t("calls")}${COLON()}${t("called", { n: calls.length })}${COMMA()}${t("answered", { n: answered })}${open.length ? `${COMMA()}<span class="unanswered">${esc(t("unanswered", { who: open.join("、") }))}</span>` : ""}</span>`);
  }
  const sent = (i.deliveries || []).map((d) => {
    const total = Object.values(d.states).reduce((x, y) => x + y, 0);
    const failed = d.states.dead || 0;
    return `${destWord(d.type)} ${d.states.done || 0}/${total}${failed ? ` <span class="unanswered">${stateWord("dead")} ${failed}</span>` : ""}`;
  });
  bits.push(`<span class="sent">${t("sent")}${COLON()}${sent.length ? sent.join(" · ") : t("none_sent")}</span>`);
  return bits.join("");
}

function cardHtml(i) {
  const now = liveOf(i);
  const st = state.stations.get(i.station) || {};
  const place = en() ? [st.village_en] : [st.village];
  const rules = (i.alerts || []).filter((a) => a.severity !== "info").map((a) => {
    const value = raisedValue(a);
    const raised = value ? `${t("at_raise")} ${value}` : "";
    return `<li class="rule ${a.inhibited ? "inhibited" : ""}" data-rule="${esc(a.rule)}">
      <span class="badge ${a.severity}">${sevWord(a.severity)}</span>
      <a href="#alert/${encodeURIComponent(a.id)}" class="rule-name">${esc(en() ? a.rule_name_en : a.rule_name)}</a>
      <span class="now">${liveText(a, now)}</span>
      <span class="raised">${raised} · ${transWord(a.transition)} ${hhmm(Date.parse(a.ts))}${a.inhibited ? " " + t("inhibited") : ""}</span></li>`;
  }).join("");
  const level = now.level ? `<span>${t("level_now")} <b class="live-level">${num(now.level.value)}</b>${en() ? " m" : "米"}</span>` : "";
  const board = now.freeboard != null ? `<span>${freeboardText(now.freeboard, "live-freeboard")}</span>` : "";
  return `<article class="incident ${i.severity} ${i.status} ${now.overtopping ? "overtopping" : ""}" id="incident-${esc(i.id)}" data-severity="${i.severity}" data-station="${esc(i.station)}">
    <a class="headline" href="#station/${encodeURIComponent(i.station)}">${esc(headline(i, now))}</a>
    <div class="meta">${esc(place.filter(Boolean).join(" · "))}${i.status === "exercise" ? ` <span class="badge yellow">${t("exercise")}</span>` : ""}
      <span>${t("lasting")} ${since(i.started)}</span> ${level} ${board}</div>
    <ul class="rules">${rules}</ul>
    <div class="chain">${chainHtml(i)}</div></article>`;
}

/** The buttons of the cards in `box`. */
function wireCard(box) {
  for (const b of box.querySelectorAll("button.ack")) b.onclick = () => openAck(b.dataset.id);
  for (const b of box.querySelectorAll("button.silence")) b.onclick = () => openSilence(b.dataset.station);
  for (const b of box.querySelectorAll("button.unsilence")) {
    b.onclick = async () => {
      try { await api(`/api/silences/${encodeURIComponent(b.dataset.id)}`, { method: "DELETE" }); } catch (err) { alert(errorText(err.message)); }
      await loadIncidents(false);
    };
  }
}

function urgency(i) {
  const rank = { red: 4, orange: 3, yellow: 2, blue: 1 }[i.severity] || 0;
  const now = liveOf(i);
  return [-rank, now.overtopping ? 0 : 1, now.minutes == null ? Infinity : now.minutes, i.started];
}
function byUrgency(a, b) {
  const x = urgency(a), y = urgency(b);
  for (let k = 0; k < x.length; k++) if (x[k] !== y[k]) return x[k] < y[k] ? -1 : 1;
  return 0;
}

function renderIncidents() {
  const box = $("#incidents");
  state.incidents.sort(byUrgency);
  $("#count").textContent = state.incidents.length ? paren(state.incidents.length) : "";
  const html = state.incidents.length ? state.incidents.map(cardHtml).join("") : `<p class="muted calm">${t("none")}</p>`;
  if (html !== state.cardsHtml) { // unchanged cards are left alone (a click is never lost to a redraw)
    state.cardsHtml = html;
    box.innerHTML = html;
    wireCard(box);
  }
  renderOthers();
  leadChart();
  paintMap(state.incidents, state.stations);
  if (state.page === "station") renderStationIncident();
}

/** Under the cards: the level chart of the most urgent incident's station,
 * redrawn on each new reading or forecast. */
async function leadChart() {
  const lead = state.incidents[0];
  const box = $("#lead-chart");
  if (!lead) { box.innerHTML = ""; state.lead = null; return; }
  const live = liveOf(lead);
  const key = `${lead.station}:${live.level ? live.level.at : ""}:${live.minutes}`;
  if (state.lead === key) return; // redrawn on a new reading or forecast only
  state.lead = key;
  try {
    const s = await api(`/api/stations/${encodeURIComponent(lead.station)}`);
    s.name_label = en() ? s.name_en : s.name;
    if (state.leadChart) state.leadChart.forEach((c) => c.destroy());
    box.innerHTML = "";
    // on a wall screen (nobody scrolls) the chart fits the screen under the cards
    const px = basePx(), room = (innerHeight - box.getBoundingClientRect().top - px * 3.2) / px;
    const rows = WALL ? Math.max(8, Math.min(15, room)) : 15;
    state.leadChart = [levelChart(box, s, state.tz, rows, live.level ? [live.level.value] : [])].filter(Boolean);
  } catch (e) { /* next time */ }
}

/** Active alerts outside incidents: sensor and system notices, drills. */
function renderOthers() {
  const inIncident = new Set(state.incidents.flatMap((i) => (i.alerts || []).map((a) => a.id)));
  const rest = state.alerts.filter((a) => !inIncident.has(a.id));
  $("#others").innerHTML = rest.length ? `<h3>${t("others")}</h3><ul class="others">${rest.map((a) => {
    const drill = a.rule === "floodwatch/drill";
    const end = drill && may("drill") ? ` <button type="button" class="end-drill" data-id="${esc(a.id)}">${t("end_drill")}</button>` : "";
    return `<li><span class="badge ${a.severity}">${drill ? t("exercise") : sevWord(a.severity)}</span>
      <a href="#alert/${encodeURIComponent(a.id)}">${esc(stationName(a.station, a.station_name))}</a> ${esc(en() ? a.message_en : a.message_zh)}${end}</li>`;
  }).join("")}</ul>` : "";
  for (const b of $("#others").querySelectorAll("button.end-drill")) {
    b.onclick = async () => {
      try { await api(`/api/drills/${encodeURIComponent(b.dataset.id)}`, { method: "DELETE" }); } catch (err) { alert(errorText(err.message)); }
      await loadIncidents(false);
    };
  }
}

// --- stations table ----------------------------------------------------------

function spark(st) {
  const pts = st.spark || [];
  if (pts.length < 2) return "";
  const vals = pts.map((p) => p[1]).concat((st.lines || []).map((l) => l.value));
  const lo = Math.min(...vals), hi = Math.max(...vals), span = hi - lo || 1;
  const t0 = pts[0][0], t1 = pts[pts.length - 1][0], dt = t1 - t0 || 1;
  const x = (v) => ((v - t0) / dt) * 160, y = (v) => 30 - ((v - lo) / span) * 28 - 1;
  const line = pts.map((p, i) => `${i ? "L" : "M"}${x(p[0]).toFixed(1)},${y(p[1]).toFixed(1)}`).join("");
  const marks = (st.lines || []).map((l) => `<line x1="0" x2="160" y1="${y(l.value)}" y2="${y(l.value)}" stroke="${COLOUR[l.severity] || "#999"}" stroke-dasharray="3 2" stroke-width="1"/>`).join("");
  return `<svg viewBox="0 0 160 30" class="spark">${marks}<path d="${line}" fill="none" stroke="#7cc4ff" stroke-width="1.5"/></svg>`;
}

function renderStations() {
  const rows = [...state.stations.values()].map((s) => {
    const latest = Object.entries(s.latest || {}).map(([k, v]) => {
      const [zh, enName, zu, eu] = KINDS[k] || ["", "", "", ""];
      return `${en() ? enName : zh} <b>${num(v.value)}</b>${en() ? " " + eu : zu}`;
    }).join("<br>");
    const ts = Object.values(s.latest || {}).map((v) => hhmm(Date.parse(v.ts))).join("<br>");
    const level = s.level ? `<span class="dot ${s.level}"></span> ${sevWord(s.level)}` : "";
    const health = (s.health || []).map((h) => `<span class="warn">⚠ ${pick(HEALTH[h]) || (en() ? "fault" : "故障")}</span>`).join(" ") || t("ok");
    return `<tr data-station="${esc(s.id)}"><td><a href="#station/${encodeURIComponent(s.id)}">${esc(en() ? s.name_en : s.name)}</a></td>
      <td>${latest}</td><td>${ts}</td><td>${spark(s)}</td><td>${level}</td><td>${health}</td></tr>`;
  });
  $("#stations tbody").innerHTML = rows.join("");
}

// --- loading and the live stream --------------------------------------------

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

async function loadStatus() {
  const status = await api("/api/status");
  state.tz = status.timezone;
  state.rules = status.rules || {};
  state.destinations = status.destinations || {};
  if (status.event_clock) setClock(Date.parse(status.event_clock));
  $("#drill").hidden = !status.exercise;
}

async function loadIncidents(fresh) {
  await loadStatus();
  const [incidents, alerts, silences] = await Promise.all([api("/api/incidents"), api("/api/alerts?active=true"), api("/api/silences")]);
  state.incidents = incidents; state.alerts = alerts; state.silences = silences;
  let loud = false;
  for (const i of incidents) {
    const key = `${i.id}:${i.severity}`;
    if (!state.seen.has(key) && fresh && (i.severity === "red" || i.severity === "orange")) loud = true;
    state.seen.add(key);
  }
  renderIncidents();
  if (loud) {
    alarm();
    for (const i of incidents) if (i.severity === "red") document.getElementById(`incident-${i.id}`)?.classList.add("flash");
  }
}

async function loadStations() {
  for (const s of await api("/api/stations")) state.stations.set(s.id, s);
  if (!state.mapLoaded) { initMap(await api("/api/map")); state.mapLoaded = true; }
  renderStations();
  renderIncidents();
}

/** At most one incident reload a second while readings stream in (forecasts move). */
function reloadSoon() {
  if (state.reload) return;
  state.reload = setTimeout(() => { state.reload = null; loadIncidents(false).catch(() => {}); }, 1000);
}

function connect() {
  if (state.source) state.source.close();
  const source = new EventSource(`/api/stream?token=${encodeURIComponent(state.token)}`);
  state.source = source;
  source.addEventListener("hello", () => {
    setLink(true);
    loadIncidents(false).then(loadStations).catch(() => {});
  });
  const notices = () => { if (state.page === "notices") noticesPage().catch(() => {}); };
  source.addEventListener("alert", () => { loadIncidents(true).catch(() => {}); notices(); });
  source.addEventListener("incident", () => { loadIncidents(true).catch(() => {}); notices(); });
  source.addEventListener("ack", () => { loadIncidents(false).catch(() => {}); notices(); });
  source.addEventListener("stations", (e) => {
    for (const s of JSON.parse(e.data)) {
      state.stations.set(s.id, { ...state.stations.get(s.id), ...s });
      for (const v of Object.values(s.latest || {})) setClock(Date.parse(v.ts));
    }
    renderStations();
    renderIncidents(); // live values and durations move with the readings
    if (state.incidents.length) reloadSoon();
  });
  source.onerror = () => {
    setLink(false);
    if (source.readyState === EventSource.CLOSED) setTimeout(() => state.token && connect(), 3000);
  };
}

// --- acknowledgement, drills -------------------------------------------------

function openAck(id) {
  const i = state.incidents.find((x) => x.id === id);
  state.ackId = id;
  $("#ack-what").textContent = i ? (en() ? i.worst_en : i.worst) : "";
  $("#ack-form").comment.value = "";
  $("#ack-dialog").showModal();
}

$("#ack-cancel").onclick = () => $("#ack-dialog").close();
$("#ack-form").onsubmit = async (e) => {
  e.preventDefault();
  const comment = $("#ack-form").comment.value;
  $("#ack-dialog").close();
  try {
    await api(`/api/incidents/${encodeURIComponent(state.ackId)}/ack`, { method: "POST", body: JSON.stringify({ comment }) });
  } catch (err) { alert(errorText(err.message)); }
  await loadIncidents(false);
};

function openSilence(station) {
  state.silenceStation = station;
  $("#silence-what").textContent = stationName(station);
  $("#silence-form").reason.value = "";
  $("#silence-dialog").showModal();
}
$("#silence-cancel").onclick = () => $("#silence-dialog").close();
$("#silence-form").onsubmit = async (e) => {
  e.preventDefault();
  const f = $("#silence-form");
  const hours = +f.elements.namedItem("hours").value;
  $("#silence-dialog").close();
  const i = state.incidents.find((x) => x.station === state.silenceStation);
  const stations = [...new Set([state.silenceStation, ...((i && i.alerts) || []).map((a) => a.station)])];
  const body = { stations, reason: f.reason.value, ends: new Date(Date.now() + hours * 3600000).toISOString() };
  try { await api("/api/silences", { method: "POST", body: JSON.stringify(body) }); } catch (err) { alert(errorText(err.message)); }
  await loadIncidents(false);
};

// --- station page ------------------------------------------------------------

function renderStationIncident() {
  const id = state.stationId;
  const mine = state.incidents.filter((i) => i.station === id || (i.alerts || []).some((a) => a.station === id));
  $("#station-incident").innerHTML = mine.map(cardHtml).join("");
  wireCard($("#station-incident"));
}

async function stationPage(id) {
  show("station");
  state.stationId = id;
  const s = await api(`/api/stations/${encodeURIComponent(id)}`);
  s.name_label = en() ? s.name_en : s.name;
  $("#station-title").textContent = [s.name_label, en() ? s.village_en : s.village].filter(Boolean).join(" · ");
  renderStationIncident();
  for (const c of state.charts) c.destroy();
  state.charts = [];
  const box = $("#station-charts");
  box.innerHTML = "";
  const rain = state.incidents.flatMap((i) => i.alerts || []).find((a) => a.station === id && a.kind === "rainfall");
  const fired = rain && rain.details ? rain.details.window : null;
  const made = [levelChart(box, s, state.tz), ...rainCharts(box, s, state.tz, fired === "1d" ? "24h" : fired), flowChart(box, s, state.tz)];
  state.charts = made.filter(Boolean);
  $("#station-alerts").innerHTML = s.alerts.slice(-30).reverse().map((a) => `<p><span class="badge ${a.severity}">${sevWord(a.severity)}</span>
    ${esc(ruleName(a.rule))} · ${transWord(a.transition)} · ${when(Date.parse(a.ts))} — ${esc(en() ? a.message_en : a.message_zh)}</p>`).join("");
}

// --- alert timeline ----------------------------------------------------------

async function alertPage(id) {
  show("alert");
  const tl = await api(`/api/alerts/${encodeURIComponent(id)}`);
  const c = tl.current;
  const rows = (items, cells) => items.map((i) => `<tr>${cells(i).map((x) => `<td>${x}</td>`).join("")}</tr>`).join("");
  const time = (s) => (s ? when(s * 1000) : "—");
  const head = (...keys) => `<thead><tr>${keys.map((k) => `<th>${t(k)}</th>`).join("")}</tr></thead>`;
  $("#alert-detail").innerHTML = `
    <h2><span class="badge ${c.severity}">${sevWord(c.severity)}</span>
      ${esc(stationName(c.station, c.station_name))} · ${esc(ruleName(c.rule))} ${tl.active ? "" : t("ended")}</h2>
    <p class="message">${esc(en() ? c.message_en : c.message_zh)}</p>
    <h3>${t("transitions")}</h3>
    <table>${head("time", "change", "grade", "value")}
    <tbody>${rows(tl.transitions, (e) => [when(Date.parse(e.ts)), transWord(e.transition), `<span class="badge ${e.severity}">${sevWord(e.severity)}</span>`, raisedValue({ ...e, kind: e.kind || c.kind })])}</tbody></table>
    <h3>${t("deliveries")}</h3><p class="clock-note">${t("wall_clock_note")}</p>
    <table>${head("dest", "to", "why", "state", "tries", "last_error")}
    <tbody>${rows(tl.deliveries, (d) => [destWord(state.destinations[d.destination]), esc(d.recipient), pick(NOTES[(d.note || "").split(":")[0]]) || transWord(d.transition),
      stateWord(d.state), `${d.tries.length} · ${d.tries.map((x) => time(x.at).split(" ").pop()).join(", ")}`, esc(d.tries.filter((x) => x.error).map((x) => x.error).pop() || "")])}</tbody></table>
    <h3>${t("calls")} ${tl.call_state ? paren(pick(CALL_STATES[tl.call_state]) || "") : ""}</h3>
    <table>${head("person", "tier", "called_at", "answered_at")}
    <tbody>${rows(tl.calls, (x) => [esc(x.name), x.tier, time(x.called_at), x.answered_at ? time(x.answered_at) : `<span class="unanswered">${t("no_answer")}</span>`])}</tbody></table>
    <h3>${t("acks")}</h3>
    <table><tbody>${rows(tl.acknowledgements, (k) => [esc(k.by), time(k.at), esc(k.comment)]) || `<tr><td class="muted">${t("nothing")}</td></tr>`}</tbody></table>`;
}

// --- notices (通知): what people were told -----------------------------------

async function noticesPage() {
  show("notices");
  const n = await api("/api/notifications");
  const time = (s) => (s ? when(s * 1000, { month: "numeric", day: "numeric", hour: "2-digit", minute: "2-digit" }) : "—");
  const boxes = n.broadcasts.map((b) => {
    const c = b.current;
    const head = `<h3>${esc(b.village_name)} ${b.recorded ? `<span class="muted">${t("recorded")}</span>` : ""}</h3>`;
    if (!c) return `<div class="box quiet">${head}<p class="muted">${t("box_silent")}</p></div>`;
    return `<div class="box ${esc(c.severity || "")}">${head}
      <p class="spoken">${c.severity ? `<span class="badge ${esc(c.severity)}">${sevWord(c.severity)}</span> ` : ""}${pick(MSG_TYPES[c.msg_type]) || ""} · ${esc(c.text)}</p>
      <p class="muted">${t("expires", { t: time(c.expires_at) })} · ${t("box_history", { n: b.history.length })}</p></div>`;
  }).join("");
  const calls = n.calls.map((c) => `<div class="callbox">
      <h3><span class="badge ${esc(c.severity || "info")}">${sevWord(c.severity)}</span> ${esc(stationName(c.station, c.station_name))}
        · ${pick(CALL_STATES[c.state]) || ""} <span class="muted">${t("reply_code", { c: esc(c.reply_code) })}</span></h3>
      <table><tbody>${c.called.map((p) => `<tr><td>${esc(p.name)}</td><td>${esc(p.role)}</td>
        <td>${p.tier ? t("tier_n", { n: p.tier }) : t("first_call")}</td><td>${time(p.called_at)}</td>
        <td>${p.answered_at ? `${t("answered_at")} ${time(p.answered_at)}` : `<span class="unanswered">${t("no_answer")}</span>`}</td></tr>`).join("")}</tbody></table>
      ${c.acknowledged ? `<p class="acked">✔ ${esc(t("acked_via", { who: c.acknowledged.by, via: pick(VIA[c.acknowledged.via]) || "" }))}${c.acknowledged.comment ? COLON() + esc(c.acknowledged.comment) : ""}</p>` : ""}
    </div>`).join("");
  const sms = n.sms.map((p) => `<div class="person"><h3>${esc(p.name)} <span class="muted">${esc(p.roles.join("、"))} · ${esc(p.phone)}</span></h3>
      ${p.messages.map((m) => `<div class="sms ${esc(m.state)}"><span class="muted">${time(m.created)} · ${stateWord(m.state)}${m.notes.length ? " · " + m.notes.map((x) => pick(NOTES[x]) || "").join("、") : ""}</span>
        <p>${esc(m.text || "")}</p></div>`).join("")}</div>`).join("");
  $("#notices-body").innerHTML = `<h2>${t("notices_title")}</h2><p class="clock-note">${t("wall_clock_note")}</p>
    <h2 class="sub">${t("boxes")}</h2><div class="boxes">${boxes || `<p class="muted">${t("box_silent")}</p>`}</div>
    <h2 class="sub">${t("calls_title")}</h2>${calls || `<p class="muted">${t("no_calls_yet")}</p>`}
    <h2 class="sub">${t("sms_title")}</h2><div class="people">${sms || `<p class="muted">${t("no_sms")}</p>`}</div>`;
}
window.noticesPage = noticesPage;

// --- routing, login, start ---------------------------------------------------

async function route() {
  if (!state.token) { show("login"); return; }
  const alertMatch = location.hash.match(/^#alert\/(.+)$/);
  if (alertMatch) { await alertPage(decodeURIComponent(alertMatch[1])); return; }
  const m = location.hash.match(/^#station\/(.+)$/);
  if (m) { await stationPage(decodeURIComponent(m[1])); return; }
  if (location.hash === "#notices") { await noticesPage(); return; }
  show("board");
}

$("#login-form").onsubmit = async (e) => {
  e.preventDefault();
  const form = e.target;
  try {
    const r = await api("/api/login", { method: "POST", body: JSON.stringify({ name: form.elements.namedItem("name").value, password: form.elements.namedItem("password").value }) });
    state.token = r.token; localStorage.setItem("fw-token", r.token);
    $("#login-error").textContent = "";
    await start();
  } catch (err) { $("#login-error").textContent = errorText(err.message); }
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
  try {
    await api("/api/drills", { method: "POST", body: JSON.stringify({ station: f.namedItem("station").value, severity: f.namedItem("severity").value }) });
  } catch (err) { alert(errorText(err.message)); }
  await loadIncidents(true);
};
$("#lang").onclick = () => {
  lang.current = en() ? "zh" : "en";
  localStorage.setItem("fw-lang", lang.current);
  translate();
  state.lead = null;
  renderIncidents(); renderStations();
  if (MAP.data) { initMap(MAP.data); paintMap(state.incidents, state.stations); }
  if (state.page !== "board") route().catch(() => {});
};
window.onhashchange = () => route().catch(() => {});

async function start() {
  try { state.me = await api("/api/me"); } catch (e) { return; }
  $("#drill-start").hidden = !may("drill");
  $("#nav-notices").hidden = false;
  translate();
  await route();
  connect();
}

translate();
if (state.token) start(); else show("login");
