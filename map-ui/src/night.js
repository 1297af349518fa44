// The chosen night in the API's terms. A night is named by its evening's date and runs
// 18:00-06:00, so its hours after midnight fall on the next calendar day; the hotspot
// `window`, the zones' hour-of-week risk and the hour slider all need that same
// arithmetic, so it lives once, here.
const DAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'];
export const NIGHT_HOURS = [18, 19, 20, 21, 22, 23, 0, 1, 2, 3, 4, 5];
/** The `window` for one hour of the chosen night (night date = the evening's date). */
export function hourWindow(night, hour) {
  const d = new Date(`${night}T12:00:00`);
  if (hour < 12) d.setDate(d.getDate() + 1);
  const day = DAYS[d.getDay()];
  const end = (hour + 1) % 24;
  return `${day}@${String(hour).padStart(2, '0')}:00-${String(end).padStart(2, '0')}:00`;
}
/** The `window` for the whole chosen night, 18:00-06:00. */
export function nightWindow(night) {
  return `${DAYS[new Date(`${night}T12:00:00`).getDay()]}@18:00-06:00`;
}
/** Index into a zone's `risk_by_hour` (hour of week, Monday 00:00 first). */
export function hourOfWeek(night, hour) {
  const d = new Date(`${night}T12:00:00`);
  if (hour < 12) d.setDate(d.getDate() + 1);
  const monFirst = (d.getDay() + 6) % 7;
  return monFirst * 24 + hour;
}
