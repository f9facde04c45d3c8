// The player every stepped figure shares: play/pause, step back, step forward and a scrubber, in
// the page's language. Space toggles, the arrow keys step; prefers-reduced-motion starts it paused
// on the finished frame. Its state lives in data-* attributes of the root, kept current:
//   data-tv-player="<figure kind>"  data-state="playing|paused"  data-step="<index>"
// A view gives it the number of steps, how to draw step i and how long step i stays.

export function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value == null) continue;
    if (key === 'class') node.className = value;
    else if (key === 'text') node.textContent = value;
    else if (key.startsWith('data-') || key.startsWith('aria-') || key === 'role') node.setAttribute(key, value);
    else node[key] = value;
  }
  node.append(...children);
  return node;
}

export const reduced = () => window.matchMedia('(prefers-reduced-motion: reduce)').matches;

export class Player {
  /** root: the element that carries the contract; t: the page's text; kind: the figure kind. */
  constructor(root, kind, t) {
    this.root = root;
    this.t = t;
    this.count = 1;
    this.step = 0;
    this.timer = 0;
    this.visible = true;
    this.draw = () => {};
    this.delay = () => 500;
    root.dataset.tvPlayer = kind;
    const btn = (cls, label, sym, fn) => {
      const b = el('button', {type: 'button', class: `tv-pl-btn ${cls}`, 'aria-label': label, title: label, text: sym});
      b.addEventListener('click', fn);
      return b;
    };
    this.back = btn('tv-pl-back', t.back, '|◀', () => this.go(this.step - 1, true));
    this.toggleBtn = btn('tv-pl-toggle', t.play, '▶', () => this.toggle());
    this.fwd = btn('tv-pl-fwd', t.forward, '▶|', () => this.go(this.step + 1, true));
    this.scrub = el('input', {type: 'range', class: 'tv-pl-scrub', min: 0, max: 0, step: 1, value: 0,
                              'aria-label': t.scrub});
    this.scrub.addEventListener('input', () => this.go(Number(this.scrub.value), true));
    this.label = el('output', {class: 'tv-pl-label', 'aria-live': 'off'});
    this.bar = el('div', {class: 'tv-pl-bar', role: 'group'}, this.back, this.toggleBtn, this.fwd, this.scrub, this.label);
    root.addEventListener('keydown', (e) => this.key(e));
    root.addEventListener('keyup', (e) => { if (e.key === ' ' && this.owns(e)) e.preventDefault(); });
    if ('IntersectionObserver' in window) {
      new IntersectionObserver((entries) => {
        this.visible = entries[entries.length - 1].isIntersecting;
        this.schedule();
      }).observe(root);
    }
    this.setState(reduced() ? 'paused' : 'playing');
  }

  /** The steps of the current content; keeps the step (clamped), or goes to the end when paused by
   *  reduced motion at start (`finish`). */
  setSteps(count, draw, delay, finish = false) {
    this.count = Math.max(1, count);
    this.draw = draw;
    this.delay = delay;
    this.scrub.max = String(this.count - 1);
    this.go(finish ? this.count - 1 : Math.min(this.step, this.count - 1));
    this.schedule();
  }

  /** Keys are the player's unless a form control has them (its own scrubber excepted: space toggles). */
  owns(e) {
    const target = e.target;
    return target === this.scrub || !(['SELECT', 'INPUT', 'TEXTAREA'].includes(target.tagName) || target.isContentEditable);
  }

  key(e) {
    if (!this.owns(e) || e.altKey || e.ctrlKey || e.metaKey) return;
    if (e.key === ' ') this.toggle();
    else if (e.key === 'ArrowRight' && e.target !== this.scrub) this.go(this.step + 1, true);
    else if (e.key === 'ArrowLeft' && e.target !== this.scrub) this.go(this.step - 1, true);
    else return;
    e.preventDefault();
  }

  go(i, byHand = false) {
    if (byHand) this.setState('paused');
    this.step = Math.max(0, Math.min(this.count - 1, i));
    this.root.dataset.step = String(this.step);
    this.scrub.value = String(this.step);
    this.label.textContent = this.t.step.replace('{i}', this.step + 1).replace('{n}', this.count);
    this.draw(this.step);
    this.schedule();
  }

  toggle() {
    if (this.state === 'playing') this.setState('paused');
    else {
      if (this.step >= this.count - 1) this.go(0);
      this.setState('playing');
    }
  }

  setState(state) {
    this.state = state;
    this.root.dataset.state = state;
    const playing = state === 'playing';
    this.toggleBtn.textContent = playing ? '❙❙' : '▶';
    this.toggleBtn.setAttribute('aria-label', playing ? this.t.pause : this.t.play);
    this.toggleBtn.title = playing ? this.t.pause : this.t.play;
    this.toggleBtn.setAttribute('aria-pressed', String(playing));
    this.schedule();
  }

  schedule() {
    clearTimeout(this.timer);
    if (this.state !== 'playing' || !this.visible) return;
    const last = this.step >= this.count - 1;
    this.timer = setTimeout(() => this.go(last ? 0 : this.step + 1), last ? 2000 : this.delay(this.step));
  }
}

/** render/common.sweep_positions: the last position each step shows, `first` single steps then even
 *  jumps, at most `frames` steps over n positions (the GIFs' step order). */
export function sweepPositions(n, first, frames) {
  first = Math.min(first, n);
  const ends = [];
  for (let i = 1; i <= first; i++) ends.push(i);
  const rest = n - first, jumps = rest ? Math.max(1, Math.min(frames - first, rest)) : 0;
  for (let j = 0; j < jumps; j++) ends.push(first + Math.floor((rest * (j + 1)) / jumps));
  return ends.map((e) => e - 1);
}
