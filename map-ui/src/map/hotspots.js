// Hotspot cells on the map: fetched for the viewport (cached per URL), drawn as KDE
// percentiles or Gi* classes, and repainted for one hour of the night. With month-only
// data (police.uk) every hour scores alike, so the hour is drawn from the night's answer
// scaled by the hour profile in MapLibre feature-state: a move of the hour slider then
// repaints without a download or a GeoJSON parse, well under 200 ms.
import { api } from '../api.js';
import { h } from '../dom.js';
import { hourOfWeek, hourWindow, nightWindow, NIGHT_HOURS } from '../night.js';
import { state } from '../state.js';
import { bboxParam, cellForZoom } from './viewport.js';

/** Gi* classes: ColorBrewer RdBu (diverging, colour-blind safe). */
const GI_CLASSES = [
  ['hot-99', 'Hot spot, 99% confidence', '#b2182b'],
  ['hot-95', 'Hot spot, 95%', '#ef8a62'],
  ['hot-90', 'Hot spot, 90%', '#fddbc7'],
  ['cold-90', 'Cold spot, 90%', '#d1e5f0'],
  ['cold-95', 'Cold spot, 95%', '#67a9cf'],
  ['cold-99', 'Cold spot, 99%', '#2166ac'],
];
/** KDE percentiles: viridis (sequential, colour-blind safe). */
const KDE_STEPS = [
  [0, 'below 50th percentile', '#fde725'],
  [50, '50th-75th', '#5ec962'],
  [75, '75th-90th', '#21918c'],
  [90, '90th-99th', '#3b528b'],
  [99, 'top 1%', '#440154'],
];

function ensureHotspotLayers(map) {
  if (map.getSource('hotspots')) return;
  map.addSource('hotspots', { type: 'geojson', data: { type: 'FeatureCollection', features: [] }, promoteId: 'id' });
  const beforeId = map.getLayer('districts-line') ? 'districts-line' : undefined;
  map.addLayer(
    {
      id: 'hotspots',
      type: 'fill',
      source: 'hotspots',
      paint: { 'fill-color': '#888', 'fill-opacity': 0.7, 'fill-outline-color': 'rgba(0,0,0,0)' },
    },
    beforeId,
  );
}

function hotspotPaint(method) {
  if (method === 'gistar') {
    const m = ['match', ['get', 'class']];
    for (const [c, , col] of GI_CLASSES) m.push(c, col);
    m.push('rgba(0,0,0,0)');
    return m;
  }
  const s = ['step', ['get', 'percentile'], KDE_STEPS[0][2]];
  for (const [p, , col] of KDE_STEPS.slice(1)) s.push(p, col);
  return s;
}

export function legendFor(method, scaled = false) {
  const rows =
    method === 'gistar'
      ? GI_CLASSES.map(([, label, col]) => [label, col])
      : KDE_STEPS.map(([, label, col]) => [`${method === 'ensemble' ? 'Forecast' : 'KDE'} score ${label}`, col]);
  const title = !scaled
    ? null
    : method === 'gistar'
      ? 'Opacity: this hour against the night\'s peak hour (Gi* classes do not scale)'
      : 'Expected weight this hour, on the night\'s scale: the peak hour\'s KDE percentiles';
  return h(
    'ul',
    { class: 'legend', id: 'hotspot-legend', 'aria-label': 'Hotspot legend' },
    title ? h('li', { class: 'legend-title', text: title }) : null,
    rows.map(([label, col]) => h('li', {}, h('span', { class: 'swatch', style: `background:${col}` }), label)),
  );
}

/** A cheap fingerprint of a hotspot answer: its cells and their scores and classes. */
function signature(data) {
  let acc = data.features.length;
  for (const f of data.features) {
    const p = f.properties;
    acc = (acc * 31 + (p.score * 1e6) | 0) | 0;
    acc = (acc * 31 + p.col * 7 + p.row) | 0;
    if (p.class) acc = (acc * 31 + p.class.length + p.class.charCodeAt(0)) | 0;
  }
  return `${data.firefly?.method}|${acc}`;
}

async function fetchHotspots(map, method, window) {
  const params = new URLSearchParams({ method, cell: String(cellForZoom(map.getZoom())), bbox: bboxParam(map) });
  if (window) params.set('window', window);
  const url = `/api/v1/hotspots?${params}`;
  let data = state.hotspotCache.get(url);
  if (!data) {
    data = await api(url);
    state.hotspotCache.set(url, data);
    if (state.hotspotCache.size > 40) state.hotspotCache.delete(state.hotspotCache.keys().next().value);
  }
  return data;
}

/**
 * How month-only data are drawn for one hour: police.uk gives no time of day, so every
 * hour scores alike, and the answer's hour profile (observed from timed incidents, or a
 * labelled prior) says how busy the hour is. A cell's expected weight that hour is score x
 * share x 168 (1 = an average hour of the week). The colour scale is fixed for the night:
 * class boundaries are those of the night's peak hour, so quiet hours fade and the peak
 * glows instead of every hour being stretched to the same colours.
 */
export function hourScale(data, profile, night, hour) {
  const factor = (hr) => (profile.shares[hourOfWeek(night, hr)] || 0) * 168;
  const peakHour = NIGHT_HOURS.reduce((a, b) => (factor(b) > factor(a) ? b : a));
  const peak = factor(peakHour) || 1;
  // The percentile boundaries in score, times the peak factor; kept strictly ascending,
  // as a `step` expression needs, even when the view holds no cell of a class.
  let top = 0;
  for (const f of data.features) top = Math.max(top, f.properties.score);
  const thresholds = [];
  for (const [p] of KDE_STEPS.slice(1)) {
    let m = Infinity;
    for (const f of data.features) if (f.properties.percentile >= p) m = Math.min(m, f.properties.score);
    if (!Number.isFinite(m)) m = top * 1.01 + 1e-12;
    const prev = thresholds.length ? thresholds[thresholds.length - 1] : 0;
    thresholds.push(Math.max(m * peak, prev * (1 + 1e-9) + 1e-15));
  }
  return { profile, factor: factor(hour), peak, peakHour, thresholds };
}

/** Paint for the cells: plain (percentiles or Gi* classes), or scaled by the hour. */
function hotspotStyle(method, scale) {
  if (!scale) return { color: hotspotPaint(method), opacity: 0.7 };
  if (method === 'gistar') return { color: hotspotPaint(method), opacity: 0.1 + 0.75 * (scale.factor / scale.peak) };
  // Expected weight per cell lives in feature-state, so a new hour updates paint only: no
  // download, no GeoJSON parse, no re-tiling.
  const w = ['coalesce', ['feature-state', 'w'], 0];
  const color = ['step', w, KDE_STEPS[0][2]];
  KDE_STEPS.slice(1).forEach(([, , col], i) => color.push(scale.thresholds[i], col));
  return { color, opacity: ['interpolate', ['linear'], w, 0, 0.3, scale.thresholds[1], 0.85] };
}

/** Draws a hotspot answer; `scale` (from hourScale) when month-only data meet one hour. */
export function drawHotspots(map, data, method, scale) {
  ensureHotspotLayers(map);
  // Redraw only what changed: an answer identical to the one drawn (police.uk's month-only
  // incidents score alike in every hour) is not sent to the worker again.
  const sig = signature(data);
  if (sig !== state.hotspotSig) {
    map.getSource('hotspots').setData(data);
    map.removeFeatureState({ source: 'hotspots' });
    state.hotspotSig = sig;
  }
  const style = hotspotStyle(method, scale);
  const colorKey = JSON.stringify(style.color);
  if (colorKey !== state.hotspotColor) {
    map.setPaintProperty('hotspots', 'fill-color', style.color);
    state.hotspotColor = colorKey;
  }
  const opacityKey = JSON.stringify(style.opacity);
  if (opacityKey !== state.hotspotOpacity) {
    map.setPaintProperty('hotspots', 'fill-opacity', style.opacity);
    state.hotspotOpacity = opacityKey;
  }
  if (scale && method !== 'gistar') {
    for (const f of data.features) map.setFeatureState({ source: 'hotspots', id: f.properties.id }, { w: f.properties.score * scale.factor });
  }
  const info = data.firefly || {};
  return { cells: data.features.length, untimed: info.n_untimed || 0, incidents: info.n_incidents || 0, validation: info.validation || null };
}

/**
 * "Tested on the 6 latest months it had not seen: …" under the legend: how well the
 * method caught the next period's incidents, beside last period's counts (naive) and the
 * best possible (ceiling), so the map is read against what it has earned.
 */
export function validationText(v) {
  if (!v) return '';
  if (v.pending) return 'Validation: being computed for the whole area; shown in a few seconds.';
  if (!v.available) return `Not validated: ${v.reason}`;
  const at = (coverage) => v.rows.find((r) => r.coverage === coverage);
  const pai = (m) => (m && m.pai ? m.pai.mean.toFixed(1) + (m.pai.sd != null ? ` ± ${m.pai.sd.toFixed(1)}` : '') : 'n/a');
  const unit = v.unit === 'month' ? 'months' : 'periods';
  const parts = [1, 5]
    .map((c) => at(c))
    .filter(Boolean)
    .map((r) => `top ${r.coverage} % of the area: PAI ${pai(r.method)} (last period's counts ${pai(r.naive)}, best possible ${pai(r.ceiling)})`);
  return `Tested on the ${v.periods.length} latest ${unit} it had not seen: ${parts.join('; ')}. PAI = share of the next period's incidents caught ÷ share of the area.`;
}

/** "Hour shape: …" under the legend, so nobody reads a prior as local evidence. */
export function profileText(profile) {
  const label = profile.source === 'prior' ? profile.label.replace(/^prior:\s*/, 'prior from ') : profile.label;
  return `Hour shape: ${label}, the same for every cell: it raises or lowers the whole map by hour, never one place against another.`;
}

/**
 * Draws the cells for the controls' choice: all night hours, or one `hour` of `night`. For
 * one hour the whole night's answer comes first; if its incidents lack a time of day, every
 * hour would score the same, so that answer is drawn scaled by the hour profile. Timed data
 * are re-scored for the hour by the server. Answers what drawHotspots counted and the
 * scale used (null when unscaled).
 */
export async function showHotspots(map, method, { night, hour, allHours }) {
  if (allHours) return { drawn: drawHotspots(map, await fetchHotspots(map, method, null), method, null), scale: null };
  const whole = await fetchHotspots(map, method, nightWindow(night));
  const info = whole.firefly || {};
  if (info.n_untimed > 0 && info.hour_profile) {
    const scale = hourScale(whole, info.hour_profile, night, hour);
    return { drawn: drawHotspots(map, whole, method, scale), scale };
  }
  return { drawn: drawHotspots(map, await fetchHotspots(map, method, hourWindow(night, hour)), method, null), scale: null };
}
