// The planner's plan panel: the demo roster to build a plan from, the stored plans as a
// list, and one plan opened as a timeline and a rota table with publish, re-plan, exports
// and the briefing. Apart from the hotspot controls (views/planner.js) because it is a
// workflow of its own, over /api/v1/plans, that takes only the chosen night from them.
import { api } from '../api.js';
import { briefing } from '../briefing.js';
import { $, h } from '../dom.js';
import { fmt, hhmm, todayLocal } from '../format.js';
import { legWhat, planLegs, slotEnd, slotLabel } from '../rota.js';
import { state } from '../state.js';

function parseRoster(text) {
  const [head, ...lines] = text.trim().split(/\r?\n/);
  const cols = head.split(',');
  return lines.map((l) => {
    const v = l.split(',');
    const row = Object.fromEntries(cols.map((c, i) => [c, v[i]]));
    return {
      callsign: row.callsign,
      size: Number(row.size),
      shift_start: row.shift_start,
      shift_end: row.shift_end,
      start_lon: Number(row.start_lon),
      start_lat: Number(row.start_lat),
      start_name: row.start_name || null,
      break_minutes: row.break_minutes ? Number(row.break_minutes) : null,
      skills: row.skills || null,
    };
  });
}

export async function planSection() {
  const roster = parseRoster(await api('units.csv'));
  const sec = h('section', { id: 'plan-section', 'aria-labelledby': 'plan-title' }, h('h2', { id: 'plan-title', text: 'Plan a night' }));
  const rows = roster.map((u) => {
    const use = h('input', { type: 'checkbox', checked: true, 'aria-label': `Use ${u.callsign}`, class: 'use-unit', 'data-callsign': u.callsign });
    const start = h('input', { type: 'time', value: u.shift_start, 'aria-label': `${u.callsign} shift start` });
    const end = h('input', { type: 'time', value: u.shift_end, 'aria-label': `${u.callsign} shift end` });
    return { u, use, start, end, tr: h('tr', {}, h('td', {}, use), h('th', { scope: 'row', text: u.callsign }), h('td', { text: String(u.size) }), h('td', {}, start), h('td', {}, end)) };
  });
  const build = h('button', { type: 'button', id: 'build-plan', text: 'Build plan' });
  const out = h('div', { id: 'plan-out', 'aria-live': 'polite' });
  // Opening a plan (built, chosen from the list, published, re-planned) redraws the rota and
  // refreshes the list, so its status, version and gap stay those of the server.
  const list = planList((id) => open(id));
  const open = async (id, note) => {
    await showPlan(id, out, open, note);
    await list.refresh(id);
  };
  build.addEventListener('click', async () => {
    const units = rows.filter((r) => r.use.checked).map((r) => ({ ...r.u, shift_start: r.start.value, shift_end: r.end.value }));
    if (!units.length) {
      out.textContent = 'Choose at least one unit.';
      return;
    }
    build.disabled = true;
    out.textContent = 'Optimising…';
    try {
      const created = await api('/api/v1/plans', { json: { night: $('#night').value || todayLocal(), units } });
      await open(created.id);
    } catch (e) {
      out.textContent = `Plan failed: ${e.message}`;
    } finally {
      build.disabled = false;
    }
  });
  sec.append(
    h('div', { class: 'table-wrap' }, h('table', { class: 'roster' }, h('caption', { text: 'Roster (demo units)' }), h('thead', {}, h('tr', {}, h('th', { text: 'Use' }), h('th', { text: 'Unit' }), h('th', { text: 'Size' }), h('th', { text: 'Start' }), h('th', { text: 'End' }))), h('tbody', {}, rows.map((r) => r.tr)))),
    build,
    list.el,
    out,
  );
  list.refresh(); // not awaited: the view is usable before the list arrives
  return sec;
}

const whenText = (iso) => (iso ? new Date(iso).toLocaleString('en-GB', { dateStyle: 'medium', timeStyle: 'short' }) : '');

/** The stored plans (GET /api/v1/plans, latest night first), each opened by a button. */
function planList(onOpen) {
  const status = h('select', { id: 'plan-list-status' }, h('option', { value: '', text: 'All' }), h('option', { value: 'draft', text: 'Drafts' }), h('option', { value: 'published', text: 'Published' }));
  const ul = h('ul', { id: 'plan-list', class: 'plan-list', 'aria-labelledby': 'plan-list-title' });
  const note = h('p', { class: 'note', id: 'plan-list-msg' });
  let current = null;
  // A list, not a table: seven columns do not fit the panel, let alone a phone.
  const item = (p) =>
    h(
      'li',
      { 'data-id': String(p.id), 'data-status': p.status, 'data-version': String(p.version), 'aria-current': p.id === current ? 'true' : null },
      h('button', { type: 'button', class: 'link open-plan', text: `Night ${p.night}, plan ${p.id}`, onclick: () => onOpen(p.id) }),
      ' ',
      h('span', { class: `badge plan-${p.status}`, text: p.status }),
      h('span', { class: 'facts', text: `version ${p.version} · ${p.units} units · gap ${(p.gap * 100).toFixed(2)}% · ${p.published_at ? `published by ${p.published_by}, ${whenText(p.published_at)}` : `${p.version > 1 ? 'changed' : 'built'} by ${p.updated_by}, ${whenText(p.updated_at)}`}` }),
    );
  const refresh = async (openId) => {
    if (openId !== undefined) current = openId;
    try {
      const q = status.value ? `?status=${status.value}` : '';
      const { plans } = await api(`/api/v1/plans${q}`);
      ul.replaceChildren(...plans.map(item));
      note.textContent = plans.length ? '' : 'No plans yet.';
    } catch (e) {
      note.textContent = `Plans: ${e.message}`;
    }
  };
  status.addEventListener('change', () => refresh());
  const el = h(
    'div',
    { id: 'plan-list-box' },
    h('h3', { id: 'plan-list-title', text: 'Plans' }),
    h('p', { class: 'note', text: 'Stored plans, latest night first; open one to see its rota.' }),
    h('label', { class: 'field' }, 'Show', status),
    ul,
    note,
  );
  return { el, refresh };
}

async function showPlan(id, out, reopen = (i, note) => showPlan(i, out, undefined, note), note = '') {
  const plan = await api(`/api/v1/plans/${id}`);
  state.plan = plan;
  const st = plan.stored;
  const slots = plan.slots;
  const zoneName = Object.fromEntries(plan.zones.map((z) => [z.id, z.name]));
  // Timeline: one row per unit, one cell per slot.
  const timeline = h(
    'div',
    { class: 'timeline', role: 'img', 'aria-label': 'Rota timeline (the table below holds the same)' },
    plan.callsigns.map((cs, u) =>
      h(
        'div',
        { class: 'tl-row' },
        h('span', { class: 'tl-unit', text: cs }),
        h(
          'div',
          { class: 'tl-slots', style: `grid-template-columns:repeat(${slots.length},1fr)` },
          plan.assignments[u].map((a, s) => {
            const [kind, label] = slotLabel(a);
            return h('span', { class: `tl tl-${kind}`, title: `${hhmm(slots[s].start_local)} ${kind} ${label}` });
          }),
        ),
      ),
    ),
    h('div', { class: 'tl-axis' }, h('span', { text: hhmm(slots[0].start_local) }), h('span', { text: hhmm(slots[slots.length - 1].end_utc && slots[slots.length - 1].start_local) })),
  );
  // Table: legs per unit.
  const legs = planLegs(plan);
  const table = h(
    'div',
    { class: 'table-wrap' },
    h(
      'table',
      { id: 'rota-table' },
      h('caption', { text: 'Rota' }),
      h('thead', {}, h('tr', {}, ['Unit', 'From', 'To', 'Activity'].map((t) => h('th', { scope: 'col', text: t })))),
      h(
        'tbody',
        {},
        legs
          .filter((l) => l.kind !== 'off')
          .map((l) =>
            h('tr', {}, h('td', { text: l.cs }), h('td', { text: hhmm(slots[l.first].start_local) }), h('td', { text: slotEnd(plan, l.last) }), h('td', { text: legWhat(l, zoneName) })),
          ),
      ),
    ),
  );
  const publish = h('button', { type: 'button', id: 'publish-plan', text: st.status === 'published' ? 'Published' : 'Publish', disabled: st.status === 'published' });
  publish.addEventListener('click', async () => {
    try {
      await api(`/api/v1/plans/${id}/publish`, { method: 'POST' });
      await reopen(id);
    } catch (e) {
      msg.textContent = `Publish failed: ${e.message}`;
    }
  });
  const dropUnit = h('select', { id: 'drop-unit', 'aria-label': 'Unit that drops out' }, plan.callsigns.map((c) => h('option', { value: c, text: c })));
  const dropAt = h('input', { type: 'time', id: 'drop-at', value: '23:00', 'aria-label': 'From what time' });
  const replan = h('button', { type: 'button', id: 'replan', text: 'Re-plan without it' });
  const msg = h('p', { class: 'note', id: 'plan-msg', 'aria-live': 'polite', text: note });
  replan.addEventListener('click', async () => {
    try {
      const r = await api(`/api/v1/plans/${id}/replan`, { json: { drop: dropUnit.value, at: dropAt.value } });
      await reopen(id, `Re-planned: version ${r.version}, ${(r.changes || r.changed || []).length} slots changed.`);
    } catch (e) {
      msg.textContent = `Re-plan failed: ${e.message}`;
    }
  });
  const exports = h(
    'p',
    { class: 'exports' },
    h('a', { href: `/api/v1/plans/${id}/rota.csv`, id: 'export-csv', download: `rota-${plan.night}.csv`, text: 'Rota CSV' }),
    ' · ',
    h('label', {}, 'Calendar for ', h('select', { id: 'ics-unit', onchange: (e) => ($('#export-ics').href = `/api/v1/plans/${id}/units/${e.target.value}/calendar.ics`) }, plan.callsigns.map((c) => h('option', { value: c, text: c })))),
    ' ',
    h('a', { href: `/api/v1/plans/${id}/units/${plan.callsigns[0]}/calendar.ics`, id: 'export-ics', text: 'iCalendar' }),
    ' · ',
    h('button', { type: 'button', id: 'briefing', text: 'Printable briefing', onclick: () => briefing(plan, legs, zoneName) }),
  );
  out.replaceChildren(
    h('p', { id: 'plan-summary' }, `Plan ${id} (${st.status}, version ${st.version}) for ${plan.night}: objective ${fmt(plan.objective)}, upper bound ${fmt(plan.bound)}, optimality gap `, h('strong', { id: 'plan-gap', text: `${(plan.gap * 100).toFixed(2)}%` })),
    h('div', { class: 'row' }, publish),
    timeline,
    h('p', { class: 'legend-inline' }, h('span', { class: 'tl tl-zone' }), ' patrol ', h('span', { class: 'tl tl-travel' }), ' walking ', h('span', { class: 'tl tl-break' }), ' break ', h('span', { class: 'tl tl-off' }), ' off'),
    table,
    h('div', { class: 'row' }, h('label', { class: 'field' }, 'Unit drops out', dropUnit), h('label', { class: 'field' }, 'At', dropAt), replan),
    msg,
    exports,
  );
}
