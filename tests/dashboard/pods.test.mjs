// pods.test.mjs: the pods page against the sandbox: the demo account's pods as the CLI lists
// them, live status changes from the event stream, filters, stop and delete behind a
// confirmation (a cancel changes nothing at the broker), a pod's page (SSH command, events,
// logs), a pod named like HTML shown as text, and phone width.

import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { openBrowser, signIn, shot, startSandbox, until } from './harness.mjs';

const XSS = '<img src=x onerror=alert(1)>';
let sb, br, a, b, x;

const pod = async (id) => (await sb.api('GET', '/api/volt/pods/' + id)).json;
const row = (id) => `#pods-table tr[data-id="${id}"]`;

before(async () => {
  sb = await startSandbox();
  br = await openBrowser();
  // two pods made with the CLI (volt can stop; targon gives an SSH command and logs)
  a = sb.cli(['pods', 'create', '--machine', 'volt:mach_rtx4090_01', '--image', 'ubuntu:22.04', '--name', 'demo-volt']);
  b = sb.cli(['pods', 'create', '--machine', 'targon:h200-small', '--image', 'ubuntu:22.04', '--name', 'demo-targon']);
  const r = await sb.api('POST', '/api/volt/pods', { machine_id: 'volt:mach_rtx4090_02', image: 'ubuntu:22.04', name: XSS });
  assert.equal(r.status, 201, JSON.stringify(r.json));
  x = r.json;
  for (const p of [a, b, x]) await until(async () => (await pod(p.id)).status === 'running', 20000, p.id + ' running');
  await signIn(br.page, sb.url, sb.key);
});
after(async () => {
  if (br) await br.browser.close();
  if (sb) await sb.stop();
});

test('the demo account\'s pods show as the CLI lists them, with cost and uptime', async () => {
  const { page } = br;
  await page.goto(sb.url + '/#/pods');
  const ls = sb.cli(['pods', 'ls']);
  assert.equal(ls.pods.length, 3);
  for (const p of ls.pods) {
    await page.waitForSelector(row(p.id));
    assert.equal(await page.textContent(row(p.id) + ' a.pod-name'), p.name);
    assert.equal(await page.textContent(row(p.id) + ' .badge'), p.status);
    assert.equal(await page.textContent(row(p.id) + ' td[data-label=Provider]'), p.provider);
  }
  assert.equal(await page.locator('#pods-table tbody tr').count(), ls.pods.length);
  // cost so far comes from each pod's own answer (the list does not carry it)
  await until(async () => /^\$\d+\.\d\d$/.test(await page.textContent(row(b.id) + ' .pod-cost')), 10000, 'cost shown');
  const cost = Number((await page.textContent(row(b.id) + ' .pod-cost')).slice(1));
  const api = await pod(b.id);
  assert.ok(Math.abs(cost - api.total_cost) <= 0.05, `${cost} vs ${api.total_cost}`);
  assert.match(await page.textContent('#pods-count'), /^3 of 3 pods$/);
  assert.equal(await page.getAttribute('#pods-place', 'href'), '#/offers');
  await shot(page, 'pods');
  assert.deepEqual(page.problems, []);
});

test('a status change made elsewhere arrives without a reload; the filters ask the API', async () => {
  const { page } = br;
  await page.goto(sb.url + '/#/pods');
  await page.waitForSelector(row(a.id));
  await page.evaluate(() => (window.__sameDocument = true));
  sb.cli(['pods', 'stop', a.id]);
  await page.waitForFunction((sel) => document.querySelector(sel)?.textContent === 'stopped', row(a.id) + ' .badge');
  assert.equal(await page.evaluate(() => window.__sameDocument), true, 'no reload');
  assert.equal((await pod(a.id)).status, 'stopped');
  await page.selectOption('#pods-status', 'running');
  await page.waitForSelector(row(a.id), { state: 'detached' });
  const running = sb.cli(['pods', 'ls', '--status', 'running']).pods.map((p) => p.id).sort();
  const shown = await page.$$eval('#pods-table tbody tr', (trs) => trs.map((t) => t.dataset.id).sort());
  assert.deepEqual(shown, running);
  await page.selectOption('#pods-status', '');
  await page.selectOption('#pods-provider', 'targon');
  await page.waitForSelector(row(x.id), { state: 'detached' });
  assert.deepEqual(await page.$$eval('#pods-table tbody tr', (trs) => trs.map((t) => t.dataset.id)), [b.id]);
  await page.selectOption('#pods-provider', '');
  await page.waitForSelector(row(x.id));
  // start it again, behind the confirmation
  await page.click(row(a.id) + ' button[data-action=start]');
  await page.click('dialog.confirm button[data-confirm]');
  await until(async () => (await pod(a.id)).status === 'running', 15000, 'started');
  await page.waitForFunction((sel) => document.querySelector(sel)?.textContent === 'running', row(a.id) + ' .badge');
  assert.deepEqual(page.problems, []);
});

test('stop and delete ask first: cancel changes nothing, confirm does it', async () => {
  const { page } = br;
  await page.goto(sb.url + '/#/pods');
  await page.waitForSelector(row(a.id) + ' button[data-action=stop]');
  // stop: cancelled
  await page.click(row(a.id) + ' button[data-action=stop]');
  await page.waitForSelector('dialog.confirm[open]');
  assert.match(await page.textContent('dialog.confirm'), /demo-volt/);
  await page.click('dialog.confirm button:not([data-confirm])');
  await page.waitForSelector('dialog.confirm', { state: 'detached' });
  await new Promise((r) => setTimeout(r, 500));
  assert.equal((await pod(a.id)).status, 'running');
  // stop: confirmed
  await page.click(row(a.id) + ' button[data-action=stop]');
  await page.click('dialog.confirm button[data-confirm]');
  await until(async () => (await pod(a.id)).status === 'stopped', 15000, 'stopped');
  await page.waitForFunction((sel) => document.querySelector(sel)?.textContent === 'stopped', row(a.id) + ' .badge');
  // delete: the dialog says it cannot be undone; cancelled, then confirmed
  await page.click(row(a.id) + ' button[data-action=delete]');
  await page.waitForSelector('dialog.confirm[open]');
  assert.match(await page.textContent('dialog.confirm'), /cannot be undone/);
  assert.match(await page.textContent('dialog.confirm'), /Cost so far: \$\d+\.\d\d\./);
  await page.keyboard.press('Escape');
  await page.waitForSelector('dialog.confirm', { state: 'detached' });
  await new Promise((r) => setTimeout(r, 500));
  assert.equal((await pod(a.id)).status, 'stopped');
  await page.click(row(a.id) + ' button[data-action=delete]');
  await page.click('dialog.confirm button[data-confirm]');
  await until(async () => (await pod(a.id)).status === 'deleted', 15000, 'deleted');
  await page.waitForSelector(row(a.id), { state: 'detached' }); // deleted pods only when asked for
  assert.equal(sb.cli(['pods', 'ls', '--status', 'deleted']).pods.filter((p) => p.id === a.id).length, 1);
  assert.deepEqual(page.problems, []);
});

test('a pod\'s page: SSH command with a copy button, events, logs', async () => {
  const { page } = br;
  await page.goto(sb.url + '/#/pods');
  await page.click(row(b.id) + ' a.pod-name');
  await page.waitForSelector('#pod-ssh');
  const api = await pod(b.id);
  assert.ok(api.ssh_command);
  assert.equal(await page.textContent('#pod-ssh'), api.ssh_command);
  assert.equal(await page.locator('#pod-access button', { hasText: 'Copy' }).count(), 1);
  assert.match(await page.textContent('.pod-title'), /demo-targon/);
  const evs = (await sb.api('GET', `/api/volt/pods/${b.id}/events`)).json.events;
  await page.waitForSelector('#pod-events tbody tr');
  assert.equal(await page.locator('#pod-events tbody tr').count(), evs.length);
  assert.ok((await page.textContent('#pod-events')).includes(evs[0].type));
  assert.equal(await page.isVisible('#pod-logs'), false); // asked for when wanted
  await page.click('#pod-logs-refresh');
  await until(async () => (await page.textContent('#pod-logs')).length > 0, 10000, 'logs');
  const logs = (await sb.api('GET', `/api/volt/pods/${b.id}/logs?tail=200`)).json.logs;
  assert.ok(logs.split('\n')[0].length > 0 && (await page.textContent('#pod-logs')).includes(logs.split('\n')[0]));
  // follow: polls the logs (the pod runs); unchecked again it stops
  const before = await page.textContent('#pod-logs-state');
  await page.check('#pod-logs-follow');
  await until(async () => (await page.textContent('#pod-logs-state')) !== before, 8000, 'followed');
  await page.uncheck('#pod-logs-follow');
  await shot(page, 'pod-detail');
  // a provider without logs: its error is shown, not swallowed
  await page.goto(sb.url + '/#/pods/' + x.id);
  await page.waitForSelector('#pod-info dl');
  assert.deepEqual(page.problems, []);
  await page.click('#pod-logs-refresh');
  await page.waitForSelector('#pod-logs-msg .error');
  assert.match(await page.textContent('#pod-logs-msg'), /NOT_SUPPORTED: Provider volt does not serve logs/);
  // chromium logs the 409 the page asked for and showed: that one, on purpose
  assert.deepEqual(page.problems, ['console: Failed to load resource: the server responded with a status of 409 (Conflict)']);
  page.problems.length = 0;
});

test('a pod named like HTML shows as that text, nothing runs', async () => {
  const { page } = br;
  await page.goto(sb.url + '/#/pods');
  await page.waitForSelector(row(x.id));
  assert.equal(await page.textContent(row(x.id) + ' a.pod-name'), XSS);
  assert.equal(await page.locator('img').count(), 0);
  await page.click(row(x.id) + ' a.pod-name');
  await page.waitForSelector('#pod-info dl');
  assert.ok((await page.textContent('.pod-title')).startsWith(XSS));
  assert.ok((await page.textContent('#pod-info')).includes(XSS));
  await page.click(`#pod-head button[data-action=stop]`);
  assert.ok((await page.textContent('dialog.confirm')).includes(XSS));
  await page.click('dialog.confirm button:not([data-confirm])');
  assert.equal(await page.locator('img').count(), 0);
  assert.equal((await pod(x.id)).status, 'running');
  await new Promise((r) => setTimeout(r, 300));
  assert.deepEqual(page.problems, []);
});

test('phone width: the pods table and a pod\'s page fit', async () => {
  const ctx = await br.browser.newContext({ viewport: { width: 390, height: 844 } });
  const page = await ctx.newPage();
  const problems = [];
  page.on('pageerror', (e) => problems.push(e.message));
  page.on('console', (m) => m.type() === 'error' && problems.push(m.text()));
  await page.goto(sb.url + '/');
  await page.evaluate((k) => sessionStorage.setItem('gpubroker.key', k), sb.key);
  await page.goto(sb.url + '/#/pods');
  await page.waitForSelector(row(b.id));
  const overflow = () => page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok((await overflow()) <= 1, 'no horizontal scroll: ' + (await overflow()));
  // the table became label/value rows
  assert.equal(await page.isVisible('#pods-table thead'), false);
  await shot(page, 'pods-phone');
  await page.goto(sb.url + '/#/pods/' + b.id);
  await page.waitForSelector('#pod-ssh');
  assert.ok((await overflow()) <= 1, 'pod page: no horizontal scroll: ' + (await overflow()));
  await shot(page, 'pod-detail-phone');
  assert.deepEqual(problems, []);
  await ctx.close();
});

test('a key with the pods scope only: the pods, no way to the offers it may not read', async () => {
  const k = await sb.api('POST', '/api/volt/api-keys', { name: 'pods-only', scopes: ['pods'] });
  assert.equal(k.status, 201);
  const ctx = await br.browser.newContext();
  const page = await ctx.newPage();
  const problems = [];
  page.on('console', (m) => m.type() === 'error' && problems.push(m.text()));
  await page.goto(sb.url + '/');
  await page.evaluate((key) => sessionStorage.setItem('gpubroker.key', key), k.json.key);
  await page.goto(sb.url + '/#/pods');
  await page.waitForSelector(row(b.id));
  assert.equal(await page.locator('#pods-place').count(), 0);
  assert.deepEqual(problems, []);
  await ctx.close();
});
