// TinyVGG's forward pass in plain JavaScript: the whole engine of the live view.
//
// TensorFlow.js could run this model too, but it is about 1 MB of library for a five-layer network
// of 19,920 weights (80 KB). These 200 lines read the same model.json + shard and compute conv 3x3
// (valid), ReLU, 2x2 max-pool, flatten, dense and softmax. Every tensor is a flat Float32Array in
// channels x height x width order (PyTorch's), so results compare one to one with the build's probe.
// Sums are accumulated in float64 and rounded to float32 once per output value.

const LAYERS = [
  ['conv_1_1', 'conv'], ['relu_1_1', 'relu'], ['conv_1_2', 'conv'], ['relu_1_2', 'relu'],
  ['max_pool_1', 'pool'],
  ['conv_2_1', 'conv'], ['relu_2_1', 'relu'], ['conv_2_2', 'conv'], ['relu_2_2', 'relu'],
  ['max_pool_2', 'pool'],
];
export const SIZE = 64;

/** Fetch model.json and its shard; returns {convs: {name: {weight, bias, inC, outC}}, dense, classes}. */
export async function loadModel(url) {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`tinyvgg: cannot load ${url} (HTTP ${response.status})`);
  const doc = await response.json();
  const buffers = [];
  for (const group of doc.weightsManifest) {
    const parts = await Promise.all(group.paths.map(async (p) => {
      const r = await fetch(new URL(p, response.url));
      if (!r.ok) throw new Error(`tinyvgg: cannot load weight shard ${p} (HTTP ${r.status})`);
      return new Uint8Array(await r.arrayBuffer());
    }));
    const bytes = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let at = 0;
    for (const p of parts) { bytes.set(p, at); at += p.length; }
    let offset = 0;
    for (const w of group.weights) {
      const count = w.shape.reduce((a, b) => a * b, 1);
      // little-endian float32, copied so the array is aligned whatever the offset
      const values = new Float32Array(count);
      const view = new DataView(bytes.buffer, offset, count * 4);
      for (let i = 0; i < count; i++) values[i] = view.getFloat32(i * 4, true);
      buffers.push([w.name, w.shape, values]);
      offset += count * 4;
    }
    if (offset !== bytes.length) throw new Error('tinyvgg: the weight shard does not match model.json');
  }
  const byName = Object.fromEntries(buffers.map(([name, shape, values]) => [name, {shape, values}]));
  const convs = {};
  for (const [name, kind] of LAYERS) {
    if (kind !== 'conv') continue;
    const {shape: [kh, kw, inC, outC], values: hwio} = byName[`${name}/kernel`];
    const weight = new Float32Array(outC * inC * kh * kw); // HWIO -> (out, in, 3, 3), PyTorch's layout
    const taps = new Float32Array(weight.length); // HWIO -> (in, 3 * 3, out): what conv() reads fastest
    for (let y = 0; y < kh; y++) for (let x = 0; x < kw; x++) for (let i = 0; i < inC; i++) {
      for (let o = 0; o < outC; o++) {
        const v = hwio[((y * kw + x) * inC + i) * outC + o];
        weight[((o * inC + i) * kh + y) * kw + x] = v;
        taps[((i * kh + y) * kw + x) * outC + o] = v;
      }
    }
    convs[name] = {weight, taps, bias: byName[`${name}/bias`].values, inC, outC};
  }
  // Keras flattens channels-last, row = (h * 13 + w) * 10 + c; reorder to ours, c * 169 + h * 13 + w.
  const {shape: [features, classes], values: kernel} = byName['output/kernel'];
  const channels = convs.conv_2_2.outC, side = Math.round(Math.sqrt(features / channels));
  const dense = new Float32Array(classes * features); // (classes, features)
  for (let h = 0; h < side; h++) for (let w = 0; w < side; w++) for (let c = 0; c < channels; c++) {
    const row = (h * side + w) * channels + c, ours = (c * side + h) * side + w;
    for (let k = 0; k < classes; k++) dense[k * features + ours] = kernel[row * classes + k];
  }
  const meta = doc.userDefinedMetadata || {};
  return {convs, dense, denseBias: byName['output/bias'].values, classes, features,
          classNames: Array.isArray(meta.classes) ? meta.classes : null};
}

/** Check and convert 64*64*3 integers 0..255 (row-major RGB) -> input (3, 64, 64) in [0, 1]. */
export function toInput(pixels) {
  const n = SIZE * SIZE;
  if (pixels == null || typeof pixels.length !== 'number' || pixels.length !== n * 3) {
    throw new TypeError(`tinyvgg.forward: expected ${n * 3} values (64 x 64 x 3, row-major RGB), got ${
      pixels == null ? pixels : pixels.length}`);
  }
  const input = new Float32Array(3 * n);
  for (let i = 0; i < n; i++) {
    for (let c = 0; c < 3; c++) {
      const v = pixels[i * 3 + c];
      if (!Number.isInteger(v) || v < 0 || v > 255) {
        throw new TypeError(`tinyvgg.forward: pixel value ${v} at index ${i * 3 + c} is not an integer 0..255`);
      }
      input[c * n + i] = v / 255; // rounds to float32 exactly as torch's x.float() / 255
    }
  }
  return input;
}

/** Valid 3x3 convolution: x (inC, H, W) -> (outC, H-2, W-2), bias added. */
export function conv(x, size, {taps: w, bias, inC, outC}) {
  const out = size - 2, area = out * out, plane = size * size;
  const y = new Float32Array(outC * area);
  const acc = new Float64Array(outC); // every output channel's sum for one pixel, in float64
  for (let r = 0; r < out; r++) {
    for (let c = 0; c < out; c++) {
      acc.fill(0);
      for (let i = 0, p = r * size + c; i < inC; i++, p += plane) {
        // the 3x3 window of input channel i, read once for all output channels
        const x0 = x[p], x1 = x[p + 1], x2 = x[p + 2], x3 = x[p + size], x4 = x[p + size + 1];
        const x5 = x[p + size + 2], x6 = x[p + 2 * size], x7 = x[p + 2 * size + 1], x8 = x[p + 2 * size + 2];
        for (let o = 0, k = i * 9 * outC; o < outC; o++, k++) {
          acc[o] += w[k] * x0 + w[k + outC] * x1 + w[k + 2 * outC] * x2 + w[k + 3 * outC] * x3
            + w[k + 4 * outC] * x4 + w[k + 5 * outC] * x5 + w[k + 6 * outC] * x6 + w[k + 7 * outC] * x7
            + w[k + 8 * outC] * x8;
        }
      }
      for (let o = 0; o < outC; o++) y[o * area + r * out + c] = acc[o] + bias[o];
    }
  }
  return y;
}

/** acc (H-2, W-2) += one 3x3 kernel (weight[k..k+9]) over one channel of x starting at `base`. */
export function accumulate(acc, x, base, size, weight, k) {
  const out = size - 2;
  for (let ky = 0; ky < 3; ky++) {
    for (let kx = 0; kx < 3; kx++) {
      const w = weight[k + ky * 3 + kx];
      for (let r = 0; r < out; r++) {
        const src = base + (r + ky) * size + kx, dst = r * out;
        for (let c = 0; c < out; c++) acc[dst + c] += w * x[src + c];
      }
    }
  }
}

export function relu(x) {
  const y = new Float32Array(x.length);
  for (let i = 0; i < x.length; i++) y[i] = x[i] > 0 ? x[i] : 0;
  return y;
}

/** 2x2 max-pool, stride 2: (C, H, W) -> (C, floor(H/2), floor(W/2)). */
export function pool(x, channels, size) {
  const out = size >> 1, y = new Float32Array(channels * out * out);
  for (let c = 0; c < channels; c++) {
    for (let r = 0; r < out; r++) {
      for (let q = 0; q < out; q++) {
        const i = c * size * size + 2 * r * size + 2 * q;
        y[(c * out + r) * out + q] = Math.max(x[i], x[i + 1], x[i + size], x[i + size + 1]);
      }
    }
  }
  return y;
}

/** Every layer's output for one image: {layers, logits, probs, top1}. */
export function forward(model, pixels) {
  const layers = {input: toInput(pixels)};
  let x = layers.input, size = SIZE, channels = 3;
  for (const [name, kind] of LAYERS) {
    if (kind === 'conv') {
      x = conv(x, size, model.convs[name]);
      size -= 2;
      channels = model.convs[name].outC;
    } else if (kind === 'relu') {
      x = relu(x);
    } else {
      x = pool(x, channels, size);
      size >>= 1;
    }
    layers[name] = x;
  }
  const {classes, features, dense, denseBias} = model;
  const logits = new Float32Array(classes);
  for (let k = 0; k < classes; k++) {
    let s = 0;
    for (let j = 0; j < features; j++) s += dense[k * features + j] * x[j];
    logits[k] = s + denseBias[k];
  }
  let top1 = 0;
  for (let k = 1; k < classes; k++) if (logits[k] > logits[top1]) top1 = k;
  const exps = Array.from(logits, (v) => Math.exp(v - logits[top1]));
  const total = exps.reduce((a, b) => a + b, 0);
  const probs = Float32Array.from(exps, (e) => e / total);
  return {layers, logits, probs, top1};
}

/** A conv neuron's per-input-channel maps (kernel i over channel i, no bias): (inC, H-2, W-2). */
export function perChannel(model, layer, neuron, x, size) {
  const {weight, inC} = model.convs[layer];
  const area = (size - 2) * (size - 2), out = new Float32Array(inC * area), acc = new Float64Array(area);
  for (let i = 0; i < inC; i++) {
    acc.fill(0);
    accumulate(acc, x, i * size * size, size, weight, (neuron * inC + i) * 9);
    out.set(acc, i * area);
  }
  return out;
}

export {LAYERS};
