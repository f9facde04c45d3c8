// Conv, ReLU and pooling views, drawn from the numbers the in-page model computes for the current
// image. A conv view (conv-detail, conv-overview) shows every input channel with its kernel and its
// partial map (channel * kernel), and the neuron's output; hovering, tapping or arrowing over an
// output pixel writes out its arithmetic: each channel's 3x3 window, kernel, products and sum, then
// the bias and the result. Pooling shows the 2x2 window and its winner; ReLU, x and max(0, x).
// Every number shown carries its exact value in data-v, which the tests compare with PyTorch.

import {LAYERS, perChannel} from './forward.js';
import {level, symmetric} from './draw.js';
import {el, Player, sweepPositions} from './player.js';

const NAMES = ['input', ...LAYERS.map(([name]) => name)];
export const previous = (layer) => NAMES[NAMES.indexOf(layer) - 1];
export const fmt = (v) => { const s = Math.abs(v) >= 100 ? v.toFixed(1) : v.toFixed(3); return /^-0\.0+$/.test(s) ? s.slice(1) : s; };
export const num = (v, role) => el('span', {class: 'tv-num', 'data-role': role, 'data-v': String(v), text: fmt(v)});

/** A value grid as a table; every cell has data-v. */
export function grid(values, rows, cols, role, mark = -1) {
  const table = el('table', {class: 'tv-grid', 'data-role': role});
  for (let r = 0; r < rows; r++) {
    const tr = el('tr');
    for (let c = 0; c < cols; c++) {
      const i = r * cols + c, td = el('td', {'data-v': String(values[i]), text: fmt(values[i])});
      if (i === mark) td.className = 'tv-win';
      tr.append(td);
    }
    table.append(tr);
  }
  return table;
}

/** A map on a canvas (one pixel per value) with an outline box, positioned in %, over it. */
export function mapBox(label, cls = '') {
  const canvas = el('canvas', {class: 'tv-map-canvas'});
  const box = el('span', {class: 'tv-map-mark', hidden: true});
  const wrap = el('div', {class: `tv-map ${cls}`, role: 'img', 'aria-label': label, title: label}, canvas, box);
  return {wrap, canvas, box, image: null, h: 1, w: 1,
    paint(colors, table, values, h, w, lo, hi) {
      canvas.width = w; canvas.height = h; this.h = h; this.w = w;
      const ctx = canvas.getContext('2d'), img = ctx.createImageData(w, h), t = colors.tables[table];
      for (let p = 0; p < h * w; p++) {
        const i = 3 * level(values[p], lo, hi, colors.levels);
        img.data.set([t[i], t[i + 1], t[i + 2], 255], 4 * p);
      }
      this.image = img;
      ctx.putImageData(img, 0, 0);
    },
    reveal(p) { // positions 0..p (row-major) only, as the GIFs fill a map in
      const ctx = canvas.getContext('2d'), r = Math.floor(p / this.w), c = p % this.w;
      ctx.clearRect(0, 0, this.w, this.h);
      if (r > 0) ctx.putImageData(this.image, 0, 0, 0, 0, this.w, r);
      ctx.putImageData(this.image, 0, 0, 0, r, c + 1, 1);
    },
    mark(r, c, size) {
      box.hidden = false;
      Object.assign(box.style, {left: `${100 * c / this.w}%`, top: `${100 * r / this.h}%`,
                                width: `${100 * size / this.w}%`, height: `${100 * size / this.h}%`});
    },
  };
}

/** A map with a caption under it; .caption(text) sets it. */
function captioned(m) {
  const cap = el('figcaption');
  m.fig = el('figure', {class: 'tv-conv-outfig'}, m.wrap, cap);
  m.caption = (text) => { cap.textContent = text; };
  return m;
}

/** Hover, tap and arrow keys over a map -> onPick(r, c). */
export function pickable(m, label, onPick) {
  const at = {r: 0, c: 0};
  m.wrap.tabIndex = 0;
  m.wrap.setAttribute('aria-label', label);
  const fromEvent = (e) => {
    const b = m.canvas.getBoundingClientRect();
    at.r = Math.min(m.h - 1, Math.max(0, Math.floor((e.clientY - b.top) / b.height * m.h)));
    at.c = Math.min(m.w - 1, Math.max(0, Math.floor((e.clientX - b.left) / b.width * m.w)));
    onPick(at.r, at.c);
  };
  m.wrap.addEventListener('pointermove', fromEvent);
  m.wrap.addEventListener('pointerdown', fromEvent);
  m.wrap.addEventListener('keydown', (e) => {
    const d = {ArrowUp: [-1, 0], ArrowDown: [1, 0], ArrowLeft: [0, -1], ArrowRight: [0, 1]}[e.key];
    if (!d) return;
    e.preventDefault();
    e.stopPropagation(); // the arrows move the pixel here, not the player
    at.r = Math.min(m.h - 1, Math.max(0, at.r + d[0]));
    at.c = Math.min(m.w - 1, Math.max(0, at.c + d[1]));
    onPick(at.r, at.c);
  });
  return at;
}

function options(select, values, labels, chosen) {
  select.replaceChildren(...values.map((v, i) => el('option', {value: String(v), text: labels[i]})));
  select.value = String(chosen);
}

/** Layer and neuron pickers of one kind ('conv', 'relu', 'pool'). */
export function neuronPicker(ctx, kind, onChange) {
  const {t, config} = ctx.page;
  const layers = LAYERS.filter(([, k]) => k === kind).map(([name]) => name);
  const layer = el('select', {class: 'tv-pick-layer', 'aria-label': t.output});
  const neuron = el('select', {class: 'tv-pick-neuron', 'aria-label': t.neuron});
  options(layer, layers, layers, ctx.layer);
  const fill = () => {
    const n = config.shapes[layer.value][0];
    options(neuron, [...Array(n).keys()], [...Array(n).keys()].map((i) => `${t.neuron} ${i}`),
            Math.min(ctx.neuron, n - 1));
  };
  fill();
  layer.addEventListener('change', () => { fill(); onChange(layer.value, Number(neuron.value)); });
  neuron.addEventListener('change', () => onChange(layer.value, Number(neuron.value)));
  return [layer, neuron];
}

function inputScale(result, prev, i) {
  return prev === 'input' ? [['tint:R', 'tint:G', 'tint:B'][i], 0, 1] : ['RdBu', ...symmetric(result.layers[prev])];
}

/** The view of a conv neuron: conv-detail (the GIF's 26 steps) or conv-overview (20 steps). */
/** The GIF's walk (data-tv-walk) while the player shows that figure's image, layer and neuron; else null. */
function walkOf(ctx) {
  return ctx.walk && ctx.original() ? ctx.walk : null;
}

/** Step durations for a walk: `first` for the first step, `single` where it moves one window, `jump` elsewhere. */
function walkPace(walk, first, single, jump) {
  return (i) => (i === 0 ? first : walk[i] - walk[i - 1] === 1 ? single : jump);
}

export function convView(ctx) {
  const {page, root} = ctx, t = page.t, player = new Player(root, ctx.kind, t);
  // render/conv.py's OVERVIEW_STEPS (4 single steps, 14 in all); a conv-detail figure walks its GIF's windows
  const schedule = ctx.kind === 'conv-detail' ? [12, 26, (i) => (i < 2 ? 900 : i < 12 ? 500 : 150)]
    : [4, 14, (i) => (i < 4 ? 400 : 150)];
  const stage = el('div', {class: 'tv-conv-stage'}), panel = el('div', {class: 'tv-arith', 'aria-live': 'polite'});
  const out = mapBox(t.output, 'tv-map-out');
  let rows = [], data = null, positions = [0];
  ctx.tools(...neuronPicker(ctx, 'conv', (layer, neuron) => { ctx.layer = layer; ctx.neuron = neuron; ctx.refresh(); }));
  ctx.body(stage, panel, player.bar);
  pickable(out, `${t.output}: ${t.mapKeys}`, (r, c) => { player.go(player.step, true); show(r, c, true); });

  function update() {
    const {model, colors} = page, result = page.current.result, {layer, neuron} = ctx;
    const prev = previous(layer), [inC, size] = page.config.shapes[prev], ow = size - 2;
    const {weight, bias} = model.convs[layer];
    const x = result.layers[prev], partials = perChannel(model, layer, neuron, x, size);
    const kernels = weight.subarray(neuron * inC * 9, (neuron + 1) * inC * 9);
    const [klo, khi] = symmetric(kernels), [plo, phi] = symmetric(partials);
    const outMap = result.layers[layer].subarray(neuron * ow * ow, (neuron + 1) * ow * ow);
    data = {layer, neuron, prev, inC, size, ow, x, kernels, bias: bias[neuron], outMap};
    rows = [];
    const grid3 = el('div', {class: 'tv-conv-channels'});
    for (let i = 0; i < inC; i++) {
      const name = prev === 'input' ? t.channels[i] : `${t.neuron} ${i}`;
      const inp = mapBox(`${prev} · ${name}`, 'tv-map-in'), ker = mapBox(`${t.kernel} ${name}`, 'tv-map-k');
      const part = mapBox(`${t.partial} ${name}`, 'tv-map-part');
      const [table, lo, hi] = inputScale(result, prev, i);
      inp.paint(colors, table, x.subarray(i * size * size, (i + 1) * size * size), size, size, lo, hi);
      ker.paint(colors, 'BrBG', kernels.subarray(i * 9, i * 9 + 9), 3, 3, klo, khi);
      part.paint(colors, 'RdBu', partials.subarray(i * ow * ow, (i + 1) * ow * ow), ow, ow, plo, phi);
      rows.push({inp, part});
      // a conv-detail GIF follows one input channel: its row is marked while the player shows that figure
      const focus = ctx.kind === 'conv-detail' && ctx.channel !== undefined && Number(ctx.channel) === i && ctx.original();
      grid3.append(el('div', {class: focus ? 'tv-conv-row tv-conv-focus' : 'tv-conv-row'},
                      el('span', {class: 'tv-conv-name', text: name}), inp.wrap,
                      el('span', {class: 'tv-op', text: '∗'}), ker.wrap, el('span', {class: 'tv-op', text: '='}), part.wrap));
    }
    out.paint(colors, 'RdBu', outMap, ow, ow, ...symmetric(result.layers[layer]));
    stage.replaceChildren(grid3, el('div', {class: 'tv-conv-out'}, el('span', {class: 'tv-op', text: 'Σ + b →'}),
                                    el('figure', {class: 'tv-conv-outfig'}, out.wrap,
                                       el('figcaption', {text: `${layer} · ${t.neuron} ${neuron} (${ow}×${ow})`}))));
    const walk = walkOf(ctx);
    positions = walk || sweepPositions(ow * ow, schedule[0], schedule[1]);
    player.setSteps(positions.length, (i) => show(Math.floor(positions[i] / ow), positions[i] % ow, false),
                    walk ? walkPace(walk, 900, 500, 200) : schedule[2], ctx.finish());
  }

  function show(r, c, all) {
    const d = data, p = r * d.ow + c, n = d.ow * d.ow - 1;
    for (const {inp, part} of rows) { inp.mark(r, c, 3); part.mark(r, c, 1); part.reveal(all ? n : p); }
    out.mark(r, c, 1);
    out.reveal(all ? n : p);
    const lines = [];
    let total = 0;
    for (let i = 0; i < d.inC; i++) {
      const win = new Float64Array(9), ker = new Float64Array(9), prod = new Float64Array(9);
      let s = 0;
      for (let u = 0; u < 3; u++) for (let v = 0; v < 3; v++) {
        const k = u * 3 + v;
        win[k] = d.x[i * d.size * d.size + (r + u) * d.size + c + v];
        ker[k] = d.kernels[i * 9 + k];
        prod[k] = win[k] * ker[k];
        s += prod[k];
      }
      total += s;
      const name = d.prev === 'input' ? t.channels[i] : `${t.neuron} ${i}`;
      lines.push(el('div', {class: 'tv-arith-row', 'data-channel': i}, el('span', {class: 'tv-conv-name', text: name}),
        el('span', {class: 'tv-arith-g'}, el('small', {text: t.window}), grid(win, 3, 3, 'window')), el('span', {class: 'tv-op', text: '×'}),
        el('span', {class: 'tv-arith-g'}, el('small', {text: t.kernel}), grid(ker, 3, 3, 'kernel')), el('span', {class: 'tv-op', text: '='}),
        el('span', {class: 'tv-arith-g'}, el('small', {text: t.products}), grid(prod, 3, 3, 'products')),
        el('span', {class: 'tv-op', text: 'Σ ='}), num(s, 'partial')));
    }
    const result = total + d.bias;
    panel.setAttribute('aria-live', player && player.state === 'playing' ? 'off' : 'polite');
    panel.dataset.r = r;
    panel.dataset.c = c;
    panel.replaceChildren(
      el('p', {class: 'tv-arith-head', text: t.conv.replace('{layer}', d.layer).replace('{r}', r).replace('{c}', c)}),
      el('div', {class: 'tv-arith-rows'}, ...lines),
      el('p', {class: 'tv-arith-sum'}, `Σ ${t.partial} `, num(total, 'sum'), ` + ${t.bias} `, num(d.bias, 'bias'),
         ' = ', num(result, 'result'), ` · ${t.model}: `, num(d.outMap[p], 'model')));
  }
  return {update};
}

/** Max pooling: the 2x2 window, its winner, the pooled map filling in (the GIF's 24 steps). */
export function poolView(ctx) {
  const {page, root} = ctx, t = page.t, player = new Player(root, ctx.kind, t);
  const inp = captioned(mapBox(t.input, 'tv-map-pin')), out = captioned(mapBox(t.output, 'tv-map-pout'));
  const cells = el('div', {class: 'tv-pool-cells'}), panel = el('div', {class: 'tv-arith', 'aria-live': 'polite'});
  let d = null, positions = [0];
  ctx.tools(...neuronPicker(ctx, 'pool', (layer, neuron) => { ctx.layer = layer; ctx.neuron = neuron; ctx.refresh(); }));
  ctx.body(el('div', {class: 'tv-pool-stage'}, inp.fig, el('span', {class: 'tv-op', text: '→'}), cells,
              el('span', {class: 'tv-op', text: '→'}), out.fig), panel, player.bar);
  pickable(out, `${t.output}: ${t.mapKeys}`, (r, c) => { player.go(player.step, true); show(r, c, true); });

  function update() {
    const {colors} = page, result = page.current.result, {layer, neuron} = ctx, prev = previous(layer);
    const [, h] = page.config.shapes[prev], oh = h >> 1;
    const x = result.layers[prev].subarray(neuron * h * h, (neuron + 1) * h * h);
    const y = result.layers[layer].subarray(neuron * oh * oh, (neuron + 1) * oh * oh);
    const [lo, hi] = symmetric(result.layers[prev]);
    inp.paint(colors, 'RdBu', x, h, h, lo, hi);
    out.paint(colors, 'RdBu', y, oh, oh, lo, hi);
    inp.caption(`${prev} · ${t.neuron} ${neuron} (${h}×${h})`);
    out.caption(`${layer} · ${t.neuron} ${neuron} (${oh}×${oh})`);
    d = {layer, neuron, prev, h, oh, x, y};
    const walk = walkOf(ctx);
    positions = walk || sweepPositions(oh * oh, 8, 24);
    player.setSteps(positions.length, (i) => show(Math.floor(positions[i] / oh), positions[i] % oh, false),
                    walk ? walkPace(walk, 700, 700, 300) : (i) => (i < 8 ? 700 : 150), ctx.finish());
  }

  function show(r, c, all) {
    const win = [0, 1, 2, 3].map((k) => d.x[(2 * r + (k >> 1)) * d.h + 2 * c + (k & 1)]);
    let best = 0;
    for (let k = 1; k < 4; k++) if (win[k] > win[best]) best = k; // the first on ties, as numpy's argmax
    inp.mark(2 * r, 2 * c, 2);
    out.mark(r, c, 1);
    out.reveal(all ? d.oh * d.oh - 1 : r * d.oh + c);
    const g = grid(win, 2, 2, 'window', best);
    g.dataset.winner = best;
    cells.replaceChildren(g);
    panel.setAttribute('aria-live', player && player.state === 'playing' ? 'off' : 'polite');
    panel.dataset.r = r;
    panel.dataset.c = c;
    panel.replaceChildren(el('p', {class: 'tv-arith-head'}, `${d.layer}[${r}, ${c}] = max(`,
      ...win.flatMap((v, k) => [k ? ', ' : '', num(v, k === best ? 'winner' : 'value')]), ') = ',
      num(win[best], 'result'), ` · ${t.model}: `, num(d.y[r * d.oh + c], 'model')));
  }
  return {update};
}

/** ReLU (no animation, so no player): hover a pixel of the output for x and max(0, x). */
export function reluView(ctx) {
  const {page, root} = ctx, t = page.t, player = null;
  const inp = captioned(mapBox(t.input, 'tv-map-pin')), out = captioned(mapBox(t.output, 'tv-map-pin'));
  const panel = el('div', {class: 'tv-arith', 'aria-live': 'polite'});
  let d = null;
  root.dataset.tvView = 'relu';
  ctx.tools(...neuronPicker(ctx, 'relu', (layer, neuron) => { ctx.layer = layer; ctx.neuron = neuron; ctx.refresh(); }));
  ctx.body(el('div', {class: 'tv-pool-stage'}, inp.fig, el('span', {class: 'tv-op', text: 'max(0, x) →'}), out.fig), panel);
  pickable(out, `${t.output}: ${t.mapKeys}`, (r, c) => show(r, c));

  function update() {
    const {colors} = page, result = page.current.result, {layer, neuron} = ctx, prev = previous(layer);
    const [, h] = page.config.shapes[layer], area = h * h;
    d = {layer, h, x: result.layers[prev].subarray(neuron * area, (neuron + 1) * area),
         y: result.layers[layer].subarray(neuron * area, (neuron + 1) * area)};
    const [lo, hi] = symmetric(d.x);
    inp.paint(colors, 'RdBu', d.x, h, h, lo, hi);
    out.paint(colors, 'RdBu', d.y, h, h, lo, hi);
    inp.caption(`${prev} · ${t.neuron} ${neuron} (x)`);
    out.caption(`${layer} · ${t.neuron} ${neuron}`);
    show(0, 0);
  }

  function show(r, c) {
    const p = r * d.h + c;
    inp.mark(r, c, 1);
    out.mark(r, c, 1);
    panel.setAttribute('aria-live', player && player.state === 'playing' ? 'off' : 'polite');
    panel.dataset.r = r;
    panel.dataset.c = c;
    const [before, after] = t.relu.replace('{layer}', d.layer).replace('{r}', r).replace('{c}', c).split('{x}');
    const [mid, end] = after.split('{y}');
    panel.replaceChildren(el('p', {class: 'tv-arith-head'}, before, num(d.x[p], 'input'), mid,
                             num(Math.max(0, d.x[p]), 'result'), end));
  }
  return {update};
}
