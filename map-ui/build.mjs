// Builds the map UI into dist/: one bundled, minified script (MapLibre included, no CDN),
// one stylesheet (MapLibre's CSS and ours), index.html, the district boundaries from
// ../data/boundaries (the offline background) and the demo roster. `node build.mjs`.
// The PMTiles reader and the Protomaps layers are a chunk of their own (dist/chunks/),
// loaded only when the server names a PMTiles basemap.
import * as esbuild from 'esbuild';
import { cpSync, mkdirSync, rmSync, existsSync, writeFileSync, statSync, readFileSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { brotliCompressSync, gzipSync, constants as zlib } from 'node:zlib';
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
// Compressed once here, at the best levels, rather than by the server on every request:
// `firefly serve` sends `app.js.br` (or `.gz`) to a browser that takes it.
for (const f of ['app.js', 'style.css', 'boundaries.geojson', ...chunks]) {
  const raw = readFileSync(join(dist, f));
  writeFileSync(
    join(dist, `${f}.br`),
    brotliCompressSync(raw, {
      params: {
        [zlib.BROTLI_PARAM_QUALITY]: 11,
        [zlib.BROTLI_PARAM_MODE]: zlib.BROTLI_MODE_TEXT,
        [zlib.BROTLI_PARAM_SIZE_HINT]: raw.length,
      },
    }),
  );
  writeFileSync(join(dist, `${f}.gz`), gzipSync(raw, { level: 9 }));
}
for (const f of ['app.js', 'style.css', ...chunks]) {
  const kib = (name) => (statSync(join(dist, name)).size / 1024).toFixed(0);
  console.log(`dist/${f}: ${kib(f)} KiB (brotli ${kib(`${f}.br`)} KiB, gzip ${kib(`${f}.gz`)} KiB)`);
}
