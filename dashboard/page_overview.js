// page_overview.js: the account at a glance: balance, running cost, budget, time left; spend
// this month by day and by provider (GET /api/volt/account/usage); pods by status and provider.

import { api, qs } from './api.js';
import { bars, columns } from './chart.js';
import { subscribe } from './events.js';
import { clear, guarded, h, money, perHour, section, stat, table } from './ui.js';

function hoursLeft(a) {
  const x = a.estimated_hours_left;
  if (x === null || x === undefined) return 'nothing runs';
  return x >= 48 ? `${(x / 24).toFixed(1)} days` : `${Number(x).toFixed(1)} h`;
}

// The last 14 UTC days, zero-filled from the usage groups.
function days(groups) {
  const by = new Map(groups.map((g) => [g.key, g.spend]));
  const out = [];
  const d = new Date();
  d.setUTCHours(0, 0, 0, 0);
  d.setUTCDate(d.getUTCDate() - 13);
  for (let i = 0; i < 14; i++) {
    const k = d.toISOString().slice(0, 10);
    out.push({ label: k.slice(8), value: by.get(k) || 0 }); // the day of the month
    d.setUTCDate(d.getUTCDate() + 1);
  }
  return out;
}

export default {
  id: 'overview',
  title: 'Overview',
  scope: null,
  render(root, ctx) {
    const head = h('div', { class: 'cards', id: 'overview-stats' });
    const charts = h('div', { class: 'row2' });
    const podsBox = h('div', {});
    root.append(h('h1', {}, 'Overview'), head, charts, podsBox);

    const load = () =>
      guarded(head, async () => {
        const a = await ctx.refreshAccount();
        clear(head).append(
          stat('Balance', money(a.balance), a.balance_low ? 'low balance' : null),
          stat('Running cost', perHour(a.running_cost_per_hour || 0)),
          stat('Budget used', a.budget_used_percent === null || a.budget_used_percent === undefined ? 'no budget' : `${Number(a.budget_used_percent).toFixed(1)}%`,
            a.monthly_budget ? `of ${money(a.monthly_budget)} this month` : null),
          stat('Time left', hoursLeft(a), 'at the running cost'));
      });

    const loadCharts = () =>
      guarded(charts, async () => {
        const from = new Date(Date.now() - 13 * 86400000);
        from.setUTCHours(0, 0, 0, 0);
        const [byDay, byProv] = await Promise.all([
          api('GET', '/api/volt/account/usage' + qs({ group_by: 'day', from: from.toISOString() })),
          api('GET', '/api/volt/account/usage' + qs({ group_by: 'provider', from: from.toISOString() })),
        ]);
        const fmt = (v) => money(v);
        clear(charts).append(
          section('Spend by day (14 days, UTC)', h('div', { id: 'chart-day' }, columns(days(byDay.groups || []), { format: fmt, title: 'Spend by day', minStep: 0.01 })),
            h('p', { class: 'muted' }, `Spent ${money(byDay.spend)}, credited ${money(byDay.credits)}.`)),
          section('Spend by provider', h('div', { id: 'chart-provider' },
            (byProv.groups || []).length ? bars((byProv.groups || []).map((g) => ({ label: g.key, value: g.spend })), { format: fmt, title: 'Spend by provider' })
              : h('p', { class: 'muted empty' }, 'No spend yet.'))));
      });

    const loadPods = () => {
      if (!ctx.has('pods')) return undefined;
      return guarded(podsBox, async () => {
        const r = await api('GET', '/api/volt/pods' + qs({ limit: 200 }));
        const count = new Map();
        for (const p of r.pods || []) {
          const k = `${p.provider || '-'}\u0000${p.status}`;
          count.set(k, (count.get(k) || 0) + 1);
        }
        const rows = [...count.entries()].map(([k, n]) => {
          const [provider, status] = k.split('\u0000');
          return { provider, status, n };
        }).sort((x, y) => x.provider.localeCompare(y.provider) || x.status.localeCompare(y.status));
        clear(podsBox).append(section('Pods by provider and status',
          table([
            { label: 'Provider', value: (x) => x.provider },
            { label: 'Status', value: (x) => x.status },
            { label: 'Pods', value: (x) => String(x.n), class: 'num' },
          ], rows, { empty: 'No pods.', class: 'pods-summary' })));
      });
    };

    load();
    loadCharts();
    loadPods();
    const live = ctx.has('pods') || ctx.has('fine-tuning') || ctx.has('webhooks')
      ? subscribe({ types: 'pod.*,fine_tuning.*,account.*', onEvent: () => { load(); loadPods(); }, onPoll: () => { load(); loadPods(); }, pollMs: 10000 })
      : null;
    return () => live && live.close();
  },
};
