// page_admin.js: for admin keys: the accounts with their balances, this month's spend, budgets
// and limits (GET /api/volt/admin/accounts); create an account (its first API key shown once);
// credit one (confirmed, with an Idempotency-Key) and set its limits (PUT
// /admin/accounts/:id/limits: the caps the holder can lower, not raise; docs/metering.md); the
// providers and their health (page_admin_health.js) and /readyz's checks.

import { api } from './api.js';
import { clear, confirmDialog, errorBox, field, guarded, h, money, perHour, table, toast } from './ui.js';
import { dollars, onSubmit, showSecret } from './page_resources_util.js';
import { healthSections } from './page_admin_health.js';

function budget(a) {
  if (a.monthly_budget === null || a.monthly_budget === undefined) return 'none';
  const pct = a.budget_used_percent === null || a.budget_used_percent === undefined ? '' : ` (${Number(a.budget_used_percent).toFixed(1)}% used)`;
  return money(a.monthly_budget) + pct;
}

const limitText = (x, fmt) => (x === null || x === undefined ? 'none' : fmt(x));

// The panel of one account: credit it, set its limits.
function accountPanel(a, reload) {
  const adminLim = (a.limits && a.limits.admin) || {};
  const ownLim = (a.limits && a.limits.account) || {};

  const cErr = h('div', { class: 'form-error' });
  const amount = h('input', { id: 'credit-amount', required: true, inputmode: 'decimal', autocomplete: 'off', placeholder: '25.00' });
  const note = h('input', { id: 'credit-note', maxlength: '256', autocomplete: 'off' });
  const credit = h('form', { class: 'inline', id: 'credit-form' },
    field('Amount ($)', amount), field('Note', note), h('button', { type: 'submit', class: 'primary' }, 'Credit…'));
  onSubmit(credit, cErr, async () => {
    const amt = dollars(amount.value, 'Amount', { min: 0.01 });
    const lines = [`Credit ${money(amt)} to ${a.name} (${a.id})?`, `Balance now ${money(a.balance)}; after: ${money(Number(a.balance) + Number(amt))}.`];
    if (note.value.trim()) lines.push('Note: ' + note.value.trim());
    if (!(await confirmDialog('Credit account', lines, `Credit ${money(amt)}`))) return;
    const body = { amount: amt };
    if (note.value.trim()) body.note = note.value.trim();
    const r = await api('POST', `/api/volt/admin/accounts/${encodeURIComponent(a.id)}/credit`, body, { idem: true });
    toast(`Credited ${money(r.credited)} to ${a.name}; balance ${money(r.balance)}`);
    credit.reset();
    await reload(a.id);
  });

  const lErr = h('div', { class: 'form-error' });
  const val = (x) => (x === null || x === undefined ? '' : Number(x).toFixed(2));
  const budgetIn = h('input', { id: 'limit-budget', inputmode: 'decimal', autocomplete: 'off', value: val(adminLim.monthly_budget), placeholder: 'none' });
  const spendIn = h('input', { id: 'limit-spend', inputmode: 'decimal', autocomplete: 'off', value: val(adminLim.spend_limit_per_hour), placeholder: 'none' });
  const limits = h('form', { class: 'inline', id: 'limits-form' },
    field('Monthly budget ($)', budgetIn, 'empty: none'),
    field('Spend limit ($/h)', spendIn, 'empty: none'),
    h('button', { type: 'submit', class: 'primary' }, 'Set limits'));
  onSubmit(limits, lErr, async () => {
    // an empty field removes the administrator's cap (0 means none to the API)
    const b = dollars(budgetIn.value, 'Monthly budget', { allowEmpty: true });
    const s = dollars(spendIn.value, 'Spend limit', { allowEmpty: true });
    await api('PUT', `/api/volt/admin/accounts/${encodeURIComponent(a.id)}/limits`, { monthly_budget: b || 0, spend_limit_per_hour: s || 0 });
    toast(`Limits of ${a.name} set`);
    await reload(a.id);
  });

  return h('section', { class: 'card', id: 'admin-edit', dataset: { account: a.id } },
    h('h2', {}, 'Account ', h('span', { class: 'acct-name' }, a.name), ' ', h('code', { class: 'muted' }, a.id)),
    h('p', { class: 'muted' },
      `Balance ${money(a.balance)}; spent ${money(a.month_spent)} this month. `,
      `The holder's own limits: budget ${limitText(ownLim.monthly_budget, money)}, spend ${limitText(ownLim.spend_limit_per_hour, perHour)}. `,
      'The lower of the two applies; the holder cannot raise or remove an administrator\'s cap.'),
    h('h3', {}, 'Credit'), credit, cErr,
    h('h3', {}, 'Administrator\'s limits'), limits, lErr);
}

function createAccountForm(onCreated) {
  const err = h('div', { class: 'form-error' });
  const out = h('div', { id: 'account-created' });
  const name = h('input', { id: 'acct-name', required: true, maxlength: '128', autocomplete: 'off' });
  const credit = h('input', { id: 'acct-credit', inputmode: 'decimal', autocomplete: 'off', placeholder: '0' });
  const isAdmin = h('input', { type: 'checkbox', id: 'acct-admin' });
  const form = h('form', { class: 'inline', id: 'account-form' },
    field('Name', name), field('Initial credit ($)', credit),
    h('label', { class: 'check' }, isAdmin, ' administrator'),
    h('button', { type: 'submit', class: 'primary' }, 'Create account'));
  onSubmit(form, err, async () => {
    const c = dollars(credit.value, 'Initial credit', { allowEmpty: true });
    const body = { name: name.value.trim() };
    if (c && Number(c) > 0) body.credit = c;
    if (isAdmin.checked) body.admin = true;
    if (body.credit || body.admin) {
      const lines = [`Create the account "${body.name}"${body.credit ? ` with ${money(body.credit)} of credit` : ''}?`];
      if (body.admin) lines.push('Its key will be an administrator\'s: every account, every provider.');
      if (!(await confirmDialog('Create account', lines, 'Create'))) return;
    }
    const r = await api('POST', '/api/volt/admin/accounts', body);
    showSecret(out, `API key of the new account "${r.account.name}"`, r.api_key.key, 'account-secret');
    form.reset();
    await onCreated(r.account.id);
  });
  return [form, err, out];
}

export default {
  id: 'admin',
  title: 'Admin',
  scope: 'admin',
  render(root, ctx) {
    root.appendChild(h('h1', {}, 'Administration'));
    if (!ctx.has('admin')) {
      root.appendChild(errorBox({ code: 'INSUFFICIENT_SCOPE', message: 'This page needs an administrator\'s key.' }));
      return undefined;
    }
    const list = h('div', { id: 'admin-accounts-list' });
    const panel = h('div', { id: 'admin-edit-box' });
    let selected = null;

    const loadAccounts = (keep = selected) => guarded(list, async () => {
      const r = await api('GET', '/api/volt/admin/accounts');
      const accts = r.accounts || [];
      clear(list).appendChild(table([
        { label: 'Name', value: (a) => [a.name, a.is_admin ? h('span', { class: 'badge tag' }, 'admin') : null, a.balance_low ? h('span', { class: 'badge tag st-failed' }, 'low') : null] },
        { label: 'ID', value: (a) => h('code', {}, a.id) },
        { label: 'Balance', value: (a) => money(a.balance), class: 'num nowrap balance' },
        { label: 'Spent this month', value: (a) => money(a.month_spent), class: 'num' },
        { label: 'Running', value: (a) => perHour(a.running_cost_per_hour || 0), class: 'num' },
        { label: 'Budget', value: budget },
        { label: 'Spend limit', value: (a) => limitText(a.spend_limit_per_hour, perHour) },
        { label: '', value: (a) => h('button', { type: 'button', class: 'small', 'data-action': 'manage', onclick: () => { select(a); panel.scrollIntoView({ block: 'nearest' }); } }, 'Credit / limits') },
      ], accts, { class: 'accounts', empty: 'No accounts.' }));
      const again = accts.find((a) => a.id === keep);
      if (again) select(again);
    });

    function select(a) {
      selected = a.id;
      clear(panel).appendChild(accountPanel(a, (id) => loadAccounts(id)));
      for (const tr of list.querySelectorAll('tbody tr')) tr.classList.toggle('selected', tr.dataset.id === a.id);
    }

    const health = healthSections();
    root.append(
      h('div', { class: 'actions admin-top' }, h('button', { type: 'button', id: 'admin-refresh', onclick: () => { loadAccounts(); health.load(); } }, 'Refresh')),
      h('section', { class: 'card', id: 'admin-accounts' }, h('h2', {}, 'Accounts'), list,
        h('h3', {}, 'Create an account'), ...createAccountForm((id) => loadAccounts(id))),
      panel,
      ...health.els);
    loadAccounts();
    health.load();
    return undefined;
  },
};
