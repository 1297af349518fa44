// The basemap from a PMTiles archive that `firefly serve --basemap-pmtiles` serves at
// config.pmtiles.url with HTTP range requests. Loaded on demand (its own chunk), so the
// offline map never downloads the PMTiles reader or the Protomaps layers.
//
// Raster archives (png, jpeg, webp, avif) become one raster layer; vector (mvt) archives in
// the Protomaps schema get the Protomaps "light" layers, others a plain grey drawing of every
// vector layer. Labels need glyphs (and icons a sprite), which are not bundled and would be
// fetched from elsewhere: symbol layers are dropped unless a glyphs URL is configured.
import { PMTiles, Protocol } from 'pmtiles';
import { layers as protomapsLayers, namedFlavor } from '@protomaps/basemaps';

/** Behind the basemap, where the archive has no tiles. */
const PAPER = '#f4f3ef';

let protocol = null;

/** Web-mercator tile column and row holding lon, lat at zoom z. */
function tileOf(z, lon, lat) {
  const n = 2 ** z;
  const r = (Math.max(-85, Math.min(85, lat)) * Math.PI) / 180;
  const x = Math.floor(((lon + 180) / 360) * n);
  const y = Math.floor(((1 - Math.log(Math.tan(r) + 1 / Math.cos(r)) / Math.PI) / 2) * n);
  return [Math.min(n - 1, Math.max(0, x)), Math.min(n - 1, Math.max(0, y))];
}

/**
 * The archive's attribution as safe HTML: its text, and links only to http(s) addresses.
 * (MapLibre shows attributions as HTML; the archive's metadata is not ours.)
 */
export function safeAttribution(html) {
  if (!html) return undefined;
  const doc = new DOMParser().parseFromString(`<body>${html}</body>`, 'text/html');
  const out = document.createElement('span');
  const walk = (node, into) => {
    for (const n of node.childNodes) {
      if (n.nodeType === Node.TEXT_NODE) into.append(n.textContent);
      else if (n.nodeType === Node.ELEMENT_NODE) {
        const href = n.tagName === 'A' ? n.getAttribute('href') || '' : '';
        if (/^https?:\/\//i.test(href)) {
          const a = document.createElement('a');
          a.href = href;
          a.target = '_blank';
          a.rel = 'noopener';
          walk(n, a);
          into.append(a);
        } else walk(n, into);
      }
    }
  };
  walk(doc.body, out);
  return out.innerHTML.trim() || undefined;
}

function validBounds(b) {
  return Array.isArray(b) && b.length === 4 && b.every(Number.isFinite) && b[0] < b[2] && b[1] < b[3] ? b : undefined;
}

/** Vector layers drawn plainly (an archive not in the Protomaps schema). */
function plainLayers(source, ids) {
  const out = [{ id: 'background', type: 'background', paint: { 'background-color': PAPER } }];
  for (const id of ids) {
    out.push({
      id: `${id}-fill`,
      type: 'fill',
      source,
      'source-layer': id,
      filter: ['match', ['geometry-type'], ['Polygon', 'MultiPolygon'], true, false],
      paint: { 'fill-color': '#e4e1d8', 'fill-outline-color': '#c9c4b6' },
    });
    out.push({
      id: `${id}-line`,
      type: 'line',
      source,
      'source-layer': id,
      filter: ['match', ['geometry-type'], ['LineString', 'MultiLineString'], true, false],
      paint: { 'line-color': '#b9b4a8', 'line-width': 0.8 },
    });
  }
  return out;
}

/**
 * Reads the archive's header (and, for vector archives, its metadata; for raster ones, one
 * tile, to learn the tile size), then answers the style: `{style, sources, layers, tileType,
 * schema}`. Throws when the archive cannot be read, so the caller can fall back.
 *
 * about: config.pmtiles (`url`, `tile_type`, `min_zoom`, `max_zoom`, `bounds`, `center`,
 * `attribution`). site: `{glyphs, sprite}` (either may be null).
 */
export async function pmtilesBasemap(maplibregl, about, site = {}) {
  const url = new URL(about.url, location.href).href;
  if (!protocol) {
    protocol = new Protocol();
    maplibregl.addProtocol('pmtiles', protocol.tile);
  }
  // One reader for the check below and the map's tiles: the header and root directory are
  // fetched once.
  let archive = protocol.get(url);
  if (!archive) {
    archive = new PMTiles(url);
    protocol.add(archive);
  }
  const header = await archive.getHeader();
  const source = {
    tiles: [`pmtiles://${url}/{z}/{x}/{y}`],
    minzoom: about.min_zoom ?? header.minZoom,
    maxzoom: about.max_zoom ?? header.maxZoom,
    bounds: validBounds(about.bounds),
    attribution: safeAttribution(about.attribution),
  };
  if (!source.bounds) delete source.bounds;
  if (!source.attribution) delete source.attribution;

  if (about.tile_type !== 'mvt') {
    // Tiles are 256 or 512 pixels wide; MapLibre asks for one zoom less of 512-pixel tiles.
    let tileSize = 256;
    const z = source.minzoom;
    const [lon, lat] = about.center || [header.centerLon, header.centerLat];
    const [x, y] = tileOf(z, lon, lat);
    const sample = await archive.getZxy(z, x, y);
    if (sample) {
      const image = await createImageBitmap(new Blob([sample.data], { type: `image/${about.tile_type}` }));
      if (image.width >= 512) tileSize = 512;
      image.close();
    }
    const style = {
      version: 8,
      sources: { basemap: { type: 'raster', tileSize, ...source } },
      layers: [
        { id: 'basemap-paper', type: 'background', paint: { 'background-color': PAPER } },
        { id: 'basemap', type: 'raster', source: 'basemap' },
      ],
    };
    return { style, sources: ['basemap'], layers: style.layers.map((l) => l.id), tileType: about.tile_type, tileSize };
  }

  const meta = await archive.getMetadata().catch(() => ({}));
  const ids = (meta && Array.isArray(meta.vector_layers) ? meta.vector_layers : []).map((l) => l.id);
  const isProtomaps = ['earth', 'water', 'roads'].every((id) => ids.includes(id));
  const sourceId = isProtomaps ? 'protomaps' : 'basemap';
  let layers = isProtomaps ? protomapsLayers(sourceId, namedFlavor('light'), { lang: 'en' }) : plainLayers(sourceId, ids);
  if (!site.glyphs) layers = layers.filter((l) => l.type !== 'symbol');
  const style = { version: 8, sources: { [sourceId]: { type: 'vector', ...source } }, layers };
  if (site.glyphs) style.glyphs = site.glyphs;
  if (site.sprite) style.sprite = site.sprite;
  return {
    style,
    sources: [sourceId],
    layers: layers.map((l) => l.id),
    tileType: 'mvt',
    schema: isProtomaps ? 'protomaps' : 'other',
  };
}
