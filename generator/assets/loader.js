// One shared loader: the exported model and the colour tables, fetched once per page whichever
// module asks first (the live view, the players). ES modules are singletons per URL, so every
// importer of this file sees the same cache.

import {loadModel} from './forward.js';

const cache = new Map();

function once(key, make) {
  if (!cache.has(key)) cache.set(key, make());
  return cache.get(key);
}

/** {model, colors} for the config's URLs (relative to the page), loaded at most once. */
export function loadShared(config) {
  const modelUrl = new URL(config.model, document.baseURI).href;
  const colorsUrl = new URL(config.colors, document.baseURI).href;
  return Promise.all([
    once(modelUrl, () => loadModel(modelUrl)),
    once(colorsUrl, () => fetch(colorsUrl).then((r) => {
      if (!r.ok) throw new Error(`tinyvgg: cannot load ${config.colors} (HTTP ${r.status})`);
      return r.json();
    })),
  ]).then(([model, colors]) => ({model, colors}));
}
