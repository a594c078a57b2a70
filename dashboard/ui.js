// ui.js: building the page safely. Every text from the broker, a provider or a user goes in as
// a text node (h() never sets innerHTML), so a pod named <img src=x onerror=...> shows as text.

// h('div', {class: 'x', onclick: fn, title: 't'}, 'text', child, [more]) -> element.
export function h(tag, attrs, ...kids) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on')) {
      if (typeof v !== 'function') throw new Error('h(): ' + k + ' must be a function');
      el.addEventListener(k.slice(2), v);
    } else if (k === 'class') {
      el.className = v;
    } else if (k === 'dataset') {
      Object.assign(el.dataset, v);
    } else if (k === 'value') {
      el.value = v;
    } else if (k === 'checked' || k === 'disabled' || k === 'selected' || k === 'hidden' || k === 'required') {
      el[k] = !!v;
    } else if (k === 'innerHTML' || k === 'outerHTML') {
      throw new Error('h(): no HTML');
    } else {
      el.setAttribute(k, v === true ? '' : String(v));
    }
  }
  append(el, kids);
  return el;
}

function append(el, kids) {
  for (const k of kids) {
    if (k === undefined || k === null || k === false) continue;
    if (Array.isArray(k)) append(el, k);
    else if (k instanceof Node) el.appendChild(k);
    else el.appendChild(document.createTextNode(String(k)));
  }
}

export function clear(el) {
  while (el.firstChild) el.removeChild(el.firstChild);
  return el;
}

// Money: the API gives dollars as numbers; per-hour rates get more digits.
export function money(x, digits = 2) {
  if (x === undefined || x === null || Number.isNaN(Number(x))) return '-';
  return '$' + Number(x).toFixed(digits);
}

export function perHour(x) {
  if (x === undefined || x === null) return '-';
  return money(x, x > 0 && x < 1 ? 4 : 2) + '/h';
}

export function when(iso) {
  if (!iso) return '-';
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? String(iso) : d.toLocaleString();
}

export function duration(ms) {
  if (ms === undefined || ms === null || ms < 0) return '-';
  const s = Math.floor(ms / 1000);
  const d = Math.floor(s / 86400), hh = Math.floor((s % 86400) / 3600), m = Math.floor((s % 3600) / 60);
  return d ? `${d}d ${hh}h` : hh ? `${hh}h ${m}m` : `${m}m ${s % 60}s`;
}

export function badge(status) {
  return h('span', { class: 'badge st-' + String(status || 'unknown').replace(/[^a-z_]/g, '') }, status || 'unknown');
}

// A table: cols [{label, value(row) -> string|Node, class?}], rows [...]; a row's data-id is
// row.id so tests and links can find it.
export function table(cols, rows, opts = {}) {
  if (!rows || rows.length === 0) return h('p', { class: 'muted empty' }, opts.empty || 'Nothing yet.');
  return h('div', { class: 'scroll' },
    h('table', { class: 'grid' + (opts.class ? ' ' + opts.class : '') },
      h('thead', {}, h('tr', {}, cols.map((c) => h('th', { class: c.class }, c.label)))),
      h('tbody', {}, rows.map((r) =>
        h('tr', { dataset: r && r.id !== undefined ? { id: String(r.id) } : undefined },
          cols.map((c) => h('td', { class: c.class, 'data-label': c.label }, c.value(r))))))));
}

export function section(title, ...kids) {
  return h('section', { class: 'card' }, h('h2', {}, title), kids);
}

export function stat(label, value, note) {
  return h('div', { class: 'stat' }, h('div', { class: 'stat-label' }, label),
    h('div', { class: 'stat-value' }, value), note ? h('div', { class: 'stat-note' }, note) : null);
}

export function errorBox(err) {
  const code = err && err.code ? err.code + ': ' : '';
  return h('div', { class: 'error', role: 'alert' }, code + ((err && err.message) || String(err)));
}

let toastTimer = 0;
export function toast(msg, kind = 'ok') {
  const t = document.getElementById('toast');
  if (!t) return;
  clear(t).appendChild(h('div', { class: 'toast ' + kind }, msg));
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => clear(t), 5000);
}

// A modal confirmation: resolves true when confirmed. lines are shown as text.
export function confirmDialog(title, lines, okLabel = 'Confirm', danger = false) {
  return new Promise((resolve) => {
    const done = (v) => {
      dlg.close();
      dlg.remove();
      resolve(v);
    };
    const dlg = h('dialog', { class: 'confirm', 'aria-label': title },
      h('h3', {}, title),
      (Array.isArray(lines) ? lines : [lines]).map((l) => (l instanceof Node ? l : h('p', {}, l))),
      h('div', { class: 'actions' },
        h('button', { type: 'button', class: 'secondary', onclick: () => done(false) }, 'Cancel'),
        h('button', { type: 'button', class: danger ? 'danger' : 'primary', 'data-confirm': '1', onclick: () => done(true) }, okLabel)));
    dlg.addEventListener('cancel', (e) => {
      e.preventDefault();
      done(false);
    });
    document.body.appendChild(dlg);
    dlg.showModal();
  });
}

export function copyButton(text, label = 'Copy') {
  const b = h('button', { type: 'button', class: 'small secondary', title: 'Copy to the clipboard' }, label);
  b.addEventListener('click', async () => {
    try {
      await navigator.clipboard.writeText(text);
      toast('Copied');
    } catch {
      // no clipboard (plain http on another host): select the text for a manual copy
      const ta = h('textarea', { readonly: true, class: 'copy-fallback' });
      ta.value = text;
      b.after(ta);
      ta.select();
    }
  });
  return b;
}

// A labelled form field.
export function field(label, input, hint) {
  return h('label', { class: 'field' }, h('span', {}, label), input, hint ? h('small', { class: 'muted' }, hint) : null);
}

// Runs fn, showing its error in place of the target's content when it fails.
export async function guarded(target, fn) {
  try {
    return await fn();
  } catch (e) {
    if (e && e.name === 'AbortError') return undefined;
    clear(target).appendChild(errorBox(e));
    return undefined;
  }
}
