// page_resources_util.js: pieces the Keys and Admin pages share: the box that shows a new
// secret once (an API key), and a form's error/submit handling.

import { getKey } from './api.js';
import { clear, copyButton, errorBox, h } from './ui.js';

// Shows secret once in a .secret box inside target: a copy button and "I have copied it", which
// removes the box (and with it the only reference the page keeps). Nothing is stored.
export function showSecret(target, title, secret, id) {
  const box = h('div', { class: 'secret', id, role: 'status' },
    h('strong', {}, title),
    h('p', { class: 'muted' }, 'Shown once: copy it now. It is not stored here and cannot be shown again.'),
    h('code', { class: 'mono secret-value' }, secret),
    h('div', { class: 'actions' },
      copyButton(secret),
      h('button', { type: 'button', class: 'primary', 'data-copied': '1', onclick: () => box.remove() }, 'I have copied it')));
  clear(target).appendChild(box);
  return box;
}

// The preview the API gives of a key (gpb_...abcd) for the signed-in key, to mark it.
export function ownPreview() {
  const k = getKey() || '';
  return k.length > 8 ? k.slice(0, 4) + '...' + k.slice(-4) : '';
}

// Wires a form: on submit, clears its error box, disables the submit button and runs fn();
// an error shows in the box (code and message); fn's own validation throws an Error.
export function onSubmit(form, errBox, fn) {
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    clear(errBox);
    const btn = form.querySelector('button[type=submit]');
    if (btn) btn.disabled = true;
    try {
      await fn();
    } catch (ex) {
      errBox.appendChild(errorBox(ex));
    } finally {
      if (btn) btn.disabled = false;
    }
  });
}

// A dollar amount typed by a person: digits with at most two decimals; returns the string.
export function dollars(text, what, { allowEmpty = false, min = 0 } = {}) {
  const s = String(text || '').trim();
  if (s === '' && allowEmpty) return '';
  if (!/^\d+(\.\d{1,2})?$/.test(s)) throw new Error(`${what}: a dollar amount such as 25 or 12.50`);
  if (Number(s) < min) throw new Error(`${what}: at least $${min.toFixed(2)}`);
  return s;
}
