// Builds the map UI into dist/: one bundled, minified script (MapLibre included, no CDN),
// one stylesheet (MapLibre's CSS and ours), index.html, the district boundaries from
// ../data/boundaries (the offline background) and the demo roster. `node build.mjs`.
// The PMTiles reader and the Protomaps layers are a chunk of their own (dist/chunks/),
// loaded only when the server names a PMTiles basemap.
import * as esbuild from 'esbuild';
import { cpSync, mkdirSync, rmSync, existsSync, writeFileSync, statSync, readFileSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const dist = join(here, 'dist');
const data = join(here, '..', 'data');
rmSync(dist, { recursive: true, force: true });
mkdirSync(dist, { recursive: true });

// Site settings: map-ui/config.json if present, e.g. {"basemap": "https://.../style.json"}
// (the server reads `basemap` from dist/config.json unless it has a basemap of its own), and
// {"glyphs": "https://.../{fontstack}/{range}.pbf", "sprite": "https://.../sprite"}, built
// into the script: with glyphs, a vector basemap keeps its labels.
const configFile = join(here, 'config.json');
const site = existsSync(configFile) ? JSON.parse(readFileSync(configFile, 'utf8')) : {};

await esbuild.build({
  entryPoints: { app: join(here, 'src', 'main.js'), style: join(here, 'src', 'style.css') },
  bundle: true,
  minify: true,
  sourcemap: false,
  target: ['es2020'],
  format: 'esm',
  splitting: true,
  chunkNames: 'chunks/[name]-[hash]',
  define: { __FIREFLY_SITE__: JSON.stringify({ glyphs: site.glyphs || null, sprite: site.sprite || null }) },
  outdir: dist,
  legalComments: 'linked',
  logLevel: 'warning',
});
cpSync(join(here, 'src', 'index.html'), join(dist, 'index.html'));
cpSync(join(data, 'boundaries', 'bedfordshire_lad20.geojson'), join(dist, 'boundaries.geojson'));
cpSync(join(data, 'demo', 'units.csv'), join(dist, 'units.csv'));
if (existsSync(configFile)) cpSync(configFile, join(dist, 'config.json'));
else writeFileSync(join(dist, 'config.json'), JSON.stringify({ basemap: null }) + '\n');
const chunks = readdirSync(join(dist, 'chunks')).filter((f) => f.endsWith('.js')).map((f) => `chunks/${f}`);
for (const f of ['app.js', 'style.css', ...chunks]) {
  console.log(`dist/${f}: ${(statSync(join(dist, f)).size / 1024).toFixed(0)} KiB`);
}
