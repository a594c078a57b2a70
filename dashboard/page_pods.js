// page_pods.js: the account's pods (#/pods), live: the list (GET /api/volt/pods) is reloaded
// when a pod.* event arrives on the event stream (polling when the stream is not there); cost
// so far and uptime come from each pod's own answer (GET /api/volt/pods/:id, which the list
// does not carry), fetched when a pod is new, its status changed or an event named it, and
// advanced locally between answers for running pods. Filters by status and provider; stop,
// start and delete behind a confirmation. #/pods/<id> is a pod's page (page_pods_detail.js).

import { api, qs } from './api.js';
import { subscribe } from './events.js';
import { badge, clear, errorBox, field, h, money, perHour, table, when } from './ui.js';
import { STATUSES, actionButtons, gpuText, uptimeText } from './page_pods_common.js';
import renderDetail from './page_pods_detail.js';

const DETAIL_MAX = 100; // at most this many pods' own answers per load (the rate limit is per hour)
const ACTIVE = new Set(['pending', 'deploying', 'running', 'stopping']);

function renderList(root, ctx) {
  const st = { status: '', provider: '', pods: [], total: 0, details: new Map(), providers: new Set(), named: new Set(), seq: 0 };
  const msg = h('div', { id: 'pods-msg' });
  const statusSel = h('select', { id: 'pods-status', name: 'status' },
    h('option', { value: '' }, 'any (not deleted)'), STATUSES.map((s) => h('option', { value: s }, s)));
  const provSel = h('select', { id: 'pods-provider', name: 'provider' }, h('option', { value: '' }, 'any'));
  const count = h('span', { class: 'muted', id: 'pods-count' });
  const box = h('div', { id: 'pods-table' }, h('p', { class: 'muted' }, 'Loading...'));
  root.append(
    h('div', { class: 'page-head' }, h('h1', {}, 'Pods'), ctx.has('machines') ? h('a', { href: '#/offers', class: 'button-link', id: 'pods-place' }, 'Place a pod') : null),
    h('section', { class: 'card' },
      h('div', { class: 'filters' }, field('Status', statusSel), field('Provider', provSel), count),
      msg, box));

  const fillProviders = () => {
    const have = new Set([...provSel.options].map((o) => o.value));
    for (const p of [...st.providers].sort()) if (!have.has(p)) provSel.appendChild(h('option', { value: p }, p));
  };

  // The pods' own answers: for cost so far and uptime; fetched only when something changed.
  const fetchDetails = async (pods) => {
    const want = pods.filter((p) => {
      const d = st.details.get(p.id);
      return !d || d.status !== p.status || st.named.has(p.id) || (ACTIVE.has(p.status) && !d.fresh);
    }).slice(0, DETAIL_MAX);
    st.named.clear();
    let i = 0;
    const worker = async () => {
      while (i < want.length) {
        const p = want[i++];
        try {
          const d = await api('GET', '/api/volt/pods/' + encodeURIComponent(p.id));
          d.fetchedAt = Date.now();
          d.fresh = true;
          st.details.set(p.id, d);
        } catch (e) {
          if (e.status !== 404) throw e;
        }
      }
    };
    await Promise.all([worker(), worker(), worker(), worker()]);
  };

  // Cost so far and uptime, advanced from the pod's last answer while it runs.
  const meter = (p) => {
    const d = st.details.get(p.id);
    if (!d) return { cost: null, up: null };
    if (d.status !== 'running' || p.status !== 'running') return { cost: d.total_cost, up: d.uptime_hours };
    const hrs = (Date.now() - d.fetchedAt) / 3600000;
    return { cost: (d.total_cost || 0) + (d.job_id ? 0 : hrs * (d.cost_per_hour || 0)), up: (d.uptime_hours || 0) + hrs };
  };

  const draw = () => {
    const rows = st.pods;
    count.textContent = `${rows.length} of ${st.total} pod${st.total === 1 ? '' : 's'}`;
    clear(box).appendChild(table([
      { label: 'Name', value: (p) => h('a', { href: '#/pods/' + encodeURIComponent(p.id), class: 'pod-name' }, p.name || p.id) },
      { label: 'Provider', value: (p) => p.provider || '-' },
      { label: 'GPU', value: (p) => gpuText(p) },
      { label: 'Status', value: (p) => badge(p.status) },
      { label: '$/h', value: (p) => perHour(p.cost_per_hour), class: 'num' },
      { label: 'Cost so far', value: (p) => h('span', { class: 'pod-cost', dataset: { pod: p.id } }, money(meter(p).cost)), class: 'num' },
      { label: 'Uptime', value: (p) => h('span', { class: 'pod-uptime', dataset: { pod: p.id } }, uptimeText(meter(p).up)), class: 'num' },
      { label: 'Created', value: (p) => when(p.created_at) },
      // the confirmation names the cost so far from the pod's own answer; the list's status wins
      { label: '', value: (p) => actionButtons({ ...st.details.get(p.id), ...p, total_cost: meter(p).cost ?? undefined }, msg, () => load()), class: 'row-actions' },
    ], rows, { empty: st.status || st.provider ? 'No pod matches these filters.' : 'No pods yet: place one from the offers page.', class: 'pods' }));
  };

  // Only the cells of running pods change between loads.
  const tick = () => {
    for (const p of st.pods) {
      if (p.status !== 'running') continue;
      const m = meter(p);
      for (const el of box.querySelectorAll('.pod-cost')) if (el.dataset.pod === p.id) el.textContent = money(m.cost);
      for (const el of box.querySelectorAll('.pod-uptime')) if (el.dataset.pod === p.id) el.textContent = uptimeText(m.up);
    }
  };

  let loading = null, again = false;
  const load = async () => {
    if (loading) {
      again = true;
      return loading;
    }
    const seq = ++st.seq;
    loading = (async () => {
      try {
        const r = await api('GET', '/api/volt/pods' + qs({ status: st.status, provider: st.provider }));
        if (seq !== st.seq) return;
        st.pods = r.pods || [];
        st.total = r.total || 0;
        for (const p of st.pods) if (p.provider) st.providers.add(p.provider);
        fillProviders();
        draw();
        await fetchDetails(st.pods);
        if (seq !== st.seq) return;
        draw();
        clear(msg);
      } catch (e) {
        if (e.name !== 'AbortError') clear(msg).appendChild(errorBox(e));
      }
    })();
    try {
      await loading;
    } finally {
      loading = null;
    }
    if (again) {
      again = false;
      await load();
    }
    return undefined;
  };

  const onFilter = () => {
    st.status = statusSel.value;
    st.provider = provSel.value;
    st.seq++; // an answer to the old filters is dropped
    loading = null;
    load();
  };
  statusSel.addEventListener('change', onFilter);
  provSel.addEventListener('change', onFilter);

  let debounce = 0;
  const live = subscribe({
    types: 'pod.*',
    onEvent: (_type, data) => {
      if (data && data.podId) {
        st.named.add(data.podId);
        const d = st.details.get(data.podId);
        if (d) d.fresh = false;
      }
      clearTimeout(debounce);
      debounce = setTimeout(load, 250);
    },
    onPoll: () => {
      for (const d of st.details.values()) d.fresh = false;
      return load();
    },
    pollMs: 10000,
  });
  load();
  const ticker = setInterval(tick, 5000);
  return () => {
    live.close();
    clearTimeout(debounce);
    clearInterval(ticker);
    st.seq++;
  };
}

export default {
  id: 'pods',
  title: 'Pods',
  scope: 'pods',
  render(root, ctx, args) {
    if (args && args[0]) return renderDetail(root, ctx, args[0]);
    return renderList(root, ctx);
  },
};
