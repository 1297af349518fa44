// The licensing liaison's view: venues on the map and in a table sortable by training
// status, and for one venue its training history, the before/after figures and a form to
// record a session. Training records in the demo are fictional, and the view says so
// wherever it shows them.
import { api } from '../api.js';
import { $, h } from '../dom.js';
import { todayLocal } from '../format.js';
import { addVenues, showVenuePopup, statusLabel, venueLegend, venuePicker } from '../map/venues.js';
import { state } from '../state.js';

export async function liaisonView() {
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
