// page_resources_templates.js: the Keys page's templates section: the system templates and the
// account's own (GET /api/volt/templates), create one (name, image, registry credential, ports,
// environment) and delete the account's own (system templates cannot be changed).

import { api } from './api.js';
import { clear, confirmDialog, field, guarded, h, section, table, toast, when } from './ui.js';
import { onSubmit } from './page_resources_util.js';

// "22, 8888" -> [22, 8888]
export function parsePorts(text) {
  const parts = String(text || '').split(/[\s,]+/).filter(Boolean);
  return parts.map((p) => {
    if (!/^\d+$/.test(p) || Number(p) < 1 || Number(p) > 65535) throw new Error(`Ports: "${p}" is not a port (1 to 65535)`);
    return Number(p);
  });
}

// "KEY=value" lines -> {KEY: "value"}
export function parseEnv(text) {
  const env = {};
  for (const raw of String(text || '').split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const i = line.indexOf('=');
    if (i < 1) throw new Error(`Environment: "${line}" is not NAME=value`);
    const k = line.slice(0, i).trim();
    if (Object.prototype.hasOwnProperty.call(env, k)) throw new Error(`Environment: ${k} is given twice`);
    env[k] = line.slice(i + 1);
  }
  return env;
}

// -> {el, setCredentials(list)}: the credentials section passes the account's credentials
// for the form's select (without the docker-credentials scope there is no select).
export function templatesSection() {
  const list = h('div', { id: 'templates-list' });
  const err = h('div', { class: 'form-error' });
  const name = h('input', { id: 'tpl-name', required: true, maxlength: '128', autocomplete: 'off' });
  const image = h('input', { id: 'tpl-image', required: true, maxlength: '512', autocomplete: 'off', spellcheck: 'false', placeholder: 'ubuntu:22.04' });
  const cred = h('select', { id: 'tpl-credential' }, h('option', { value: '' }, 'none (a public image)'));
  const credField = field('Registry credential', cred);
  credField.hidden = true;
  const ports = h('input', { id: 'tpl-ports', autocomplete: 'off', placeholder: '22, 8888' });
  const env = h('textarea', { id: 'tpl-env', spellcheck: 'false', placeholder: 'NAME=value, one a line' });
  const desc = h('input', { id: 'tpl-description', maxlength: '1024', autocomplete: 'off' });
  const form = h('form', { class: 'stack', id: 'tpl-form' },
    h('div', { class: 'inline' }, field('Name', name), field('Image', image), credField, field('Ports', ports, 'comma-separated')),
    field('Description', desc),
    field('Environment', env),
    h('div', {}, h('button', { type: 'submit', class: 'primary' }, 'Create template')));
  let creds = [];

  const load = () => guarded(list, async () => {
    const r = await api('GET', '/api/volt/templates');
    const rows = (r.templates || []).slice().sort((a, b) => Number(a.is_system) - Number(b.is_system));
    clear(list).appendChild(table([
      { label: 'Name', value: (t) => t.name },
      { label: 'Image', value: (t) => h('code', {}, t.image) },
      { label: 'Category', value: (t) => t.category || '-' },
      { label: 'Ports', value: (t) => (t.ports || []).join(', ') || '-' },
      { label: 'Kind', value: (t) => (t.is_system ? 'system' : 'own') },
      { label: 'Created', value: (t) => when(t.created_at) },
      { label: '', value: (t) => (t.is_system ? null : h('button', { type: 'button', class: 'small danger', 'data-action': 'delete', onclick: () => remove(t) }, 'Delete')) },
    ], rows, { class: 'templates', empty: 'No templates.' }));
  });

  async function remove(t) {
    if (!(await confirmDialog('Delete template', [`Delete the template "${t.name}" (${t.image})? Pods made from it are not affected.`], 'Delete', true))) return;
    await guarded(list, async () => {
      await api('DELETE', '/api/volt/templates/' + encodeURIComponent(t.id));
      toast(`Deleted ${t.name}`);
      await load();
    });
  }

  onSubmit(form, err, async () => {
    const body = { name: name.value.trim(), image: image.value.trim(), ports: parsePorts(ports.value), env_vars: parseEnv(env.value) };
    if (desc.value.trim()) body.description = desc.value.trim();
    if (cred.value) body.docker_credential_id = cred.value;
    const r = await api('POST', '/api/volt/templates', body, { idem: true });
    toast(`Created ${r.name}`);
    form.reset();
    await load();
  });

  load();
  return {
    el: section('Templates', list, h('h3', {}, 'Create a template'), form, err),
    setCredentials(list2) {
      creds = list2;
      const keep = cred.value;
      while (cred.options.length > 1) cred.remove(1);
      for (const c of creds) cred.appendChild(h('option', { value: c.id }, `${c.name} (${c.username} at ${c.registry})`));
      cred.value = creds.some((c) => c.id === keep) ? keep : '';
      credField.hidden = false;
    },
  };
}
