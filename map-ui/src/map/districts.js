// The district boundaries, Firefly's own background that needs no network: outlines, a
// white fill when no basemap lies under them, and each district's name. Apart from the
// map's set-up (map.js, which is about the basemap and giving it up) because the fallback
// calls back in here to restore the fill when it drops a basemap after the first load.
import maplibregl from 'maplibre-gl';
import polylabel from 'polylabel';
import { h } from '../dom.js';

/** The boundaries' source, outline layer and labels (and the fill, offline). */
export function addDistricts(map, boundaries, { fill }) {
  map.addSource('boundaries', { type: 'geojson', data: boundaries });
  if (fill) addDistrictFill(map);
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

export function addDistrictFill(map, beforeId) {
  map.addLayer({ id: 'districts-fill', type: 'fill', source: 'boundaries', paint: { 'fill-color': '#ffffff', 'fill-opacity': 0.8 } }, beforeId);
}
