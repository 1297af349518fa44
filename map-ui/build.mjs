// Builds the map UI into dist/: one bundled, minified script (MapLibre included, no CDN),
// one stylesheet (MapLibre's CSS and ours), index.html, the district boundaries from
// ../data/boundaries (the offline background) and the demo roster. `node build.mjs`.
import * as esbuild from 'esbuild';
import { cpSync, mkdirSync, rmSync, existsSync, writeFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const dist = join(here, 'dist');
const data = join(here, '..', 'data');
rmSync(dist, { recursive: true, force: true });
mkdirSync(dist, { recursive: true });

await esbuild.build({
  entryPoints: { app: join(here, 'src', 'main.js'), style: join(here, 'src', 'style.css') },
  bundle: true,
  minify: true,
  sourcemap: false,
  target: ['es2020'],
  format: 'esm',
  outdir: dist,
  legalComments: 'linked',
  logLevel: 'warning',
});
cpSync(join(here, 'src', 'index.html'), join(dist, 'index.html'));
cpSync(join(data, 'boundaries', 'bedfordshire_lad20.geojson'), join(dist, 'boundaries.geojson'));
cpSync(join(data, 'demo', 'units.csv'), join(dist, 'units.csv'));
// Site settings: map-ui/config.json if present (e.g. {"basemap": "https://.../style.json"}),
// else none, and the offline background is used.
const config = join(here, 'config.json');
if (existsSync(config)) cpSync(config, join(dist, 'config.json'));
else writeFileSync(join(dist, 'config.json'), JSON.stringify({ basemap: null }) + '\n');
for (const f of ['app.js', 'style.css']) {
  console.log(`dist/${f}: ${(statSync(join(dist, f)).size / 1024).toFixed(0)} KiB`);
}
