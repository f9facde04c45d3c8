// The live network view (CNN Explainer's overview) and the public API window.tinyvgg.
//
// The page carries <section class="tv-live" hidden> with a JSON config written by
// generator/interactive.py: URLs of the model, colour tables and sample pixels, and every label in
// the page's language. Without JavaScript the section stays hidden and the page shows its static
// figures; with it, this module loads the model, draws every layer of the chosen image on canvases
// and lets the reader pick a sample, upload or drop an image of their own, and open any neuron.
//
// API (documented on the build page):
//   await tinyvgg.ready          the weights are loaded
//   tinyvgg.classes              class names in the page's language
//   tinyvgg.forward(pixels)      64*64*3 integers 0..255, row-major RGB -> {layers, logits, probs, top1}
//   await tinyvgg.load(blob)     a File or Blob -> its 64*64*3 pixels (centre crop, area averaging)

import {forward, LAYERS, SIZE} from './forward.js';
import {loadShared} from './loader.js';
import {loadImage} from './image.js';
import {drawMap, drawPixels, symmetric} from './draw.js';
import {showDetail} from './detail.js';

const section = document.querySelector('section.tv-live');
const config = JSON.parse(section.querySelector('script.tv-live-config').textContent);
const t = config.text;
const state = {model: null, colors: null, pixels: null, result: null, source: null, asked: 0};

function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (key === 'class') node.className = value;
    else if (key === 'text') node.textContent = value;
    else if (key.startsWith('data-') || key.startsWith('aria-') || key === 'role') node.setAttribute(key, value);
    else node[key] = value;
  }
  node.append(...children);
  return node;
}

// ---- the public API ---------------------------------------------------------------------------

const ready = loadShared(config).then(({model, colors}) => {
  if (model.classes !== config.classes.length) throw new Error('tinyvgg: the model and the page disagree on the classes');
  state.model = model;
  state.colors = colors;
});

function apiForward(pixels) {
  if (!state.model) throw new Error('tinyvgg.forward: the model is not loaded yet; await tinyvgg.ready first');
  return forward(state.model, pixels);
}

const api = ready.then(() => undefined);
api.catch(() => {}); // a failure is shown in the view; awaiting code still sees the rejection
window.tinyvgg = Object.freeze({
  ready: api,
  classes: Object.freeze([...config.classes]),
  forward: apiForward,
  load: loadImage,
  get current() { return state.result && {pixels: state.pixels, result: state.result, source: state.source}; },
});

// ---- the view ---------------------------------------------------------------------------------

const status = el('p', {class: 'tv-live-status', 'aria-live': 'polite'});
const picker = el('div', {class: 'tv-live-picker', role: 'group', 'aria-label': t.samples});
const file = el('input', {type: 'file', accept: 'image/*', class: 'tv-live-file'});
const upload = el('label', {class: 'md-button tv-live-upload'}, t.upload, file);
const net = el('div', {class: 'tv-live-net', tabIndex: 0, role: 'group', 'aria-label': t.network});
// The prediction bars sit under the layers rather than at their far right, so no scrolling hides them.
const output = el('div', {class: 'tv-live-output', 'data-layer': 'output', role: 'group', 'aria-label': t.prediction});
const detail = el('div', {class: 'tv-live-detail', role: 'region', 'aria-label': t.detail, hidden: true});
const columns = {}; // layer -> its neurons' canvases
let photo = null; // the input image itself
const bars = [];

function shapeOf(layer) {
  return config.shapes[layer]; // [channels, height, width]
}

function buildNetwork() {
  const inputs = ['input', ...LAYERS.map(([name]) => name)];
  for (const layer of inputs) {
    const [channels, h, w] = shapeOf(layer);
    const col = el('div', {class: 'tv-live-col', 'data-layer': layer});
    col.append(el('div', {class: 'tv-live-head'}, el('strong', {text: layer}), el('small', {text: `${h}×${w}×${channels}`})));
    const canvases = [];
    if (layer === 'input') {
      photo = el('canvas', {class: 'tv-live-photo', role: 'img', 'aria-label': t.photo});
      col.append(photo);
    }
    for (let n = 0; n < channels; n++) {
      const name = layer === 'input' ? t.channels[n] : `${t.neuron} ${n}`;
      const canvas = el('canvas', {class: 'tv-neuron', tabIndex: 0, role: 'button', 'data-layer': layer,
                                   'data-neuron': n, 'aria-label': `${layer}, ${name}`, title: `${layer} · ${name}`});
      canvases.push(canvas);
      col.append(canvas);
    }
    columns[layer] = canvases;
    net.append(col);
  }
  output.append(el('div', {class: 'tv-live-head'}, el('strong', {text: 'output'}), el('small', {text: t.probability})));
  const rows = el('div', {class: 'tv-live-bars'});
  config.classes.forEach((name, k) => {
    const fill = el('span', {class: 'tv-live-fill'});
    const value = el('span', {class: 'tv-live-value'});
    const row = el('div', {class: 'tv-live-bar', 'data-class': k}, el('span', {class: 'tv-live-name', text: name}),
                   el('span', {class: 'tv-live-track'}, fill), value);
    bars.push({row, fill, value});
    rows.append(row);
  });
  output.append(rows);
}

/** (colour table, lo, hi) of one neuron's map, as colors.stage_scale picks it for the PNGs. */
export function scaleOf(result, layer, neuron) {
  if (layer === 'input') return [['tint:R', 'tint:G', 'tint:B'][neuron], 0, 1];
  const [, h, w] = shapeOf(layer), area = h * w, all = result.layers[layer];
  const values = config.scale === 'neuron' ? all.subarray(neuron * area, (neuron + 1) * area) : all;
  return ['RdBu', ...symmetric(values)];
}

function drawNetwork() {
  const {result, colors} = state;
  drawPixels(photo, state.pixels, SIZE);
  for (const [layer, canvases] of Object.entries(columns)) {
    const [, h, w] = shapeOf(layer), area = h * w;
    canvases.forEach((canvas, n) => {
      const [table, lo, hi] = scaleOf(result, layer, n);
      drawMap(canvas, colors, table, result.layers[layer].subarray(n * area, (n + 1) * area), h, w, lo, hi);
    });
  }
  bars.forEach(({row, fill, value}, k) => {
    const p = result.probs[k];
    fill.style.width = `${(100 * p).toFixed(1)}%`;
    value.textContent = `${(100 * p).toFixed(1)} %`;
    row.classList.toggle('tv-live-top', k === result.top1);
    row.title = `logit ${result.logits[k].toFixed(3)}`;
  });
  const top = result.top1;
  status.textContent = t.predicted.replace('{name}', config.classes[top])
    .replace('{prob}', `${(100 * result.probs[top]).toFixed(1)} %`).replace('{source}', state.source);
}

function show(pixels, source) {
  state.pixels = pixels;
  state.result = forward(state.model, pixels);
  state.source = source;
  drawNetwork();
  // an open detail follows the new image; focus stays where the reader is
  if (!detail.hidden) openDetail(detail.dataset.layer, Number(detail.dataset.neuron), false);
}

function openDetail(layer, neuron, focus = true) {
  detail.hidden = false;
  detail.dataset.layer = layer;
  detail.dataset.neuron = neuron;
  showDetail(detail, {state, config, layer, neuron, shapeOf, scaleOf, el, focus,
                      close: () => { detail.hidden = true; }});
}

/** Decode `blob` and show it, unless another image was asked for meanwhile (the last one asked wins). */
async function showBlob(blob, source) {
  const asked = ++state.asked;
  try {
    const pixels = await loadImage(await blob);
    if (asked === state.asked) show(pixels, source);
  } catch (error) {
    if (asked === state.asked) status.textContent = `${t.error} ${error.message}`;
  }
}

function fetchSample(sample) {
  return fetch(new URL(sample.src, document.baseURI)).then((response) => {
    if (!response.ok) throw new Error(`${sample.src}: HTTP ${response.status}`);
    return response.blob();
  });
}

function pickSample(sample, button, blob = fetchSample(sample)) {
  for (const b of picker.querySelectorAll('button')) b.setAttribute('aria-pressed', String(b === button));
  return showBlob(blob, sample.name);
}

function useFile(blob) {
  if (!blob) return;
  for (const b of picker.querySelectorAll('button')) b.setAttribute('aria-pressed', 'false');
  status.textContent = t.loading;
  showBlob(blob, blob.name || t.yours);
}

function wire() {
  for (const sample of config.samples) {
    const button = el('button', {type: 'button', class: 'tv-live-sample', text: sample.name, 'aria-pressed': 'false'});
    button.addEventListener('click', () => pickSample(sample, button));
    picker.append(button);
  }
  file.addEventListener('change', () => {
    useFile(file.files[0]);
    file.value = ''; // choosing the same file again is a change too
  });
  section.addEventListener('dragover', (event) => { event.preventDefault(); section.classList.add('tv-live-drop'); });
  section.addEventListener('dragleave', () => section.classList.remove('tv-live-drop'));
  section.addEventListener('drop', (event) => {
    event.preventDefault();
    section.classList.remove('tv-live-drop');
    useFile(event.dataTransfer.files[0]);
  });
  const activate = (target) => {
    const canvas = target.closest && target.closest('canvas.tv-neuron');
    if (canvas) openDetail(canvas.dataset.layer, Number(canvas.dataset.neuron));
  };
  net.addEventListener('click', (event) => activate(event.target));
  net.addEventListener('keydown', (event) => {
    if (event.key === 'Enter' || event.key === ' ') {
      if (event.target.matches('canvas.tv-neuron')) event.preventDefault();
      activate(event.target);
    }
  });
}

async function start() {
  buildNetwork();
  section.append(
    el('div', {class: 'tv-live-controls'}, picker, upload, el('p', {class: 'tv-live-hint', text: t.privacy})),
    status, net, output, detail);
  wire();
  status.textContent = t.loading;
  section.hidden = false;
  const index = Math.max(0, config.samples.findIndex((s) => s.slug === config.featured));
  const first = fetchSample(config.samples[index]); // in parallel with the weights
  first.catch(() => {}); // reported by pickSample
  await ready;
  await pickSample(config.samples[index], picker.querySelectorAll('button')[index], first);
  section.dataset.ready = 'true';
  performance.mark('tinyvgg-ready'); // read by benchmarks/bench_inpage.py
}

const style = el('link', {rel: 'stylesheet', href: new URL('live.css', import.meta.url).href});
document.head.append(style);
start().catch((error) => {
  section.hidden = false;
  status.textContent = `${t.error} ${error.message}`;
  console.warn(error);
});
