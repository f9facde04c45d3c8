// Padding, kernel size and stride on a small input: the hyperparameter figures' player and the
// playground of the hyperparameters chapter. The numbers are computed here as render/hyper.py does:
// a fixed input (2i + 3j) mod 5, a diagonal-edge kernel, zero padding and cross-correlation with
// stride, output side floor((W - K + 2P) / S) + 1 as torch.nn.functional.conv2d gives it. Where
// W - K + 2P is not divisible by S the combination is flagged: the last rows and columns of the
// padded input are never covered.

import {el, Player, reduced} from './player.js';

export function outputSize(w, k, p, s) {
  const span = w - k + 2 * p, o = Math.floor(span / s) + 1;
  return {span, o, exact: span % s === 0, left: w + 2 * p - ((o - 1) * s + k)};
}

const input = (w) => Array.from({length: w * w}, (_, i) => (2 * Math.floor(i / w) + 3 * (i % w)) % 5);
const kernel = (k) => Array.from({length: k * k}, (_, i) => {
  const r = Math.floor(i / k), c = i % k;
  return r === c ? 1 : r + c === k - 1 ? -1 : 0;
});

/** The DOM of one setting {w, k, p, s}: padded input, kernel, output; show(q) puts the kernel at
 *  output position q and fills the output in up to q. */
export function setting(st, t) {
  const {w, k, p, s} = st, n = w + 2 * p, {o, exact, span, left} = outputSize(w, k, p, s);
  const x = input(w), ker = kernel(k);
  const padded = (r, c) => (r < p || c < p || r >= n - p || c >= n - p ? 0 : x[(r - p) * w + c - p]);
  const cells = (size, value, cls) => Array.from({length: size * size}, (_, i) => {
    const r = Math.floor(i / size), c = i % size;
    return el('span', {class: cls(r, c), text: value(r, c)});
  });
  const box = (size, kids, cls) => {
    const g = el('div', {class: `tv-hp-grid ${cls}`}, ...kids);
    g.style.setProperty('--n', size);
    return g;
  };
  const covered = (o - 1) * s + k; // rows/columns of the padded input the kernel ever reaches
  const inCells = cells(n, padded, (r, c) => `tv-hp-cell${r < p || c < p || r >= n - p || c >= n - p ? ' tv-hp-pad' : ''}${
    r >= covered || c >= covered ? ' tv-hp-never' : ''}`);
  const win = el('span', {class: 'tv-hp-win'}), focus = el('span', {class: 'tv-hp-win'});
  const out = [];
  for (let r = 0; r < o; r++) for (let c = 0; c < o; c++) {
    let v = 0;
    for (let u = 0; u < k; u++) for (let q = 0; q < k; q++) v += padded(r * s + u, c * s + q) * ker[u * k + q];
    out.push(v);
  }
  const outCells = cells(o, (r, c) => String(out[r * o + c]), () => 'tv-hp-cell tv-hp-o');
  const inGrid = box(n, [...inCells, win], 'tv-hp-in'), outGrid = box(o, [...outCells, focus], 'tv-hp-out');
  const formula = el('p', {class: `tv-hp-formula${exact ? '' : ' tv-hp-bad'}`, 'data-out': o, 'data-exact': String(exact),
    text: `(W − K + 2P) / S + 1 = (${w} − ${k} + 2·${p}) / ${s} + 1 = ${exact ? o : `${(span / s + 1).toFixed(2)} → ${o}`}`});
  const note = el('p', {class: 'tv-hp-note', text: (exact ? t.exact : t.inexact).replaceAll('{span}', span)
    .replaceAll('{s}', s).replaceAll('{o}', o).replaceAll('{left}', left)});
  const root = el('div', {class: 'tv-hp'}, el('div', {class: 'tv-hp-stage'}, inGrid,
    el('span', {class: 'tv-op', text: '∗'}), box(k, cells(k, (r, c) => String(ker[r * k + c]), () => 'tv-hp-cell tv-hp-k'), 'tv-hp-ker'),
    el('span', {class: 'tv-op', text: '='}), outGrid), formula, note);
  const place = (node, r, c, size, grid) => Object.assign(node.style, {left: `${100 * c / grid}%`, top: `${100 * r / grid}%`,
    width: `${100 * size / grid}%`, height: `${100 * size / grid}%`});
  return {root, count: o * o, show(q) {
    const r = Math.floor(q / o), c = q % o;
    place(win, r * s, c * s, k, n);
    place(focus, r, c, 1, o);
    outCells.forEach((cell, i) => cell.classList.toggle('tv-hp-hidden', i > q));
  }};
}

/** A hyperparameter figure: its settings one after the other, every kernel position a step. */
export function hyperView(ctx) {
  const {page, root} = ctx, t = page.t, player = new Player(root, ctx.kind, t);
  const settings = page.config.hypers[ctx.hyper] || [];
  const stage = el('div', {class: 'tv-hp-host'});
  ctx.body(stage, player.bar);
  const symbol = {padding: 'P', 'kernel-size': 'K', stride: 'S'}[ctx.hyper];
  const built = settings.map(([W, K, P, S]) => {
    const b = setting({w: W, k: K, p: P, s: S}, t), values = {W, K, P, S};
    const others = Object.keys(values).filter((n) => n !== symbol).map((n) => `${n} = ${values[n]}`).join(', ');
    b.root.prepend(el('p', {class: 'tv-hp-title'}, el('strong', {text: `${symbol} = ${values[symbol]}`}), ` (${others})`));
    return b;
  });
  const starts = [];
  let total = 0, shown = null;
  for (const b of built) { starts.push(total); total += b.count; }
  function update() {
    player.setSteps(total, (i) => {
      let j = starts.length - 1;
      while (starts[j] > i) j--;
      if (shown !== j) { stage.replaceChildren(built[j].root); shown = j; }
      built[j].show(i - starts[j]);
    }, (i) => (starts.includes(i) ? 600 : starts.includes(i + 1) || i === total - 1 ? 1800 : 200), ctx.finish());
  }
  return {update};
}

/** The playground: W 5..7, P 0..2, K 2..5, S 1..3, an animated grid that follows them. */
export function playground(root, t) {
  const values = {W: 7, P: 0, K: 3, S: 2};
  const range = {W: [5, 7], P: [0, 2], K: [2, 5], S: [1, 3]};
  const player = new Player(root, 'playground', t), stage = el('div', {class: 'tv-hp-host'});
  const controls = Object.keys(values).map((key) => {
    const input = el('input', {type: 'range', min: range[key][0], max: range[key][1], step: 1, value: values[key],
                               class: 'tv-hp-ctl', 'data-param': key});
    const shown = el('output', {text: String(values[key])});
    input.addEventListener('input', () => { values[key] = Number(input.value); shown.textContent = input.value; update(); });
    return el('label', {class: 'tv-hp-label'}, el('span', {text: t[key]}), input, shown);
  });
  root.replaceChildren(el('h3', {text: t.playground}), el('div', {class: 'tv-hp-controls'}, ...controls), stage, player.bar,
                       el('p', {class: 'tv-pl-keys', text: t.keysPlain}));
  function update() {
    const b = setting({w: values.W, k: values.K, p: values.P, s: values.S}, t);
    stage.replaceChildren(b.root);
    player.step = 0;
    player.setSteps(b.count, (i) => b.show(i), (i) => (i === 0 ? 600 : 300), reduced());
  }
  root.hidden = false;
  update();
}
