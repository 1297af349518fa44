// The officer's view, phone first: now and next from the unit's published itinerary, the
// itinerary itself, a check-in button, only the unit's own zones on the map, venue facts
// on tap and how victims can report. The server decides what an officer may see (their
// unit, published plans only); this view only lays it out for a small screen.
import { api } from '../api.js';
import { $, h } from '../dom.js';
import { hhmm } from '../format.js';
import { addVenues, venueLegend, venuePicker } from '../map/venues.js';
import { addZones, fitToZones } from '../map/zones.js';
import { state } from '../state.js';

function legText(leg) {
  if (!leg) return 'Nothing planned';
  const when = `${hhmm(leg.start_local)}-${hhmm(leg.end_local)}`;
  if (leg.kind === 'zone') return `${when} Patrol ${leg.zone.name} (${leg.zone.id})`;
  if (leg.kind === 'travel') return `${when} Walk to ${leg.to ? leg.to.name : 'the station'}`;
  if (leg.kind === 'break') return `${when} Break`;
  return `${when} Off duty`;
}

export async function officerView() {
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
    fitToZones(map, own);
  }
  await addVenues(map);
  panel.append(venuePicker(state.venues), venueLegend());
}
