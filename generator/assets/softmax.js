// Softmax as in the article's Figure 4, from the current image's logits: the logits, their
// exponentials and sum, then class by class e^z / Σ = p (the GIF's steps); choosing a class (click,
// tap or Enter) writes its formula with the real numbers. As render/softmax.softmax_numbers: float64,
// and logits above 80 are shifted by the largest one (no probability changes, e^z stays finite).

import {rgb, span} from './draw.js';
import {el, Player} from './player.js';
import {num} from './views.js';

const sig = (v) => (v !== 0 && (Math.abs(v) >= 1e5 || Math.abs(v) < 1e-3) ? v.toExponential(3) : v.toPrecision(4));
const snum = (v, role) => el('span', {class: 'tv-num', 'data-role': role, 'data-v': String(v), text: sig(v)});

export function softmaxNumbers(logits) {
  const z = Array.from(logits), top = Math.max(...z), shift = top > 80 ? top : 0;
  const exps = z.map((v) => Math.exp(v - shift)), total = exps.reduce((a, b) => a + b, 0);
  return {z, shift, exps, total, probs: exps.map((e) => e / total)};
}

export function softmaxView(ctx) {
  const {page, root} = ctx, t = page.t, player = new Player(root, ctx.kind, t);
  const note = el('p', {class: 'tv-arith-head'}), formula = el('div', {class: 'tv-sm-formula', 'aria-live': 'polite'});
  const body = el('tbody');
  const table = el('table', {class: 'tv-sm'}, el('thead', {}, el('tr', {}, ...[t.class, 'z', 'e^z', '÷ Σ', t.prob].map(
    (h) => el('th', {text: h})))), body);
  let n = null, top1 = 0, rows = [], chosen = -1;
  ctx.body(note, el('div', {class: 'tv-sm-wrap'}, table), formula, player.bar);

  function choose(i) {
    chosen = i;
    rows.forEach((r, k) => r.btn.setAttribute('aria-pressed', String(k === i)));
    const name = page.config.classes[i];
    formula.dataset.class = i;
    formula.setAttribute('aria-live', player.state === 'playing' ? 'off' : 'polite');
    formula.replaceChildren(el('span', {class: 'tv-sm-p', text: `p(${name}) = `}),
      `e^(`, snum(n.z[i] - n.shift, 'z'), ') / Σ = ', snum(n.exps[i], 'exp'), ' / ', snum(n.total, 'sum'),
      ' = ', el('strong', {}, snum(n.probs[i], 'p')));
  }

  function update() {
    const {result} = page.current, classes = page.config.classes;
    n = softmaxNumbers(result.logits);
    top1 = result.top1;
    rows = classes.map((name, k) => {
      const btn = el('button', {type: 'button', class: 'tv-sm-class', text: name, 'aria-pressed': 'false'});
      btn.addEventListener('click', () => { player.go(player.step, true); choose(k); });
      const fill = el('span', {class: 'tv-sm-fill'});
      const cells = [snum(n.exps[k], 'exp'), el('span', {class: 'tv-num', text: `/ ${sig(n.total)}`}),
                     el('span', {class: 'tv-sm-bar'}, fill, snum(n.probs[k], 'p'))];
      fill.style.width = `${(100 * n.probs[k]).toFixed(1)}%`;
      // the logit's cell shaded on the Oranges scale over this image's logits, as in the GIF (render/softmax.py)
      const [r, g, b] = rgb(page.colors, 'Oranges', n.z[k], ...span(n.z));
      const zcell = el('td', {class: 'tv-sm-z'}, num(n.z[k], 'logit'));
      zcell.style.background = `rgb(${r}, ${g}, ${b})`;
      zcell.style.color = 0.299 * r + 0.587 * g + 0.114 * b < 140 ? '#fff' : '#222';
      const tr = el('tr', {'data-class': k, class: k === top1 ? 'tv-sm-top' : ''},
                    el('td', {}, btn), zcell, ...cells.map((c) => el('td', {}, c)));
      return {tr, btn, cells};
    });
    body.replaceChildren(...rows.map((r) => r.tr));
    const count = classes.length + 3; // logits; exponentials; one per class; the prediction
    player.setSteps(count, draw, (i) => (i < 2 ? 1500 : 1000), ctx.finish());
  }

  function draw(i) {
    const classes = page.config.classes, C = classes.length;
    rows.forEach((r, k) => {
      r.cells[0].parentNode.hidden = i < 1;
      r.cells[1].parentNode.hidden = r.cells[2].parentNode.hidden = !(i >= C + 2 || k < i - 1);
      r.tr.classList.toggle('tv-sm-now', i >= 2 && (i < C + 2 ? k === i - 2 : k === top1));
    });
    if (i === 0) note.textContent = t.logits;
    else if (i === 1) note.textContent = t.exps.replace('{sum}', sig(n.total));
    else if (i < C + 2) note.textContent = t.classStep;
    else note.textContent = t.predicted.replace('{name}', classes[top1]).replace('{p}', `${(100 * n.probs[top1]).toFixed(1)} %`);
    if (i >= 2) choose(i < C + 2 ? i - 2 : top1);
    else { formula.replaceChildren(el('small', {text: t.pick})); delete formula.dataset.class; }
  }
  return {update};
}
