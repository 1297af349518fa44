// Writes small PMTiles v3 archives for the end-to-end tests, covering Bedfordshire at zooms
// 8 to 10:
// - raster: 256×256 PNG tiles of one solid colour (TILE_RGB) with a darker one-pixel edge,
//   attribution "Test tiles";
// - vector (--vector): gzipped Mapbox Vector Tiles in the Protomaps schema (vector_layers
//   earth, water, roads): land over the whole tile, a square of water in its middle and a
//   road, attribution "Test vector tiles".
// No dependencies: the PNGs and vector tiles are built here (node:zlib), and the archive
// follows https://github.com/protomaps/PMTiles/blob/main/spec/v3/spec.md (header, one root
// directory, JSON metadata, tile data; no internal compression).
//
//   node tests/e2e/make-pmtiles.mjs OUT.pmtiles [--vector]
//
// Imported by the tests for the colours and attributions; run as a script it writes a file.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { deflateSync, gzipSync } from 'node:zlib';
import { fileURLToPath } from 'node:url';

/** The tiles' fill colour: what the test looks for on the map's canvas. */
export const TILE_RGB = [221, 238, 187];
const EDGE_RGB = [150, 170, 120];
export const ATTRIBUTION = 'Test tiles';
export const VECTOR_ATTRIBUTION = 'Test vector tiles';
/** West, south, east, north: Bedfordshire with a margin wider than the 1280×800 view. */
export const BOUNDS = [-1.25, 51.6, 0.4, 52.55];
export const MIN_ZOOM = 8;
export const MAX_ZOOM = 10;

// --- PNG --------------------------------------------------------------------------------

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
function crc32(bytes) {
  let c = 0xffffffff;
  for (const b of bytes) c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
function chunk(type, data) {
  const out = Buffer.alloc(12 + data.length);
  out.writeUInt32BE(data.length, 0);
  out.write(type, 4, 'latin1');
  data.copy(out, 8);
  out.writeUInt32BE(crc32(out.subarray(4, 8 + data.length)), 8 + data.length);
  return out;
}
/** A truecolour 8-bit PNG of width×height from pixel(x, y) -> [r, g, b]. */
export function png(width, height, pixel) {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 2; // colour type: RGB
  // compression, filter and interlace methods: 0
  const raw = Buffer.alloc(height * (1 + width * 3));
  for (let y = 0; y < height; y++) {
    const row = y * (1 + width * 3);
    raw[row] = 0; // filter: none
    for (let x = 0; x < width; x++) raw.set(pixel(x, y), row + 1 + x * 3);
  }
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(raw)),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

// --- tile ids and tiles -----------------------------------------------------------------

/** PMTiles tile id: the tiles of all lower zooms, then the position on zoom z's Hilbert curve. */
export function zxyToTileId(z, x, y) {
  let acc = 0;
  for (let i = 0; i < z; i++) acc += 4 ** i;
  const n = 2 ** z;
  let d = 0;
  for (let s = n / 2; s >= 1; s /= 2) {
    const rx = (x & s) > 0 ? 1 : 0;
    const ry = (y & s) > 0 ? 1 : 0;
    d += s * s * ((3 * rx) ^ ry);
    // Rotate the quadrant (the classic xy2d, on the whole grid).
    if (ry === 0) {
      if (rx === 1) {
        x = n - 1 - x;
        y = n - 1 - y;
      }
      [x, y] = [y, x];
    }
  }
  return acc + d;
}
// The spec's examples: z0 is 0; z1's four tiles are 1..4 along the curve.
assert.equal(zxyToTileId(0, 0, 0), 0);
assert.deepEqual([[0, 0], [0, 1], [1, 1], [1, 0]].map(([x, y]) => zxyToTileId(1, x, y)), [1, 2, 3, 4]);
assert.equal(zxyToTileId(2, 0, 0), 5);
assert.equal(zxyToTileId(3, 0, 0), 21);

/** Web-mercator tile column and row holding lon, lat at zoom z. */
export function tileOf(z, lon, lat) {
  const n = 2 ** z;
  const r = (lat * Math.PI) / 180;
  const x = Math.floor(((lon + 180) / 360) * n);
  const y = Math.floor(((1 - Math.log(Math.tan(r) + 1 / Math.cos(r)) / Math.PI) / 2) * n);
  return [Math.min(n - 1, Math.max(0, x)), Math.min(n - 1, Math.max(0, y))];
}

function tile(z) {
  // A solid tile with a one-pixel darker edge, and z + 1 edge pixels at the top-left
  // corner in the edge colour so that no two zooms' tiles are byte-identical.
  return png(256, 256, (x, y) =>
    x === 0 || y === 0 || x === 255 || y === 255 || (y === 1 && x <= z) ? EDGE_RGB : TILE_RGB,
  );
}

// --- Mapbox Vector Tiles (https://github.com/mapbox/vector-tile-spec/tree/master/2.1) ------

const EXTENT = 4096;
/** Protocol buffer writing: varints, and fields by number and wire type. */
const pb = {
  varint(n) {
    const out = [];
    varint(n, out);
    return Buffer.from(out);
  },
  key: (field, wire) => pb.varint((field << 3) | wire),
  uint: (field, n) => Buffer.concat([pb.key(field, 0), pb.varint(n)]),
  bytes: (field, b) => Buffer.concat([pb.key(field, 2), pb.varint(b.length), b]),
  string: (field, text) => pb.bytes(field, Buffer.from(text, 'utf8')),
  packed: (field, ns) => pb.bytes(field, Buffer.concat(ns.map((n) => pb.varint(n)))),
};
const zigzag = (n) => (n << 1) ^ (n >> 31);
const command = (id, count) => (id & 7) | (count << 3);
/** Geometry commands for one ring or line through points (tile coordinates). */
function path(points, close) {
  const out = [];
  let [cx, cy] = [0, 0];
  points.forEach(([x, y], i) => {
    if (i === 0) out.push(command(1, 1)); // MoveTo
    else if (i === 1) out.push(command(2, points.length - 1)); // LineTo
    out.push(zigzag(x - cx), zigzag(y - cy));
    [cx, cy] = [x, y];
  });
  if (close) out.push(command(7, 1)); // ClosePath
  return out;
}
/** A layer of features {type: 2 line | 3 polygon, points, props: {key: string}}. */
function mvtLayer(name, features) {
  const keys = [];
  const values = [];
  const index = (list, v) => (list.includes(v) ? list : list.push(v) && list).indexOf(v);
  const feats = features.map((f, i) => {
    const tags = Object.entries(f.props || {}).flatMap(([k, v]) => [index(keys, k), index(values, v)]);
    return pb.bytes(
      2,
      Buffer.concat([
        pb.uint(1, i + 1),
        ...(tags.length ? [pb.packed(2, tags)] : []),
        pb.uint(3, f.type),
        pb.packed(4, path(f.points, f.type === 3)),
      ]),
    );
  });
  return pb.bytes(
    3,
    Buffer.concat([
      pb.uint(15, 2), // version
      pb.string(1, name),
      ...feats,
      ...keys.map((k) => pb.string(3, k)),
      ...values.map((v) => pb.bytes(4, pb.string(1, v))), // string values
      pb.uint(5, EXTENT),
    ]),
  );
}
/** One vector tile: land everywhere (a little past the edges), a square lake, a road. */
function vectorTile() {
  const [a, b] = [-64, EXTENT + 64];
  const q = EXTENT / 4;
  // Exterior rings wind clockwise on screen (positive area with y down).
  return Buffer.concat([
    mvtLayer('earth', [{ type: 3, points: [[a, a], [b, a], [b, b], [a, b]], props: { kind: 'earth' } }]),
    mvtLayer('water', [{ type: 3, points: [[q, q], [3 * q, q], [3 * q, 3 * q], [q, 3 * q]], props: { kind: 'water' } }]),
    mvtLayer('roads', [{ type: 2, points: [[a, EXTENT / 8], [b, EXTENT / 8]], props: { kind: 'major_road' } }]),
  ]);
}
/** The Protomaps light flavour's land and water colours, drawn by the vector tiles above. */
export const EARTH_RGB = [0xe2, 0xdf, 0xda];
export const WATER_RGB = [0x80, 0xde, 0xea];

// --- the archive ------------------------------------------------------------------------

function varint(n, out) {
  while (n >= 0x80) {
    out.push((n % 0x80) | 0x80);
    n = Math.floor(n / 0x80);
  }
  out.push(n);
}
/** A directory: entry count, then tile id deltas, run lengths, lengths, offsets (spec order). */
function directory(entries) {
  const out = [];
  varint(entries.length, out);
  let last = 0;
  for (const e of entries) {
    varint(e.tileId - last, out);
    last = e.tileId;
  }
  for (const e of entries) varint(e.runLength, out);
  for (const e of entries) varint(e.length, out);
  entries.forEach((e, i) => {
    const prev = entries[i - 1];
    varint(i > 0 && e.offset === prev.offset + prev.length ? 0 : e.offset + 1, out);
  });
  return Buffer.from(out);
}

/** The archive's bytes: raster PNG tiles, or with `vector` gzipped vector tiles. */
export function archive({ vector = false } = {}) {
  const tiles = [];
  const mvt = gzipSync(vectorTile());
  for (let z = MIN_ZOOM; z <= MAX_ZOOM; z++) {
    const [x0, y0] = tileOf(z, BOUNDS[0], BOUNDS[3]);
    const [x1, y1] = tileOf(z, BOUNDS[2], BOUNDS[1]);
    const data = vector ? mvt : tile(z);
    for (let x = x0; x <= x1; x++) for (let y = y0; y <= y1; y++) tiles.push({ tileId: zxyToTileId(z, x, y), data });
  }
  tiles.sort((a, b) => a.tileId - b.tileId);
  // Clustered: tile data in tile id order, each tile its own blob.
  let offset = 0;
  const entries = tiles.map((t) => {
    const e = { tileId: t.tileId, offset, length: t.data.length, runLength: 1 };
    offset += t.data.length;
    return e;
  });
  const root = directory(entries);
  const layers = ['earth', 'water', 'roads'].map((id) => ({ id, fields: { kind: 'String' }, minzoom: MIN_ZOOM, maxzoom: MAX_ZOOM }));
  const metadata = Buffer.from(
    JSON.stringify(
      vector
        ? { name: 'Firefly e2e vector tiles', format: 'pbf', type: 'baselayer', attribution: VECTOR_ATTRIBUTION, vector_layers: layers }
        : { name: 'Firefly e2e test tiles', format: 'png', type: 'baselayer', attribution: ATTRIBUTION },
    ),
  );
  const data = Buffer.concat(tiles.map((t) => t.data));

  const header = Buffer.alloc(127);
  header.write('PMTiles', 0, 'latin1');
  header[7] = 3;
  const u64 = (at, v) => header.writeBigUInt64LE(BigInt(v), at);
  const deg = (at, v) => header.writeInt32LE(Math.round(v * 1e7), at);
  const rootAt = 127;
  const metaAt = rootAt + root.length;
  const dataAt = metaAt + metadata.length;
  u64(8, rootAt);
  u64(16, root.length);
  u64(24, metaAt);
  u64(32, metadata.length);
  u64(40, dataAt); // no leaf directories
  u64(48, 0);
  u64(56, dataAt);
  u64(64, data.length);
  u64(72, entries.length); // addressed tiles
  u64(80, entries.length); // tile entries
  u64(88, entries.length); // tile contents
  header[96] = 1; // clustered
  header[97] = 1; // internal compression: none
  header[98] = vector ? 2 : 1; // tile compression: gzip, or none (PNG is compressed already)
  header[99] = vector ? 1 : 2; // tile type: MVT or PNG
  header[100] = MIN_ZOOM;
  header[101] = MAX_ZOOM;
  deg(102, BOUNDS[0]);
  deg(106, BOUNDS[1]);
  deg(110, BOUNDS[2]);
  deg(114, BOUNDS[3]);
  header[118] = 9; // centre zoom
  deg(119, -0.42);
  deg(123, 52.07);
  assert.ok(127 + root.length < 16384, 'header and root directory fit the first 16 KiB');
  return { bytes: Buffer.concat([header, root, metadata, data]), tiles: entries.length };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const out = process.argv[2];
  assert.ok(out && !out.startsWith('-'), 'usage: node make-pmtiles.mjs OUT.pmtiles [--vector]');
  const vector = process.argv.includes('--vector');
  const { bytes, tiles } = archive({ vector });
  writeFileSync(out, bytes);
  console.log(`${out}: ${tiles} ${vector ? 'vector' : 'PNG'} tiles, zooms ${MIN_ZOOM}-${MAX_ZOOM}, ${bytes.length} bytes`);
}
