// Firefly's map UI: one page, three views chosen by the logged-in role (planner and admin:
// the planner view; officer; liaison). Talks only to the Firefly API on the same origin,
// with the session cookie that POST /api/v1/auth/login sets.
import maplibregl from 'maplibre-gl';
import polylabel from 'polylabel';

const $ = (sel, root = document) => root.querySelector(sel);
const h = (tag, attrs = {}, ...children) => {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k === 'text') el.textContent = v;
    else el.setAttribute(k, v === true ? '' : v);
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
};

// --- palettes (colour-blind safe) and labels -------------------------------------------

/** Okabe-Ito colours for training status, always shown with the text label too. */
export const STATUS = {
  trained: { label: 'Trained', color: '#009E73' },
  due_soon: { label: 'Refresher due within 30 days', color: '#E69F00' },
  overdue: { label: 'Refresher overdue', color: '#D55E00' },
  never_trained: { label: 'Never trained', color: '#6E6E6E' },
};
const statusLabel = (s) => (STATUS[s] ? STATUS[s].label : s || 'unknown');
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
const DAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'];
const NIGHT_HOURS = [18, 19, 20, 21, 22, 23, 0, 1, 2, 3, 4, 5];
const ATTRIBUTION =
  'Crime data: <a href="https://data.police.uk/">police.uk</a> (OGL v3.0) · Venues: © <a href="https://www.openstreetmap.org/copyright">OpenStreetMap</a> contributors (ODbL) · Boundaries: ONS (OGL v3.0)';

// --- API ---------------------------------------------------------------------------------

class ApiError extends Error {
  constructor(status, detail) {
    super(detail || `HTTP ${status}`);
    this.status = status;
  }
}
async function api(path, opts = {}) {
  const init = { credentials: 'same-origin', headers: {}, ...opts };
  if (opts.json !== undefined) {
    init.method = opts.method || 'POST';
    init.headers['content-type'] = 'application/json';
    init.body = JSON.stringify(opts.json);
  }
  const res = await fetch(path, init);
  if (!res.ok) {
    let detail = '';
    try {
      const p = await res.json();
      detail = p.detail || p.title || '';
    } catch {
      /* not JSON */
    }
    throw new ApiError(res.status, detail || `${res.status} ${res.statusText}`);
  }
  if (res.status === 204) return null;
  const type = res.headers.get('content-type') || '';
  return type.includes('json') ? res.json() : res.text();
}

// --- state -------------------------------------------------------------------------------

const state = {
  me: null,
  map: null,
  config: { basemap: null },
  venues: null,
  hotspotCache: new Map(),
  zones: null,
  plan: null,
  myZones: null,
};
window.__firefly = { state, marks: {} };
const mark = (name) => {
  window.__firefly.marks[name] = performance.now();
};

function todayLocal() {
  const d = new Date();
  return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`;
}
const hhmm = (iso) => (iso ? iso.slice(11, 16) : '');
const fmt = (x, n = 3) => (typeof x === 'number' ? x.toFixed(n) : '');

// --- boot and login ----------------------------------------------------------------------

async function boot() {
  $('#logout').addEventListener('click', async () => {
    try {
      await api('/api/v1/auth/logout', { method: 'POST' });
    } catch {
      /* already gone */
    }
    location.reload();
  });
  $('#login-form').addEventListener('submit', async (e) => {
    e.preventDefault();
    $('#login-error').textContent = '';
    try {
      await api('/api/v1/auth/login', {
        json: { username: $('#username').value, password: $('#password').value },
      });
      await start();
    } catch (err) {
      $('#login-error').textContent =
        err.status === 401 ? 'Wrong user name or password.' : `Login failed: ${err.message}`;
    }
  });
  try {
    state.config = await api('config.json');
  } catch {
    state.config = { basemap: null };
  }
  await start();
}

async function start() {
  try {
    state.me = await api('/api/v1/me');
  } catch {
    $('#login').hidden = false;
    $('#workspace').hidden = true;
    $('.skip').hidden = true; // its target, the panel, is not on the login page
    $('#username').focus();
    document.body.dataset.view = 'login';
    return;
  }
  const role = state.me.role;
  $('#login').hidden = true;
  $('#workspace').hidden = false;
  $('.skip').hidden = false;
  $('#logout').hidden = false;
  $('#who').textContent = `${state.me.username} · ${role}${state.me.unit ? ` · ${state.me.unit}` : ''}`;
  const view = role === 'admin' ? 'planner' : role;
  document.body.dataset.view = view;
  await createMap();
  if (view === 'planner') await plannerView();
  else if (view === 'officer') await officerView();
  else if (view === 'liaison') await liaisonView();
  mark('interactive');
  document.body.dataset.ready = 'true';
}

// --- the map -----------------------------------------------------------------------------

const PAPER = '#f4f3ef';
/** The offline background: paper; the districts are added over it once the map loads. */
const offlineStyle = () => ({
  version: 8,
  sources: {},
  layers: [{ id: 'background', type: 'background', paint: { 'background-color': PAPER } }],
});
/** How long a configured basemap may take to load before the map goes on without it. */
const BASEMAP_TIMEOUT_MS = 10000;
/** Site settings built in from map-ui/config.json (build.mjs): glyphs and sprite URLs. */
const SITE = typeof __FIREFLY_SITE__ === 'object' && __FIREFLY_SITE__ ? __FIREFLY_SITE__ : {};

const withTimeout = (promise, ms, what) =>
  Promise.race([promise, new Promise((_, reject) => setTimeout(() => reject(new Error(what)), ms))]);

/**
 * The configured basemap's style, or null when none is configured: a PMTiles archive
 * served by firefly (config.pmtiles), else a MapLibre style URL (config.basemap). Answers
 * `{style, sources, layers}` (the ids the basemap brings, so they can be dropped again);
 * throws when it cannot be loaded.
 */
async function prepareBasemap(config) {
  const site = { glyphs: SITE.glyphs || null, sprite: SITE.sprite || null };
  if (config.pmtiles) {
    const { pmtilesBasemap } = await import('./basemap.js');
    try {
      return await withTimeout(pmtilesBasemap(maplibregl, config.pmtiles, site), BASEMAP_TIMEOUT_MS, 'it did not answer');
    } catch (e) {
      throw new Error(`the archive could not be read: ${e.message}`);
    }
  }
  if (config.basemap) {
    const ctl = new AbortController();
    const timer = setTimeout(() => ctl.abort(), BASEMAP_TIMEOUT_MS);
    let style;
    try {
      const res = await fetch(new URL(config.basemap, location.href).href, { signal: ctl.signal });
      if (!res.ok) throw new Error(`its style answered HTTP ${res.status}`);
      style = await res.json();
    } catch (e) {
      throw new Error(e.name === 'AbortError' ? 'its style did not answer' : e instanceof SyntaxError ? 'its style is not JSON' : e.message.startsWith('its style') ? e.message : 'its style could not be fetched');
    } finally {
      clearTimeout(timer);
    }
    if (!style || style.version !== 8 || !Array.isArray(style.layers)) throw new Error('its style is not a MapLibre style');
    return { style, sources: Object.keys(style.sources || {}), layers: style.layers.map((l) => l.id) };
  }
  return null;
}

/** A short visible notice over the map (the basemap could not be loaded, for one). */
function mapNotice(text) {
  $('#map-notice')?.remove();
  const box = h('div', { id: 'map-notice', class: 'map-notice', role: 'status' });
  $('#map').append(box);
  box.append(
    h('span', { text }),
    h('button', { type: 'button', class: 'dismiss', 'aria-label': 'Dismiss this notice', onclick: () => box.remove() }, '×'),
  );
}

async function createMap() {
  const config = state.config || {};
  // What the map shows under Firefly's layers: window.__firefly.basemap for the tests.
  const basemap = {
    kind: config.pmtiles ? 'pmtiles' : config.basemap ? 'style' : 'none',
    status: 'offline',
    reason: null,
  };
  state.basemap = window.__firefly.basemap = basemap;
  let bm = null;
  if (basemap.kind !== 'none') {
    try {
      bm = await prepareBasemap(config);
      basemap.status = 'ok';
      if (bm.tileType) basemap.tileType = bm.tileType;
      if (bm.schema) basemap.schema = bm.schema;
    } catch (e) {
      basemap.status = 'fallback';
      basemap.reason = e.message;
    }
  }
  const map = new maplibregl.Map({
    container: 'map',
    style: bm ? bm.style : offlineStyle(),
    bounds: [
      [-0.71, 51.8],
      [-0.14, 52.33],
    ],
    attributionControl: false,
    dragRotate: false,
    pitchWithRotate: false,
    fadeDuration: 0, // no label fade: a redraw is done when its frame is
  });
  state.map = map;
  window.__firefly.map = map;
  map.addControl(new maplibregl.NavigationControl({ showCompass: false }), 'top-right');
  // The basemap's own attribution (its sources') joins this one while it is drawn.
  map.addControl(new maplibregl.AttributionControl({ compact: false, customAttribution: ATTRIBUTION }), 'bottom-right');
  // Top left: at phone width the attribution fills the bottom edge and would cover it.
  map.addControl(new maplibregl.ScaleControl(), 'top-left');
  map.touchZoomRotate.disableRotation();

  // A basemap that fails (its tiles, or its style never loading) is dropped: the map goes on
  // over the offline background, and says so.
  let loaded = false;
  let tileDrawn = false;
  const notice = (reason) => {
    console.warn(`Firefly: basemap unavailable (${reason}); using the offline background`);
    mapNotice(`Basemap unavailable (${reason}). Showing the offline background.`);
  };
  /** The offline style in place of one that cannot load. */
  const replaceStyle = () => {
    basemap.dropped = 'style replaced';
    map.setStyle(offlineStyle(), { diff: false });
  };
  /** Removes what the basemap brought and puts the offline background in its place. */
  const dropBasemap = () => {
    basemap.dropped ||= loaded ? 'layers removed' : 'layers removed at load';
    for (const id of bm.layers) if (map.getLayer(id)) map.removeLayer(id);
    for (const id of bm.sources) if (map.getSource(id)) map.removeSource(id);
    const first = map.getLayersOrder()[0];
    if (!map.getLayer('background')) {
      map.addLayer({ id: 'background', type: 'background', paint: { 'background-color': PAPER } }, first);
    }
    if (map.getSource('boundaries') && !map.getLayer('districts-fill')) {
      addDistrictFill(map, map.getLayersOrder().find((id) => id !== 'background'));
    }
  };
  /**
   * Gives the basemap up. After the first load its layers are removed at once; before it,
   * when the load is due anyway (its failed tiles count as done), they are removed then;
   * when its style cannot load (`now`), the offline style replaces it.
   */
  const fallBack = (reason, { now = false } = {}) => {
    if (basemap.status !== 'ok') return;
    basemap.status = 'fallback';
    basemap.reason = reason;
    notice(reason);
    if (loaded) dropBasemap();
    else if (now) replaceStyle();
  };
  if (basemap.status === 'fallback') notice(basemap.reason);
  const ofBasemap = (e) => bm && e.sourceId && bm.sources.includes(e.sourceId);
  map.on('data', (e) => {
    if (e.tile && ofBasemap(e)) tileDrawn = true;
  });
  map.on('error', (e) => {
    const message = (e.error && e.error.message) || String(e.error || 'error');
    if (ofBasemap(e)) {
      // Until one of its tiles has drawn, a failing tile means the basemap does not work;
      // later, one missing tile is only a hole.
      if (basemap.status === 'ok' && !tileDrawn) fallBack(`its tiles could not be loaded: ${message}`);
      else if (basemap.status === 'ok') console.warn('Firefly: a basemap tile failed:', message);
      return;
    }
    // Before the first load, an error that is not about a sprite, glyphs or an image means
    // the basemap's style cannot load.
    if (bm && !loaded && basemap.status === 'ok' && !/sprite|glyph|image/i.test(message)) {
      fallBack(`its style did not load: ${message}`, { now: true });
      return;
    }
    console.error(e.error || e);
  });
  const load = new Promise((resolve) =>
    map.once('load', () => {
      if (bm && basemap.status === 'fallback') dropBasemap();
      loaded = true;
      resolve();
    }),
  );
  if (bm) {
    const timer = setTimeout(() => {
      if (loaded) return;
      if (basemap.status === 'ok') fallBack(`it did not load within ${BASEMAP_TIMEOUT_MS / 1000} s`, { now: true });
      else replaceStyle(); // given up already, and still not loaded
    }, BASEMAP_TIMEOUT_MS);
    load.then(() => clearTimeout(timer));
  }
  await load;
  mark('map-load');
  document.body.dataset.mapLoaded = 'true';
  const boundaries = await api('boundaries.geojson');
  map.addSource('boundaries', { type: 'geojson', data: boundaries });
  // Over a basemap only the outlines are drawn; offline, a white fill makes the area stand out.
  if (basemap.status !== 'ok') addDistrictFill(map);
  map.addLayer({ id: 'districts-line', type: 'line', source: 'boundaries', paint: { 'line-color': '#555', 'line-width': 1.5, 'line-dasharray': [3, 2] } });
  addDistrictLabels(map, boundaries);
}

/**
 * District names as HTML markers: a symbol layer would need glyphs from a font server,
 * which the offline map does not have. Each name sits at its district's pole of
 * inaccessibility (polylabel), inside even a C-shaped district such as Central
 * Bedfordshire. Decorative for screen readers: the districts are named in the tables.
 */
function addDistrictLabels(map, boundaries) {
  for (const f of boundaries.features) {
    const name = f.properties.lad20nm;
    const polygons = f.geometry.type === 'MultiPolygon' ? f.geometry.coordinates : [f.geometry.coordinates];
    const largest = polygons.reduce((a, b) => (ringArea(b[0]) > ringArea(a[0]) ? b : a));
    const at = polylabel(largest, 0.001);
    const el = h('div', { class: 'district-label', 'aria-hidden': 'true', text: name });
    new maplibregl.Marker({ element: el, anchor: 'center' }).setLngLat(at).addTo(map);
  }
}

/** A ring's area in square degrees (shoelace): only to compare parts of one district. */
function ringArea(ring) {
  let a = 0;
  for (let i = 1; i < ring.length; i++) a += ring[i - 1][0] * ring[i][1] - ring[i][0] * ring[i - 1][1];
  return Math.abs(a / 2);
}

function addDistrictFill(map, beforeId) {
  map.addLayer({ id: 'districts-fill', type: 'fill', source: 'boundaries', paint: { 'fill-color': '#ffffff', 'fill-opacity': 0.8 } }, beforeId);
}

// Hotspot cells for the visible area: the cell size follows the zoom so the payload stays
// bounded (a few thousand cells at most).
function cellForZoom(z) {
  if (z < 11) return 250;
  if (z < 13.5) return 100;
  return 50;
}
function bboxParam(map) {
  const b = map.getBounds();
  const r = (x) => x.toFixed(4);
  return `${r(b.getWest())},${r(b.getSouth())},${r(b.getEast())},${r(b.getNorth())}`;
}

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

function legendFor(method, scaled = false) {
  const rows =
    method === 'gistar'
      ? GI_CLASSES.map(([, label, col]) => [label, col])
      : KDE_STEPS.map(([, label, col]) => [`KDE score ${label}`, col]);
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

/** The `window` for one hour of the chosen night (night date = the evening's date). */
function hourWindow(night, hour) {
  const d = new Date(`${night}T12:00:00`);
  if (hour < 12) d.setDate(d.getDate() + 1);
  const day = DAYS[d.getDay()];
  const end = (hour + 1) % 24;
  return `${day}@${String(hour).padStart(2, '0')}:00-${String(end).padStart(2, '0')}:00`;
}
/** The `window` for the whole chosen night, 18:00-06:00. */
function nightWindow(night) {
  return `${DAYS[new Date(`${night}T12:00:00`).getDay()]}@18:00-06:00`;
}
/** Index into a zone's `risk_by_hour` (hour of week, Monday 00:00 first). */
function hourOfWeek(night, hour) {
  const d = new Date(`${night}T12:00:00`);
  if (hour < 12) d.setDate(d.getDate() + 1);
  const monFirst = (d.getDay() + 6) % 7;
  return monFirst * 24 + hour;
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
function hourScale(data, profile, night, hour) {
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
function drawHotspots(map, data, method, scale) {
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
  return { cells: data.features.length, untimed: info.n_untimed || 0, incidents: info.n_incidents || 0 };
}

/** "Hour shape: …" under the legend, so nobody reads a prior as local evidence. */
function profileText(profile) {
  const label = profile.source === 'prior' ? profile.label.replace(/^prior:\s*/, 'prior from ') : profile.label;
  return `Hour shape: ${label}, the same for every cell: it raises or lowers the whole map by hour, never one place against another.`;
}

// Venues: circles coloured by training status; a popup with the facts on click or Enter.
async function addVenues(map, { onSelect } = {}) {
  const venues = await api('/api/v1/premises');
  state.venues = venues;
  map.addSource('venues', { type: 'geojson', data: venues });
  const color = ['match', ['get', 'training_status']];
  for (const [k, v] of Object.entries(STATUS)) color.push(k, v.color);
  color.push('#000');
  map.addLayer({
    id: 'venues',
    type: 'circle',
    source: 'venues',
    paint: {
      'circle-radius': ['interpolate', ['linear'], ['zoom'], 9, 3.5, 15, 8],
      'circle-color': color,
      'circle-stroke-color': ['case', ['get', 'safe_space'], '#000', '#fff'],
      'circle-stroke-width': ['case', ['get', 'safe_space'], 2.5, 1],
    },
  });
  map.on('click', 'venues', (e) => {
    const f = e.features[0];
    showVenuePopup(f.properties, f.geometry.coordinates);
    if (onSelect) onSelect(Number(f.properties.id));
  });
  map.on('mouseenter', 'venues', () => (map.getCanvas().style.cursor = 'pointer'));
  map.on('mouseleave', 'venues', () => (map.getCanvas().style.cursor = ''));
  return venues;
}

function closingToday(closing) {
  let arr = closing;
  if (typeof arr === 'string') {
    try {
      arr = JSON.parse(arr);
    } catch {
      arr = null;
    }
  }
  if (!Array.isArray(arr)) return 'not recorded';
  const idx = (new Date().getDay() + 6) % 7; // Monday first
  return arr[idx] || 'not recorded';
}

function showVenuePopup(p, coords) {
  const safe = p.safe_space === true || p.safe_space === 'true';
  const body = h(
    'div',
    { class: 'venue-popup' },
    h('h2', { text: p.name }), // the map comes before the panel, so its headings follow the page's h1
    h(
      'dl',
      {},
      h('dt', { text: 'Training' }),
      h('dd', { class: `status status-${p.training_status}`, text: statusLabel(p.training_status) }),
      p.last_trained ? [h('dt', { text: 'Last trained' }), h('dd', { text: p.last_trained })] : null,
      p.refresher_due ? [h('dt', { text: 'Refresher due' }), h('dd', { text: p.refresher_due })] : null,
      h('dt', { text: 'Safe Space' }),
      h('dd', { text: safe ? 'Yes: a Safe Space venue' : 'No' }),
      h('dt', { text: 'Closing today' }),
      h('dd', { text: closingToday(p.closing) }),
      h('dt', { text: 'District' }),
      h('dd', { text: p.district || '' }),
    ),
    p.training_fictional === true || p.training_fictional === 'true'
      ? h('p', { class: 'note', text: 'Training records are FICTIONAL demo data.' })
      : null,
  );
  state.popup?.remove();
  state.popup = new maplibregl.Popup({ maxWidth: '300px', focusAfterOpen: true }).setLngLat(coords).setDOMContent(body).addTo(state.map);
}

/** A keyboard way to the venues: a select listing them, opening the same popup. */
function venuePicker(venues, onSelect) {
  const sel = h('select', { id: 'venue-picker', 'aria-label': 'Find a venue' }, h('option', { value: '' , text: 'Find a venue…' }));
  const sorted = [...venues.features].sort((a, b) => a.properties.name.localeCompare(b.properties.name));
  for (const f of sorted) sel.append(h('option', { value: String(f.properties.id), text: `${f.properties.name} (${f.properties.district || ''})` }));
  sel.addEventListener('change', () => {
    const f = venues.features.find((x) => String(x.properties.id) === sel.value);
    if (!f) return;
    state.map.jumpTo({ center: f.geometry.coordinates, zoom: Math.max(state.map.getZoom(), 15) });
    showVenuePopup(f.properties, f.geometry.coordinates);
    if (onSelect) onSelect(f.properties.id);
  });
  return h('label', { class: 'field' }, 'Venue', sel);
}

function venueLegend() {
  return h(
    'ul',
    { class: 'legend', 'aria-label': 'Venue legend' },
    Object.values(STATUS).map((s) => h('li', {}, h('span', { class: 'swatch round', style: `background:${s.color}` }), s.label)),
    h('li', {}, h('span', { class: 'swatch round safe' }), 'Thick black ring: Safe Space'),
  );
}

function addZones(map, zones, id = 'zones') {
  map.addSource(id, { type: 'geojson', data: zones, promoteId: 'id' });
  map.addLayer({
    id: `${id}-fill`,
    type: 'fill',
    source: id,
    paint: { 'fill-color': '#0072B2', 'fill-opacity': ['coalesce', ['feature-state', 'o'], 0.12] },
  });
  map.addLayer({ id: `${id}-line`, type: 'line', source: id, paint: { 'line-color': '#0072B2', 'line-width': 2 } });
}

// --- planner -----------------------------------------------------------------------------

async function plannerView() {
  const map = state.map;
  const panel = $('#panel');
  const night = h('input', { type: 'date', id: 'night', value: todayLocal(), 'aria-label': 'Night' });
  const hour = h('input', { type: 'range', id: 'hour', min: '0', max: String(NIGHT_HOURS.length - 1), step: '1', value: '4', 'aria-label': 'Hour of the night' });
  const hourOut = h('output', { id: 'hour-label', for: 'hour' });
  const method = h('select', { id: 'method', 'aria-label': 'Hotspot method' }, h('option', { value: 'kde', text: 'KDE (density)' }), h('option', { value: 'gistar', text: 'Gi* (significance)' }));
  const allHours = h('input', { type: 'checkbox', id: 'all-hours', checked: true });
  const showIncidents = h('input', { type: 'checkbox', id: 'show-incidents', checked: true });
  const status = h('p', { id: 'hotspot-status', class: 'note', 'aria-live': 'polite' });
  const legendBox = h('div', { id: 'legend-box' }, legendFor('kde'));
  const profileNote = h('p', { id: 'hour-profile', class: 'note', hidden: true });
  panel.append(
    h('h2', { text: 'Hotspots' }),
    h('div', { class: 'row' }, h('label', { class: 'field' }, 'Night', night), h('label', { class: 'field' }, 'Method', method)),
    h('label', { class: 'field' }, h('span', {}, 'Hour: ', hourOut), hour),
    h('label', { class: 'check' }, allHours, 'All night hours (weekend nights)'),
    h('label', { class: 'check' }, showIncidents, 'Incident points (planner only)'),
    status,
    legendBox,
    profileNote,
    venueLegend(),
  );
  const current = () => {
    const hr = NIGHT_HOURS[Number(hour.value)];
    return { night: night.value || todayLocal(), hour: hr };
  };
  const hh = (hr) => `${String(hr).padStart(2, '0')}:00`;
  let legendKey = 'kde|plain';
  const showLegend = (scale) => {
    const key = `${method.value}|${scale ? 'scaled' : 'plain'}`;
    if (key !== legendKey) legendBox.replaceChildren(legendFor(method.value, Boolean(scale)));
    legendKey = key;
    profileNote.hidden = !scale;
    if (scale) profileNote.textContent = profileText(scale.profile);
  };
  // One hour: first the whole night's answer; if its incidents lack a time of day, every
  // hour would score the same, so that answer is drawn scaled by the hour profile (moving
  // the slider then only repaints). Timed data are re-scored for the hour by the server.
  const draw = async (c) => {
    const m = method.value;
    if (allHours.checked) return { r: drawHotspots(map, await fetchHotspots(map, m, null), m, null), scale: null };
    const whole = await fetchHotspots(map, m, nightWindow(c.night));
    const info = whole.firefly || {};
    if (info.n_untimed > 0 && info.hour_profile) {
      const scale = hourScale(whole, info.hour_profile, c.night, c.hour);
      return { r: drawHotspots(map, whole, m, scale), scale };
    }
    return { r: drawHotspots(map, await fetchHotspots(map, m, hourWindow(c.night, c.hour)), m, null), scale: null };
  };
  const refresh = async () => {
    const c = current();
    hourOut.textContent = `${hh(c.hour)}-${hh((c.hour + 1) % 24)}`;
    try {
      const { r, scale } = await draw(c);
      showLegend(scale);
      status.textContent =
        `${r.cells} cells at ${cellForZoom(map.getZoom())} m` +
        (allHours.checked ? '' : ` for ${hourWindow(c.night, c.hour)}`) +
        (r.untimed && !allHours.checked ? `; ${r.untimed} of ${r.incidents} incidents have no time of day (police.uk gives the month only), so they count in every hour` : '') +
        (scale ? `. Drawn as expected weight = score × hour share × 168: this hour is ${scale.factor.toFixed(2)}× an average hour, the night's peak ${scale.peak.toFixed(2)}× at ${hh(scale.peakHour)}` : '');
    } catch (e) {
      status.textContent = `Hotspots: ${e.message}`;
    }
    restyleZones();
  };
  const restyleZones = () => {
    if (!state.zones) return;
    const c = current();
    const i = hourOfWeek(c.night, c.hour);
    let max = 0;
    for (const f of state.zones.features) max = Math.max(max, (f.properties.risk_by_hour || [])[i] || 0);
    for (const f of state.zones.features) {
      const r = (f.properties.risk_by_hour || [])[i] || 0;
      map.setFeatureState({ source: 'zones', id: f.properties.id }, { o: 0.05 + 0.45 * (max > 0 ? r / max : 0) });
    }
  };
  method.addEventListener('change', refresh);
  hour.addEventListener('input', () => {
    allHours.checked = false;
    const t0 = performance.now();
    refresh().then(() => map.once('idle', () => (window.__firefly.marks.sliderRedraw = performance.now() - t0)));
    map.triggerRepaint();
  });
  night.addEventListener('change', refresh);
  allHours.addEventListener('change', refresh);
  await refresh();
  mark('hotspots');
  let moveTimer;
  map.on('moveend', () => {
    clearTimeout(moveTimer);
    moveTimer = setTimeout(() => {
      refresh();
      if (showIncidents.checked) loadIncidents();
    }, 150);
  });

  // Zones, venues and incident points load after the first paint of the hotspots.
  const [zones] = await Promise.all([
    api('/api/v1/zones').catch(() => null),
    addVenues(map).then((v) => panel.insertBefore(venuePicker(v), legendBox)),
  ]);
  if (zones) {
    state.zones = zones;
    addZones(map, zones);
    restyleZones();
  }
  map.addSource('incidents', { type: 'geojson', data: { type: 'FeatureCollection', features: [] } });
  map.addLayer({ id: 'incidents', type: 'circle', source: 'incidents', paint: { 'circle-radius': 2.5, 'circle-color': '#000', 'circle-opacity': 0.55 } });
  const loadIncidents = async () => {
    try {
      const data = await api(`/api/v1/incidents?bbox=${bboxParam(map)}&limit=2000`);
      map.getSource('incidents').setData(data);
    } catch (e) {
      status.textContent = `Incidents: ${e.message}`;
    }
  };
  showIncidents.addEventListener('change', () => {
    map.setLayoutProperty('incidents', 'visibility', showIncidents.checked ? 'visible' : 'none');
    if (showIncidents.checked) loadIncidents();
  });
  loadIncidents();
  panel.append(await planSection());
}

function parseRoster(text) {
  const [head, ...lines] = text.trim().split(/\r?\n/);
  const cols = head.split(',');
  return lines.map((l) => {
    const v = l.split(',');
    const row = Object.fromEntries(cols.map((c, i) => [c, v[i]]));
    return {
      callsign: row.callsign,
      size: Number(row.size),
      shift_start: row.shift_start,
      shift_end: row.shift_end,
      start_lon: Number(row.start_lon),
      start_lat: Number(row.start_lat),
      start_name: row.start_name || null,
      break_minutes: row.break_minutes ? Number(row.break_minutes) : null,
      skills: row.skills || null,
    };
  });
}

async function planSection() {
  const roster = parseRoster(await api('units.csv'));
  const sec = h('section', { id: 'plan-section', 'aria-labelledby': 'plan-title' }, h('h2', { id: 'plan-title', text: 'Plan a night' }));
  const rows = roster.map((u) => {
    const use = h('input', { type: 'checkbox', checked: true, 'aria-label': `Use ${u.callsign}`, class: 'use-unit', 'data-callsign': u.callsign });
    const start = h('input', { type: 'time', value: u.shift_start, 'aria-label': `${u.callsign} shift start` });
    const end = h('input', { type: 'time', value: u.shift_end, 'aria-label': `${u.callsign} shift end` });
    return { u, use, start, end, tr: h('tr', {}, h('td', {}, use), h('th', { scope: 'row', text: u.callsign }), h('td', { text: String(u.size) }), h('td', {}, start), h('td', {}, end)) };
  });
  const build = h('button', { type: 'button', id: 'build-plan', text: 'Build plan' });
  const out = h('div', { id: 'plan-out', 'aria-live': 'polite' });
  // Opening a plan (built, chosen from the list, published, re-planned) redraws the rota and
  // refreshes the list, so its status, version and gap stay those of the server.
  const list = planList((id) => open(id));
  const open = async (id, note) => {
    await showPlan(id, out, open, note);
    await list.refresh(id);
  };
  build.addEventListener('click', async () => {
    const units = rows.filter((r) => r.use.checked).map((r) => ({ ...r.u, shift_start: r.start.value, shift_end: r.end.value }));
    if (!units.length) {
      out.textContent = 'Choose at least one unit.';
      return;
    }
    build.disabled = true;
    out.textContent = 'Optimising…';
    try {
      const created = await api('/api/v1/plans', { json: { night: $('#night').value || todayLocal(), units } });
      await open(created.id);
    } catch (e) {
      out.textContent = `Plan failed: ${e.message}`;
    } finally {
      build.disabled = false;
    }
  });
  sec.append(
    h('div', { class: 'table-wrap' }, h('table', { class: 'roster' }, h('caption', { text: 'Roster (demo units)' }), h('thead', {}, h('tr', {}, h('th', { text: 'Use' }), h('th', { text: 'Unit' }), h('th', { text: 'Size' }), h('th', { text: 'Start' }), h('th', { text: 'End' }))), h('tbody', {}, rows.map((r) => r.tr)))),
    build,
    list.el,
    out,
  );
  list.refresh(); // not awaited: the view is usable before the list arrives
  return sec;
}

const whenText = (iso) => (iso ? new Date(iso).toLocaleString('en-GB', { dateStyle: 'medium', timeStyle: 'short' }) : '');

/** The stored plans (GET /api/v1/plans, latest night first), each opened by a button. */
function planList(onOpen) {
  const status = h('select', { id: 'plan-list-status' }, h('option', { value: '', text: 'All' }), h('option', { value: 'draft', text: 'Drafts' }), h('option', { value: 'published', text: 'Published' }));
  const ul = h('ul', { id: 'plan-list', class: 'plan-list', 'aria-labelledby': 'plan-list-title' });
  const note = h('p', { class: 'note', id: 'plan-list-msg' });
  let current = null;
  // A list, not a table: seven columns do not fit the panel, let alone a phone.
  const item = (p) =>
    h(
      'li',
      { 'data-id': String(p.id), 'data-status': p.status, 'data-version': String(p.version), 'aria-current': p.id === current ? 'true' : null },
      h('button', { type: 'button', class: 'link open-plan', text: `Night ${p.night}, plan ${p.id}`, onclick: () => onOpen(p.id) }),
      ' ',
      h('span', { class: `badge plan-${p.status}`, text: p.status }),
      h('span', { class: 'facts', text: `version ${p.version} · ${p.units} units · gap ${(p.gap * 100).toFixed(2)}% · ${p.published_at ? `published by ${p.published_by}, ${whenText(p.published_at)}` : `${p.version > 1 ? 'changed' : 'built'} by ${p.updated_by}, ${whenText(p.updated_at)}`}` }),
    );
  const refresh = async (openId) => {
    if (openId !== undefined) current = openId;
    try {
      const q = status.value ? `?status=${status.value}` : '';
      const { plans } = await api(`/api/v1/plans${q}`);
      ul.replaceChildren(...plans.map(item));
      note.textContent = plans.length ? '' : 'No plans yet.';
    } catch (e) {
      note.textContent = `Plans: ${e.message}`;
    }
  };
  status.addEventListener('change', () => refresh());
  const el = h(
    'div',
    { id: 'plan-list-box' },
    h('h3', { id: 'plan-list-title', text: 'Plans' }),
    h('p', { class: 'note', text: 'Stored plans, latest night first; open one to see its rota.' }),
    h('label', { class: 'field' }, 'Show', status),
    ul,
    note,
  );
  return { el, refresh };
}

function slotLabel(a) {
  if (!a || a.off) return ['off', ''];
  if (a.break) return ['break', 'Break'];
  if (a.zone) return ['zone', a.zone];
  if (a.travel) return ['travel', `→ ${a.travel.to || 'station'}`];
  return ['off', ''];
}

async function showPlan(id, out, reopen = (i, note) => showPlan(i, out, undefined, note), note = '') {
  const plan = await api(`/api/v1/plans/${id}`);
  state.plan = plan;
  const st = plan.stored;
  const slots = plan.slots;
  const zoneName = Object.fromEntries(plan.zones.map((z) => [z.id, z.name]));
  // Timeline: one row per unit, one cell per slot.
  const timeline = h(
    'div',
    { class: 'timeline', role: 'img', 'aria-label': 'Rota timeline (the table below holds the same)' },
    plan.callsigns.map((cs, u) =>
      h(
        'div',
        { class: 'tl-row' },
        h('span', { class: 'tl-unit', text: cs }),
        h(
          'div',
          { class: 'tl-slots', style: `grid-template-columns:repeat(${slots.length},1fr)` },
          plan.assignments[u].map((a, s) => {
            const [kind, label] = slotLabel(a);
            return h('span', { class: `tl tl-${kind}`, title: `${hhmm(slots[s].start_local)} ${kind} ${label}` });
          }),
        ),
      ),
    ),
    h('div', { class: 'tl-axis' }, h('span', { text: hhmm(slots[0].start_local) }), h('span', { text: hhmm(slots[slots.length - 1].end_utc && slots[slots.length - 1].start_local) })),
  );
  // Table: legs per unit.
  const legs = [];
  plan.callsigns.forEach((cs, u) => {
    let cur = null;
    plan.assignments[u].forEach((a, s) => {
      const [kind, label] = slotLabel(a);
      const key = `${kind}|${label}`;
      if (cur && cur.key === key) cur.last = s;
      else {
        if (cur) legs.push(cur);
        cur = { cs, key, kind, label, first: s, last: s };
      }
    });
    if (cur) legs.push(cur);
  });
  const table = h(
    'div',
    { class: 'table-wrap' },
    h(
      'table',
      { id: 'rota-table' },
      h('caption', { text: 'Rota' }),
      h('thead', {}, h('tr', {}, ['Unit', 'From', 'To', 'Activity'].map((t) => h('th', { scope: 'col', text: t })))),
      h(
        'tbody',
        {},
        legs
          .filter((l) => l.kind !== 'off')
          .map((l) =>
            h('tr', {}, h('td', { text: l.cs }), h('td', { text: hhmm(slots[l.first].start_local) }), h('td', { text: slotEnd(plan, l.last) }), h('td', { text: legWhat(l, zoneName) })),
          ),
      ),
    ),
  );
  const publish = h('button', { type: 'button', id: 'publish-plan', text: st.status === 'published' ? 'Published' : 'Publish', disabled: st.status === 'published' });
  publish.addEventListener('click', async () => {
    try {
      await api(`/api/v1/plans/${id}/publish`, { method: 'POST' });
      await reopen(id);
    } catch (e) {
      msg.textContent = `Publish failed: ${e.message}`;
    }
  });
  const dropUnit = h('select', { id: 'drop-unit', 'aria-label': 'Unit that drops out' }, plan.callsigns.map((c) => h('option', { value: c, text: c })));
  const dropAt = h('input', { type: 'time', id: 'drop-at', value: '23:00', 'aria-label': 'From what time' });
  const replan = h('button', { type: 'button', id: 'replan', text: 'Re-plan without it' });
  const msg = h('p', { class: 'note', id: 'plan-msg', 'aria-live': 'polite', text: note });
  replan.addEventListener('click', async () => {
    try {
      const r = await api(`/api/v1/plans/${id}/replan`, { json: { drop: dropUnit.value, at: dropAt.value } });
      await reopen(id, `Re-planned: version ${r.version}, ${(r.changes || r.changed || []).length} slots changed.`);
    } catch (e) {
      msg.textContent = `Re-plan failed: ${e.message}`;
    }
  });
  const exports = h(
    'p',
    { class: 'exports' },
    h('a', { href: `/api/v1/plans/${id}/rota.csv`, id: 'export-csv', download: `rota-${plan.night}.csv`, text: 'Rota CSV' }),
    ' · ',
    h('label', {}, 'Calendar for ', h('select', { id: 'ics-unit', onchange: (e) => ($('#export-ics').href = `/api/v1/plans/${id}/units/${e.target.value}/calendar.ics`) }, plan.callsigns.map((c) => h('option', { value: c, text: c })))),
    ' ',
    h('a', { href: `/api/v1/plans/${id}/units/${plan.callsigns[0]}/calendar.ics`, id: 'export-ics', text: 'iCalendar' }),
    ' · ',
    h('button', { type: 'button', id: 'briefing', text: 'Printable briefing', onclick: () => briefing(plan, legs, zoneName) }),
  );
  out.replaceChildren(
    h('p', { id: 'plan-summary' }, `Plan ${id} (${st.status}, version ${st.version}) for ${plan.night}: objective ${fmt(plan.objective)}, upper bound ${fmt(plan.bound)}, optimality gap `, h('strong', { id: 'plan-gap', text: `${(plan.gap * 100).toFixed(2)}%` })),
    h('div', { class: 'row' }, publish),
    timeline,
    h('p', { class: 'legend-inline' }, h('span', { class: 'tl tl-zone' }), ' patrol ', h('span', { class: 'tl tl-travel' }), ' walking ', h('span', { class: 'tl tl-break' }), ' break ', h('span', { class: 'tl tl-off' }), ' off'),
    table,
    h('div', { class: 'row' }, h('label', { class: 'field' }, 'Unit drops out', dropUnit), h('label', { class: 'field' }, 'At', dropAt), replan),
    msg,
    exports,
  );
}

// --- printable briefing --------------------------------------------------------------------

/** "HH:MM" at the end of slot i: the next slot's start, or the last start plus one slot. */
function slotEnd(plan, i) {
  const next = plan.slots[i + 1];
  if (next) return hhmm(next.start_local);
  const [hh, mm] = hhmm(plan.slots[i].start_local).split(':').map(Number);
  const t = (hh * 60 + mm + (plan.params?.slot_minutes || 15)) % 1440;
  return `${String(Math.floor(t / 60)).padStart(2, '0')}:${String(t % 60).padStart(2, '0')}`;
}
function legWhat(l, zoneName) {
  if (l.kind === 'zone') return `Patrol ${l.label} ${zoneName[l.label] || ''}`.trim();
  if (l.kind === 'travel') return `Walk ${l.label}`;
  return 'Break';
}

const esc = (t) => String(t).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/**
 * A unit's zones as an SVG map (an <img> from a data URL): drawn here from the plan's own
 * polygons, so the briefing needs no tiles and prints as crisp vectors. Web Mercator is
 * conformal, so one scale bar holds in both directions at city scale.
 */
function zonesSvg(zones, start, venues) {
  const W = 640;
  const H = 380;
  const pad = 28;
  const merc = ([lon, lat]) => [(lon * Math.PI) / 180, Math.log(Math.tan(Math.PI / 4 + (lat * Math.PI) / 360))];
  let [x0, y0, x1, y1] = [Infinity, Infinity, -Infinity, -Infinity];
  const grow = ([x, y]) => ([x0, y0, x1, y1] = [Math.min(x0, x), Math.min(y0, y), Math.max(x1, x), Math.max(y1, y)]);
  zones.flatMap((z) => z.polygon.coordinates.flat(2)).forEach((ll) => grow(merc(ll)));
  // The start point joins the frame when it is near (a unit may walk kilometres to its
  // first zone, and the zones would shrink to specks); else the caption names it.
  if (start) {
    const s = merc([start.lon, start.lat]);
    const near = Math.max(x1 - x0, y1 - y0, 1.5e-4); // ~1 km at 52°N
    if (!zones.length || (s[0] > x0 - near && s[0] < x1 + near && s[1] > y0 - near && s[1] < y1 + near)) grow(s);
  }
  const span = Math.max(x1 - x0, y1 - y0, 4e-5); // at least ~250 m across
  const k = Math.min((W - 2 * pad) / Math.max(x1 - x0, span / 2), (H - 2 * pad) / Math.max(y1 - y0, span / 2));
  const cx = (x0 + x1) / 2;
  const cy = (y0 + y1) / 2;
  const px = (ll) => {
    const [x, y] = merc(ll);
    return [W / 2 + (x - cx) * k, H / 2 - (y - cy) * k];
  };
  const inView = ([a, b]) => a >= 0 && a <= W && b >= 0 && b <= H;
  const out = [`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}">`, `<rect width="${W}" height="${H}" fill="#fff" stroke="#777"/>`];
  for (const f of venues) {
    const p = px(f.geometry.coordinates);
    if (inView(p)) out.push(`<circle cx="${p[0].toFixed(1)}" cy="${p[1].toFixed(1)}" r="3" fill="#6e6e6e"/>`);
  }
  for (const z of zones) {
    const d = z.polygon.coordinates
      .flat()
      .map((ring) => 'M' + ring.map((ll) => px(ll).map((v) => v.toFixed(1)).join(',')).join('L') + 'Z')
      .join('');
    out.push(`<path d="${d}" fill="#0072B2" fill-opacity="0.25" stroke="#0072B2" stroke-width="2" fill-rule="evenodd"/>`);
  }
  for (const z of zones) {
    const [a, b] = px(z.centroid);
    out.push(`<text x="${a.toFixed(1)}" y="${b.toFixed(1)}" font-family="sans-serif" font-size="22" font-weight="bold" text-anchor="middle" dominant-baseline="middle" fill="#000" stroke="#fff" stroke-width="4" paint-order="stroke">${esc(z.id)}</text>`);
  }
  if (start) {
    const [a, b] = px([start.lon, start.lat]);
    out.push(`<rect x="${(a - 6).toFixed(1)}" y="${(b - 6).toFixed(1)}" width="12" height="12" fill="#000"/>`);
  }
  // Scale bar: metres per pixel = earth radius x cos(latitude) / k.
  const lat = (2 * Math.atan(Math.exp(cy)) - Math.PI / 2);
  const mPerPx = (6378137 * Math.cos(lat)) / k;
  const nice = [50, 100, 200, 250, 500, 1000, 2000, 5000, 10000].find((m) => m / mPerPx > W / 6) || 10000;
  const len = nice / mPerPx;
  out.push(`<path d="M12 ${H - 14}h${len.toFixed(1)}" stroke="#000" stroke-width="3"/>`, `<text x="12" y="${H - 22}" font-family="sans-serif" font-size="18">${nice >= 1000 ? `${nice / 1000} km` : `${nice} m`}</text>`, '</svg>');
  return `data:image/svg+xml;charset=utf-8,${encodeURIComponent(out.join(''))}`;
}

const BRIEFING_CSS = `
  @page { size: A4; margin: 14mm; }
  body { font: 11pt/1.3 system-ui, sans-serif; color: #000; margin: 1.5rem; max-width: 182mm; }
  h1 { font-size: 16pt; margin: 0 0 4pt; }
  h2 { font-size: 14pt; margin: 0 0 2pt; }
  p { margin: 3pt 0; }
  table { border-collapse: collapse; width: 100%; font-size: 10pt; line-height: 1.2; }
  caption { text-align: left; font-weight: 600; padding: 2pt 0; }
  th, td { border: 1px solid #777; padding: 1pt 4pt; text-align: left; vertical-align: top; }
  thead th { background: #eee; }
  td.t { white-space: nowrap; }
  figure { margin: 4pt 0; }
  figure img { width: 110mm; max-width: 100%; height: auto; display: block; border: 1px solid #777; }
  figcaption, .meta { font-size: 10pt; }
  .unit { margin-top: 1.5rem; }
  .controls button { font: inherit; padding: 6px 14px; }
  @media print {
    body { margin: 0; }
    .controls { display: none; }
    .unit { margin-top: 0; break-before: page; }
    tr, figure { break-inside: avoid; }
  }`;

/** One section (and on paper, one page) per unit: its zones on a map, then its legs. */
function briefingUnit(plan, u, cs, legs, zoneName) {
  const unit = (plan.units || []).find((x) => x.callsign === cs) || {};
  const mine = legs.filter((l) => l.cs === cs && l.kind !== 'off');
  const zoneIds = [...new Set(mine.filter((l) => l.kind === 'zone').map((l) => l.label))];
  const zones = plan.zones.filter((z) => zoneIds.includes(z.id));
  const start = unit.start_point || null;
  const names = zones.map((z) => `${z.id} ${z.name}`).join(', ');
  const where = start?.name ? `starts at ${start.name}` : null;
  return h(
    'section',
    { class: 'unit', 'data-callsign': cs, 'aria-labelledby': `unit-${u}` },
    h('h2', { id: `unit-${u}`, text: `Unit ${cs}` }),
    h('p', { class: 'meta', text: [unit.size ? `${unit.size} officer${unit.size > 1 ? 's' : ''}` : null, unit.shift_start ? `shift ${unit.shift_start}-${unit.shift_end}` : null, where].filter(Boolean).join(' · ') }),
    h(
      'figure',
      {},
      h('img', { class: 'zone-map', src: zonesSvg(zones, start, state.venues?.features || []), alt: zones.length ? `Map of the zones ${cs} patrols: ${names}` : `Map of ${cs}'s start point; no patrol zones` }),
      h('figcaption', { text: `${names || 'No patrol zones'}. Blue: zones; black square: start point (when near); grey dots: licensed venues.` }),
    ),
    h(
      'table',
      { class: 'legs' },
      h('caption', { class: 'meta', text: `${cs}: itinerary` }),
      h('thead', {}, h('tr', {}, ['From', 'To', 'Activity'].map((t) => h('th', { scope: 'col', text: t })))),
      h('tbody', {}, mine.map((l) => h('tr', {}, h('td', { class: 't', text: hhmm(plan.slots[l.first].start_local) }), h('td', { class: 't', text: slotEnd(plan, l.last) }), h('td', { text: legWhat(l, zoneName) })))),
    ),
  );
}

/** The first page: every unit with its shift, start and zones, one line each. */
function briefingCover(plan, legs) {
  const rows = plan.callsigns.map((cs) => {
    const unit = (plan.units || []).find((x) => x.callsign === cs) || {};
    const zones = [...new Set(legs.filter((l) => l.cs === cs && l.kind === 'zone').map((l) => l.label))];
    return h('tr', {}, h('th', { scope: 'row', text: cs }), h('td', { text: String(unit.size ?? '') }), h('td', { class: 't', text: unit.shift_start ? `${unit.shift_start}-${unit.shift_end}` : '' }), h('td', { text: unit.start_point?.name || '' }), h('td', { text: zones.join(', ') }));
  });
  return h('table', { class: 'cover' }, h('caption', { text: 'Units (one page each follows)' }), h('thead', {}, h('tr', {}, ['Unit', 'Size', 'Shift', 'Starts at', 'Zones'].map((t) => h('th', { scope: 'col', text: t })))), h('tbody', {}, rows));
}

function briefing(plan, legs, zoneName) {
  const w = window.open('', '_blank');
  if (!w) return;
  const doc = w.document;
  doc.open();
  doc.write('<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"></head><body></body></html>');
  doc.close();
  doc.title = `Patrol briefing, night of ${plan.night}`;
  doc.head.append(Object.assign(doc.createElement('style'), { textContent: BRIEFING_CSS }));
  // Built as DOM nodes, never as HTML text: zone and venue names come from outside data.
  doc.body.append(
    h('div', { class: 'controls' }, h('button', { type: 'button', text: 'Print', onclick: () => w.print() })),
    h(
      'main',
      {},
      h('h1', { text: `Patrol briefing: night of ${plan.night}` }),
      h('p', { class: 'meta', text: `Plan ${plan.stored.id}, version ${plan.stored.version}, ${plan.stored.status}. Optimality gap ${(plan.gap * 100).toFixed(2)}%. Units: ${plan.callsigns.join(', ')}.` }),
      h('p', { text: 'Victims: 999 in an emergency or when a crime is happening now, 101 otherwise, or report online.' }),
      briefingCover(plan, legs),
      plan.callsigns.map((cs, u) => briefingUnit(plan, u, cs, legs, zoneName)),
    ),
  );
}

// --- officer -----------------------------------------------------------------------------

function legText(leg) {
  if (!leg) return 'Nothing planned';
  const when = `${hhmm(leg.start_local)}-${hhmm(leg.end_local)}`;
  if (leg.kind === 'zone') return `${when} Patrol ${leg.zone.name} (${leg.zone.id})`;
  if (leg.kind === 'travel') return `${when} Walk to ${leg.to ? leg.to.name : 'the station'}`;
  if (leg.kind === 'break') return `${when} Break`;
  return `${when} Off duty`;
}

async function officerView() {
  const map = state.map;
  const panel = $('#panel');
  const it = await api('/api/v1/me/assignments').catch((e) => ({ error: e.message }));
  const nowBox = h('div', { class: 'card', id: 'now' }, h('h2', { text: 'Now' }), h('p', { text: it.error ? it.error : legText(it.now) }));
  const nextBox = h('div', { class: 'card', id: 'next' }, h('h2', { text: 'Next' }), h('p', { text: legText(it.next) }));
  const checkMsg = h('p', { id: 'checkin-msg', 'aria-live': 'polite' });
  const check = h('button', { type: 'button', id: 'checkin', class: 'big', text: 'Check in here' });
  check.addEventListener('click', () => {
    const send = async (lon, lat, how) => {
      try {
        const r = await api('/api/v1/checkins', { json: { lon, lat } });
        checkMsg.textContent = `Checked in (${how})${r.zone ? ` in zone ${r.zone}` : ' outside the planned zones'}${r.on_plan ? ': on plan' : ''}.`;
      } catch (e) {
        checkMsg.textContent = `Check-in not recorded: ${e.message}`;
      }
    };
    const c = map.getCenter();
    if (navigator.geolocation && window.isSecureContext) {
      navigator.geolocation.getCurrentPosition(
        (p) => send(p.coords.longitude, p.coords.latitude, 'GPS'),
        () => send(c.lng, c.lat, 'map centre'),
        { timeout: 5000 },
      );
    } else send(c.lng, c.lat, 'map centre');
  });
  const list = h(
    'ol',
    { id: 'itinerary' },
    (it.itinerary || []).map((l) => h('li', { text: legText(l) })),
  );
  panel.append(
    h('p', { class: 'unit', text: `Unit ${state.me.unit || '(none)'}${it.plan ? ` · plan for ${it.plan.night}` : ''}` }),
    nowBox,
    nextBox,
    check,
    checkMsg,
    h('details', { open: true }, h('summary', { text: 'My itinerary' }), it.itinerary && it.itinerary.length ? list : h('p', { text: 'No published itinerary for your unit yet.' })),
    h(
      'section',
      { class: 'card report', id: 'report' },
      h('h2', { text: 'How victims can report' }),
      h('ul', {}, h('li', {}, h('strong', { text: '999' }), ' in an emergency, or when a crime is happening now'), h('li', {}, h('strong', { text: '101' }), ' for anything else'), h('li', {}, 'Online: ', h('a', { href: 'https://www.bedfordshire.police.uk/ro/report', rel: 'noopener', text: 'bedfordshire.police.uk/report' })), h('li', { text: 'Text relay (deaf, hard of hearing): 18000' })),
    ),
  );
  // My zones only: those on my itinerary.
  const mine = new Set((it.itinerary || []).flatMap((l) => [l.zone, l.to, l.from]).filter(Boolean).map((z) => z.id));
  const zones = await api('/api/v1/zones').catch(() => null);
  if (zones) {
    const own = { ...zones, features: zones.features.filter((f) => mine.has(f.properties.id)) };
    state.myZones = own;
    addZones(map, own);
    if (own.features.length) {
      const b = new maplibregl.LngLatBounds();
      for (const f of own.features) for (const poly of f.geometry.coordinates) for (const p of poly[0]) b.extend(p);
      map.fitBounds(b, { padding: 40, duration: 0, maxZoom: 16 });
    }
  }
  await addVenues(map);
  panel.append(venuePicker(state.venues), venueLegend());
}

// --- liaison -----------------------------------------------------------------------------

async function liaisonView() {
  const map = state.map;
  const panel = $('#panel');
  const detail = h('section', { id: 'venue-detail', 'aria-live': 'polite' });
  const venues = await addVenues(map, { onSelect: (id) => openVenue(id, detail) });
  panel.append(h('h2', { text: 'Venues and training' }), venueLegend(), venuePicker(venues, (id) => openVenue(id, detail)), detail, venueTable(venues, detail));
}

function venueTable(venues, detail) {
  const order = { overdue: 0, due_soon: 1, never_trained: 2, trained: 3 };
  const cols = [
    ['name', 'Venue', (p) => p.name],
    ['training_status', 'Training status', (p) => order[p.training_status] ?? 9],
    ['risk_rank', 'Risk rank', (p) => p.risk_rank ?? 1e9],
    ['last_trained', 'Last trained', (p) => p.last_trained || ''],
    ['refresher_due', 'Refresher due', (p) => p.refresher_due || ''],
    ['district', 'District', (p) => p.district || ''],
  ];
  let sort = { key: 'training_status', dir: 1 };
  const tbody = h('tbody');
  const headRow = h('tr');
  const render = () => {
    const col = cols.find((c) => c[0] === sort.key);
    const rows = [...venues.features].sort((a, b) => {
      const x = col[2](a.properties);
      const y = col[2](b.properties);
      const c = typeof x === 'string' && typeof y === 'string' ? x.localeCompare(y) : x < y ? -1 : x > y ? 1 : 0;
      return c * sort.dir || a.properties.name.localeCompare(b.properties.name);
    });
    tbody.replaceChildren(
      ...rows.map((f) => {
        const p = f.properties;
        return h(
          'tr',
          { class: `status-row status-${p.training_status}`, 'data-id': String(p.id) },
          h('th', { scope: 'row' }, h('button', { type: 'button', class: 'link', text: p.name, onclick: () => {
            state.map.jumpTo({ center: f.geometry.coordinates, zoom: Math.max(state.map.getZoom(), 15) });
            showVenuePopup(p, f.geometry.coordinates);
            openVenue(p.id, detail);
          } })),
          h('td', {}, h('span', { class: `badge status-${p.training_status}`, text: statusLabel(p.training_status) })),
          h('td', { text: p.risk_rank ? `#${p.risk_rank} (${p.risk_count} nearby)` : '—' }),
          h('td', { text: p.last_trained || '—' }),
          h('td', { text: p.refresher_due || '—' }),
          h('td', { text: p.district || '' }),
        );
      }),
    );
    headRow.querySelectorAll('th').forEach((th) => th.setAttribute('aria-sort', th.dataset.key === sort.key ? (sort.dir > 0 ? 'ascending' : 'descending') : 'none'));
  };
  for (const [key, label] of cols) {
    headRow.append(
      h('th', { scope: 'col', 'data-key': key }, h('button', { type: 'button', class: 'sort', text: label, onclick: () => {
        sort = { key, dir: sort.key === key ? -sort.dir : 1 };
        render();
      } })),
    );
  }
  render();
  return h('div', { class: 'table-wrap tall' }, h('table', { id: 'venue-table' }, h('caption', { text: `${venues.features.length} venues (training records are fictional demo data); sort by a column` }), h('thead', {}, headRow), tbody));
}

async function openVenue(id, detail) {
  detail.replaceChildren(h('p', { text: 'Loading…' }));
  const [venue, training, impact] = await Promise.all([
    api(`/api/v1/premises/${id}`),
    api(`/api/v1/premises/${id}/training`).catch((e) => ({ error: e.message })),
    api(`/api/v1/premises/${id}/impact`).catch((e) => ({ error: e.message })),
  ]);
  const p = venue.properties || venue;
  const records = training.records || training.training || (Array.isArray(training) ? training : []);
  const form = h(
    'form',
    { id: 'training-form', class: 'stack' },
    h('h4', { text: 'Record a training session' }),
    h('label', { class: 'field' }, 'Date', h('input', { type: 'date', name: 'date', required: true, value: todayLocal(), max: todayLocal() })),
    h('label', { class: 'field' }, 'Course', h('input', { name: 'course', required: true, value: 'WAVE (Welfare and Vulnerability Engagement)' })),
    h('label', { class: 'field' }, 'Staff trained', h('input', { type: 'number', name: 'staff_trained', min: '1', value: '4', required: true })),
    h('label', { class: 'field' }, 'Trainer', h('input', { name: 'trainer', required: true })),
    h('label', { class: 'field' }, 'Notes', h('input', { name: 'notes' })),
    h('button', { type: 'submit', text: 'Save training session' }),
    h('p', { class: 'note', id: 'training-msg', 'aria-live': 'polite' }),
  );
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const fd = new FormData(form);
    try {
      await api(`/api/v1/premises/${id}/training`, {
        json: { date: fd.get('date'), course: fd.get('course'), staff_trained: Number(fd.get('staff_trained')), trainer: fd.get('trainer'), notes: fd.get('notes') || null, fictional: false },
      });
      await openVenue(id, detail);
      $('#training-msg').textContent = 'Saved.';
    } catch (err) {
      $('#training-msg').textContent = `Not saved: ${err.message}`;
    }
  });
  const impactBox = impact.error
    ? h('p', { text: `Impact: ${impact.error}` })
    : impactView(impact);
  detail.replaceChildren(
    h('h3', { id: 'venue-name', text: p.name }),
    h('p', {}, h('span', { class: `badge status-${p.training_status}`, text: statusLabel(p.training_status) }), p.safe_space ? ' · Safe Space' : ''),
    h('h4', { text: 'Training history' }),
    training.error
      ? h('p', { text: training.error })
      : h('ul', { id: 'training-history' }, records.length ? records.map((r) => h('li', { text: `${r.date}: ${r.course}, ${r.staff_trained} staff, by ${r.trainer}${r.fictional ? ' (fictional)' : ''}` })) : h('li', { text: 'No training recorded.' })),
    h('h4', { text: 'Before and after training' }),
    impactBox,
    form,
  );
}

function impactView(imp) {
  if (!imp.trained) return h('p', { id: 'impact', text: 'Not trained yet: no before/after figures.' });
  if (!imp.windows) return h('p', { id: 'impact', text: imp.detail || 'The data do not cover both sides of the training date.' });
  const v = imp.venue || {};
  return h(
    'div',
    { id: 'impact' },
    h('p', { text: imp.detail || `${v.before} before, ${v.after} after.` }),
    h(
      'div',
      { class: 'table-wrap' },
      h(
        'table',
        {},
        h('thead', {}, h('tr', {}, ['Group', 'Venues', 'Before', 'After'].map((t) => h('th', { scope: 'col', text: t })))),
        h(
          'tbody',
          {},
          h('tr', {}, h('th', { scope: 'row', text: 'This venue' }), h('td', { text: '1' }), h('td', { text: String(v.before) }), h('td', { text: String(v.after) })),
          (imp.comparisons || []).map((c) => h('tr', {}, h('th', { scope: 'row', text: c.rule }), h('td', { text: String(c.venues) }), h('td', { text: String(c.before) }), h('td', { text: String(c.after) }))),
        ),
      ),
    ),
    (imp.notes || []).length ? h('details', {}, h('summary', { text: 'Notes' }), h('ul', {}, imp.notes.map((n) => h('li', { text: n })))) : null,
  );
}

boot();
