// Dates, times and numbers as the panels and the briefing print them, in one place so a
// time reads the same in the rota table, the officer's itinerary and on paper.
export function todayLocal() {
  const d = new Date();
  return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`;
}
export const hhmm = (iso) => (iso ? iso.slice(11, 16) : '');
export const fmt = (x, n = 3) => (typeof x === 'number' ? x.toFixed(n) : '');
