// page_admin_health.js: the Admin page's providers with their health (GET
// /api/volt/admin/providers: name, kind, healthy, the last error as text) and the daemon's
// readiness (GET /readyz: its checks; a 503 "unready" answer still carries them).

import { api } from './api.js';
import { badge, clear, guarded, h, table, when } from './ui.js';

const okBadge = (ok) => badge(ok ? 'ok' : 'failed');

function checkRows(checks) {
  return Object.entries(checks || {}).map(([name, c]) => ({ id: name, name, ok: !!(c && c.ok), detail: (c && c.detail) || '', c }));
}

export function healthSections() {
  const provs = h('div', { id: 'admin-providers-list' });
  const ready = h('div', { id: 'admin-ready-list' });
  const els = [
    h('section', { class: 'card', id: 'admin-providers' }, h('h2', {}, 'Providers'), provs),
    h('section', { class: 'card', id: 'admin-ready' }, h('h2', {}, 'Readiness (/readyz)'), ready),
  ];

  const loadProviders = () => guarded(provs, async () => {
    const r = await api('GET', '/api/volt/admin/providers');
    const rows = (r.providers || []).map((p) => ({ ...p, id: p.name }));
    clear(provs).appendChild(table([
      { label: 'Name', value: (p) => p.name, class: 'nowrap' },
      { label: 'Kind', value: (p) => p.kind, class: 'nowrap' },
      { label: 'Health', value: (p) => h('span', { class: 'health', dataset: { healthy: String(!!p.healthy) } }, badge(p.healthy ? 'healthy' : 'unhealthy')), class: 'nowrap' },
      { label: 'Latency', value: (p) => (p.latency_ms === null || p.latency_ms === undefined ? '-' : `${p.latency_ms} ms`), class: 'num nowrap' },
      { label: 'Last success', value: (p) => when(p.last_success) },
      { label: 'Last error', value: (p) => (p.last_error ? h('span', { class: 'last-error' }, p.last_error, h('br', {}), h('small', { class: 'muted' }, when(p.last_error_at))) : '-') },
      { label: 'Base URL', value: (p) => h('code', {}, p.base_url || '-') },
    ], rows, { class: 'providers', empty: 'No providers registered (gpubroker providers add).' }));
  });

  const loadReady = () => guarded(ready, async () => {
    let r;
    try {
      r = await api('GET', '/readyz');
    } catch (e) {
      if (e.status !== 503 || !e.body || !e.body.checks) throw e;
      r = e.body; // unready: the checks say why
    }
    const rows = checkRows(r.checks);
    const workers = ((r.checks && r.checks.workers && r.checks.workers.workers) || []).filter((w) => !w.ok);
    const unhealthy = ((r.checks && r.checks.providers && r.checks.providers.providers) || []).filter((p) => !p.healthy);
    clear(ready).append(...[
      h('p', {}, h('span', { id: 'ready-status', dataset: { status: r.status || '' } }, badge(r.status === 'ready' ? 'ready' : 'failed')),
        ' ', r.status || 'unknown', r.version ? ` - gpubroker ${r.version}` : ''),
      table([
        { label: 'Check', value: (x) => x.name, class: 'nowrap' },
        { label: 'State', value: (x) => okBadge(x.ok) },
        { label: 'Detail', value: (x) => x.detail },
      ], rows, { class: 'ready-checks', empty: 'No checks.' }),
      workers.length ? h('p', { class: 'error' }, 'Stalled workers: ' + workers.map((w) => w.name).join(', ')) : null,
      unhealthy.length ? h('p', { class: 'muted' }, 'Unhealthy providers (listed, not unready): ' + unhealthy.map((p) => p.name).join(', ')) : null].filter(Boolean));
  });

  return {
    els,
    load() {
      loadProviders();
      loadReady();
    },
  };
}
