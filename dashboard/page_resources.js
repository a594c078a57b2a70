// page_resources.js: the account's keys and resources, each section shown when the key has its
// scope: API keys (create shows the key once; revoke), SSH keys (add a public key, fingerprint;
// delete), registry credentials (the password is sent once and never shown) and templates
// (page_resources_templates.js). Routes: docs/api.md (api-keys, ssh-keys, docker-credentials).

import { api } from './api.js';
import { clear, confirmDialog, field, guarded, h, section, table, toast, when } from './ui.js';
import { onSubmit, ownPreview, showSecret } from './page_resources_util.js';
import { templatesSection } from './page_resources_templates.js';

function apiKeysSection(ctx) {
  const list = h('div', { id: 'apikeys-list' });
  const created = h('div', { id: 'apikey-created' });
  const err = h('div', { class: 'form-error' });
  const name = h('input', { id: 'apikey-name', name: 'name', required: true, maxlength: '128', autocomplete: 'off' });
  const scopes = (ctx.account && ctx.account.scopes) || [];
  const boxes = scopes.map((s) => h('input', { type: 'checkbox', name: 'scope', value: s, checked: s !== 'admin', dataset: { scope: s } }));
  const form = h('form', { class: 'inline', id: 'apikey-form' },
    field('Name', name),
    h('fieldset', { class: 'scopes' }, h('legend', {}, 'Scopes'),
      boxes.map((b, i) => h('label', { class: 'check' }, b, ' ', scopes[i]))),
    h('button', { type: 'submit', class: 'primary' }, 'Create key'));

  const load = () => guarded(list, async () => {
    const r = await api('GET', '/api/volt/api-keys');
    const mine = ownPreview();
    clear(list).appendChild(table([
      { label: 'Name', value: (k) => [k.name, k.key_preview === mine ? h('span', { class: 'badge this-key' }, 'this key') : null] },
      { label: 'Key', value: (k) => h('code', {}, k.key_preview), class: 'nowrap' },
      { label: 'Scopes', value: (k) => (k.scopes || []).join(', ') },
      { label: 'Last used', value: (k) => when(k.last_used) },
      { label: 'Created', value: (k) => when(k.created_at) },
      { label: '', value: (k) => h('button', { type: 'button', class: 'small danger', 'data-action': 'revoke', onclick: () => revoke(k, k.key_preview === mine) }, 'Revoke') },
    ], r.api_keys || [], { class: 'apikeys', empty: 'No API keys.' }));
  });

  async function revoke(k, self) {
    const lines = [`Revoke the key "${k.name}" (${k.key_preview})? Anything using it is refused at once.`];
    if (self) lines.push('This is the key this page is signed in with: you will be signed out.');
    if (!(await confirmDialog('Revoke API key', lines, 'Revoke', true))) return;
    await guarded(list, async () => {
      await api('DELETE', '/api/volt/api-keys', { key_id: k.id });
      toast(`Revoked ${k.name}`);
      await load();
    });
  }

  onSubmit(form, err, async () => {
    const chosen = boxes.filter((b) => b.checked).map((b) => b.value);
    if (!chosen.length) throw new Error('Choose at least one scope.');
    const r = await api('POST', '/api/volt/api-keys', { name: name.value.trim(), scopes: chosen });
    showSecret(created, `New API key "${r.name}" (${(r.scopes || []).join(', ')})`, r.key, 'apikey-secret');
    name.value = '';
    await load();
  });

  load();
  return section('API keys', list, h('h3', {}, 'Create a key'), form, err, created);
}

function sshKeysSection() {
  const list = h('div', { id: 'sshkeys-list' });
  const err = h('div', { class: 'form-error' });
  const name = h('input', { id: 'sshkey-name', name: 'name', required: true, maxlength: '128', autocomplete: 'off' });
  const key = h('textarea', { id: 'sshkey-public', name: 'public_key', required: true, spellcheck: 'false', placeholder: 'ssh-ed25519 AAAA... you@host' });
  const form = h('form', { class: 'stack', id: 'sshkey-form' },
    field('Name', name),
    field('Public key', key, 'The contents of ~/.ssh/id_ed25519.pub (ed25519, RSA of 2048 bits or more, ECDSA).'),
    h('div', {}, h('button', { type: 'submit', class: 'primary' }, 'Add SSH key')));

  const load = () => guarded(list, async () => {
    const r = await api('GET', '/api/volt/ssh-keys');
    clear(list).appendChild(table([
      { label: 'Name', value: (k) => k.name },
      { label: 'Type', value: (k) => String(k.public_key || '').split(' ')[0] },
      { label: 'Fingerprint', value: (k) => h('code', { class: 'fingerprint' }, k.fingerprint) },
      { label: 'Added', value: (k) => when(k.created_at) },
      { label: '', value: (k) => h('button', { type: 'button', class: 'small danger', 'data-action': 'delete', onclick: () => remove(k) }, 'Delete') },
    ], r.ssh_keys || [], { class: 'sshkeys', empty: 'No SSH keys.' }));
  });

  async function remove(k) {
    if (!(await confirmDialog('Delete SSH key', [`Delete the SSH key "${k.name}" (${k.fingerprint})? Pods made later cannot use it; running pods keep it.`], 'Delete', true))) return;
    await guarded(list, async () => {
      await api('DELETE', '/api/volt/ssh-keys/' + encodeURIComponent(k.id));
      toast(`Deleted ${k.name}`);
      await load();
    });
  }

  onSubmit(form, err, async () => {
    const r = await api('POST', '/api/volt/ssh-keys', { name: name.value.trim(), public_key: key.value.trim() }, { idem: true });
    toast(`Added ${r.name}: ${r.fingerprint}`);
    form.reset();
    await load();
  });

  load();
  return section('SSH keys', list, h('h3', {}, 'Add a key'), form, err);
}

function credentialsSection(onChange) {
  const list = h('div', { id: 'creds-list' });
  const err = h('div', { class: 'form-error' });
  const inp = (id, attrs = {}) => h('input', { id, required: true, maxlength: '256', autocomplete: 'off', spellcheck: 'false', ...attrs });
  const name = inp('cred-name'), registry = inp('cred-registry', { placeholder: 'ghcr.io' }), user = inp('cred-username');
  const pass = inp('cred-password', { type: 'password', autocomplete: 'new-password', maxlength: '8192' });
  const form = h('form', { class: 'inline', id: 'cred-form' },
    field('Name', name), field('Registry', registry), field('Username', user),
    field('Password or token', pass), h('button', { type: 'submit', class: 'primary' }, 'Add credential'));

  const load = () => guarded(list, async () => {
    const r = await api('GET', '/api/volt/docker-credentials');
    clear(list).appendChild(table([
      { label: 'Name', value: (c) => c.name },
      { label: 'Registry', value: (c) => c.registry },
      { label: 'Username', value: (c) => c.username },
      { label: 'Added', value: (c) => when(c.created_at) },
      { label: '', value: (c) => h('button', { type: 'button', class: 'small danger', 'data-action': 'delete', onclick: () => remove(c) }, 'Delete') },
    ], r.credentials || [], { class: 'creds', empty: 'No registry credentials.' }));
    onChange(r.credentials || []);
  });

  async function remove(c) {
    if (!(await confirmDialog('Delete credential', [`Delete the credential "${c.name}" (${c.username} at ${c.registry})?`], 'Delete', true))) return;
    await guarded(list, async () => {
      await api('DELETE', '/api/volt/docker-credentials/' + encodeURIComponent(c.id));
      toast(`Deleted ${c.name}`);
      await load();
    });
  }

  onSubmit(form, err, async () => {
    const body = { name: name.value.trim(), registry: registry.value.trim(), username: user.value.trim(), password: pass.value };
    pass.value = ''; // the password leaves the page with this request and is never shown again
    const r = await api('POST', '/api/volt/docker-credentials', body, { idem: true });
    toast(`Added ${r.name}`);
    form.reset();
    await load();
  });

  load();
  return section('Registry credentials', list, h('h3', {}, 'Add a credential'),
    h('p', { class: 'muted' }, 'The password is sealed in the broker\'s vault and never shown again.'), form, err);
}

export default {
  id: 'resources',
  title: 'Keys',
  scope: null,
  render(root, ctx) {
    root.appendChild(h('h1', {}, 'Keys and resources'));
    const parts = [];
    if (ctx.has('api-keys')) parts.push(apiKeysSection(ctx));
    if (ctx.has('ssh-keys')) parts.push(sshKeysSection());
    const tpl = ctx.has('templates') ? templatesSection() : null;
    if (ctx.has('docker-credentials')) parts.push(credentialsSection((creds) => tpl && tpl.setCredentials(creds)));
    if (tpl) parts.push(tpl.el);
    if (!parts.length) parts.push(h('p', { class: 'muted empty' }, 'This key may not manage API keys, SSH keys, registry credentials or templates.'));
    root.append(...parts);
  },
};
