// page_offers.js: the live offers (#/offers, GET /api/volt/offers) with the filters of
// `gpubroker offers` (gpu, gpu_count, min_vram_gb, max_price, location, provider,
// exclude_provider, tier, confidential, sort, limit) and explain (every offer left out and
// why), and "Place" on an offer: the plan first (POST /api/volt/pods with "dry_run": true and
// hours: the offer, $/h with the margin, the estimated total, whether the money guards admit
// it), confirmed in a dialog, then the real create with an Idempotency-Key (a retried click
// cannot create twice) and the offer's price as cost_per_hour (a dearer price is refused, not
// paid); then the pod's page, where it is seen reaching running.

import { api, newIdemKey, qs } from './api.js';
import { badge, clear, errorBox, field, h, money, perHour, section, table, toast } from './ui.js';

const FILTERS = [
  // [query name, label, input attributes, hint]
  ['gpu', 'GPU', { type: 'text', placeholder: 'H100 or H100:2' }],
  ['gpu_count', 'GPU count', { type: 'number', min: '1', max: '64', step: '1' }],
  ['min_vram_gb', 'Min VRAM (GB)', { type: 'number', min: '1', step: '1' }],
  ['max_price', 'Max $/h', { type: 'number', min: '0', step: '0.01' }],
  ['location', 'Location', { type: 'text', placeholder: 'us, US-East' }],
  ['provider', 'Providers', { type: 'text', placeholder: 'volt,lium' }],
  ['exclude_provider', 'Exclude providers', { type: 'text', placeholder: 'datarobot' }],
];

function select(name, options) {
  return h('select', { name, id: 'offers-' + name }, options.map(([v, l]) => h('option', { value: v }, l)));
}

function gpuText(o) {
  return `${o.gpu_count || 1}x ${o.gpu_type || '?'}`;
}

// The place dialog: image (required), name, hours; "Plan" asks for the dry run and shows it;
// "Create pod" is enabled only for a plan of exactly the fields shown. Resolves the new pod.
function placeDialog(offer) {
  return new Promise((resolve) => {
    const image = h('input', { type: 'text', name: 'image', id: 'place-image', required: true, placeholder: 'ubuntu:22.04', autocomplete: 'off' });
    const name = h('input', { type: 'text', name: 'name', id: 'place-name', maxlength: '128', autocomplete: 'off' });
    const hours = h('input', { type: 'number', name: 'hours', id: 'place-hours', min: '1', max: '8760', step: '1', value: '1', required: true });
    const planBox = h('div', { id: 'place-plan' });
    const err = h('div', { id: 'place-error' });
    let plan = null, planFor = '', idem = newIdemKey(), busy = false;
    const body = (dry) => {
      const b = { machine_id: offer.id, image: image.value.trim(), gpu_count: offer.gpu_count || 1 };
      if (name.value.trim()) b.name = name.value.trim();
      if (dry) {
        b.dry_run = true;
        b.hours = Number(hours.value);
      } else if (plan && plan.offer) {
        b.cost_per_hour = plan.offer.price_per_hour; // the price planned: a dearer one is refused
      }
      return b;
    };
    const key = () => JSON.stringify([image.value.trim(), name.value.trim(), hours.value]);
    const create = h('button', { type: 'button', class: 'primary', id: 'place-create', disabled: true }, 'Create pod');
    const planBtn = h('button', { type: 'button', class: 'secondary', id: 'place-plan-btn' }, 'Plan');
    const done = (v) => {
      dlg.close();
      dlg.remove();
      resolve(v);
    };
    const invalidate = () => {
      if (planFor !== key()) {
        create.disabled = true;
        if (plan) clear(planBox).appendChild(h('p', { class: 'muted' }, 'Changed: plan again.'));
        plan = null;
      }
    };
    for (const el of [image, name, hours]) el.addEventListener('input', invalidate);
    planBtn.addEventListener('click', async () => {
      clear(err);
      if (!image.reportValidity() || !hours.reportValidity()) return;
      planBtn.disabled = true;
      try {
        const k = key();
        const p = await api('POST', '/api/volt/pods', body(true));
        plan = p;
        planFor = k;
        idem = newIdemKey(); // a new plan is a new create
        clear(planBox).appendChild(h('dl', { class: 'kv plan' },
          h('dt', {}, 'Offer'), h('dd', { id: 'plan-offer' }, `${p.offer.id} (${p.offer.provider}, ${p.offer.count || 1}x ${p.offer.gpu_type})`),
          h('dt', {}, 'Price'), h('dd', { id: 'plan-price' }, perHour(p.price_per_hour)),
          h('dt', {}, 'Estimated total'), h('dd', { id: 'plan-total' }, `${money(p.estimated_cost)} for ${p.hours} h`),
          h('dt', {}, 'Admitted'), h('dd', { id: 'plan-admitted' }, p.admitted ? 'yes: your balance, budget and spend limit allow it'
            : 'no' + (p.refusal ? `: ${p.refusal.code}: ${p.refusal.message}` : ''))));
        create.disabled = !p.admitted;
      } catch (e) {
        clear(planBox);
        err.appendChild(errorBox(e));
      } finally {
        planBtn.disabled = false;
      }
    });
    create.addEventListener('click', async () => {
      if (busy || !plan || planFor !== key()) return;
      busy = true;
      create.disabled = true;
      clear(err);
      try {
        const pod = await api('POST', '/api/volt/pods', body(false), { idem });
        done(pod);
      } catch (e) {
        err.appendChild(errorBox(e));
        create.disabled = false;
      } finally {
        busy = false;
      }
    });
    const dlg = h('dialog', { class: 'confirm place', id: 'place-dialog', 'aria-label': 'Place a pod' },
      h('h3', {}, 'Place a pod on ' + offer.id),
      h('p', { class: 'muted' }, `${offer.provider}, ${gpuText(offer)}, ${offer.location || 'no location'}: ${perHour(offer.price_per_hour)} from the provider.`),
      h('form', { class: 'place-form', onsubmit: (e) => { e.preventDefault(); planBtn.click(); } },
        field('Image', image, 'required'), field('Name', name), field('Hours (for the estimate)', hours)),
      planBox, err,
      h('div', { class: 'actions' },
        h('button', { type: 'button', class: 'secondary', id: 'place-cancel', onclick: () => done(null) }, 'Cancel'),
        planBtn, create));
    dlg.addEventListener('cancel', (e) => {
      e.preventDefault();
      done(null);
    });
    document.body.appendChild(dlg);
    dlg.showModal();
    image.focus();
  });
}

export default {
  id: 'offers',
  title: 'Offers',
  scope: 'machines',
  render(root, ctx) {
    const inputs = {};
    for (const [n, , attrs] of FILTERS) inputs[n] = h('input', { name: n, id: 'offers-' + n, ...attrs });
    inputs.tier = select('tier', [['', 'any'], ['secure', 'secure'], ['spot', 'spot']]);
    inputs.confidential = select('confidential', [['', 'any'], ['true', 'confidential only'], ['false', 'not confidential']]);
    inputs.sort = select('sort', [['price', 'price'], ['price_per_gpu', 'price per GPU'], ['vram', 'VRAM'], ['available', 'available GPUs']]);
    inputs.limit = h('input', { name: 'limit', id: 'offers-limit', type: 'number', min: '1', step: '1', placeholder: 'all' });
    const explain = h('input', { type: 'checkbox', name: 'explain', id: 'offers-explain' });
    const msg = h('div', { id: 'offers-msg' });
    const summary = h('p', { class: 'muted', id: 'offers-summary' });
    const box = h('div', { id: 'offers-table' }, h('p', { class: 'muted' }, 'Loading...'));
    const provBox = h('div', { id: 'offers-providers' });
    const rejBox = h('div', { id: 'offers-rejected' });
    const form = h('form', { class: 'filters', id: 'offers-form' },
      FILTERS.map(([n, label]) => field(label, inputs[n])),
      field('Tier', inputs.tier), field('Confidential', inputs.confidential), field('Sort', inputs.sort),
      field('Limit', inputs.limit),
      h('label', { class: 'check' }, explain, ' Explain'),
      h('button', { type: 'submit', class: 'primary', id: 'offers-search' }, 'Search'));
    root.append(h('h1', {}, 'Offers'), h('section', { class: 'card' }, form), msg,
      h('section', { class: 'card' }, summary, box, provBox), rejBox);

    const canPlace = ctx.has('pods');
    let seq = 0;
    const load = async () => {
      const my = ++seq;
      const params = {};
      for (const [n, el] of Object.entries(inputs)) params[n] = el.value.trim();
      params.explain = explain.checked ? 'true' : '';
      try {
        const r = await api('GET', '/api/volt/offers' + qs(params));
        if (my !== seq) return;
        clear(msg);
        const offers = r.offers || [];
        summary.textContent = `Shown ${offers.length} of ${r.considered} offers (${r.matched} fit).`;
        clear(box).appendChild(table([
          { label: 'Provider', value: (o) => o.provider },
          { label: 'Location', value: (o) => o.location || '-' },
          { label: 'GPU', value: (o) => gpuText(o) },
          { label: 'VRAM', value: (o) => `${o.gpu_vram_gb} GB`, class: 'num' },
          { label: 'vCPU / RAM', value: (o) => (o.vcpu || o.ram_gb ? `${o.vcpu} / ${o.ram_gb} GB` : '-') },
          { label: 'Tier', value: (o) => [o.tier || '-', o.confidential ? ' ' : null, o.confidential ? badge('confidential') : null] },
          { label: '$/h', value: (o) => perHour(o.price_per_hour), class: 'num' },
          { label: 'Available', value: (o) => String(o.available_gpus), class: 'num' },
          { label: 'Age', value: (o) => `${o.age_s}s`, class: 'num' },
          { label: '', value: (o) => (canPlace ? h('button', { type: 'button', class: 'small primary place', dataset: { offer: o.id }, onclick: () => place(o) }, 'Place') : '') },
        ], offers, { empty: 'No offer fits these filters.', class: 'offers' }));
        const bad = (r.providers || []).filter((p) => p.error || p.stale);
        clear(provBox).append(...bad.map((p) => h('p', { class: p.error ? 'error' : 'muted' },
          `provider ${p.provider}: ${p.error || 'offers are ' + Math.round((p.age_ms || 0) / 1000) + ' s old (refreshing)'}`)));
        clear(rejBox);
        if (r.rejected)
          rejBox.appendChild(section(`Left out (${r.rejected.length})`, table([
            { label: 'Offer', value: (x) => h('code', {}, x.offer) },
            { label: 'Reason', value: (x) => x.reason },
          ], r.rejected.map((x) => ({ ...x, id: x.offer })), { empty: 'No offer was left out.', class: 'rejected' })));
      } catch (e) {
        if (my === seq) clear(msg).appendChild(errorBox(e));
      }
    };

    const place = async (o) => {
      const pod = await placeDialog(o);
      if (!pod) return;
      toast(`Pod ${pod.id} created (${pod.status})`);
      location.hash = '#/pods/' + encodeURIComponent(pod.id);
    };

    form.addEventListener('submit', (e) => {
      e.preventDefault();
      load();
    });
    load();
    const timer = setInterval(() => {
      if (!document.querySelector('dialog[open]')) load();
    }, 30000); // offers are cached 30 s by the broker
    return () => {
      clearInterval(timer);
      seq++;
      const d = document.getElementById('place-dialog');
      if (d) d.remove();
    };
  },
};
