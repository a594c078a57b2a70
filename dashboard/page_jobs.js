// page_jobs.js: fine-tuning jobs (docs/fine-tuning.md). #/jobs lists them live (the event
// stream's fine_tuning.* events, polling without it) with state, progress, model and price,
// and holds the submit form (page_jobs_form.js: the price from a dry run, shown and confirmed
// before anything is paid). #/jobs/<id> shows one job: its fields, its state history (the
// event log's fine_tuning.job.status events), its trainer's logs, and cancel with the refund
// the rules give in the confirmation and the broker's answer after.

import { api, getKey, qs } from './api.js';
import { subscribe } from './events.js';
import { jobForm, REFUNDABLE, TERMINAL } from './page_jobs_form.js';
import { badge, clear, confirmDialog, errorBox, guarded, h, money, section, stat, table, toast, when } from './ui.js';

function progress(j) {
  const p = Math.max(0, Math.min(100, Number(j.progress) || 0));
  return h('span', { class: 'job-progress' }, h('progress', { max: '100', value: String(p) }), ` ${Math.round(p)}%`);
}

// What cancelling would give back, by the rules (the broker decides; this is the promise).
function refundFor(j) {
  if (REFUNDABLE.includes(j.status)) return { amount: Number(j.totalCost), text: `Refund: ${money(j.totalCost)} (in full: training has not started).` };
  return { amount: 0, text: `No refund: training has started (status ${j.status}), so the GPU time is committed.` };
}

// Cancels after a confirmation naming the refund; shows the broker's answer in out.
async function cancelJob(j, out, after) {
  const rf = refundFor(j);
  const ok = await confirmDialog('Cancel this job?', [
    h('p', {}, `${j.name} (${j.id}), ${j.status}.`),
    h('p', { class: 'refund-expected', dataset: { amount: String(rf.amount) } }, rf.text),
  ], rf.amount > 0 ? `Cancel and refund ${money(rf.amount)}` : 'Cancel without a refund', true);
  if (!ok) return;
  clear(out);
  try {
    const r = await api('DELETE', '/api/volt/fine-tuning/' + encodeURIComponent(j.id));
    out.appendChild(h('div', { class: 'jw-notice cancel-result', role: 'status', dataset: { refunded: String(!!r.refunded), amount: String(r.refundedAmount || 0) } },
      r.message || `Cancelled; ${money(r.refundedAmount || 0)} refunded.`));
    toast(r.message || 'Cancelled');
  } catch (e) {
    out.appendChild(errorBox(e));
  }
  if (after) after();
}

// The job's state history from the event log: GET /api/volt/events?id=&after=0&follow=false
// (Server-Sent Events that end once the log is read; the key in a header, never the URL).
async function history(id) {
  const r = await fetch('/api/volt/events' + qs({ id, types: 'fine_tuning.*', after: 0, follow: 'false' }), {
    headers: { 'X-API-Key': getKey() || '', Accept: 'text/event-stream' }, cache: 'no-store', credentials: 'omit',
  });
  if (!r.ok) {
    let j = null;
    try { j = await r.json(); } catch { /* not JSON */ }
    throw Object.assign(new Error((j && j.message) || 'HTTP ' + r.status), { code: j && j.code, status: r.status });
  }
  const out = [];
  for (const frame of (await r.text()).replace(/\r\n?/g, '\n').split('\n\n')) {
    let seq = '', data = '';
    for (const line of frame.split('\n')) {
      if (line.startsWith('id:')) seq = line.slice(3).trim();
      else if (line.startsWith('data:')) data += line.slice(5).replace(/^ /, '');
    }
    if (!data) continue;
    try {
      const ev = JSON.parse(data);
      if (ev.event === 'fine_tuning.job.status' && ev.jobId === id) out.push({ ...ev, id: seq });
    } catch { /* a frame we cannot read */ }
  }
  return out;
}

function renderList(root, ctx) {
  const result = h('div', { id: 'jobs-result' });
  const listBox = h('div', { id: 'jobs-list' }, h('p', { class: 'muted' }, 'Loading…'));
  const formBox = h('div', { class: 'hidden', id: 'job-form-box' });
  const newBtn = h('button', { type: 'button', id: 'job-new', class: 'primary' }, 'Submit a job');
  newBtn.addEventListener('click', () => {
    formBox.classList.toggle('hidden');
    if (!formBox.classList.contains('hidden')) formBox.querySelector('input').focus();
  });
  root.append(
    h('div', { class: 'jw-head' }, h('h1', {}, 'Fine-tuning'), newBtn),
    result,
    formBox,
    section('Jobs', listBox));
  formBox.appendChild(section('Submit a fine-tuning job', h('div', { id: 'job-form-slot' })));
  jobForm(formBox.querySelector('#job-form-slot'), (job) => {
    location.hash = '#/jobs/' + encodeURIComponent(job.id);
  });

  let seq = 0;
  const load = () => guarded(listBox, async () => {
    const mine = ++seq;
    const r = await api('GET', '/api/volt/fine-tuning' + qs({ limit: 100 }));
    if (mine !== seq) return;
    clear(listBox).appendChild(table([
      { label: 'Name', value: (j) => h('a', { href: '#/jobs/' + encodeURIComponent(j.id), class: 'job-link' }, j.name) },
      { label: 'State', value: (j) => badge(j.status) },
      { label: 'Progress', value: progress },
      { label: 'Model', value: (j) => h('span', { class: 'mono' }, j.baseModel) },
      { label: 'Price', value: (j) => `${money(j.totalCost)} (${j.hoursRequested} h × ${money(j.costPerHour)}/h)` },
      { label: 'Created', value: (j) => when(j.createdAt) },
      { label: '', value: (j) => (TERMINAL.includes(j.status) ? '' :
        h('div', { class: 'actions' }, h('button', { type: 'button', class: 'small danger', dataset: { action: 'cancel' }, onclick: () => cancelJob(j, result, load) }, 'Cancel'))) },
    ], r.jobs || [], { empty: 'No jobs yet: submit one above.', class: 'jobs' }));
    if ((r.total || 0) > (r.jobs || []).length) listBox.appendChild(h('p', { class: 'muted' }, `The newest ${(r.jobs || []).length} of ${r.total}.`));
  });
  load();
  const live = subscribe({ types: 'fine_tuning.*', onEvent: load, onPoll: load, pollMs: 5000 });
  // a job created elsewhere is no event until it moves: a slow look besides the stream
  const slow = setInterval(load, 30000);
  void ctx;
  return () => {
    clearInterval(slow);
    live.close();
  };
}

function renderDetail(root, id) {
  const head = h('div', { class: 'jw-head' }, h('h1', {}, 'Job ', h('span', { class: 'mono' }, id)));
  const result = h('div', { id: 'job-result' });
  const info = h('div', { id: 'job-detail' }, h('p', { class: 'muted' }, 'Loading…'));
  const hist = h('div', { id: 'job-history' });
  // logs on demand: a job without a trainer pod (or a platform without logs) answers 409
  const logs = h('div', { id: 'job-logs-box' }, h('p', { class: 'muted' }, 'The training output of the job\'s pod.'));
  const logsBtn = h('button', { type: 'button', class: 'small secondary', id: 'job-logs-refresh' }, 'Show logs');
  root.append(h('p', {}, h('a', { href: '#/jobs' }, '← All jobs')), head, result, info,
    h('div', { class: 'row2' }, section('State history', hist), h('section', { class: 'card' }, h('div', { class: 'jw-head' }, h('h2', {}, 'Logs'), logsBtn), logs)));

  let job = null;
  const load = () => guarded(info, async () => {
    job = (await api('GET', '/api/volt/fine-tuning/' + encodeURIComponent(id))).job;
    clear(head).append(h('h1', {}, h('span', { class: 'job-name' }, job.name), ' ', badge(job.status)));
    const cancel = TERMINAL.includes(job.status) ? null
      : h('button', { type: 'button', id: 'job-cancel', class: 'danger', onclick: () => cancelJob(job, result, () => { load(); loadHistory(); }) }, 'Cancel job');
    clear(info).append(
      h('div', { class: 'cards' },
        stat('State', badge(job.status), job.message || null),
        stat('Progress', progress(job)),
        stat('Price', money(job.totalCost), `${job.hoursRequested} h × ${money(job.costPerHour)}/h`),
        stat('Refunded', job.refunded ? money(job.refundedAmount) : 'no')),
      section('Details', h('dl', { class: 'jw-kv' },
        [['Id', job.id], ['Name', job.name], ['Task type', job.taskType], ['Base model', job.baseModel],
          ['Dataset', job.datasetRepo || '-'], ['Output model', job.outputModelRepo || '-'],
          ['Created', when(job.createdAt)], ['Started', when(job.startedAt)], ['Completed', when(job.completedAt)],
          ['Message', job.message || '-']].map(([k, v]) => [h('dt', {}, k), h('dd', {}, v)]),
        h('dt', {}, 'Pod'), h('dd', {}, job.podId ? h('a', { href: '#/pods/' + encodeURIComponent(job.podId) }, job.podId) : '-')),
      cancel ? h('div', { class: 'actions' }, cancel) : null));
  });
  const loadHistory = () => guarded(hist, async () => {
    const evs = await history(id);
    clear(hist).appendChild(table([
      { label: 'At', value: (e) => when(e.at) },
      { label: 'From', value: (e) => (e.previousStatus ? badge(e.previousStatus) : '-') },
      { label: 'To', value: (e) => badge(e.status) },
      { label: 'Message', value: (e) => e.message || '' },
    ], evs, { empty: 'No state changes recorded yet.', class: 'job-history' }));
  });
  const loadLogs = () => guarded(logs, async () => {
    const r = await api('GET', '/api/volt/fine-tuning/' + encodeURIComponent(id) + '/logs' + qs({ tail: 200 }));
    clear(logs).append(h('p', { class: 'muted' }, `Pod ${r.pod_id || '-'} (${r.pod_status || '-'})`),
      h('pre', { class: 'logs', id: 'job-logs' }, r.logs || '(no output yet)'));
  });
  logsBtn.addEventListener('click', loadLogs);
  load();
  loadHistory();
  const live = subscribe({ types: 'fine_tuning.*', id, onEvent: () => { load(); loadHistory(); }, onPoll: load, pollMs: 5000 });
  return () => live.close();
}

export default {
  id: 'jobs',
  title: 'Fine-tuning',
  scope: 'fine-tuning',
  render(root, ctx, args) {
    if (args && args[0]) return renderDetail(root, args[0]);
    return renderList(root, ctx);
  },
};
