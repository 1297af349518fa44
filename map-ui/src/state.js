// What the modules share while the page runs (the user, the map, the loaded venues, zones
// and plan, the hotspot cache and what is drawn), in one object rather than passed through
// every call. It is also window.__firefly.state, beside the map and the timing marks, so
// the browser tests can read what the UI loaded and how long it took without hooks in
// each module.
export const state = {
  me: null,
  map: null,
  config: { basemap: null },
  venues: null,
  hotspotCache: new Map(),
  zones: null,
  plan: null,
  myZones: null,
};
window.__firefly = { state, marks: {} };
export const mark = (name) => {
  window.__firefly.marks[name] = performance.now();
};
