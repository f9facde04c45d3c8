// A reader's own image -> the 64x64 RGB pixels the network takes, as generator/images.py does it:
// transparency on white, centre crop to a square, then area averaging in integer arithmetic
// (each output pixel is the overlap-weighted mean of the source pixels its cell covers, rounded
// half up). All sums are integers below 2**53, so float64 holds them exactly: the result is the
// same, bit for bit, as fit_square() in Python for the same decoded pixels.
// The image is decoded by the browser and never leaves it.

const SIZE = 64;

/** Integer weights (64 x n) along one axis, in units of 1/128 pixel; see images.area_weights. */
function areaWeights(length, side) {
  const skip = Math.floor((length - side) / 2);
  const offset = 64 * (length - side) - 128 * skip; // 0 or 64: the crop's half pixel
  const n = Math.ceil((offset + 2 * side * SIZE) / 128);
  const w = new Float64Array(SIZE * n);
  for (let j = 0; j < SIZE; j++) {
    const start = offset + 2 * side * j, end = start + 2 * side;
    for (let i = Math.floor(start / 128); i < n && 128 * i < end; i++) {
      const overlap = Math.min(end, 128 * i + 128) - Math.max(start, 128 * i);
      if (overlap > 0) w[j * n + i] = overlap;
    }
  }
  return {w, n, skip};
}

/** RGBA (width x height, straight alpha already composited on white) -> 64*64*3 Uint8Array. */
export function fitSquare(rgba, width, height) {
  const side = Math.min(width, height);
  const ys = areaWeights(height, side), xs = areaWeights(width, side);
  // vertical pass: (64, xs.n, 3) sums over source rows
  const mid = new Float64Array(SIZE * xs.n * 3);
  for (let i = 0; i < ys.n; i++) {
    const row = (ys.skip + i) * width + xs.skip;
    for (let j = 0; j < SIZE; j++) {
      const wy = ys.w[j * ys.n + i];
      if (!wy) continue;
      const dst = j * xs.n * 3;
      for (let x = 0; x < xs.n; x++) {
        const p = (row + x) * 4;
        mid[dst + 3 * x] += wy * rgba[p];
        mid[dst + 3 * x + 1] += wy * rgba[p + 1];
        mid[dst + 3 * x + 2] += wy * rgba[p + 2];
      }
    }
  }
  const out = new Uint8Array(SIZE * SIZE * 3), den = (2 * side) ** 2;
  for (let j = 0; j < SIZE; j++) {
    for (let k = 0; k < SIZE; k++) {
      for (let c = 0; c < 3; c++) {
        let num = 0;
        for (let x = 0; x < xs.n; x++) num += xs.w[k * xs.n + x] * mid[(j * xs.n + x) * 3 + c];
        out[(j * SIZE + k) * 3 + c] = Math.floor((2 * num + den) / (2 * den));
      }
    }
  }
  return out;
}

/** Decode a File or Blob and return its 64*64*3 pixels (row-major RGB, integers 0..255). */
export async function loadImage(blob) {
  if (!(blob instanceof Blob)) throw new TypeError('tinyvgg.load: expected a File or Blob');
  let bitmap;
  try {
    // EXIF orientation applied, no colour management: as Pillow (exif_transpose, no ICC conversion).
    bitmap = await createImageBitmap(blob, {imageOrientation: 'from-image', colorSpaceConversion: 'none',
                                            premultiplyAlpha: 'none'});
  } catch {
    throw new Error('not a readable image (unknown or damaged format); use a PNG or JPEG file');
  }
  const {width, height} = bitmap;
  const side = Math.min(width, height);
  // Only the pixels the crop touches: side, or side + 1 when the crop starts on a half pixel.
  const cw = Math.min(width, side + ((width - side) % 2)), ch = Math.min(height, side + ((height - side) % 2));
  const sx = Math.floor((width - side) / 2), sy = Math.floor((height - side) / 2);
  const canvas = new OffscreenCanvas(cw, ch);
  const ctx = canvas.getContext('2d', {willReadFrequently: true});
  ctx.fillStyle = '#fff'; // transparency on white, as images._to_rgb composites it
  ctx.fillRect(0, 0, cw, ch);
  ctx.drawImage(bitmap, sx, sy, cw, ch, 0, 0, cw, ch);
  bitmap.close();
  const {data} = ctx.getImageData(0, 0, cw, ch);
  // The crop, re-expressed for fitSquare: a (cw x ch) image whose centred square is the same cells.
  return fitSquare(data, cw, ch);
}
