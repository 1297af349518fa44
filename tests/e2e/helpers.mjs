// Shared by the end-to-end test files: the browser (Debian's Chromium through
// playwright-core, no browser download), pages whose every non-loopback request is aborted,
// login through the form, and a few map probes. scripts/e2e.sh sets FIREFLY_URL and
// FIREFLY_PASSWORD (users e2e-planner, e2e-officer (LN-FF1), e2e-officer2 (BD-FF1),
// e2e-liaison, e2e-admin), and FIREFLY_URL_PMTILES and FIREFLY_URL_PMTILES_VECTOR: more
// servers on the same database with a raster and a vector PMTiles basemap
// (tests/e2e/make-pmtiles.mjs).
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

export const URL_BASE = process.env.FIREFLY_URL;
export const URL_PMTILES = process.env.FIREFLY_URL_PMTILES;
export const URL_PMTILES_VECTOR = process.env.FIREFLY_URL_PMTILES_VECTOR;
export const PASSWORD = process.env.FIREFLY_PASSWORD;
export const ARTIFACTS = join(dirname(fileURLToPath(import.meta.url)), '..', 'artifacts');
export const DESKTOP = { width: 1280, height: 800 };
export const PHONE = { width: 390, height: 844 };

let browser;

/** Starts Chromium once per test file (node --test runs each file in its own process). */
export async function launch() {
  assert.ok(URL_BASE && PASSWORD, 'FIREFLY_URL and FIREFLY_PASSWORD are set by scripts/e2e.sh');
  mkdirSync(ARTIFACTS, { recursive: true });
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--enable-unsafe-swiftshader',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  return browser;
}
export const close = () => browser?.close();

const isLoopback = (u) => {
  const { hostname, protocol } = new URL(u);
  if (protocol === 'data:' || protocol === 'blob:') return true;
  return hostname === '127.0.0.1' || hostname === 'localhost' || hostname === '[::1]';
};

export async function newPage(viewport) {
  const context = await browser.newContext({ viewport, deviceScaleFactor: 1, acceptDownloads: true });
  const blocked = [];
  await context.route('**/*', (route) => {
    const u = route.request().url();
    if (isLoopback(u)) return route.continue();
    blocked.push(u);
    return route.abort();
  });
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  return { context, page, blocked, errors };
}

/** Logs in through the form and waits for the map's `load` and the view to be ready. */
export async function login(page, user, base = URL_BASE) {
  await page.goto(base + '/');
  await page.waitForSelector('#login-form', { state: 'visible' });
  await page.fill('#username', user);
  await page.fill('#password', PASSWORD);
  await page.click('#login-form button[type=submit]');
  await page.waitForSelector('body[data-ready="true"]', { timeout: 30000 });
  assert.equal(await page.getAttribute('body', 'data-map-loaded'), 'true', 'the map fired load');
}

export const layer = (page, id) => page.evaluate((id) => Boolean(window.__firefly.map.getLayer(id)), id);
export const rendered = (page, id) =>
  page.evaluate((id) => window.__firefly.map.queryRenderedFeatures({ layers: [id] }).length, id);
export async function idle(page) {
  await page.evaluate(
    () =>
      new Promise((resolve) => {
        const m = window.__firefly.map;
        if (m.loaded() && !m.isMoving()) {
          m.once('idle', resolve);
          m.triggerRepaint();
        } else m.once('idle', resolve);
      }),
  );
}
export const shot = (page, name) => page.screenshot({ path: join(ARTIFACTS, `${name}.png`) });

/** Builds a plan from the demo roster through the plan panel; answers its id. */
export async function buildPlan(page, { drop = [] } = {}) {
  for (const cs of drop) await page.uncheck(`input.use-unit[data-callsign="${cs}"]`).catch(() => {});
  await page.click('#build-plan');
  await page.waitForSelector('#plan-summary', { timeout: 60000 });
  return Number((await page.textContent('#plan-summary')).match(/Plan (\d+)/)[1]);
}

/** Finds the venue's feature, centres the map on it and clicks it where it is drawn. */
export async function openVenueByName(page, name) {
  const pt = await page.evaluate(async (name) => {
    const m = window.__firefly.map;
    const f = window.__firefly.state.venues.features.find((x) => x.properties.name === name);
    m.jumpTo({ center: f.geometry.coordinates, zoom: 16 });
    await new Promise((r) => m.once('idle', r));
    const p = m.project(f.geometry.coordinates);
    const r = m.getCanvas().getBoundingClientRect();
    return { x: r.left + p.x, y: r.top + p.y };
  }, name);
  await page.mouse.click(pt.x, pt.y);
  await page.waitForSelector('.maplibregl-popup-content', { timeout: 5000 });
}
