// One neuron in detail, computed live for the current image: its map at a readable size with its
// colour range and, for a conv neuron, every input channel next to its 3x3 kernel and the map that
// kernel makes of it (before the sum), then the bias. ReLU and pooling neurons show the map they
// were computed from.

import {LAYERS, perChannel} from './forward.js';
import {drawMap, symmetric} from './draw.js';

const fmt = (v) => Number(v.toPrecision(3)).toString();

function previous(layer) {
  const names = ['input', ...LAYERS.map(([name]) => name)];
  return names[names.indexOf(layer) - 1];
}

function kindOf(layer) {
  return layer === 'input' ? 'input' : LAYERS.find(([name]) => name === layer)[1];
}

/** A captioned map: <figure><canvas><figcaption>. */
function mapFigure(el, colors, table, values, h, w, lo, hi, caption, cls = 'tv-live-map', label = caption) {
  const canvas = el('canvas', {class: cls, role: 'img', 'aria-label': label, title: label});
  drawMap(canvas, colors, table, values, h, w, lo, hi);
  return el('figure', {class: 'tv-live-cell'}, canvas, el('figcaption', {text: caption}));
}

export function showDetail(box, {state, config, layer, neuron, shapeOf, scaleOf, el, close, focus}) {
  const t = config.text, {result, colors, model} = state;
  const [, h, w] = shapeOf(layer), area = h * w;
  const values = result.layers[layer].subarray(neuron * area, (neuron + 1) * area);
  const [table, lo, hi] = scaleOf(result, layer, neuron);
  let vmin = Infinity, vmax = -Infinity;
  for (const v of values) { vmin = Math.min(vmin, v); vmax = Math.max(vmax, v); }
  const name = layer === 'input' ? t.channels[neuron] : `${t.neuron} ${neuron}`;
  const shut = el('button', {type: 'button', class: 'md-button tv-live-close', text: t.close});
  shut.addEventListener('click', () => {
    close();
    const back = document.querySelector(`canvas.tv-neuron[data-layer="${layer}"][data-neuron="${neuron}"]`);
    if (back) back.focus();
  });
  const heading = el('h3', {text: `${layer} · ${name}`, tabIndex: -1});
  const range = table === 'RdBu' ? t.range.replace('{max}', fmt(hi)) : t.range01;
  const summary = t.values.replace('{h}', h).replace('{w}', w).replace('{min}', fmt(vmin)).replace('{max}', fmt(vmax));
  const parts = [heading, el('p', {text: `${summary} ${range}`}),
                 el('div', {class: 'tv-live-row'}, mapFigure(el, colors, table, values, h, w, lo, hi,
                                                             `${layer} · ${name}`, 'tv-live-big'))];
  const kind = kindOf(layer);
  if (kind === 'conv') parts.push(...convParts(el, t, model, colors, result, layer, neuron, shapeOf));
  if (kind === 'relu' || kind === 'pool') {
    const before = previous(layer), [, ph, pw] = shapeOf(before), parea = ph * pw;
    const [ptable, plo, phi] = scaleOf(result, before, neuron);
    parts.push(el('p', {text: t[kind]}), el('div', {class: 'tv-live-row'}, mapFigure(
      el, colors, ptable, result.layers[before].subarray(neuron * parea, (neuron + 1) * parea), ph, pw, plo, phi,
      `${before} · ${t.neuron} ${neuron}`)));
  }
  box.replaceChildren(el('div', {class: 'tv-live-detail-head'}, shut), ...parts);
  if (focus) heading.focus();
}

function convParts(el, t, model, colors, result, layer, neuron, shapeOf) {
  const before = previous(layer), [inC, size] = shapeOf(before);
  const maps = perChannel(model, layer, neuron, result.layers[before], size);
  const {weight, bias} = model.convs[layer];
  const kernels = weight.subarray(neuron * inC * 9, (neuron + 1) * inC * 9);
  const [klo, khi] = symmetric(kernels), [mlo, mhi] = symmetric(maps);
  const area = (size - 2) * (size - 2), inArea = size * size;
  const rows = [];
  for (let i = 0; i < inC; i++) {
    const channel = before === 'input' ? t.channels[i] : `${t.neuron} ${i}`;
    const [itable, ilo, ihi] = before === 'input' ? [['tint:R', 'tint:G', 'tint:B'][i], 0, 1]
      : ['RdBu', ...symmetric(result.layers[before])];
    const kernel = kernels.subarray(i * 9, i * 9 + 9);
    rows.push(el('div', {class: 'tv-live-row tv-live-step'},
      mapFigure(el, colors, itable, result.layers[before].subarray(i * inArea, (i + 1) * inArea), size, size,
                ilo, ihi, `${before} · ${channel}`),
      el('span', {class: 'tv-live-op', text: '∗', 'aria-hidden': 'true'}),
      mapFigure(el, colors, 'BrBG', kernel, 3, 3, klo, khi, `${t.kernel} ${i}`, 'tv-live-kernel',
                `${t.kernel} ${i}: ${Array.from(kernel, fmt).join(', ')}`),
      el('span', {class: 'tv-live-op', text: '=', 'aria-hidden': 'true'}),
      mapFigure(el, colors, 'RdBu', maps.subarray(i * area, (i + 1) * area), size - 2, size - 2, mlo, mhi,
                `${t.partial} ${i}`)));
  }
  const sumText = t.sum.replace('{n}', inC).replace('{bias}', fmt(bias[neuron])).replace('{layer}', layer);
  return [el('h4', {text: t.steps}), el('p', {text: `${t.kernelRange.replace('{max}', fmt(khi))} ${
    t.partialRange.replace('{max}', fmt(mhi))}`}), el('div', {class: 'tv-live-steps'}, ...rows),
          el('p', {class: 'tv-live-sum', text: sumText})];
}
