// app.js: the dashboard's shell (docs/dashboard.md): sign-in with an API key, the navigation
// (only the pages the key's scopes allow), and the hash router (#/pods, #/pods/ID, ...).
//
// A page is a module whose default export is
//   {id, title, scope, render(root, ctx, args) -> optional dispose function}
// scope: a scope name the key needs ('pods', 'machines', ...), 'admin', or null (any key).
// ctx: {account, has(scope), refreshAccount()}; args: the hash path after the page id.

import { api, clearKey, getKey, setKey } from './api.js';
import { clear, errorBox, field, h } from './ui.js';
import overview from './page_overview.js';
import pods from './page_pods.js';
import offers from './page_offers.js';
import jobs from './page_jobs.js';
import webhooks from './page_webhooks.js';
import resources from './page_resources.js';
import admin from './page_admin.js';

const PAGES = [overview, pods, offers, jobs, webhooks, resources, admin];

const state = { account: null, dispose: null };

function has(scope) {
  const sc = (state.account && state.account.scopes) || [];
  if (!scope) return true;
  if (sc.includes('admin')) return true;
  return scope !== 'admin' && sc.includes(scope);
}

const ctx = {
  get account() {
    return state.account;
  },
  has,
  async refreshAccount() {
    state.account = await api('GET', '/api/volt/account');
    return state.account;
  },
};

function dispose() {
  if (typeof state.dispose === 'function') {
    try {
      state.dispose();
    } catch {
      /* a page's cleanup failing must not stop the next page */
    }
  }
  state.dispose = null;
}

function signIn(message) {
  dispose();
  state.account = null;
  clear(document.getElementById('nav'));
  clear(document.getElementById('who'));
  document.getElementById('signout').hidden = true;
  const main = clear(document.getElementById('main'));
  const input = h('input', { type: 'password', name: 'api-key', id: 'api-key', autocomplete: 'off', required: true, spellcheck: 'false' });
  const err = h('div', {});
  const form = h('form', { class: 'card signin', id: 'signin' },
    h('h1', {}, 'Sign in'),
    h('p', { class: 'muted' }, 'With a gpubroker API key (gpubroker keys create, or the sandbox\'s demo key). It stays in this tab only.'),
    field('API key', input),
    err,
    h('button', { type: 'submit', class: 'primary' }, 'Sign in'));
  if (message) err.appendChild(errorBox({ message }));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    setKey(input.value.trim());
    try {
      state.account = await api('GET', '/api/volt/account', undefined, { noSignOut: true });
      if (!location.hash || location.hash === '#/' || location.hash === '#') location.hash = '#/overview';
      start();
    } catch (ex) {
      clearKey();
      clear(err).appendChild(errorBox(ex.status === 401 ? { message: 'That key is not valid.' } : ex));
    }
  });
  main.appendChild(form);
  input.focus();
}

function renderNav(current) {
  const nav = clear(document.getElementById('nav'));
  for (const p of PAGES)
    if (has(p.scope))
      nav.appendChild(h('a', { href: '#/' + p.id, class: p.id === current ? 'active' : '', 'aria-current': p.id === current ? 'page' : false }, p.title));
  const who = clear(document.getElementById('who'));
  who.appendChild(document.createTextNode(state.account.name + (state.account.is_admin ? ' (admin)' : '')));
  document.getElementById('signout').hidden = false;
}

function route() {
  const parts = (location.hash.replace(/^#\/?/, '') || 'overview').split('/').map(decodeURIComponent);
  const page = PAGES.find((p) => p.id === parts[0] && has(p.scope)) || PAGES[0];
  dispose();
  renderNav(page.id);
  document.getElementById('nav').classList.remove('open');
  document.title = page.title + ' - gpubroker';
  const main = clear(document.getElementById('main'));
  const root = h('div', { class: 'page page-' + page.id });
  main.appendChild(root);
  try {
    const d = page.render(root, ctx, parts.slice(1));
    if (d && typeof d.then === 'function')
      d.then((fn) => {
        state.dispose = fn;
      }).catch((e) => clear(root).appendChild(errorBox(e)));
    else state.dispose = d;
  } catch (e) {
    clear(root).appendChild(errorBox(e));
  }
}

async function start() {
  if (!getKey()) return signIn();
  if (!state.account) {
    try {
      state.account = await api('GET', '/api/volt/account', undefined, { noSignOut: true });
    } catch (e) {
      if (e.status === 401) {
        clearKey();
        return signIn('The key was refused; sign in again.');
      }
      clear(document.getElementById('main')).appendChild(errorBox(e));
      return undefined;
    }
  }
  route();
  return undefined;
}

window.addEventListener('hashchange', () => (state.account ? route() : start()));
window.addEventListener('gb-signed-out', () => {
  clearKey();
  signIn('The key was refused; sign in again.');
});
document.getElementById('signout').addEventListener('click', () => {
  clearKey();
  location.hash = '';
  signIn();
});
document.getElementById('menu').addEventListener('click', (e) => {
  const open = document.getElementById('nav').classList.toggle('open');
  e.currentTarget.setAttribute('aria-expanded', String(open));
});
start();
