// admin.test.mjs: the Admin page (page_admin.js): accounts and balances equal to the API's;
// a credit from the page (confirmed, the dialog shows the amount) changes the balance by exactly
// that; a monthly budget set on the page is the account's; a new account's key shown once and
// working; providers' health and /readyz equal to the API's (a refusing provider's error as
// text); a non-admin key gets no admin nav and no admin data.

import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { openBrowser, shot, signIn, startSandbox, until } from './harness.mjs';

let sb, br, demoId;
const cents = (x) => Math.round(Number(x) * 100);

before(async () => {
  sb = await startSandbox();
  br = await openBrowser();
  await signIn(br.page, sb.url, sb.adminKey);
  const accts = (await sb.api('GET', '/api/volt/admin/accounts', undefined, sb.adminKey)).json.accounts;
  demoId = accts.find((a) => a.name === 'demo').id;
});
after(async () => {
  if (br) await br.browser.close();
  if (sb) await sb.stop();
});

async function openAdmin(page) {
  await page.goto(sb.url + '/#/admin');
  await page.reload(); // a fresh render, also when the page was on #/admin already
  await page.waitForSelector(`#admin-accounts-list tr[data-id="${demoId}"]`);
}

async function manageDemo(page) {
  await page.click(`#admin-accounts-list tr[data-id="${demoId}"] button[data-action=manage]`);
  await page.waitForSelector(`#admin-edit[data-account="${demoId}"]`);
}

const demoBalance = async () => (await sb.api('GET', '/api/volt/account')).json.balance;

test('accounts with their balances as the API has them', async () => {
  const { page } = br;
  await openAdmin(page);
  const accts = (await sb.api('GET', '/api/volt/admin/accounts', undefined, sb.adminKey)).json.accounts;
  assert.equal(await page.locator('#admin-accounts-list tbody tr').count(), accts.length);
  for (const a of accts) {
    const text = await page.textContent(`#admin-accounts-list tr[data-id="${a.id}"]`);
    assert.ok(text.includes(a.name), text);
    assert.equal((await page.textContent(`#admin-accounts-list tr[data-id="${a.id}"] td.balance`)).trim(), '$' + Number(a.balance).toFixed(2));
  }
  await shot(page, 'admin-accounts');
  assert.deepEqual(page.problems, []);
});

test('a credit from the page: confirmed with its amount, the balance changes by exactly that', async () => {
  const { page } = br;
  await openAdmin(page);
  await manageDemo(page);
  const before0 = await demoBalance();
  await page.fill('#credit-amount', '12.34');
  await page.fill('#credit-note', 'dashboard test');
  await page.click('#credit-form button[type=submit]');
  await page.waitForSelector('dialog.confirm[open]');
  assert.match(await page.textContent('dialog.confirm'), /\$12\.34/);
  await page.click('dialog.confirm button:not([data-confirm])'); // cancel: nothing credited
  assert.equal(cents(await demoBalance()), cents(before0));
  await page.click('#credit-form button[type=submit]');
  await page.waitForSelector('dialog.confirm[open]');
  await shot(page, 'admin-credit');
  await page.click('dialog.confirm button[data-confirm]');
  await until(async () => cents(await demoBalance()) !== cents(before0), 10000, 'the credit');
  assert.equal(cents(await demoBalance()), cents(before0) + 1234);
  const led = (await sb.api('GET', '/api/volt/account/ledger?limit=1')).json;
  const entry = led.entries[0];
  assert.equal(entry.kind, 'credit');
  assert.equal(entry.amount, 12.34);
  assert.equal(entry.note, 'dashboard test');
  // the table shows the new balance
  const want = '$' + (Number(await demoBalance())).toFixed(2);
  await until(async () => (await page.textContent(`#admin-accounts-list tr[data-id="${demoId}"] td.balance`)).trim() === want, 5000, 'the new balance on the page');
  // a bad amount is refused on the page, nothing sent
  await page.fill('#credit-amount', '1.234');
  await page.click('#credit-form button[type=submit]');
  await page.waitForSelector('#credit-form + .form-error .error');
  assert.equal(await page.locator('dialog.confirm[open]').count(), 0);
  assert.equal(cents(await demoBalance()), cents(before0) + 1234);
  assert.deepEqual(page.problems, []);
});

test('a monthly budget set on the page is the account\'s; emptied, it is gone', async () => {
  const { page } = br;
  await openAdmin(page);
  await manageDemo(page);
  await page.fill('#limit-budget', '150');
  await page.fill('#limit-spend', '');
  await page.click('#limits-form button[type=submit]');
  await until(async () => (await sb.api('GET', '/api/volt/account')).json.monthly_budget === 150, 10000, 'the budget');
  const a = (await sb.api('GET', '/api/volt/account')).json;
  assert.equal(a.limits.admin.monthly_budget, 150);
  assert.equal(a.spend_limit_per_hour, null);
  await until(async () => (await page.textContent(`#admin-accounts-list tr[data-id="${demoId}"]`)).includes('$150.00'), 5000, 'the budget in the table');
  // the panel reopened on the same account shows it
  assert.equal(await page.inputValue('#limit-budget'), '150.00');
  await page.fill('#limit-budget', '');
  await page.click('#limits-form button[type=submit]');
  await until(async () => (await sb.api('GET', '/api/volt/account')).json.monthly_budget === null, 10000, 'no budget');
  assert.deepEqual(page.problems, []);
});

test('an account created on the page: its key shown once, and it works; its name is text', async () => {
  const { page } = br;
  const EVIL = '<img src=x onerror=alert(1)>';
  await openAdmin(page);
  await page.fill('#acct-name', EVIL);
  await page.fill('#acct-credit', '5');
  await page.click('#account-form button[type=submit]');
  await page.waitForSelector('dialog.confirm[open]');
  const dlg = await page.textContent('dialog.confirm');
  assert.match(dlg, /\$5\.00/);
  assert.ok(dlg.includes(EVIL), dlg);
  await page.click('dialog.confirm button[data-confirm]');
  await page.waitForSelector('#account-secret .secret-value');
  const key = (await page.textContent('#account-secret .secret-value')).trim();
  const me = await sb.api('GET', '/api/volt/account', undefined, key);
  assert.equal(me.status, 200);
  assert.equal(me.json.name, EVIL);
  assert.equal(me.json.balance, 5);
  assert.equal(me.json.is_admin, false);
  const row = `#admin-accounts-list tr[data-id="${me.json.id}"]`;
  await page.waitForSelector(row);
  assert.ok((await page.textContent(row)).includes(EVIL));
  assert.equal(await page.locator('#admin-accounts-list img, #admin-edit img').count(), 0);
  await page.click('#account-secret [data-copied]');
  assert.ok(!(await page.content()).includes(key));
  assert.deepEqual(await page.evaluate(() => Object.keys(sessionStorage)), ['gpubroker.key']);
  assert.deepEqual(page.problems, []);
});

test('providers and their health as the API has them; /readyz\'s checks', async () => {
  const { page } = br;
  // a provider that refuses gpubroker's key (the broker itself, asked with a wrong key): a
  // health failure with the platform's error text
  const reg = await sb.api('POST', '/api/volt/admin/providers', { name: 'broken', kind: 'volt', base_url: sb.url, secret: 'gpb_sk_wrong', verify: false }, sb.adminKey);
  assert.equal(reg.status, 201, JSON.stringify(reg.json));
  await sb.api('GET', '/api/volt/machines');
  const provs = await until(async () => {
    const p = (await sb.api('GET', '/api/volt/admin/providers', undefined, sb.adminKey)).json.providers;
    return p.find((x) => x.name === 'broken' && !x.healthy) ? p : null;
  }, 30000, 'broken to be unhealthy');
  await openAdmin(page);
  await page.waitForSelector('#admin-providers-list tr[data-id="broken"]');
  assert.equal(await page.locator('#admin-providers-list tbody tr').count(), provs.length);
  for (const p of provs) {
    const row = `#admin-providers-list tr[data-id="${p.name}"]`;
    assert.equal(await page.getAttribute(`${row} .health`, 'data-healthy'), String(p.healthy), p.name);
    assert.ok((await page.textContent(row)).includes(p.kind));
  }
  const broken = provs.find((x) => x.name === 'broken');
  assert.ok((await page.textContent('#admin-providers-list tr[data-id="broken"] .last-error')).includes(broken.last_error));
  const ready = await (await fetch(sb.url + '/readyz')).json();
  assert.equal(await page.getAttribute('#ready-status', 'data-status'), ready.status);
  for (const [name, c] of Object.entries(ready.checks)) {
    const text = await page.textContent(`#admin-ready-list tr[data-id="${name}"]`);
    assert.ok(text.includes(c.ok ? 'ok' : 'failed'), name + ': ' + text);
  }
  assert.ok((await page.textContent('#admin-ready-list')).includes('broken'), 'the unhealthy provider is named');
  assert.ok(!/null|undefined/.test(await page.textContent('#admin-ready-list')));
  await page.locator('#admin-providers').scrollIntoViewIfNeeded();
  await shot(page, 'admin-providers');
  assert.deepEqual(page.problems, []);
});

test('a non-admin key: no admin nav, and #/admin shows no admin data', async () => {
  const ctx = await br.browser.newContext();
  const page = await ctx.newPage();
  const adminCalls = [];
  page.on('request', (r) => r.url().includes('/api/volt/admin') && adminCalls.push(r.url()));
  await signIn(page, sb.url, sb.key);
  assert.equal(await page.locator('#nav a[href="#/admin"]').count(), 0);
  await page.goto(sb.url + '/#/admin');
  await page.waitForSelector('#overview-stats .stat');
  assert.equal(await page.locator('#admin-accounts, #admin-providers').count(), 0);
  assert.ok(!(await page.textContent('main')).includes('sandbox-admin'));
  assert.deepEqual(adminCalls, []);
  await ctx.close();
});

test('phone width: the admin page has no horizontal scroll', async () => {
  const ctx = await br.browser.newContext({ viewport: { width: 390, height: 844 } });
  const page = await ctx.newPage();
  await page.goto(sb.url + '/');
  await page.evaluate((k) => sessionStorage.setItem('gpubroker.key', k), sb.adminKey);
  await page.goto(sb.url + '/#/admin');
  await page.waitForSelector(`#admin-accounts-list tr[data-id="${demoId}"]`);
  await page.waitForSelector('#admin-providers-list table');
  await page.click(`#admin-accounts-list tr[data-id="${demoId}"] button[data-action=manage]`);
  await page.waitForSelector('#admin-edit');
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 1, 'no horizontal scroll: ' + overflow);
  await shot(page, 'admin-phone');
  await ctx.close();
});
