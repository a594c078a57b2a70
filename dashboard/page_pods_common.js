// page_pods_common.js: what the pods list and a pod's page share: the stop/start/delete
// actions (each behind a confirmation: they change what the account pays or destroy the pod),
// the GPU and uptime texts, and the pod statuses.

import { api } from './api.js';
import { clear, confirmDialog, errorBox, h, money, perHour, toast } from './ui.js';

export const STATUSES = ['pending', 'deploying', 'running', 'stopping', 'stopped', 'succeeded', 'failed', 'deleted', 'unknown'];
// settled: nothing changes without a request (a log follower stops, the meter does not run)
export const SETTLED = new Set(['stopped', 'succeeded', 'failed', 'deleted']);

export function gpuText(p) {
  if (!p || !p.gpu_type) return '-';
  return (p.gpu_count ? p.gpu_count + 'x ' : '') + p.gpu_type;
}

export function uptimeText(hours) {
  if (hours === undefined || hours === null) return '-';
  const m = Math.round(Number(hours) * 60);
  if (m < 60) return `${m}m`;
  if (m < 48 * 60) return `${Math.floor(m / 60)}h ${m % 60}m`;
  return `${(m / 1440).toFixed(1)}d`;
}

export function podLabel(p) {
  return p.name ? `"${p.name}" (${p.id})` : p.id;
}

// The actions a pod's status allows: running -> stop; stopped -> start; anything not
// deleted -> delete. A job's pod is the job's: it is cancelled from the fine-tuning page.
export function podActions(p) {
  if (p.job_id) return [];
  const out = [];
  if (p.status === 'running') out.push('stop');
  if (p.status === 'stopped') out.push('start');
  if (p.status !== 'deleted') out.push('delete');
  return out;
}

const CONFIRM = {
  stop: (p) => ({
    title: 'Stop this pod?',
    lines: [`Stop ${podLabel(p)} on ${p.provider || '-'}.`,
      'Its GPU time stops being charged once it is stopped (its disk may still cost what the provider charges for it); it can be started again.'],
    ok: 'Stop pod',
    danger: false,
  }),
  start: (p) => ({
    title: 'Start this pod?',
    lines: [`Start ${podLabel(p)} on ${p.provider || '-'}.`,
      `It is charged ${perHour(p.cost_per_hour)} while it runs.`],
    ok: 'Start pod',
    danger: false,
  }),
  delete: (p) => ({
    title: 'Delete this pod?',
    lines: [`Delete ${podLabel(p)} on ${p.provider || '-'}.`,
      'This cannot be undone: the workload and its disk are removed at the provider.',
      p.total_cost !== undefined ? `Cost so far: ${money(p.total_cost)}.` : null].filter(Boolean),
    ok: 'Delete pod',
    danger: true,
  }),
};

// Asks, then does the action; shows the API's error in msgBox. Resolves true when done.
export async function runAction(action, p, msgBox) {
  const c = CONFIRM[action](p);
  if (!(await confirmDialog(c.title, c.lines, c.ok, c.danger))) return false;
  try {
    const path = '/api/volt/pods/' + encodeURIComponent(p.id) + (action === 'delete' ? '' : '/' + action);
    const r = await api(action === 'delete' ? 'DELETE' : 'POST', path);
    if (msgBox) clear(msgBox);
    toast((r && r.message) || `Pod ${p.id}: ${action} asked`);
    return true;
  } catch (e) {
    if (msgBox) clear(msgBox).appendChild(errorBox(e));
    else toast(((e.code && e.code + ': ') || '') + e.message, 'error');
    return false;
  }
}

// The buttons of a pod's actions; after one is done, onDone runs (a reload).
export function actionButtons(p, msgBox, onDone) {
  return h('div', { class: 'actions pod-actions' }, podActions(p).map((a) =>
    h('button', {
      type: 'button',
      class: 'small ' + (a === 'delete' ? 'danger' : 'secondary'),
      dataset: { action: a, pod: p.id },
      onclick: async (e) => {
        const b = e.currentTarget;
        b.disabled = true;
        try {
          if (await runAction(a, p, msgBox)) await onDone();
        } finally {
          b.disabled = false;
        }
      },
    }, a[0].toUpperCase() + a.slice(1))));
}
