// floodwatch command center: the map (Leaflet, vendored). Stations at their
// coordinates coloured by their incident's severity (pulsing for red and for
// overtopping), the config's GeoJSON layers (boundaries, rivers, evacuation
// routes, shelters), no tile server unless the service config names one.
"use strict";

const MAP = { map: null, markers: new Map(), labels: new Map(), data: null };
const LABEL_SIDE = { pond: ["left", [-1, 0]], reservoir: ["left", [-1, 0]], culvert: ["bottom", [0, 1]],
  rain_gauge: ["top", [0, -1]], river: ["right", [1, 0]] }; // offsets in marker radii
const scale = () => basePx() / 20; // markers and lines grow with the type (4K walls)
const LAYER_STYLE = {
  boundary: { color: "#8fa3b8", weight: 2, dashArray: "6 6", fill: true, fillColor: "#1d2a38", fillOpacity: 0.55 },
  river: { color: "#3da5ff", weight: 4 },
  route: { color: "#34c759", weight: 4, dashArray: "10 8" },
  shelter: { color: "#34c759" },
};

function initMap(data) {
  MAP.data = data;
  const el = document.getElementById("map");
  if (MAP.map) { MAP.map.remove(); MAP.markers.clear(); MAP.labels.clear(); }
  const k = scale();
  const map = L.map(el, { attributionControl: !!data.tiles, zoomControl: !document.body.classList.contains("wall"), zoomSnap: 0.25 });
  MAP.map = map;
  const bounds = data.stations.map((s) => [s.lat, s.lon]);
  for (const layer of data.layers) for (const f of layer.data.features || []) collect(f.geometry, bounds);
  if (bounds.length) map.fitBounds(bounds, { padding: [80 * k, 60 * k] }); // a view before any layer
  else map.setView([30, 120], 10);
  if (data.tiles) L.tileLayer(data.tiles, { attribution: data.attribution || "", maxZoom: 19 }).addTo(map);
  for (const layer of data.layers) {
    L.geoJSON(layer.data, {
      style: (f) => {
        const style = { ...(LAYER_STYLE[(f.properties || {}).kind] || { color: "#aab", weight: 2 }) };
        style.weight = (style.weight || 2) * k;
        return style;
      },
      pointToLayer: (f, latlng) => L.circleMarker(latlng, { radius: 9 * k, color: "#34c759", weight: 3 * k, fillColor: "#0b3d1a", fillOpacity: 1 }),
      onEachFeature: (f, l) => {
        const p = f.properties || {};
        const name = en() ? (p.name_en || p.name) : p.name;
        if (name && (p.kind === "shelter" || p.kind === "boundary")) {
          l.bindTooltip(esc(name), { permanent: p.kind === "shelter", direction: p.kind === "shelter" ? "top" : "center", className: `map-label ${p.kind}` });
        }
      },
    }).addTo(map);
  }
  for (const s of data.stations) {
    const marker = L.circleMarker([s.lat, s.lon], { radius: 13 * k, weight: 4 * k, color: "#fff", fillColor: "#5f6b78", fillOpacity: 1, className: `station st-${s.id}` });
    marker.on("click", () => { location.hash = `#station/${encodeURIComponent(s.id)}`; });
    const side = LABEL_SIDE[s.type] || LABEL_SIDE.pond; // stations of one pond stand close together
    const off = [side[1][0] * 15 * k, side[1][1] * 15 * k];
    marker.bindTooltip(esc(en() ? s.name_en : s.name), { permanent: true, direction: side[0], offset: off, className: "map-label station" });
    marker.addTo(map);
    MAP.markers.set(s.id, marker);
  }
}

function collect(geometry, out) {
  if (!geometry) return;
  const walk = (c) => (typeof c[0] === "number" ? out.push([c[1], c[0]]) : c.forEach(walk));
  if (geometry.coordinates) walk(geometry.coordinates);
}

/** Colour the markers: each station by the worst incident it is part of. */
function paintMap(incidents, stations) {
  if (!MAP.map) return;
  const worst = new Map(), over = new Set();
  const rank = { red: 4, orange: 3, yellow: 2, blue: 1 };
  for (const i of incidents) {
    const members = new Set([i.station, ...(i.alerts || []).map((a) => a.station)]);
    for (const sid of members) if ((rank[i.severity] || 0) > (rank[worst.get(sid)] || 0)) worst.set(sid, i.severity);
    if (i.live && i.live.overtopping) over.add(i.station);
  }
  for (const [sid, marker] of MAP.markers) {
    const st = stations.get(sid) || {};
    const sev = worst.get(sid) || st.level || null;
    const el = marker.getElement();
    const k = scale();
    marker.setStyle({ fillColor: sev ? COLOUR[sev] : "#5f6b78", radius: (sev === "red" ? 17 : 13) * k });
    if (!el) continue;
    for (const c of ["sev-red", "sev-orange", "sev-yellow", "sev-blue", "pulse"]) el.classList.remove(c);
    if (sev) el.classList.add(`sev-${sev}`);
    if (sev === "red" || over.has(sid)) el.classList.add("pulse");
  }
}
