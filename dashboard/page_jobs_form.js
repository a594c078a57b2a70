// page_jobs_form.js: the fine-tuning job form (docs/fine-tuning.md "The request"). The price is
// asked of the broker before anything is created (POST /api/volt/fine-tuning with
// "dry_run": true: the same validation and Hub sizing as the create, nothing charged), shown in
// the form and in the confirmation, and only a confirmed job is created (with an
// Idempotency-Key, so a repeated click cannot pay twice).

import { api, newIdemKey } from './api.js';
import { clear, confirmDialog, errorBox, field, h, money, toast } from './ui.js';

const TASKS = ['text', 'chat', 'dpo', 'grpo', 'custom_chat', 'image'];
const TEMPLATES = ['alpaca', 'chatml', 'deepseek_v3', 'gemma3', 'llama3', 'llama4', 'mistral_v3_tekken', 'phi_4', 'qwen_25', 'qwen3'];

// Which task fields each task type takes: R required, O optional (absent: refused by the API).
const TASK_FIELDS = {
  text: { dsRepo: 'R', fieldInstruction: 'R', fieldOutput: 'R' },
  chat: { dsRepo: 'R', chatTemplate: 'R', fieldConversation: 'R' },
  dpo: { dsRepo: 'R', chatTemplate: 'R', fieldPrompt: 'R', fieldChosen: 'R', fieldRejected: 'R' },
  grpo: { dsRepo: 'R', chatTemplate: 'R', fieldPrompt: 'O' },
  custom_chat: { datasetUrl: 'R', chatTemplate: 'O' },
  image: { dsRepo: 'R', imageModelType: 'R' },
};

const LABELS = {
  dsRepo: ['Dataset repo', 'owner/name on the Hugging Face Hub'],
  datasetUrl: ['Dataset URL', 'http(s) URL of the dataset file'],
  chatTemplate: ['Chat template', null],
  fieldInstruction: ['Instruction column', null],
  fieldOutput: ['Output column', null],
  fieldConversation: ['Conversation column', null],
  fieldPrompt: ['Prompt column', null],
  fieldChosen: ['Chosen column', null],
  fieldRejected: ['Rejected column', null],
  imageModelType: ['Image model type', null],
};
const DEFAULTS = { fieldInstruction: 'instruction', fieldOutput: 'output', fieldConversation: 'conversations', fieldPrompt: 'prompt', fieldChosen: 'chosen', fieldRejected: 'rejected' };

function select(id, options, value) {
  return h('select', { id, name: id }, options.map((o) => h('option', { value: o, selected: o === value }, o)));
}

// The refund rule in words, for the confirmation (docs/fine-tuning.md "Money").
export const REFUNDABLE = ['pending', 'preparing_data', 'idle', 'looking_for_nodes', 'ready'];
export const TERMINAL = ['success', 'failure', 'failure_finding_nodes', 'node_training_failure', 'cancelled'];

// Builds the form in root; onCreated(job) after a confirmed, created job.
export function jobForm(root, onCreated) {
  const inputs = {
    name: h('input', { id: 'job-name', name: 'name', required: true, maxlength: '128', placeholder: 'support-bot-v1' }),
    taskType: select('job-taskType', TASKS, 'text'),
    model: h('input', { id: 'job-model', name: 'model', required: true, placeholder: 'Qwen/Qwen2.5-0.5B', spellcheck: 'false' }),
    hours: h('input', { id: 'job-hours', name: 'hours', type: 'number', min: '1', max: '168', step: '1', value: '1', required: true }),
    webhookUrl: h('input', { id: 'job-webhookUrl', name: 'webhookUrl', type: 'url', placeholder: 'optional: https://...' }),
  };
  const taskInputs = {};
  const taskFields = {};
  for (const k of Object.keys(LABELS)) {
    taskInputs[k] = k === 'chatTemplate' ? select('job-chatTemplate', ['', ...TEMPLATES], '')
      : k === 'imageModelType' ? select('job-imageModelType', ['flux', 'sdxl'], 'flux')
        : h('input', { id: 'job-' + k, name: k, value: DEFAULTS[k] || '', spellcheck: 'false' });
    taskFields[k] = field(LABELS[k][0], taskInputs[k], LABELS[k][1]);
  }
  const price = h('div', { id: 'job-price', class: 'quote', 'aria-live': 'polite' });
  const err = h('div', { id: 'job-form-error' });
  const quoteBtn = h('button', { type: 'button', id: 'job-quote', class: 'secondary' }, 'Show the price');
  const submitBtn = h('button', { type: 'submit', id: 'job-submit', class: 'primary' }, 'Submit…');

  const showTaskFields = () => {
    const want = TASK_FIELDS[inputs.taskType.value] || {};
    for (const [k, f] of Object.entries(taskFields)) {
      f.classList.toggle('hidden', !want[k]);
      const opt = f.querySelector('span');
      if (opt) opt.textContent = LABELS[k][0] + (want[k] === 'O' ? ' (optional)' : '');
    }
  };
  inputs.taskType.addEventListener('change', showTaskFields);

  const body = () => {
    const b = {
      name: inputs.name.value.trim(),
      taskType: inputs.taskType.value,
      model: inputs.model.value.trim(),
      hours: Number(inputs.hours.value),
    };
    if (inputs.webhookUrl.value.trim()) b.webhookUrl = inputs.webhookUrl.value.trim();
    for (const k of Object.keys(TASK_FIELDS[b.taskType] || {})) {
      const v = taskInputs[k].value.trim();
      if (v) b[k] = v;
    }
    return b;
  };

  // The price, from the broker's dry run, shown in the form; returns the quote.
  const quote = async (b) => {
    const q = await api('POST', '/api/volt/fine-tuning', { ...b, dry_run: true });
    const size = q.sizeMillions ? ` (${q.tier || ''} tier: ${q.sizeMillions >= 1000 ? (q.sizeMillions / 1000).toFixed(1) + 'B' : q.sizeMillions + 'M'} parameters, from the ${q.sizeSource || 'name'})` : q.tier ? ` (${q.tier} tier)` : '';
    clear(price).append(
      h('div', { class: 'quote-total', dataset: { total: String(q.totalCost), micros: String(q.totalCostMicros) } },
        `Price: ${money(q.totalCost)} = ${q.hoursRequested} h × ${money(q.costPerHour)}/h${size}`),
      h('div', { class: 'muted' }, `Charged up front. Your balance: ${money(q.balance)}` + (q.affordable ? '' : ' — not enough for this job.')));
    return q;
  };

  quoteBtn.addEventListener('click', async () => {
    clear(err);
    if (!form.reportValidity()) return;
    try {
      await quote(body());
    } catch (e) {
      clear(price);
      err.appendChild(errorBox(e));
    }
  });

  const form = h('form', { id: 'job-form', class: 'job-form', novalidate: false },
    h('div', { class: 'jw-grid' },
      field('Name', inputs.name),
      field('Task type', inputs.taskType),
      field('Base model', inputs.model, 'Hugging Face id, owner/name; priced by its size'),
      field('Hours', inputs.hours, '1 to 168, paid up front'),
      Object.values(taskFields),
      field('Webhook URL', inputs.webhookUrl, 'optional: told when the job ends')),
    price, err,
    h('div', { class: 'actions' }, quoteBtn, submitBtn));

  let busy = false;
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    if (busy) return;
    clear(err);
    busy = true;
    submitBtn.disabled = true;
    try {
      const b = body();
      const q = await quote(b);
      if (!q.affordable) {
        err.appendChild(errorBox({ code: 'INSUFFICIENT_BALANCE', message: `This job costs ${money(q.totalCost)} and the balance is ${money(q.balance)}.` }));
        return;
      }
      const ok = await confirmDialog('Submit this fine-tuning job?', [
        h('p', {}, `${b.name}: ${b.taskType} on ${b.model}, ${b.hours} h.`),
        h('p', { class: 'quote-total', dataset: { total: String(q.totalCost), micros: String(q.totalCostMicros) } },
          `Price: ${money(q.totalCost)} (${q.hoursRequested} h × ${money(q.costPerHour)}/h), charged now.`),
        h('p', {}, `Balance after: ${money(q.balance - q.totalCost)}.`),
        h('p', { class: 'muted' }, 'Cancelled before training starts: refunded in full. After training starts: no refund.'),
      ], `Pay ${money(q.totalCost)} and submit`);
      if (!ok) return;
      const r = await api('POST', '/api/volt/fine-tuning', b, { idem: newIdemKey() });
      toast(`Job ${r.job.id} submitted: ${money(r.job.totalCost)} charged.`);
      clear(price);
      onCreated(r.job);
    } catch (ex) {
      err.appendChild(errorBox(ex));
    } finally {
      busy = false;
      submitBtn.disabled = false;
    }
  });
  showTaskFields();
  root.appendChild(form);
  return form;
}
