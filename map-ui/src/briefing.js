// The printable briefing: a new window with an A4 document, a cover page listing every
// unit, then one page per unit with a map of its zones and its itinerary. The maps are SVG
// drawn from the plan's own polygons rather than screenshots of the web map, so the
// briefing needs no tiles, prints as sharp vectors, and works the same offline.
import { h } from './dom.js';
import { hhmm } from './format.js';
import { legWhat, slotEnd } from './rota.js';
import { state } from './state.js';

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

export function briefing(plan, legs, zoneName) {
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
