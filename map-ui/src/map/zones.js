// Patrol zones on the map: the planner sees all of them shaded by their risk in the chosen
// hour, an officer only the zones on their own itinerary, framed on load.
import maplibregl from 'maplibre-gl';

export function addZones(map, zones, id = 'zones') {
  map.addSource(id, { type: 'geojson', data: zones, promoteId: 'id' });
  map.addLayer({
    id: `${id}-fill`,
    type: 'fill',
    source: id,
    paint: { 'fill-color': '#0072B2', 'fill-opacity': ['coalesce', ['feature-state', 'o'], 0.12] },
  });
  map.addLayer({ id: `${id}-line`, type: 'line', source: id, paint: { 'line-color': '#0072B2', 'line-width': 2 } });
}

/** Shades each zone by its risk in hour-of-week `i`, against the riskiest zone that hour. */
export function shadeZonesByHour(map, zones, i) {
  let max = 0;
  for (const f of zones.features) max = Math.max(max, (f.properties.risk_by_hour || [])[i] || 0);
  for (const f of zones.features) {
    const r = (f.properties.risk_by_hour || [])[i] || 0;
    map.setFeatureState({ source: 'zones', id: f.properties.id }, { o: 0.05 + 0.45 * (max > 0 ? r / max : 0) });
  }
}

/** Frames the map on the zones (an officer's own); does nothing when there are none. */
export function fitToZones(map, zones) {
  if (!zones.features.length) return;
  const b = new maplibregl.LngLatBounds();
  for (const f of zones.features) for (const poly of f.geometry.coordinates) for (const p of poly[0]) b.extend(p);
  map.fitBounds(b, { padding: 40, duration: 0, maxZoom: 16 });
}
