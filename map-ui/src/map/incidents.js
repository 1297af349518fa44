// Incident points, the planner's alone (the API refuses them to other roles): an empty
// layer at first, filled for the viewport on demand, at most 2,000 points per answer.
import { api } from '../api.js';
import { bboxParam } from './viewport.js';

export function addIncidentLayer(map) {
  map.addSource('incidents', { type: 'geojson', data: { type: 'FeatureCollection', features: [] } });
  map.addLayer({ id: 'incidents', type: 'circle', source: 'incidents', paint: { 'circle-radius': 2.5, 'circle-color': '#000', 'circle-opacity': 0.55 } });
}

/** Why the layer reads incident points: the server requires it and writes it to the audit log. */
const PURPOSE = encodeURIComponent('map: planner incident layer');

/** Loads the visible area's incidents into the layer; an ApiError when it cannot. */
export async function loadIncidents(map) {
  const data = await api(`/api/v1/incidents?bbox=${bboxParam(map)}&limit=2000&purpose=${PURPOSE}`);
  map.getSource('incidents').setData(data);
}

export function showIncidentLayer(map, visible) {
  map.setLayoutProperty('incidents', 'visibility', visible ? 'visible' : 'none');
}
