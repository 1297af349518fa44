// The planner's view (admins get it too): the hotspot controls (night, method, hour slider)
// driving the map's cells and the zones' shading, venues and incident points reloaded as
// the map moves, then the plan panel. The order is deliberate: the hotspots paint first,
// everything else loads after, so the view is usable as early as possible.
import { api } from '../api.js';
import { $, h } from '../dom.js';
import { todayLocal } from '../format.js';
import { legendFor, profileText, showHotspots, validationText } from '../map/hotspots.js';
import { addIncidentLayer, loadIncidents, showIncidentLayer } from '../map/incidents.js';
import { addVenues, venueLegend, venuePicker } from '../map/venues.js';
import { cellForZoom } from '../map/viewport.js';
import { addZones, shadeZonesByHour } from '../map/zones.js';
import { hourOfWeek, hourWindow, NIGHT_HOURS } from '../night.js';
import { mark, state } from '../state.js';
import { planSection } from './plans.js';

export async function plannerView() {
  const map = state.map;
  const panel = $('#panel');
  const night = h('input', { type: 'date', id: 'night', value: todayLocal(), 'aria-label': 'Night' });
  const hour = h('input', { type: 'range', id: 'hour', min: '0', max: String(NIGHT_HOURS.length - 1), step: '1', value: '4', 'aria-label': 'Hour of the night' });
  const hourOut = h('output', { id: 'hour-label', for: 'hour' });
  const method = h('select', { id: 'method', 'aria-label': 'Hotspot method' }, h('option', { value: 'kde', text: 'KDE (density)' }), h('option', { value: 'gistar', text: 'Gi* (significance)' }), h('option', { value: 'ensemble', text: 'Forecast (ensemble)' }));
  const allHours = h('input', { type: 'checkbox', id: 'all-hours', checked: true });
  const showIncidents = h('input', { type: 'checkbox', id: 'show-incidents', checked: true });
  const status = h('p', { id: 'hotspot-status', class: 'note', 'aria-live': 'polite' });
  const legendBox = h('div', { id: 'legend-box' }, legendFor('kde'));
  const profileNote = h('p', { id: 'hour-profile', class: 'note', hidden: true });
  const validationNote = h('p', { id: 'hotspot-validation', class: 'note' });
  panel.append(
    h('h2', { text: 'Hotspots' }),
    h('div', { class: 'row' }, h('label', { class: 'field' }, 'Night', night), h('label', { class: 'field' }, 'Method', method)),
    h('label', { class: 'field' }, h('span', {}, 'Hour: ', hourOut), hour),
    h('label', { class: 'check' }, allHours, 'All night hours (weekend nights)'),
    h('label', { class: 'check' }, showIncidents, 'Incident points (planner only)'),
    status,
    legendBox,
    validationNote,
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
  let pendingRetry = null;
  let pendingTries = 0;
  const refresh = async () => {
    const c = current();
    hourOut.textContent = `${hh(c.hour)}-${hh((c.hour + 1) % 24)}`;
    try {
      const { drawn, scale } = await showHotspots(map, method.value, { ...c, allHours: allHours.checked });
      showLegend(scale);
      validationNote.textContent = validationText(drawn.validation);
      // The server validates the whole area in the background for a viewport: ask again
      // (a cheap answer) until the block is there, a few times at most.
      clearTimeout(pendingRetry);
      if (drawn.validation && drawn.validation.pending && pendingTries < 10) {
        pendingTries += 1;
        pendingRetry = setTimeout(refresh, 3000);
      } else if (!(drawn.validation && drawn.validation.pending)) {
        pendingTries = 0;
      }
      status.textContent =
        `${drawn.cells} cells at ${cellForZoom(map.getZoom())} m` +
        (allHours.checked ? '' : ` for ${hourWindow(c.night, c.hour)}`) +
        (drawn.untimed && !allHours.checked ? `; ${drawn.untimed} of ${drawn.incidents} incidents have no time of day (police.uk gives the month only), so they count in every hour` : '') +
        (scale ? `. Drawn as expected weight = score × hour share × 168: this hour is ${scale.factor.toFixed(2)}× an average hour, the night's peak ${scale.peak.toFixed(2)}× at ${hh(scale.peakHour)}` : '');
    } catch (e) {
      status.textContent = `Hotspots: ${e.message}`;
    }
    restyleZones();
  };
  const restyleZones = () => {
    if (!state.zones) return;
    const c = current();
    shadeZonesByHour(map, state.zones, hourOfWeek(c.night, c.hour));
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
      if (showIncidents.checked) reloadIncidents();
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
  addIncidentLayer(map);
  const reloadIncidents = async () => {
    try {
      await loadIncidents(map);
    } catch (e) {
      status.textContent = `Incidents: ${e.message}`;
    }
  };
  showIncidents.addEventListener('change', () => {
    showIncidentLayer(map, showIncidents.checked);
    if (showIncidents.checked) reloadIncidents();
  });
  reloadIncidents();
  panel.append(await planSection());
}
