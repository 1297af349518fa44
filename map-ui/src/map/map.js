// The map itself, shared by every view: MapLibre over the offline background (paper and
// the district boundaries, so the demo needs no network), or over the basemap the server
// names in /config.json. A basemap that fails in any way (style unreachable or invalid,
// archive unreadable, first tiles failing, nothing within 10 s) is dropped and the map
// carries on offline with a notice, because a patrol plan must not depend on a tile
// server. The PMTiles reader is imported only when an archive is configured, so it stays
// in its own chunk.
import maplibregl from 'maplibre-gl';
import { api } from '../api.js';
import { $, h } from '../dom.js';
import { state, mark } from '../state.js';
import { addDistricts, addDistrictFill } from './districts.js';

const ATTRIBUTION =
  'Crime data: <a href="https://data.police.uk/">police.uk</a> (OGL v3.0) · Venues: © <a href="https://www.openstreetmap.org/copyright">OpenStreetMap</a> contributors (ODbL) · Boundaries: ONS (OGL v3.0)';

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
    const { pmtilesBasemap } = await import('../basemap.js');
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

export async function createMap() {
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
  // Over a basemap only the outlines are drawn; offline, a white fill makes the area stand out.
  addDistricts(map, boundaries, { fill: basemap.status !== 'ok' });
}
