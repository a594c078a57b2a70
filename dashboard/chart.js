// chart.js: small SVG bar charts for the spend reports. Hand-written rather than a chart library:
// two bar charts need ~80 lines, the daemon embeds its assets in its binary, and no npm step is
// then needed to build the daemon (docs/dashboard.md, "Why no chart library").

const NS = 'http://www.w3.org/2000/svg';

function s(tag, attrs, text) {
  const el = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs || {})) el.setAttribute(k, String(v));
  if (text !== undefined) el.textContent = String(text);
  return el;
}

function nice(max) {
  if (!(max > 0)) return 1;
  const p = 10 ** Math.floor(Math.log10(max));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= max) return m * p;
  return 10 * p;
}

// The axis's top: four equal steps, each a round number no smaller than minStep (a step of
// $0.0125 shown to the cent would read $0.01, $0.03: uneven labels for even lines).
function axisTop(max, minStep) {
  return 4 * Math.max(minStep, max > 0 ? nice(max / 4) : 0.25); // nothing yet: 0 to 1
}

// Vertical bars: items [{label, value}], format(value) -> text. Returns an <svg>.
export function columns(items, { format = String, title = '', height = 180, minStep = 0 } = {}) {
  const w = Math.max(320, items.length * 28 + 60), hgt = height, left = 50, bottom = 28, top = 8;
  const max = axisTop(Math.max(0, ...items.map((i) => i.value)), minStep);
  const svg = s('svg', { viewBox: `0 0 ${w} ${hgt}`, class: 'chart', role: 'img', 'aria-label': title });
  if (title) svg.appendChild(s('title', {}, title));
  const ph = hgt - bottom - top, bw = Math.max(4, (w - left - 10) / Math.max(1, items.length) - 6);
  for (let k = 0; k <= 4; k++) {
    const y = top + ph - (ph * k) / 4;
    svg.appendChild(s('line', { x1: left, x2: w - 5, y1: y, y2: y, class: 'gridline' }));
    svg.appendChild(s('text', { x: left - 4, y: y + 3, 'text-anchor': 'end', class: 'axis' }, format((max * k) / 4)));
  }
  items.forEach((it, i) => {
    const x = left + 3 + i * (bw + 6), bh = (ph * Math.max(0, it.value)) / max;
    const r = s('rect', { x, y: top + ph - bh, width: bw, height: bh, class: 'bar' });
    r.appendChild(s('title', {}, `${it.label}: ${format(it.value)}`));
    svg.appendChild(r);
    if (items.length <= 16 || i % Math.ceil(items.length / 16) === 0)
      svg.appendChild(s('text', { x: x + bw / 2, y: hgt - 10, 'text-anchor': 'middle', class: 'label' }, it.label));
  });
  return svg;
}

// Horizontal bars, one per item, labelled: for a few groups (providers).
export function bars(items, { format = String, title = '' } = {}) {
  const rowH = 22, w = 480, left = 130, hgt = Math.max(1, items.length) * rowH + 8;
  const max = nice(Math.max(0, ...items.map((i) => i.value)));
  const svg = s('svg', { viewBox: `0 0 ${w} ${hgt}`, class: 'chart', role: 'img', 'aria-label': title });
  if (title) svg.appendChild(s('title', {}, title));
  items.forEach((it, i) => {
    const y = 4 + i * rowH, bw = ((w - left - 80) * Math.max(0, it.value)) / max;
    svg.appendChild(s('text', { x: left - 6, y: y + 14, 'text-anchor': 'end', class: 'label' }, it.label));
    svg.appendChild(s('rect', { x: left, y: y + 3, width: Math.max(1, bw), height: rowH - 8, class: 'c' + (i % 6) }));
    svg.appendChild(s('text', { x: left + bw + 6, y: y + 14, class: 'label' }, format(it.value)));
  });
  return svg;
}
