// The step-by-step players of a chapter page (generator/steps.py writes the config). Each figure
// marked data-tv-kind becomes a player drawn from the numbers the in-page model computes for the
// current image: a sample, or the reader's own (decoded in the browser, never uploaded). The GIF
// stays in the page for print, embedding and readers without JavaScript; it is hidden on screen
// only once its player has drawn.

import {forward} from './forward.js';
import {loadImage} from './image.js';
import {loadShared} from './loader.js';
import {el, reduced} from './player.js';
import {convView, poolView, reluView} from './views.js';
import {softmaxView} from './softmax.js';
import {hyperView, playground} from './playground.js';

const config = JSON.parse(document.querySelector('script.tv-steps-config').textContent);
const t = config.text;
const page = {config, t, model: null, colors: null, current: null, views: [], pickers: [], asked: 0};
const VIEWS = {'conv-detail': convView, 'conv-overview': convView, pool: poolView, relu: reluView,
               softmax: softmaxView, hyperparameter: hyperView};
const NEEDS_MODEL = new Set(['conv-detail', 'conv-overview', 'pool', 'relu', 'softmax']);

document.head.append(el('link', {rel: 'stylesheet', href: new URL('steps.css', import.meta.url).href}));

function sampleBlob(slug) {
  const sample = config.samples.find((s) => s.slug === slug);
  return fetch(new URL(sample.src, document.baseURI)).then((r) => {
    if (!r.ok) throw new Error(`${sample.src}: HTTP ${r.status}`);
    return r.blob();
  });
}

/** Show `blob` (a sample's or the reader's) in every player; the last image asked for wins. */
async function choose(key, blob, name) {
  const asked = ++page.asked;
  try {
    const pixels = await loadImage(await blob);
    if (asked !== page.asked) return;
    page.current = {key, name, pixels, result: forward(page.model, pixels)};
    for (const select of page.pickers) select.value = config.samples.some((s) => s.slug === key) ? key : '';
    for (const v of page.views) v.update();
    document.documentElement.dataset.tvImage = key; // which image every player shows (read by the tests)
    document.documentElement.dataset.tvSteps = 'ready';
  } catch (error) {
    if (asked === page.asked) for (const v of page.views) v.error(`${t.error} ${error.message}`);
  }
}

function imagePicker() {
  const select = el('select', {class: 'tv-pick-image', 'aria-label': t.image},
    ...config.samples.map((s) => el('option', {value: s.slug, text: s.name})), el('option', {value: '', text: t.yours, disabled: true}));
  select.addEventListener('change', () => choose(select.value, sampleBlob(select.value), select.selectedOptions[0].text));
  const file = el('input', {type: 'file', accept: 'image/*', class: 'tv-file', tabIndex: -1});
  const button = el('button', {type: 'button', class: 'tv-pl-own', text: t.yours});
  button.addEventListener('click', () => file.click());
  file.addEventListener('change', () => {
    if (file.files[0]) choose('yours', file.files[0], file.files[0].name);
    file.value = '';
  });
  page.pickers.push(select);
  return [select, button, file];
}

function enhance(fig) {
  const kind = fig.dataset.tvKind, d = fig.dataset;
  const tools = el('div', {class: 'tv-pl-tools'}), status = el('p', {class: 'tv-pl-status'});
  const ui = el('div', {class: 'tv-pl'}, tools);
  const ctx = {page, root: fig, kind, layer: d.tvLayer, neuron: Number(d.tvNeuron || 0), hyper: d.tvHyper,
               tools: (...nodes) => tools.append(...nodes), body: (...nodes) => ui.append(...nodes), finish: reduced,
               // the windows the GIF walks (conv-detail, pool): the player walks them while it shows that figure
               walk: d.tvWalk ? d.tvWalk.split(',').map(Number) : null, channel: d.tvChannel};
  // does the player show what the static figure (its GIF and caption) shows: the same image, layer and neuron?
  ctx.original = () => (!d.tvImage || page.current.key === d.tvImage) && (!d.tvLayer || ctx.layer === d.tvLayer)
    && (d.tvNeuron === undefined || ctx.neuron === Number(d.tvNeuron));
  if (NEEDS_MODEL.has(kind)) tools.append(...imagePicker());
  const view = VIEWS[kind](ctx);
  ui.append(status);
  const keys = {relu: t.reluKeys, softmax: t.keysSoftmax, hyperparameter: t.keysPlain}[kind] || t.keys;
  ui.append(el('p', {class: 'tv-pl-keys', text: keys}));
  fig.insertBefore(ui, fig.querySelector('figcaption'));
  const caption = fig.querySelector('figcaption');
  const wrapper = {
    update() {
      view.update();
      status.textContent = '';
      fig.classList.add('tv-enhanced');
      // the static caption describes the GIF: shown while the player shows the same neuron and image
      if (caption) caption.hidden = !ctx.original();
    },
    error(message) { status.textContent = message; },
    kind,
  };
  ctx.refresh = () => wrapper.update(); // another layer or neuron chosen in the view
  return wrapper;
}

async function start() {
  const figures = [...document.querySelectorAll('figure.tv-figure[data-tv-kind]')].filter((f) => !f.closest('.tv-thumbs'));
  for (const box of document.querySelectorAll('div.tv-playground')) playground(box, t);
  const withModel = figures.filter((f) => NEEDS_MODEL.has(f.dataset.tvKind));
  for (const f of figures.filter((f) => !NEEDS_MODEL.has(f.dataset.tvKind))) {
    const v = enhance(f);
    v.update();
  }
  if (!withModel.length) { document.documentElement.dataset.tvSteps = 'ready'; return; }
  const first = withModel[0].dataset.tvImage || config.featured;
  const blob = sampleBlob(first);
  blob.catch(() => {});
  ({model: page.model, colors: page.colors} = await loadShared(config));
  page.views = withModel.map(enhance);
  await choose(first, blob, first);
}

start().catch((error) => console.warn(error));
