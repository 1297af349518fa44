// End-to-end tests of the map UI in Debian's Chromium (playwright-core, no browser
// download). Run by scripts/e2e.sh, which starts `firefly serve` on loopback with a fresh
// demo database and users e2e-planner, e2e-officer (LN-FF1), e2e-officer2 (BD-FF1),
// e2e-liaison, e2e-admin, all with FIREFLY_PASSWORD. Every request that is not to loopback
// is aborted. Screenshots go to tests/artifacts/.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  URL_BASE, ARTIFACTS, DESKTOP, PHONE, PASSWORD,
  launch, close, newPage, login, layer, rendered, idle, shot, buildPlan, openVenueByName,
} from './helpers.mjs';

const timings = {};
const NIGHT_HOURS = [18, 19, 20, 21, 22, 23, 0, 1, 2, 3, 4, 5]; // the hour slider's stops, as in main.js

before(launch);

after(async () => {
  await close();
  writeFileSync(join(ARTIFACTS, 'timings.json'), JSON.stringify(timings, null, 2) + '\n');
  console.log('timings (ms):', JSON.stringify(timings));
});

let planId;

test('login page: wrong password is refused, the API is not shown', async () => {
  const { context, page } = await newPage(DESKTOP);
  await page.goto(URL_BASE + '/');
  await page.fill('#username', 'e2e-planner');
  await page.fill('#password', 'wrong password');
  await page.click('#login-form button[type=submit]');
  await page.waitForFunction(() => document.querySelector('#login-error').textContent.length > 0);
  assert.match(await page.textContent('#login-error'), /Wrong user name or password/);
  assert.equal(await page.isVisible('#workspace'), false);
  await shot(page, 'login-desktop');
  await context.close();
});

test('planner: hotspots, zones, venues, incidents; interactive time; hour slider', async () => {
  const { context, page, blocked, errors } = await newPage(DESKTOP);
  await login(page, 'e2e-planner');
  // Interactive time of a cold page load with a session: navigation start to the view ready.
  await page.reload();
  await page.waitForSelector('body[data-ready="true"]');
  const interactive = await page.evaluate(() => window.__firefly.marks.interactive);
  timings.planner_interactive = Math.round(interactive);
  timings.planner_map_load = Math.round(await page.evaluate(() => window.__firefly.marks['map-load']));
  assert.ok(interactive < 2000, `planner view interactive in ${interactive} ms (< 2000)`);
  await page.waitForFunction(() => window.__firefly.map.getSource('zones') && window.__firefly.map.getSource('venues'));
  await idle(page);
  assert.ok((await rendered(page, 'hotspots')) > 0, 'hotspot cells drawn');
  assert.ok((await rendered(page, 'venues')) > 0, 'venues drawn');
  assert.ok((await rendered(page, 'zones-fill')) > 0, 'zones drawn');
  assert.ok(await layer(page, 'incidents'), 'planner has incident points');
  assert.ok(await page.isVisible('#hotspot-legend'));
  // The legend's validation note: the whole area's, computed in the background for a
  // viewport and fetched again until it is there.
  await page.waitForFunction(
    () => /^(Tested on|Not validated)/.test(document.querySelector('#hotspot-validation')?.textContent || ''),
    null,
    { timeout: 20000 },
  );
  assert.match(await page.textContent('#hotspot-validation'), /Tested on the \d+ latest/);
  assert.match(await page.textContent('.maplibregl-ctrl-attrib'), /OpenStreetMap/);
  assert.match(await page.textContent('.maplibregl-ctrl-attrib'), /police\.uk/);
  // The offline background names its districts, each label inside its own district.
  const labels = await page.evaluate(() => {
    const m = window.__firefly.map;
    const box = m.getContainer().getBoundingClientRect();
    return [...document.querySelectorAll('.district-label')].map((el) => {
      const r = el.getBoundingClientRect();
      const x = r.left + r.width / 2 - box.left;
      const y = r.top + r.height / 2 - box.top;
      const under = m.queryRenderedFeatures([x, y], { layers: ['districts-fill'] }).map((f) => f.properties.lad20nm);
      return { name: el.textContent, under, visible: r.width > 0 && x > 0 && y > 0 && x < box.width && y < box.height };
    });
  });
  assert.deepEqual(labels.map((l) => l.name).sort(), ['Bedford', 'Central Bedfordshire', 'Luton']);
  for (const l of labels) {
    assert.ok(l.visible, `${l.name} label on screen`);
    assert.deepEqual(l.under, [l.name], `${l.name} label lies inside ${l.name}`);
  }
  await shot(page, 'planner-desktop');

  // Gi* classes with their legend.
  await page.selectOption('#method', 'gistar');
  await page.waitForFunction(() => /Hot spot, 99%/.test(document.querySelector('#hotspot-legend').textContent));
  await idle(page);
  assert.ok((await rendered(page, 'hotspots')) > 0, 'Gi* cells drawn');
  await page.selectOption('#method', 'kde');

  // The hour slider: the first move fetches that hour, moving back is from the cache.
  const slide = async (v) => {
    await page.evaluate(() => delete window.__firefly.marks.sliderRedraw);
    await page.$eval('#hour', (el, v) => {
      el.value = String(v);
      el.dispatchEvent(new Event('input', { bubbles: true }));
    }, v);
    await page.waitForFunction(() => window.__firefly.marks.sliderRedraw !== undefined, null, { timeout: 10000 });
    return page.evaluate(() => window.__firefly.marks.sliderRedraw);
  };
  timings.slider_first_fetch = Math.round(await slide(5));
  await slide(6);
  timings.slider_cached = Math.round(await slide(5));
  assert.ok(timings.slider_cached < 200, `hour slider redraw ${timings.slider_cached} ms (< 200)`);
  assert.match(await page.textContent('#hotspot-status'), /cells at/);
  assert.ok((await rendered(page, 'hotspots')) > 0);

  // The demo's police.uk incidents are month-only: the night's answer is drawn scaled by the
  // hour profile (a labelled prior), so 19:00 and 01:00 look different, without a download.
  assert.ok(await page.isVisible('#hour-profile'), 'the hour profile is named beside the legend');
  assert.match(await page.textContent('#hour-profile'), /Hour shape: prior from Houston.*the same for every cell/);
  const hotspotRequests = () =>
    page.evaluate(() => performance.getEntriesByType('resource').filter((x) => x.name.includes('/api/v1/hotspots?')).length);
  /** Each rendered cell's evaluated fill colour and opacity (its feature-state included). */
  const cellPaint = () =>
    page.evaluate(() => {
      const m = window.__firefly.map;
      const paint = m.getLayer('hotspots').paint;
      const out = {};
      for (const f of m.queryRenderedFeatures({ layers: ['hotspots'] })) {
        const feature = { type: 3, id: f.id, properties: f.properties };
        const c = paint.get('fill-color').evaluate(feature, f.state);
        out[f.id] = { color: [c.r, c.g, c.b].map((x) => x.toFixed(3)).join(','), opacity: paint.get('fill-opacity').evaluate(feature, f.state), w: f.state.w };
      }
      return out;
    });
  const before = await hotspotRequests();
  timings.slider_profile_19 = Math.round(await slide(NIGHT_HOURS.indexOf(19)));
  const at19 = await cellPaint();
  timings.slider_profile_01 = Math.round(await slide(NIGHT_HOURS.indexOf(1)));
  const at01 = await cellPaint();
  assert.equal(await hotspotRequests(), before, 'moving the slider downloaded no hotspots');
  assert.ok(Math.max(timings.slider_profile_19, timings.slider_profile_01) < 200, 'profile redraw < 200 ms');
  const ids = Object.keys(at19).filter((id) => id in at01);
  assert.ok(ids.length > 100, `${ids.length} cells drawn at both hours`);
  assert.ok(ids.every((id) => at19[id].w > 0 && at01[id].w > 0), 'every cell has its expected weight in feature-state');
  const changed = ids.filter((id) => at19[id].color !== at01[id].color || at19[id].opacity !== at01[id].opacity);
  assert.ok(changed.length > ids.length / 10, `${changed.length} of ${ids.length} cells change colour or opacity between 19:00 and 01:00`);
  timings.slider_profile_cells_changed = `${changed.length}/${ids.length}`;

  // Payloads are compressed and bounded: the hotspot requests the view made (the cell size
  // follows the zoom, the bbox the viewport).
  const res = await page.evaluate(async () => {
    const hs = performance.getEntriesByType('resource').filter((x) => x.name.includes('/api/v1/hotspots?'));
    const last = hs[hs.length - 1];
    const r = await fetch(last.name);
    return {
      enc: r.headers.get('content-encoding'),
      len: (await r.text()).length,
      maxDecoded: Math.max(...hs.map((x) => x.decodedBodySize)),
      maxTransfer: Math.max(...hs.map((x) => x.transferSize)),
    };
  });
  timings.hotspot_payload_max_bytes = res.maxDecoded;
  timings.hotspot_payload_max_transfer_bytes = res.maxTransfer;
  const js = await page.evaluate(async () => {
    const e = performance.getEntriesByType('resource').find((x) => x.name.endsWith('/app.js'));
    return e ? { transfer: e.transferSize, decoded: e.decodedBodySize } : null;
  });
  if (js) timings.app_js_transfer_bytes = js.transfer;
  // Chromium asks for brotli (even over plain HTTP on loopback), and gets it.
  assert.equal(res.enc, 'br');
  assert.ok(res.maxDecoded < 1_500_000, `hotspot payload ${res.maxDecoded} bytes (< 1.5 MB)`);
  assert.ok(res.maxTransfer < res.maxDecoded / 3, 'hotspot payload compressed');
  if (js) assert.ok(js.transfer < js.decoded / 2, 'app.js compressed');
  assert.deepEqual(blocked, [], 'nothing but loopback was asked for');
  assert.deepEqual(errors, []);
  await context.close();
});

test('planner: build, publish, re-plan, export a plan; phone screenshot', async () => {
  const { context, page, errors } = await newPage(DESKTOP);
  await login(page, 'e2e-planner');
  // Two units dropped from the roster, one shift changed.
  planId = await buildPlan(page, { drop: ['LN-FF3', 'BD-FF1'] });
  const summary = await page.textContent('#plan-summary');
  assert.match(summary, /draft/);
  assert.match(summary, /optimality gap \d+\.\d+%/);
  const rotaRows = await page.$$eval('#rota-table tbody tr', (rs) => rs.map((r) => r.textContent));
  assert.ok(rotaRows.length > 0, 'the rota table has rows');
  assert.ok(!rotaRows.some((r) => r.includes('LN-FF3')), 'an unchosen unit is not in the rota');
  assert.ok((await page.$$('.timeline .tl-row')).length > 0, 'the timeline is drawn');

  await page.click('#publish-plan');
  await page.waitForFunction(() => /published/.test(document.querySelector('#plan-summary').textContent));
  // The plan list follows: the plan is there, published.
  const listed = (id) => `#plan-list li[data-id="${id}"]`;
  await page.waitForSelector(`${listed(planId)}[data-status="published"]`);
  assert.equal(await page.getAttribute(listed(planId), 'aria-current'), 'true', 'the open plan is marked in the list');

  // Exports: rota CSV, a unit's iCalendar, the printable briefing.
  const csvHref = await page.getAttribute('#export-csv', 'href');
  const csv = await page.request.get(URL_BASE + csvHref);
  assert.equal(csv.status(), 200);
  assert.match(csv.headers()['content-type'], /text\/csv/);
  assert.match(await csv.text(), /LN-FF1/);
  const ics = await page.request.get(URL_BASE + (await page.getAttribute('#export-ics', 'href')));
  assert.equal(ics.status(), 200);
  assert.match(await ics.text(), /BEGIN:VCALENDAR/);
  const [briefing] = await Promise.all([context.waitForEvent('page'), page.click('#briefing')]);
  await briefing.waitForLoadState();
  assert.match(await briefing.textContent('h1'), /Patrol briefing/);
  await briefing.screenshot({ path: join(ARTIFACTS, 'planner-briefing.png'), fullPage: true });
  await checkBriefing(briefing, await (await page.request.get(`${URL_BASE}/api/v1/plans/${planId}`)).json());
  await briefing.close();
  await shot(page, 'planner-plan-desktop');

  // A unit drops out at 23:00: re-plan, version 2.
  await page.selectOption('#drop-unit', 'LN-FF2');
  await page.fill('#drop-at', '23:00');
  await page.click('#replan');
  await page.waitForFunction(() => /version 2/.test(document.querySelector('#plan-summary').textContent), null, { timeout: 60000 });
  assert.match(await page.textContent('#plan-msg'), /Re-planned/);
  await page.waitForSelector(`${listed(planId)}[data-version="2"]`);

  // After a reload, the list opens the stored plan into the rota panel (by keyboard).
  await page.reload();
  await page.waitForSelector('body[data-ready="true"]');
  await page.waitForSelector(listed(planId));
  assert.match(
    await page.textContent(listed(planId)),
    new RegExp(`Night \\d{4}-\\d\\d-\\d\\d, plan ${planId} published.*version 2 · \\d+ units · gap \\d+\\.\\d\\d% · published by e2e-planner`),
  );
  assert.equal(await page.$('#plan-summary'), null, 'no plan open before choosing one');
  await page.focus(`${listed(planId)} button.open-plan`);
  await page.keyboard.press('Enter');
  await page.waitForSelector('#plan-summary');
  assert.match(await page.textContent('#plan-summary'), new RegExp(`Plan ${planId} \\(published, version 2\\)`));
  const stored = await (await page.request.get(`${URL_BASE}/api/v1/plans/${planId}`)).json();
  const units = new Set(await page.$$eval('#rota-table tbody tr td:first-child', (c) => c.map((x) => x.textContent)));
  assert.ok(units.size > 0 && [...units].every((u) => stored.callsigns.includes(u)), 'the rota of the stored plan');
  assert.ok((await page.$$('.timeline .tl-row')).length === stored.callsigns.length, 'one timeline row per unit');

  await page.setViewportSize(PHONE);
  await idle(page);
  await shot(page, 'planner-phone');
  assert.deepEqual(errors, []);
  await context.close();
});

/**
 * The printable briefing, as printed: one section per unit of the plan with its callsign, a
 * map of its zones that really drew (the image decoded, and blue zone pixels on it), and its
 * itinerary rows; no controls; a page break before each unit (the first page lists them). Saves
 * tests/artifacts/briefing.pdf (A4).
 */
async function checkBriefing(briefing, plan) {
  await briefing.emulateMedia({ media: 'print' });
  assert.equal(await briefing.isVisible('.controls'), false, 'no controls on paper');
  const sections = await briefing.$$eval('section.unit', (secs) =>
    Promise.all(
      secs.map(async (sec) => {
        const img = sec.querySelector('img.zone-map');
        await img.decode();
        const c = document.createElement('canvas');
        [c.width, c.height] = [img.naturalWidth, img.naturalHeight];
        const g = c.getContext('2d');
        g.drawImage(img, 0, 0);
        const px = g.getImageData(0, 0, c.width, c.height).data;
        let blue = 0;
        for (let i = 0; i < px.length; i += 4) if (px[i + 2] > 150 && px[i] < 150) blue++;
        return {
          callsign: sec.dataset.callsign,
          heading: sec.querySelector('h2').textContent,
          width: img.naturalWidth,
          blue,
          alt: img.alt,
          rows: [...sec.querySelectorAll('table.legs tbody tr')].map((r) => [...r.cells].map((td) => td.textContent)),
          breakBefore: getComputedStyle(sec).breakBefore,
        };
      }),
    ),
  );
  assert.deepEqual(sections.map((s) => s.callsign), plan.callsigns, 'one section per unit, in plan order');
  plan.callsigns.forEach((cs, u) => {
    const sec = sections[u];
    assert.match(sec.heading, new RegExp(cs));
    assert.ok(sec.width > 0, `${cs}: the map image decoded`);
    // The unit's own zones and first leg, read from the plan JSON, not from the UI.
    const a = plan.assignments[u];
    const zones = [...new Set(a.filter((x) => x.zone).map((x) => x.zone))];
    if (zones.length) assert.ok(sec.blue > 500, `${cs}: its zones are drawn on the map (${sec.blue} blue pixels)`);
    for (const z of zones) {
      assert.match(sec.alt, new RegExp(z), `${cs}: zone ${z} named on the map`);
      assert.ok(sec.rows.some((r) => r[2].includes(`Patrol ${z}`)), `${cs}: a row patrols ${z}`);
    }
    const first = a.findIndex((x) => !x.off);
    assert.ok(sec.rows.length > 0, `${cs}: itinerary rows`);
    assert.equal(sec.rows[0][0], plan.slots[first].start_local.slice(11, 16), `${cs}: the first row starts with the unit's first slot`);
    assert.equal(sec.breakBefore, 'page', `${cs}: a page of its own`);
  });
  const pdf = await briefing.pdf({ path: join(ARTIFACTS, 'briefing.pdf'), format: 'A4', printBackground: true });
  const pages = (pdf.toString('latin1').match(/\/Type\s*\/Page\b/g) || []).length;
  assert.ok(pages >= plan.callsigns.length + 1, `${pages} PDF pages: a cover and one per unit (${plan.callsigns.length})`);
}

test('officer at phone size: now and next of my own unit only, venue facts, check-in', async () => {
  assert.ok(planId, 'the planner test published a plan');
  const { context, page, blocked, errors } = await newPage(PHONE);
  await login(page, 'e2e-officer');
  assert.match(await page.textContent('.panel .unit'), /LN-FF1/);
  assert.ok(await page.isVisible('#now'));
  assert.ok(await page.isVisible('#next'));
  const legs = await page.$$eval('#itinerary li', (ls) => ls.map((l) => l.textContent));
  assert.ok(legs.length > 0, 'the published itinerary is listed');
  // The same legs as the API gives this unit, and not those of another unit.
  const mine = await page.evaluate(async () => (await (await fetch('/api/v1/me/assignments')).json()));
  assert.equal(mine.unit, 'LN-FF1');
  assert.equal(legs.length, mine.itinerary.length);
  const other = await page.request.get(`${URL_BASE}/api/v1/plans/${planId}/units/BD-FF2/calendar.ics`);
  assert.equal(other.status(), 403, "another unit's calendar is refused");
  // What an officer may not see.
  assert.equal(await layer(page, 'incidents'), false, 'no incident points');
  assert.equal(await page.$('#plan-section'), null, 'no planning');
  assert.equal(await page.$('#venue-table'), null, 'no training table');
  const inc = await page.request.get(`${URL_BASE}/api/v1/incidents?purpose=e2e%20test&limit=1`);
  assert.equal(inc.status(), 403);
  // Only my zones are drawn.
  const zoneIds = await page.evaluate(() => window.__firefly.state.myZones.features.map((f) => f.properties.id));
  const planned = new Set(mine.itinerary.flatMap((l) => [l.zone, l.to, l.from]).filter(Boolean).map((z) => z.id));
  assert.ok(zoneIds.length > 0 && zoneIds.every((z) => planned.has(z)), 'only the zones of my itinerary');
  await idle(page);
  assert.ok((await rendered(page, 'zones-fill')) > 0, 'my zones are drawn');
  assert.match(await page.textContent('#report'), /999/);
  assert.match(await page.textContent('#report'), /101/);
  assert.match(await page.textContent('#report'), /[Oo]nline/);
  await shot(page, 'officer-phone');

  // Venue facts on tap.
  await openVenueByName(page, "Alfie's Bar");
  const popup = await page.textContent('.maplibregl-popup-content');
  assert.match(popup, /Alfie's Bar/);
  assert.match(popup, /Training/);
  assert.match(popup, /Safe Space/);
  assert.match(popup, /Closing today/);
  await shot(page, 'officer-phone-venue');

  // Check in (the map centre without GPS): the server answers, and the UI says so.
  await page.click('#checkin');
  await page.waitForFunction(() => document.querySelector('#checkin-msg').textContent.length > 0);
  assert.match(await page.textContent('#checkin-msg'), /Checked in|not recorded/);
  timings.officer_checkin_message = await page.textContent('#checkin-msg');

  await page.setViewportSize(DESKTOP);
  await idle(page);
  await shot(page, 'officer-desktop');
  assert.deepEqual(blocked, []);
  assert.deepEqual(errors, []);
  await context.close();
});

test('liaison: venues by training status, popup, record training, see it after reload', async () => {
  const { context, page, blocked, errors } = await newPage(DESKTOP);
  await login(page, 'e2e-liaison');
  assert.equal(await layer(page, 'incidents'), false, 'no incident points');
  assert.equal(await layer(page, 'zones-fill'), false, 'no zones');
  assert.equal(await page.$('#plan-section'), null, 'no planning');
  await idle(page);
  assert.ok((await rendered(page, 'venues')) > 0);
  // The table: text labels beside the colours, sortable.
  const statuses = await page.$$eval('#venue-table tbody tr td:nth-child(2)', (c) => c.map((x) => x.textContent));
  assert.ok(statuses.length > 200);
  for (const label of ['Trained', 'Refresher due within 30 days', 'Refresher overdue', 'Never trained']) {
    assert.ok(statuses.includes(label), `the table shows "${label}"`);
  }
  // Risk rank beside status: sorted by it, the highest-risk venue (#1) comes first.
  await page.click('#venue-table thead button:has-text("Risk rank")');
  const risk = await page.$$eval('#venue-table tbody tr td:nth-child(3)', (c) => c.map((x) => x.textContent));
  assert.match(risk[0], /^#1 \(\d+ nearby\)$/, 'risk rank column, highest first');
  await page.click('#venue-table thead button:has-text("Venue")');
  const names = await page.$$eval('#venue-table tbody th', (c) => c.map((x) => x.textContent));
  assert.deepEqual(names, [...names].sort((a, b) => a.localeCompare(b)), 'sorted by name');
  await shot(page, 'liaison-desktop');

  // Click a venue on the map: popup and history.
  await openVenueByName(page, "Alfie's Bar");
  assert.match(await page.textContent('.maplibregl-popup-content'), /Alfie's Bar/);
  await page.waitForSelector('#training-form');
  assert.match(await page.textContent('#venue-name'), /Alfie's Bar/);
  assert.match(await page.textContent('#impact'), /before/);

  // Record a session, reload, and find it in the history.
  const trainer = `E2E trainer ${Date.now()}`;
  await page.fill('#training-form input[name=trainer]', trainer);
  await page.fill('#training-form input[name=staff_trained]', '7');
  await page.click('#training-form button[type=submit]');
  await page.waitForFunction(() => /Saved/.test(document.querySelector('#training-msg')?.textContent || ''));
  await page.reload();
  await page.waitForSelector('body[data-ready="true"]');
  await page.click(`#venue-table tbody th button:text-is("Alfie's Bar")`);
  await page.waitForSelector('#training-history');
  assert.match(await page.textContent('#training-history'), new RegExp(trainer));
  await shot(page, 'liaison-venue-desktop');

  await page.setViewportSize(PHONE);
  await idle(page);
  await shot(page, 'liaison-phone');
  assert.deepEqual(blocked, []);
  assert.deepEqual(errors, []);
  await context.close();
});

test('admin sees the planner view; logout returns to the login form', async () => {
  const { context, page } = await newPage(PHONE);
  await login(page, 'e2e-admin');
  assert.equal(await page.getAttribute('body', 'data-view'), 'planner');
  await idle(page);
  assert.ok((await rendered(page, 'hotspots')) > 0);
  await shot(page, 'admin-phone');
  await page.click('#logout');
  await page.waitForSelector('#login-form', { state: 'visible' });
  await context.close();
});

test('keyboard: the login form and the panel controls are reachable with Tab', async () => {
  const { context, page } = await newPage(PHONE);
  await page.goto(URL_BASE + '/');
  await page.waitForSelector('#login-form', { state: 'visible' });
  await page.keyboard.type('e2e-liaison');
  await page.keyboard.press('Tab');
  await page.keyboard.type(PASSWORD);
  await page.keyboard.press('Enter');
  await page.waitForSelector('body[data-ready="true"]');
  let reached = false;
  for (let i = 0; i < 40 && !reached; i++) {
    await page.keyboard.press('Tab');
    reached = await page.evaluate(() => document.activeElement?.id === 'venue-picker');
  }
  assert.ok(reached, 'the venue picker is reachable by keyboard');
  await context.close();
});
