// A plan's rota read as legs: runs of consecutive slots in which a unit does the same thing
// (patrols one zone, walks, takes a break). The rota table in the plan panel and the
// printable briefing both list legs, so the grouping and the times are worked out once and
// the two always agree.
import { hhmm } from './format.js';

export function slotLabel(a) {
  if (!a || a.off) return ['off', ''];
  if (a.break) return ['break', 'Break'];
  if (a.zone) return ['zone', a.zone];
  if (a.travel) return ['travel', `→ ${a.travel.to || 'station'}`];
  return ['off', ''];
}

/** Every unit's legs in callsign order, off-duty runs included: `{cs, kind, label, first, last}`. */
export function planLegs(plan) {
  const legs = [];
  plan.callsigns.forEach((cs, u) => {
    let cur = null;
    plan.assignments[u].forEach((a, s) => {
      const [kind, label] = slotLabel(a);
      const key = `${kind}|${label}`;
      if (cur && cur.key === key) cur.last = s;
      else {
        if (cur) legs.push(cur);
        cur = { cs, key, kind, label, first: s, last: s };
      }
    });
    if (cur) legs.push(cur);
  });
  return legs;
}

/** "HH:MM" at the end of slot i: the next slot's start, or the last start plus one slot. */
export function slotEnd(plan, i) {
  const next = plan.slots[i + 1];
  if (next) return hhmm(next.start_local);
  const [hh, mm] = hhmm(plan.slots[i].start_local).split(':').map(Number);
  const t = (hh * 60 + mm + (plan.params?.slot_minutes || 15)) % 1440;
  return `${String(Math.floor(t / 60)).padStart(2, '0')}:${String(t % 60).padStart(2, '0')}`;
}
export function legWhat(l, zoneName) {
  if (l.kind === 'zone') return `Patrol ${l.label} ${zoneName[l.label] || ''}`.trim();
  if (l.kind === 'travel') return `Walk ${l.label}`;
  return 'Break';
}
