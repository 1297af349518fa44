// Licensed venues, which every view shows: circles coloured by training status (Okabe-Ito,
// always with the text label), the popup with a venue's facts, a select that reaches the
// same popup by keyboard, and the legend. The status palette lives here because the
// liaison's table uses the same colours and labels.
import maplibregl from 'maplibre-gl';
import { api } from '../api.js';
import { h } from '../dom.js';
import { state } from '../state.js';

/** Okabe-Ito colours for training status, always shown with the text label too. */
export const STATUS = {
  trained: { label: 'Trained', color: '#009E73' },
  due_soon: { label: 'Refresher due within 30 days', color: '#E69F00' },
  overdue: { label: 'Refresher overdue', color: '#D55E00' },
  never_trained: { label: 'Never trained', color: '#6E6E6E' },
};
export const statusLabel = (s) => (STATUS[s] ? STATUS[s].label : s || 'unknown');

// Venues: circles coloured by training status; a popup with the facts on click or Enter.
export async function addVenues(map, { onSelect } = {}) {
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

export function showVenuePopup(p, coords) {
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
export function venuePicker(venues, onSelect) {
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

export function venueLegend() {
  return h(
    'ul',
    { class: 'legend', 'aria-label': 'Venue legend' },
    Object.values(STATUS).map((s) => h('li', {}, h('span', { class: 'swatch round', style: `background:${s.color}` }), s.label)),
    h('li', {}, h('span', { class: 'swatch round safe' }), 'Thick black ring: Safe Space'),
  );
}
