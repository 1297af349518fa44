// Firefly's map UI: one page, three views chosen by the logged-in role (planner and admin:
// the planner view; officer; liaison). Talks only to the Firefly API on the same origin,
// with the session cookie that POST /api/v1/auth/login sets. This entry point only logs in
// and picks the view; the map lives in map/, each view in views/, and esbuild bundles them
// into one script (the PMTiles basemap, src/basemap.js, stays a chunk of its own).
import { api, currentUser, login, logout } from './api.js';
import { $ } from './dom.js';
import { createMap } from './map/map.js';
import { mark, state } from './state.js';
import { liaisonView } from './views/liaison.js';
import { officerView } from './views/officer.js';
import { plannerView } from './views/planner.js';

// The bundle has always exported the palette; kept so nothing that reads it breaks.
export { STATUS } from './map/venues.js';

async function boot() {
  $('#logout').addEventListener('click', async () => {
    try {
      await logout();
    } catch {
      /* already gone */
    }
    location.reload();
  });
  $('#login-form').addEventListener('submit', async (e) => {
    e.preventDefault();
    $('#login-error').textContent = '';
    try {
      await login($('#username').value, $('#password').value);
      await start();
    } catch (err) {
      $('#login-error').textContent =
        err.status === 401 ? 'Wrong user name or password.' : `Login failed: ${err.message}`;
    }
  });
  try {
    state.config = await api('config.json');
  } catch {
    state.config = { basemap: null };
  }
  await start();
}

async function start() {
  try {
    state.me = await currentUser();
  } catch {
    $('#login').hidden = false;
    $('#workspace').hidden = true;
    $('.skip').hidden = true; // its target, the panel, is not on the login page
    $('#username').focus();
    document.body.dataset.view = 'login';
    return;
  }
  const role = state.me.role;
  $('#login').hidden = true;
  $('#workspace').hidden = false;
  $('.skip').hidden = false;
  $('#logout').hidden = false;
  $('#who').textContent = `${state.me.username} · ${role}${state.me.unit ? ` · ${state.me.unit}` : ''}`;
  const view = role === 'admin' ? 'planner' : role;
  document.body.dataset.view = view;
  await createMap();
  if (view === 'planner') await plannerView();
  else if (view === 'officer') await officerView();
  else if (view === 'liaison') await liaisonView();
  mark('interactive');
  document.body.dataset.ready = 'true';
}

boot();
