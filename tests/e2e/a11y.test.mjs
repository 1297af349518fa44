// Automated accessibility check: axe-core (WCAG 2.0 and 2.1, levels A and AA) on the login
// page, on each role's view at the sizes it is used at, and on the notice shown when a
// basemap cannot load. Any violation fails the test with its rule, impact, help text and
// first targets; the full axe results of every scan go to tests/artifacts/a11y-*.json. This
// file publishes a plan of its own first, so the officer's view is scanned with an itinerary
// in it (node --test runs it before ui.test.mjs).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { URL_BASE, ARTIFACTS, DESKTOP, PHONE, launch, close, newPage, login, idle, buildPlan } from './helpers.mjs';

const axeSource = createRequire(import.meta.url)('axe-core').source;

before(launch);
after(close);

/** Runs axe on the page as it is; saves the results; fails on any violation. */
async function scan(page, name) {
  // Evaluated through DevTools, not as a <script>: the page's Content Security Policy
  // (script-src 'self') stays in force, and refuses inline scripts as it should.
  await page.evaluate(axeSource);
  const results = await page.evaluate(() =>
    window.axe.run(document, {
      runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice'] },
      resultTypes: ['violations'],
    }),
  );
  writeFileSync(join(ARTIFACTS, `a11y-${name}.json`), JSON.stringify(results, null, 2) + '\n');
  const lines = results.violations.map(
    (v) => `${v.id} (${v.impact}): ${v.help} [${v.nodes.length} nodes; first: ${v.nodes.slice(0, 3).map((n) => n.target.join(' ')).join(' | ')}]`,
  );
  assert.equal(results.violations.length, 0, `axe on ${name}:\n  ${lines.join('\n  ')}`);
}

test('a11y: login page', async () => {
  const { context, page } = await newPage(DESKTOP);
  await page.goto(URL_BASE + '/');
  await page.waitForSelector('#login-form', { state: 'visible' });
  await scan(page, 'login');
  await context.close();
});

test('a11y: planner view (desktop), with a published plan and an hour chosen, and its printable briefing', async () => {
  const { context, page } = await newPage(DESKTOP);
  await login(page, 'e2e-planner');
  await page.waitForSelector('#plan-section');
  await buildPlan(page);
  await page.click('#publish-plan');
  await page.waitForFunction(() => /published/.test(document.querySelector('#plan-summary').textContent));
  // One hour chosen: the hour-profile legend and label are on the page too.
  await page.$eval('#hour', (el) => {
    el.value = '7';
    el.dispatchEvent(new Event('input', { bubbles: true }));
  });
  await page.waitForSelector('#hour-profile', { state: 'visible' });
  await idle(page);
  await scan(page, 'planner-desktop');
  const [briefing] = await Promise.all([context.waitForEvent('page'), page.click('#briefing')]);
  await briefing.waitForLoadState();
  await scan(briefing, 'briefing');
  await context.close();
});

test('a11y: officer view (phone)', async () => {
  const { context, page } = await newPage(PHONE);
  await login(page, 'e2e-officer');
  await idle(page);
  await scan(page, 'officer-phone');
  await context.close();
});

test('a11y: liaison view (desktop), with a venue open', async () => {
  const { context, page } = await newPage(DESKTOP);
  await login(page, 'e2e-liaison');
  await page.click(`#venue-table tbody th button:text-is("Alfie's Bar")`);
  await page.waitForSelector('#training-form');
  await idle(page);
  await scan(page, 'liaison-desktop');
  await context.close();
});

test('a11y: liaison view (phone)', async () => {
  const { context, page } = await newPage(PHONE);
  await login(page, 'e2e-liaison');
  await idle(page);
  await scan(page, 'liaison-phone');
  await context.close();
});

test('a11y: planner view (phone) with the notice of a basemap that could not load', async () => {
  const { context, page } = await newPage(PHONE);
  // A style URL out of reach (the request is aborted): the map falls back and says so.
  await context.route('**/config.json', (route) => route.fulfill({ json: { basemap: 'https://tiles.invalid/style.json', pmtiles: null } }));
  await login(page, 'e2e-planner');
  await page.waitForSelector('#map-notice', { state: 'visible' });
  await idle(page);
  await scan(page, 'basemap-notice-phone');
  await page.screenshot({ path: join(ARTIFACTS, 'basemap-notice-phone.png') });
  await context.close();
});
