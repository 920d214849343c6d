// floodwatch command center: charts that explain a warning (uPlot, vendored).
// Level: the readings, every characteristic level and warning line labelled in
// the page's language (lines at one value share one label), and the
// water-balance forecast drawn ahead of the last reading to its expected peak.
// Rain: one chart per window (1/3/6/24 h), the running total against that
// window's lines, the window that fired first.
"use strict";

const COLOUR = { red: "#ff3b30", orange: "#ff9500", yellow: "#ffd60a", blue: "#4c8dff", info: "#9aa7b4" };
const STRUCTURE_COLOUR = { crest: "#ffffff", spillway_crest: "#5ac8fa", flood_limit: "#a0e57a",
  check_flood: "#c7a6ff", design_flood: "#c7a6ff", warning: "#ffb347", guarantee: "#ff6961" };

function basePx() { return parseFloat(getComputedStyle(document.body).fontSize) || 18; }

function lineColour(line) {
  return line.severity ? COLOUR[line.severity] : (STRUCTURE_COLOUR[line.structure] || "#ccc");
}

/** Lines at one value share one label: "红色 311.80 · 校核洪水位". */
function mergeLines(lines) {
  const byValue = new Map();
  for (const l of lines) {
    const key = (+l.value).toFixed(3);
    const label = en() ? l.label_en : l.label;
    const row = byValue.get(key) || { value: +l.value, labels: [], colour: lineColour(l), severity: l.severity };
    if (!row.labels.includes(label)) row.labels.push(label);
    if (l.severity) { row.colour = lineColour(l); row.severity = l.severity; }
    byValue.set(key, row);
  }
  return [...byValue.values()].sort((a, b) => b.value - a.value);
}

/** Draw the horizontal lines with labels kept apart (never on top of each other). */
function linesPlugin(lines, unit, extra = () => {}, digits = 2) {
  return {
    hooks: {
      draw: [(u) => {
        const ctx = u.ctx, px = basePx() * devicePixelRatio, { left, top, width, height } = u.bbox;
        ctx.save();
        ctx.font = `bold ${Math.round(px * 0.95)}px "Noto Sans CJK SC", sans-serif`;
        // labels at the left, over the quiet past, away from the latest readings and the forecast
        ctx.textAlign = "left"; ctx.textBaseline = "middle";
        let lastY = -Infinity;
        const gap = px * 1.15;
        const placed = lines.map((l) => ({ ...l, y: u.valToPos(l.value, "y", true) })).sort((a, b) => a.y - b.y);
        for (const l of placed) {
          if (l.y < top - 2 || l.y > top + height + 2) continue;
          ctx.strokeStyle = l.colour; ctx.lineWidth = Math.max(1, px / 10);
          ctx.setLineDash(l.severity ? [px / 2, px / 3] : []);
          ctx.beginPath(); ctx.moveTo(left, l.y); ctx.lineTo(left + width, l.y); ctx.stroke();
          const y = Math.max(l.y, lastY + gap);
          lastY = y;
          const text = `${l.labels.join(" · ")} ${l.value.toFixed(digits)}${unit}`;
          const w = ctx.measureText(text).width;
          ctx.fillStyle = "rgba(10,16,22,0.85)";
          ctx.fillRect(left + px * 0.2, y - gap / 2, w + px * 0.4, gap);
          ctx.fillStyle = l.colour;
          ctx.fillText(text, left + px * 0.4, y);
        }
        extra(u, ctx, px);
        ctx.restore();
      }],
    },
  };
}

function axes(px, yLabel) {
  const font = `${Math.round(px * 0.85)}px "Noto Sans CJK SC", sans-serif`;
  const grid = { stroke: "rgba(255,255,255,0.08)" };
  return [
    // times as 24-hour HH:MM in the service's zone (no "am/pm" on a Chinese page)
    { stroke: "#c8d3de", font, grid, ticks: grid, size: px * 2.2, space: px * 5,
      values: (u, splits) => splits.map((v) => hhmm(v * 1000)) },
    { stroke: "#c8d3de", font, grid, ticks: grid, size: px * 4.2, space: px * 2, label: yLabel, labelFont: font,
      labelSize: px * 1.6 },
  ];
}

function chartBox(el, title) {
  const box = document.createElement("div");
  box.className = "chart";
  box.innerHTML = `<h3>${esc(title)}</h3><div class="plot"></div>`;
  el.appendChild(box);
  return box.querySelector(".plot");
}

function levelChart(el, s, tz, rows = 22, extra = []) {
  const pts = s.series.level || [];
  if (!pts.length) return null;
  const px = basePx();
  const lines = mergeLines(s.thresholds.filter((l) => l.kind === "level"));
  const last = pts[pts.length - 1];
  // a forecast worth drawing: a peak still ahead of the last reading
  const forecast = Object.values(s.forecasts || {}).find((f) => f.peak_level != null && f.peak_in_minutes > 0);
  const xs = pts.map((p) => p[0] / 1000), level = pts.map((p) => p[1]), ahead = pts.map(() => null);
  let peakText = "";
  if (forecast) {
    ahead[ahead.length - 1] = last[1];
    const peakAt = (forecast.at + (forecast.peak_in_minutes || 0) * 60000) / 1000;
    const end = Math.max(peakAt, last[0] / 1000 + 3600);
    if (peakAt > xs[xs.length - 1]) { xs.push(peakAt); level.push(null); ahead.push(forecast.peak_level); }
    if (end > xs[xs.length - 1]) { xs.push(end); level.push(null); ahead.push(null); }
    // the minutes are the card's headline; the chart says what the dashed line is
    peakText = forecast.minutes_to_crest != null ? t("dashed_crest")
      : t("dashed_peak", { v: (+forecast.peak_level).toFixed(2) });
  }
  // the range holds the readings, every line, the current level and each forecast's
  // expected peak, and a margin above the crest: a level over the crest never runs
  // into the top edge
  const crest = s.thresholds.find((l) => l.kind === "level" && l.structure === "crest");
  const peaks = Object.values(s.forecasts || {}).map((f) => f.peak_level).filter((v) => v != null && isFinite(v));
  const values = [...pts.map((p) => p[1]), ...lines.map((l) => l.value), ...peaks, ...extra.filter((v) => v != null && isFinite(v))];
  const lo0 = Math.min(...values), hi0 = Math.max(...values), pad = Math.max(0.1, (hi0 - lo0) * 0.08);
  const lo = lo0, hi = Math.max(hi0, crest ? +crest.value + pad : hi0);
  const plot = chartBox(el, `${s.name_label} · ${t("chart_level")}${peakText ? " · " + peakText : ""}`);
  const unit = en() ? " m" : "米";
  const opts = {
    width: plot.clientWidth || 1000, height: Math.round(px * rows),
    tzDate: (ts) => uPlot.tzDate(new Date(ts * 1000), tz),
    legend: { show: false }, cursor: { show: true, points: { show: false } },
    scales: { x: { time: true }, y: { range: [lo - pad, hi + pad] } },
    axes: axes(px, ""),
    series: [{}, { stroke: "#7cc4ff", width: px / 6 }, { stroke: "#ffffff", width: px / 6, dash: [px / 2, px / 3], spanGaps: true }],
    plugins: [linesPlugin(lines, unit, (u, ctx, dpx) => {
      if (!forecast) return;
      const i = ahead.length - 1 - [...ahead].reverse().findIndex((v) => v !== null);
      const x = u.valToPos(xs[i], "x", true), y = u.valToPos(ahead[i], "y", true);
      ctx.fillStyle = "#ffffff"; ctx.beginPath(); ctx.arc(x, y, dpx * 0.3, 0, 7); ctx.fill();
      if (forecast.minutes_to_crest != null) return; // at the crest: its label and the title say it
      ctx.textAlign = "right"; ctx.textBaseline = "bottom";
      ctx.fillText(`${t("forecast")} ${(+ahead[i]).toFixed(2)}${unit}`, x - dpx * 0.4, y - dpx * 0.3);
    })],
  };
  return new uPlot(opts, [xs, level, ahead], plot);
}

function rainCharts(el, s, tz, fired) {
  const pts = s.series.rain || [];
  if (!pts.length) return [];
  const px = basePx();
  const windows = [...new Set(s.thresholds.filter((l) => l.kind === "rain").map((l) => l.window))];
  const spanOf = { "1h": 1, "3h": 3, "6h": 6, "24h": 24, "1d": 24 };
  windows.sort((a, b) => (a === fired ? -1 : b === fired ? 1 : (spanOf[a] || 0) - (spanOf[b] || 0)));
  const charts = [];
  for (const w of windows) {
    const span = (spanOf[w] || 1) * 3600000;
    let j = 0, sum = 0;
    const totals = pts.map((p, i) => { sum += p[1]; while (pts[j][0] <= p[0] - span) { sum -= pts[j][1]; j++; } return Math.round(sum * 10) / 10; });
    const lines = mergeLines(s.thresholds.filter((l) => l.kind === "rain" && l.window === w));
    const hi = Math.max(...totals, ...lines.map((l) => l.value)) * 1.08;
    const title = t("chart_rain", { w: windowWord(w) }) + (w === fired ? " " + t("fired") : "");
    const plot = chartBox(el, title);
    if (w === fired) plot.parentElement.classList.add("fired");
    charts.push(new uPlot({
      width: plot.clientWidth || 1000, height: Math.round(px * (w === fired ? 16 : 11)),
      tzDate: (ts) => uPlot.tzDate(new Date(ts * 1000), tz),
      legend: { show: false }, cursor: { points: { show: false } },
      scales: { x: { time: true }, y: { range: [0, hi || 1] } },
      axes: axes(px, ""),
      series: [{}, { stroke: "#7cc4ff", fill: "rgba(124,196,255,0.18)", width: px / 6 }],
      plugins: [linesPlugin(lines, en() ? " mm" : "毫米", () => {}, 0)],
    }, [pts.map((p) => p[0] / 1000), totals], plot));
  }
  return charts;
}

function flowChart(el, s, tz) {
  const pts = s.series.flow || [];
  if (!pts.length) return null;
  const px = basePx();
  const plot = chartBox(el, `${s.name_label} · ${en() ? "flow (m³/s)" : "流量（立方米/秒）"}`);
  return new uPlot({
    width: plot.clientWidth || 1000, height: Math.round(px * 12),
    tzDate: (ts) => uPlot.tzDate(new Date(ts * 1000), tz),
    legend: { show: false }, cursor: { points: { show: false } }, axes: axes(px, ""),
    scales: { x: { time: true }, y: { range: (u, lo, hi) => [0, Math.max(hi * 1.1, 0.5)] } },
    series: [{}, { stroke: "#7cc4ff", width: px / 6 }],
  }, [pts.map((p) => p[0] / 1000), pts.map((p) => p[1])], plot);
}
