// The configurable basemap. scripts/e2e.sh runs more `firefly serve --basemap-pmtiles` over
// small archives written by make-pmtiles.mjs, raster (FIREFLY_URL_PMTILES) and vector in the
// Protomaps schema (FIREFLY_URL_PMTILES_VECTOR): the map must draw their tiles under
// Firefly's layers, read with range requests, and credit them. A basemap that fails (the
// archive answering 500, its tiles failing, a style URL out of reach or invalid) must leave
// a working map over the offline background, with a visible notice.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { URL_BASE, URL_PMTILES, URL_PMTILES_VECTOR, DESKTOP, launch, close, newPage, login, layer, rendered, idle, shot } from './helpers.mjs';
import { TILE_RGB, ATTRIBUTION, VECTOR_ATTRIBUTION, EARTH_RGB, WATER_RGB } from './make-pmtiles.mjs';

before(launch);
after(close);

const skip = URL_PMTILES ? false : 'FIREFLY_URL_PMTILES is set by scripts/e2e.sh';

/** Waits for the planner view's layers and an idle map. */
async function plannerDrawn(page) {
  await page.waitForFunction(() => window.__firefly.map.getSource('zones') && window.__firefly.map.getSource('venues'));
  await idle(page);
}

/** How many pixels of the map, as the screen shows it, are the colour rgb (within ±tolerance). */
async function pixelsOf(page, rgb, tolerance = 3) {
  const box = await (await page.$('#map canvas')).boundingBox();
  const png = await page.screenshot({ clip: box });
  return page.evaluate(
    async ({ b64, rgb, tolerance }) => {
      const img = new Image();
      img.src = `data:image/png;base64,${b64}`;
      await img.decode();
      const c = document.createElement('canvas');
      [c.width, c.height] = [img.naturalWidth, img.naturalHeight];
      const g = c.getContext('2d');
      g.drawImage(img, 0, 0);
      const px = g.getImageData(0, 0, c.width, c.height).data;
      let n = 0;
      for (let i = 0; i < px.length; i += 4) {
        if (Math.abs(px[i] - rgb[0]) <= tolerance && Math.abs(px[i + 1] - rgb[1]) <= tolerance && Math.abs(px[i + 2] - rgb[2]) <= tolerance) n++;
      }
      return { n, total: px.length / 4 };
    },
    { b64: png.toString('base64'), rgb, tolerance },
  );
}

test('basemap: a raster PMTiles archive under the hotspots, read with range requests, credited', { skip }, async () => {
  const { context, page, blocked, errors } = await newPage(DESKTOP);
  const archive = [];
  page.on('response', (r) => {
    if (new URL(r.url()).pathname === '/basemap.pmtiles') {
      archive.push(r.request().headerValue('range').then((range) => ({ status: r.status(), range })));
    }
  });
  const config = await (await page.request.get(`${URL_PMTILES}/config.json`)).json();
  assert.equal(config.pmtiles.tile_type, 'png');
  assert.equal(config.pmtiles.attribution, ATTRIBUTION);

  await login(page, 'e2e-planner', URL_PMTILES);
  await plannerDrawn(page);
  const basemap = await page.evaluate(() => window.__firefly.basemap);
  assert.deepEqual(
    { kind: basemap.kind, status: basemap.status, tileType: basemap.tileType },
    { kind: 'pmtiles', status: 'ok', tileType: 'png' },
    `the basemap loaded (${basemap.reason || ''})`,
  );
  const raster = await page.evaluate(() => {
    const m = window.__firefly.map;
    const order = m.getLayersOrder();
    const src = m.getSource('basemap');
    return {
      type: m.getLayer('basemap')?.type,
      tileSize: src?.tileSize,
      url: src?.tiles?.[0],
      below: order.indexOf('basemap') < order.indexOf('hotspots') && order.indexOf('basemap') < order.indexOf('districts-line'),
      fill: Boolean(m.getLayer('districts-fill')),
      line: Boolean(m.getLayer('districts-line')),
    };
  });
  assert.equal(raster.type, 'raster', 'a raster layer draws the archive');
  assert.equal(raster.tileSize, 256, 'its 256-pixel tiles were measured');
  assert.match(raster.url, /^pmtiles:\/\/http:\/\/127\.0\.0\.1:\d+\/basemap\.pmtiles\/\{z\}/);
  assert.ok(raster.below, 'the basemap is under the hotspots and the district outlines');
  assert.deepEqual([raster.fill, raster.line], [false, true], 'district outlines, not their white fill, over the basemap');

  // Read in ranges: every answer from /basemap.pmtiles is 206 to a `Range` request.
  const reads = await Promise.all(archive);
  assert.ok(reads.length >= 3, `the header and tiles were read (${reads.length} requests)`);
  for (const r of reads) {
    assert.match(r.range || '', /^bytes=\d+-\d+$/, 'a range request');
    assert.equal(r.status, 206, `answered 206 (${r.range})`);
  }
  assert.ok(reads.some((r) => r.range.startsWith('bytes=0-')), 'the header was read');

  // The tiles are on the screen, under the hotspot cells, which still draw.
  const { n, total } = await pixelsOf(page, TILE_RGB);
  assert.ok(n > total * 0.05, `the tile colour covers ${((100 * n) / total).toFixed(1)}% of the map (> 5%)`);
  assert.ok((await rendered(page, 'hotspots')) > 0, 'hotspot cells drawn over the basemap');
  assert.ok((await rendered(page, 'venues')) > 0, 'venues drawn over the basemap');

  const credit = await page.textContent('.maplibregl-ctrl-attrib');
  assert.ok(credit.includes(ATTRIBUTION), `the archive's attribution is shown: ${credit}`);
  assert.match(credit, /police\.uk/);
  assert.match(credit, /OpenStreetMap/);
  assert.equal(await page.$('#map-notice'), null, 'no notice when the basemap works');
  await shot(page, 'basemap-pmtiles-desktop');
  assert.deepEqual(blocked, [], 'nothing but loopback was asked for');
  assert.deepEqual(errors, []);
  await context.close();
});

test(
  'basemap: a vector PMTiles archive in the Protomaps schema, drawn with its layers, without labels',
  { skip: URL_PMTILES_VECTOR ? false : 'FIREFLY_URL_PMTILES_VECTOR is set by scripts/e2e.sh' },
  async () => {
    const { context, page, blocked, errors } = await newPage(DESKTOP);
    await login(page, 'e2e-planner', URL_PMTILES_VECTOR);
    await plannerDrawn(page);
    const basemap = await page.evaluate(() => window.__firefly.basemap);
    assert.deepEqual(
      { status: basemap.status, tileType: basemap.tileType, schema: basemap.schema },
      { status: 'ok', tileType: 'mvt', schema: 'protomaps' },
      `the basemap loaded (${basemap.reason || ''})`,
    );
    const style = await page.evaluate(() => {
      const m = window.__firefly.map;
      const s = m.getStyle();
      const order = m.getLayersOrder();
      const theirs = s.layers.filter((l) => l.source === 'protomaps');
      return {
        glyphs: s.glyphs,
        count: theirs.length,
        symbols: theirs.filter((l) => l.type === 'symbol').length,
        earth: m.getLayer('earth')?.type,
        lastTheirs: Math.max(...theirs.map((l) => order.indexOf(l.id))),
        hotspots: order.indexOf('hotspots'),
        line: order.indexOf('districts-line'),
        fill: Boolean(m.getLayer('districts-fill')),
      };
    });
    assert.ok(style.count > 20, `the Protomaps layers (${style.count})`);
    assert.equal(style.earth, 'fill');
    assert.equal(style.symbols, 0, 'no label layers without glyphs');
    assert.equal(style.glyphs, undefined, 'no glyphs asked for');
    assert.ok(style.lastTheirs < style.hotspots && style.lastTheirs < style.line, 'the basemap under the hotspots and district outlines');
    assert.equal(style.fill, false, 'no white district fill over the basemap');
    const earth = await pixelsOf(page, EARTH_RGB);
    const water = await pixelsOf(page, WATER_RGB);
    assert.ok(earth.n > earth.total * 0.05, `land drawn on ${((100 * earth.n) / earth.total).toFixed(1)}% of the map`);
    assert.ok(water.n > water.total * 0.02, `water drawn on ${((100 * water.n) / water.total).toFixed(1)}% of the map`);
    assert.ok((await rendered(page, 'hotspots')) > 0, 'hotspot cells drawn over the basemap');
    assert.ok((await page.textContent('.maplibregl-ctrl-attrib')).includes(VECTOR_ATTRIBUTION), "the archive's attribution");
    await shot(page, 'basemap-vector-desktop');
    assert.deepEqual(blocked, [], 'nothing but loopback was asked for');
    assert.deepEqual(errors, []);
    await context.close();
  },
);

/** The offline background is in place and the planner's layers draw; the notice says why. */
async function assertFellBack(page, why, dropped) {
  await plannerDrawn(page);
  const basemap = await page.evaluate(() => window.__firefly.basemap);
  assert.equal(basemap.status, 'fallback', 'the basemap was given up');
  assert.match(basemap.reason, why);
  assert.equal(basemap.dropped, dropped, 'how it was given up');
  assert.ok(await page.isVisible('#map-notice'), 'a visible notice');
  assert.match(await page.textContent('#map-notice'), /Basemap unavailable .*offline background/);
  assert.equal(await page.getAttribute('#map-notice', 'role'), 'status');
  assert.equal(await layer(page, 'basemap'), false, 'no basemap layer');
  assert.ok(await layer(page, 'districts-fill'), 'the offline background of districts');
  assert.ok((await rendered(page, 'hotspots')) > 0, 'hotspot cells drawn');
  assert.doesNotMatch(await page.textContent('.maplibregl-ctrl-attrib'), new RegExp(ATTRIBUTION));
}

test('basemap: an archive that answers 500 leaves the offline map and a notice', { skip }, async () => {
  const { context, page, blocked, errors } = await newPage(DESKTOP);
  // Routes registered later are tried first: this one before the loopback filter.
  await context.route('**/basemap.pmtiles', (route) => route.fulfill({ status: 500, body: 'broken' }));
  await login(page, 'e2e-planner', URL_PMTILES);
  await assertFellBack(page, /archive could not be read: .*500/, undefined);
  await shot(page, 'basemap-fallback-desktop');
  await page.click('#map-notice button.dismiss');
  assert.equal(await page.$('#map-notice'), null, 'the notice can be dismissed');
  assert.deepEqual(blocked, []);
  assert.deepEqual(errors, []);
  await context.close();
});

test('basemap: tiles that fail after the header leave the offline map and a notice', { skip }, async () => {
  const { context, page, errors } = await newPage(DESKTOP);
  // The header and the one tile read to learn the tile size pass; the map's tiles fail.
  let passed = 0;
  await context.route('**/basemap.pmtiles', (route) => (passed++ < 2 ? route.fallback() : route.fulfill({ status: 500, body: 'broken' })));
  await login(page, 'e2e-planner', URL_PMTILES);
  await assertFellBack(page, /tiles could not be loaded/, 'layers removed at load');
  assert.deepEqual(errors, []);
  await context.close();
});

test('basemap: a style URL out of reach leaves the offline map and a notice', async () => {
  const { context, page, blocked, errors } = await newPage(DESKTOP);
  const style = 'https://tiles.invalid/style.json';
  // The server's Content Security Policy names only the basemap it was configured with
  // (none here), so the browser itself refuses the style's origin before any request.
  const refused = [];
  page.on('console', (m) => {
    if (/Content Security Policy/.test(m.text()) && m.text().includes(style)) refused.push(style);
  });
  await context.route('**/config.json', (route) => route.fulfill({ json: { basemap: style, pmtiles: null } }));
  await login(page, 'e2e-planner', URL_BASE);
  await assertFellBack(page, /style could not be fetched/, undefined);
  assert.deepEqual(blocked, [], 'no request left the browser');
  assert.deepEqual([...new Set(refused)], [style], 'the style was asked for, and the CSP stopped it');
  assert.deepEqual(errors, []);
  await context.close();
});

test('basemap: a style MapLibre cannot load leaves the offline map and a notice', async () => {
  const { context, page, blocked, errors } = await newPage(DESKTOP);
  // Answered by the browser itself: a style whose one layer has no valid type.
  const style = `${URL_BASE}/e2e-invalid-style.json`;
  await context.route('**/config.json', (route) => route.fulfill({ json: { basemap: style, pmtiles: null } }));
  await context.route(style, (route) => route.fulfill({ json: { version: 8, sources: {}, layers: [{ id: 'broken', type: 'no-such-type' }] } }));
  await login(page, 'e2e-planner', URL_BASE);
  await assertFellBack(page, /style did not load/, 'style replaced');
  assert.deepEqual(blocked, []);
  assert.deepEqual(errors, []);
  await context.close();
});
