// page_pods_detail.js: one pod (#/pods/<id>): its fields (GET /api/volt/pods/:id), the SSH
// command the provider gave (ssh_command, as `gpubroker pods get` prints it) with a copy
// button, its events (GET /pods/:id/events) and logs (GET /pods/:id/logs?tail=N) with a
// button (they are asked for when wanted: not every provider serves them) and a follow
// toggle that polls until the pod is settled, as
// `gpubroker pods logs --follow` does. Live: pod.* events of this pod reload it.

import { api, qs } from './api.js';
import { subscribe } from './events.js';
import { badge, clear, copyButton, errorBox, field, h, money, perHour, section, table, when } from './ui.js';
import { SETTLED, actionButtons, gpuText, uptimeText } from './page_pods_common.js';

const FOLLOW_MS = 3000;

function row(label, value) {
  return [h('dt', {}, label), h('dd', {}, value === undefined || value === null || value === '' ? '-' : value)];
}

export default function renderDetail(root, ctx, id) {
  const msg = h('div', { id: 'pod-msg' });
  const head = h('div', { class: 'page-head', id: 'pod-head' }, h('h1', {}, 'Pod'));
  const info = h('div', { id: 'pod-info' }, h('p', { class: 'muted' }, 'Loading...'));
  const access = h('div', { id: 'pod-access' });
  const events = h('div', { id: 'pod-events' });
  const logsPre = h('pre', { class: 'logs hidden', id: 'pod-logs' }, '');
  const logsMsg = h('div', { id: 'pod-logs-msg' });
  const tailSel = h('select', { id: 'pod-logs-tail' }, [100, 200, 1000, 10000].map((n) => h('option', { value: String(n), selected: n === 200 }, String(n))));
  const follow = h('input', { type: 'checkbox', id: 'pod-logs-follow' });
  const logsState = h('span', { class: 'muted', id: 'pod-logs-state' });
  root.append(
    h('p', {}, h('a', { href: '#/pods' }, '< All pods')),
    head, msg,
    h('div', { class: 'row2' }, section('Details', info), section('Access', access)),
    section('Events', events),
    section('Logs',
      h('div', { class: 'filters' }, field('Last lines', tailSel),
        h('label', { class: 'check' }, follow, ' Follow'),
        h('button', { type: 'button', id: 'pod-logs-refresh', class: 'secondary', onclick: () => loadLogs() }, 'Show logs'),
        logsState),
      logsMsg, logsPre));

  let pod = null;
  let closed = false;

  const drawPod = (p) => {
    clear(head).append(
      h('h1', { class: 'pod-title' }, p.name || p.id, ' ', badge(p.status)),
      actionButtons(p, msg, () => load()));
    clear(info).appendChild(h('dl', { class: 'kv' },
      row('ID', h('code', {}, p.id)),
      row('Name', p.name),
      row('Status', [badge(p.status), p.provider_status ? h('span', { class: 'muted' }, ' at the provider: ' + p.provider_status) : null]),
      row('Provider', p.provider),
      row('GPU', gpuText(p)),
      row('Machine', p.machine_id),
      row('Price', perHour(p.cost_per_hour)),
      row('Cost so far', h('span', { id: 'pod-total-cost' }, p.job_id ? 'paid by job ' + p.job_id : money(p.total_cost))),
      row('Uptime', uptimeText(p.uptime_hours)),
      row('Image', p.image),
      row('CPU / RAM', p.cpu_cores || p.ram_gb ? `${p.cpu_cores || 0} vCPU, ${p.ram_gb || 0} GB` : null),
      row('Guards', [p.max_duration ? `stops after ${uptimeText(p.max_duration / 3600)}` : null, p.max_cost ? `stops at ${money(p.max_cost)}` : null].filter(Boolean).join('; ')),
      p.stop_reason ? row('Stopped because', p.stop_reason) : null,
      p.message ? row('Message', p.message) : null,
      row('Created', when(p.created_at)),
      p.stopped_at ? row('Stopped', when(p.stopped_at)) : null));
    const bits = [];
    if (p.ssh_command)
      bits.push(h('div', { class: 'ssh' }, h('code', { id: 'pod-ssh' }, p.ssh_command), ' ', copyButton(p.ssh_command, 'Copy')));
    if (p.url) bits.push(h('p', {}, 'URL: ', h('code', { id: 'pod-url' }, p.url), ' ', copyButton(p.url, 'Copy')));
    if (p.ip) bits.push(h('p', { class: 'muted' }, `IP ${p.ip}` + (p.ssh_port ? `, SSH port ${p.ssh_port}` : '')));
    if (!bits.length)
      bits.push(h('p', { class: 'muted', id: 'pod-no-ssh' }, SETTLED.has(p.status) ? 'The pod is not running.'
        : p.status === 'running' ? `${p.provider} gives no SSH command or URL for this pod.` : 'Not reachable yet: the command shows once the provider gives it.'));
    clear(access).append(...bits);
  };

  const loadEvents = async () => {
    try {
      const r = await api('GET', '/api/volt/pods/' + encodeURIComponent(id) + '/events');
      const evs = (r.events || []).slice().reverse(); // newest first
      clear(events).appendChild(table([
        { label: 'At', value: (e) => when(e.at) },
        { label: 'Event', value: (e) => e.type },
        { label: 'Change', value: (e) => (e.from || e.to ? `${e.from || '-'} -> ${e.to || '-'}` : '') },
        { label: 'Message', value: (e) => e.message || '' },
      ], evs, { empty: 'No events.', class: 'pod-events' }));
    } catch (e) {
      clear(events).appendChild(errorBox(e));
    }
  };

  const load = async () => {
    try {
      pod = await api('GET', '/api/volt/pods/' + encodeURIComponent(id));
      if (closed) return;
      document.title = (pod.name || pod.id) + ' - gpubroker';
      drawPod(pod);
      clear(msg);
      // logs refused while the create was at the platform: try again once it runs
      if (logsErr === 'CONFLICT' && pod.status === 'running') loadLogs();
    } catch (e) {
      clear(msg).appendChild(errorBox(e));
      if (e.status === 404) clear(info);
    }
    await loadEvents();
  };

  let followTimer = 0;
  let logsErr = '';
  const loadLogs = async () => {
    clearTimeout(followTimer);
    try {
      const r = await api('GET', '/api/volt/pods/' + encodeURIComponent(id) + '/logs' + qs({ tail: tailSel.value }));
      if (closed) return;
      clear(logsMsg);
      logsErr = '';
      const atEnd = logsPre.scrollTop + logsPre.clientHeight >= logsPre.scrollHeight - 4;
      logsPre.textContent = r.logs || '(no lines yet)';
      logsPre.classList.remove('hidden');
      root.querySelector('#pod-logs-refresh').textContent = 'Refresh';
      if (atEnd) logsPre.scrollTop = logsPre.scrollHeight;
      logsState.textContent = 'as of ' + new Date().toLocaleTimeString();
      if (follow.checked && SETTLED.has(r.status)) {
        follow.checked = false;
        logsState.textContent += ` (the pod is ${r.status}: not following)`;
      }
    } catch (e) {
      if (closed) return;
      clear(logsMsg).appendChild(errorBox(e));
      logsErr = e.code || 'ERROR';
      if (e.code === 'NOT_SUPPORTED') follow.checked = false;
    }
    if (follow.checked && !closed) followTimer = setTimeout(loadLogs, FOLLOW_MS);
  };
  follow.addEventListener('change', () => (follow.checked ? loadLogs() : clearTimeout(followTimer)));
  tailSel.addEventListener('change', () => loadLogs());

  let debounce = 0;
  const live = subscribe({
    types: 'pod.*',
    id,
    onEvent: () => {
      clearTimeout(debounce);
      debounce = setTimeout(load, 200);
    },
    onPoll: load,
    pollMs: 5000,
  });
  load();
  return () => {
    closed = true;
    live.close();
    clearTimeout(debounce);
    clearTimeout(followTimer);
  };
}
