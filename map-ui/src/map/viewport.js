// What the visible area asks of the server. Hotspot cells and incident points are loaded
// for the viewport only, and the cell size follows the zoom (50 / 100 / 250 m), so an
// answer stays bounded (a few thousand cells at most) however far out the user zooms.
export function cellForZoom(z) {
  if (z < 11) return 250;
  if (z < 13.5) return 100;
  return 50;
}
export function bboxParam(map) {
  const b = map.getBounds();
  const r = (x) => x.toFixed(4);
  return `${r(b.getWest())},${r(b.getSouth())},${r(b.getEast())},${r(b.getNorth())}`;
}
