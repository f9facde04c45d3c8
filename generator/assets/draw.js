// Values -> canvas pixels through the very colour tables the Python renderers use (exported by the
// build as colors-<hash>.json), with generator/render/colors.normalise_index's arithmetic: float32
// steps and round-half-to-even. A map drawn here has exactly the RGB of its static PNG.

const f32 = Math.fround;

function rint(x) { // numpy's rint: halves go to the even neighbour
  const r = Math.round(x);
  return (r - x === 0.5 && r % 2 !== 0) ? r - 1 : r;
}

/** Level 0..n-1 of value v on a scale over [lo, hi] (colors.normalise_index). */
export function level(v, lo, hi, n) {
  let span = hi - lo;
  if (!Number.isFinite(span) || span <= 0) span = 1;
  const pos = f32(f32(v - f32(lo)) * f32((n - 1) / span));
  return Math.min(n - 1, Math.max(0, rint(pos)));
}

/** colors.symmetric: (-m, m) with m the largest |value|; (-1, 1) for all zeros. */
export function symmetric(values) {
  let m = 0;
  for (const v of values) m = Math.max(m, Math.abs(v));
  if (!Number.isFinite(m) || m <= 0) m = 1;
  return [-m, m];
}

/** colors.span: (min, max), widened when all values are equal. */
export function span(values) {
  let lo = Infinity, hi = -Infinity;
  for (const v of values) { lo = Math.min(lo, v); hi = Math.max(hi, v); }
  return hi <= lo ? [lo - 0.5, hi + 0.5] : [lo, hi];
}

/** The colour of v as [r, g, b] from table `name` ({levels, tables} as exported). */
export function rgb(colors, name, v, lo, hi) {
  const table = colors.tables[name], i = 3 * level(v, lo, hi, colors.levels);
  return [table[i], table[i + 1], table[i + 2]];
}

/** Draw an (h x w) map at one canvas pixel per value; CSS enlarges it (image-rendering: pixelated). */
export function drawMap(canvas, colors, name, values, h, w, lo, hi) {
  canvas.width = w;
  canvas.height = h;
  const ctx = canvas.getContext('2d');
  const image = ctx.createImageData(w, h), table = colors.tables[name], n = colors.levels;
  for (let p = 0; p < h * w; p++) {
    const i = 3 * level(values[p], lo, hi, n);
    image.data[4 * p] = table[i];
    image.data[4 * p + 1] = table[i + 1];
    image.data[4 * p + 2] = table[i + 2];
    image.data[4 * p + 3] = 255;
  }
  ctx.putImageData(image, 0, 0);
}

/** An RGB image (64*64*3 bytes, row-major) on a canvas. */
export function drawPixels(canvas, pixels, size) {
  canvas.width = size;
  canvas.height = size;
  const ctx = canvas.getContext('2d'), image = ctx.createImageData(size, size);
  for (let p = 0; p < size * size; p++) {
    image.data.set([pixels[3 * p], pixels[3 * p + 1], pixels[3 * p + 2], 255], 4 * p);
  }
  ctx.putImageData(image, 0, 0);
}

/** A horizontal colour bar for table `name` (one canvas pixel per level). */
export function drawBar(canvas, colors, name) {
  const n = colors.levels, values = Float32Array.from({length: n}, (_, i) => i);
  drawMap(canvas, colors, name, values, 1, n, 0, n - 1);
}
