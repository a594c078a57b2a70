// page_webhooks.js: webhooks (docs/webhooks.md). Endpoints: add (URL and an events filter),
// pause and enable (PATCH enabled), send a test, delete after a confirmation. The signing
// secret is fetched only when asked for and can be hidden again; rotating it is confirmed.
// Deliveries: every message with its status and each attempt (time, HTTP status, latency,
// error), refreshed every few seconds, and redeliver (same webhook-id) with the new attempt
// appearing in place.

import { api, qs } from './api.js';
import { subscribe } from './events.js';
import { badge, clear, confirmDialog, copyButton, errorBox, field, guarded, h, section, table, toast, when } from './ui.js';

// Deliveries are not events: they are re-read every POLL_MS (360 requests an hour, well within
// a key's hourly limit), and more often for a few seconds after something that makes one (an
// event on the stream, a test, a redelivery).
const POLL_MS = 10000;
const BURST_MS = [700, 1500, 3000, 5000, 8000];

function endpointsView(box, onChange) {
  const url = h('input', { id: 'wh-url', name: 'url', type: 'url', required: true, placeholder: 'https://example.com/hooks/gpubroker', spellcheck: 'false' });
  const events = h('input', { id: 'wh-events', name: 'events', value: '*', placeholder: 'pod.*,fine_tuning.job.completed', spellcheck: 'false' });
  const err = h('div', { id: 'wh-error' });
  const list = h('div', { id: 'wh-endpoints' }, h('p', { class: 'muted' }, 'Loading…'));
  const form = h('form', { id: 'wh-form', class: 'inline' },
    field('URL', url),
    field('Events', events, 'a comma list: pod.running, pod.*, fine_tuning.job.completed, or *'),
    h('button', { type: 'submit', class: 'primary', id: 'wh-add' }, 'Add endpoint'));

  const act = async (fn) => {
    clear(err);
    try {
      await fn();
    } catch (e) {
      err.appendChild(errorBox(e));
    }
    load();
  };
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    act(async () => {
      const ep = await api('POST', '/api/volt/webhooks', { url: url.value.trim(), events: events.value.trim() || '*' }, { idem: true });
      toast(`Endpoint ${ep.id} added.`);
      url.value = '';
    });
  });

  const load = () => guarded(list, async () => {
    const r = await api('GET', '/api/volt/webhooks');
    clear(list).appendChild(table([
      { label: 'URL', value: (w) => h('span', { class: 'mono wh-url' }, w.url) },
      { label: 'Events', value: (w) => h('span', { class: 'mono' }, w.events) },
      { label: 'State', value: (w) => [badge(w.enabled ? 'enabled' : 'disabled'), w.disabled_reason ? h('div', { class: 'muted' }, w.disabled_reason) : null] },
      { label: 'Created', value: (w) => when(w.created_at) },
      { label: '', value: (w) => h('div', { class: 'actions' },
        h('button', { type: 'button', class: 'small secondary', dataset: { action: w.enabled ? 'pause' : 'enable' },
          onclick: () => act(async () => {
            await api('PATCH', '/api/volt/webhooks/' + encodeURIComponent(w.id), { enabled: !w.enabled });
            toast(w.enabled ? 'Endpoint paused.' : 'Endpoint enabled.');
          }) }, w.enabled ? 'Pause' : 'Enable'),
        h('button', { type: 'button', class: 'small secondary', dataset: { action: 'test' }, disabled: !w.enabled,
          onclick: () => act(async () => {
            const t = await api('POST', '/api/volt/webhooks/' + encodeURIComponent(w.id) + '/test');
            toast(t.message || 'Test queued.');
            onChange();
          }) }, 'Send test'),
        h('button', { type: 'button', class: 'small danger', dataset: { action: 'delete' },
          onclick: async () => {
            const ok = await confirmDialog('Delete this endpoint?', [h('p', { class: 'mono' }, w.url), 'It gets no more messages; pending ones to it are not sent.'], 'Delete', true);
            if (ok) act(async () => {
              await api('DELETE', '/api/volt/webhooks/' + encodeURIComponent(w.id));
              toast('Endpoint removed.');
            });
          } }, 'Delete')) },
    ], r.webhooks || [], { empty: 'No endpoints yet.', class: 'wh-endpoints' }));
  });
  box.append(section('Endpoints', form, err, list));
  load();
  return load;
}

function secretView(box) {
  const out = h('div', { id: 'wh-secret-box' });
  const show = h('button', { type: 'button', class: 'secondary', id: 'wh-secret-show' }, 'Show the signing secret');
  const rotate = h('button', { type: 'button', class: 'secondary', id: 'wh-secret-rotate' }, 'Rotate…');
  const hide = () => {
    clear(out);
    show.hidden = false;
  };
  const reveal = (s, note) => {
    clear(out).append(h('div', { class: 'secret' }, h('code', { id: 'wh-secret' }, s)),
      note ? h('p', { class: 'muted' }, note) : null,
      h('div', { class: 'actions wh-left' }, copyButton(s), h('button', { type: 'button', class: 'small secondary', id: 'wh-secret-hide', onclick: hide }, 'Hide')));
    show.hidden = true;
  };
  show.addEventListener('click', () => guarded(out, async () => reveal((await api('GET', '/api/volt/webhooks/secret')).secret)));
  rotate.addEventListener('click', async () => {
    const ok = await confirmDialog('Rotate the signing secret?', ['Messages are signed with the new secret and, for 24 hours, also with the current one, so receivers can switch.'], 'Rotate');
    if (ok) guarded(out, async () => {
      const r = await api('POST', '/api/volt/webhooks/secret/rotate');
      reveal(r.secret, `${r.message || 'Rotated.'} Previous valid until ${when(r.previous_valid_until)}.`);
    });
  });
  box.append(section('Signing secret',
    h('p', { class: 'muted' }, 'Receivers verify each message (Standard Webhooks: webhook-id, webhook-timestamp, webhook-signature) with this secret. It is shown only when you ask.'),
    h('div', { class: 'actions wh-left' }, show, rotate), out));
}

function attempts(d) {
  const log = d.attemptLog || [];
  const n = Math.max(log.length, d.attempts || 0);
  return h('details', { class: 'wh-attempts', dataset: { id: d.id } },
    // attempts counts the current round (a redelivery starts a new one); the log keeps all
    h('summary', {}, `${n} attempt${n === 1 ? '' : 's'}` + (n !== d.attempts ? ` (${d.attempts} since the last redelivery)` : '')),
    log.length ? h('ol', { class: 'wh-attempt-list' }, log.map((a) => h('li', { class: 'wh-attempt' },
      `${when(a.at)}: `, a.status ? `HTTP ${a.status}` : 'no answer', a.latencyMs !== undefined && a.latencyMs !== null ? ` in ${a.latencyMs} ms` : '',
      a.error ? h('div', { class: 'muted' }, a.error) : null,
      a.responseHead ? h('div', { class: 'mono muted' }, a.responseHead) : null)))
      : h('p', { class: 'muted' }, 'Not tried yet.'));
}

function deliveriesView(box, burst) {
  const status = h('select', { id: 'wh-del-status' }, ['', 'pending', 'delivered', 'failed'].map((s) => h('option', { value: s }, s || 'all')));
  const refresh = h('button', { type: 'button', class: 'secondary', id: 'wh-del-refresh' }, 'Refresh');
  const result = h('div', { id: 'wh-del-result' });
  const list = h('div', { id: 'wh-deliveries' }, h('p', { class: 'muted' }, 'Loading…'));
  const open = new Set(); // the attempt lists the user opened stay open across refreshes

  let seq = 0;
  const load = () => guarded(list, async () => {
    const mine = ++seq;
    const r = await api('GET', '/api/volt/webhooks/deliveries' + qs({ status: status.value, limit: 100 }));
    if (mine !== seq) return;
    clear(list).appendChild(table([
      { label: 'Event', value: (d) => h('span', { class: 'wh-event' }, d.event) },
      { label: 'Message', value: (d) => h('span', { class: 'mono' }, d.id) },
      { label: 'To', value: (d) => h('span', { class: 'mono wh-url' }, d.url) },
      { label: 'Status', value: (d) => [badge(d.status), d.lastStatus ? h('span', { class: 'muted' }, ` HTTP ${d.lastStatus}`) : null] },
      { label: 'Attempts', value: (d) => {
        const det = attempts(d);
        det.open = open.has(d.id);
        det.addEventListener('toggle', () => (det.open ? open.add(d.id) : open.delete(d.id)));
        return det;
      } },
      { label: 'Created', value: (d) => when(d.createdAt) },
      { label: 'Next / delivered', value: (d) => (d.deliveredAt ? when(d.deliveredAt) : d.nextAttemptAt ? 'next ' + when(d.nextAttemptAt) : '-') },
      { label: '', value: (d) => h('button', { type: 'button', class: 'small secondary', dataset: { action: 'redeliver' }, disabled: d.status === 'pending',
        title: d.status === 'pending' ? 'Still being delivered' : 'Send it again, with the same webhook-id',
        onclick: async () => {
          clear(result);
          try {
            const x = await api('POST', `/api/volt/webhooks/deliveries/${encodeURIComponent(d.id)}/redeliver`);
            open.add(d.id);
            result.appendChild(h('div', { class: 'jw-notice', role: 'status' }, `${d.id}: ${x.message || 'queued again'}`));
          } catch (e) {
            result.appendChild(errorBox(e));
          }
          load();
          burst();
        } }, 'Redeliver') },
    ], r.deliveries || [], { empty: 'No messages yet.', class: 'wh-deliveries' }));
  });
  status.addEventListener('change', load);
  refresh.addEventListener('click', load);
  box.append(section('Deliveries', h('div', { class: 'filters' }, field('Status', status), refresh), result, list));
  load();
  return load;
}

export default {
  id: 'webhooks',
  title: 'Webhooks',
  scope: 'webhooks',
  render(root) {
    root.append(h('h1', {}, 'Webhooks'));
    const eps = h('div', {}), sec = h('div', {}), dels = h('div', {});
    root.append(eps, sec, dels);
    let loadDeliveries = () => {};
    let bursts = [];
    const burst = () => {
      bursts.forEach(clearTimeout);
      bursts = BURST_MS.map((ms) => setTimeout(() => loadDeliveries(), ms));
    };
    endpointsView(eps, burst);
    secretView(sec);
    loadDeliveries = deliveriesView(dels, burst);
    const timer = setInterval(() => loadDeliveries(), POLL_MS);
    // an event the account's endpoints may get: its delivery follows within moments
    const live = subscribe({ types: '*', onEvent: burst });
    return () => {
      clearInterval(timer);
      bursts.forEach(clearTimeout);
      live.close();
    };
  },
};
