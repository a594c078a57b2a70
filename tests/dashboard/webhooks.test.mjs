// webhooks.test.mjs: the webhooks page against a local receiver (the sandbox allows
// 127.0.0.0/8): an endpoint added from the page is the API's, pause/enable and delete reach
// the API, the signing secret shows only on demand and signs what the receiver gets, a pod's
// events arrive and show as deliveries with their attempts, and a redelivery from the page
// reaches the receiver a second time with the same webhook-id and shows as a new attempt.

import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { createServer } from 'node:http';
import { openBrowser, shot, signIn, startSandbox, until } from './harness.mjs';

let sb, br, server, hookUrl;
const received = []; // {id, ts, sig, body}

before(async () => {
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      received.push({ id: req.headers['webhook-id'], ts: req.headers['webhook-timestamp'], sig: req.headers['webhook-signature'] || '', body, path: req.url });
      res.writeHead(200, { 'Content-Type': 'text/plain' });
      res.end('ok');
    });
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  hookUrl = `http://127.0.0.1:${server.address().port}/hook`;
  sb = await startSandbox();
  br = await openBrowser();
  await signIn(br.page, sb.url, sb.key);
});
after(async () => {
  if (br) await br.browser.close();
  if (sb) await sb.stop();
  if (server) server.close();
});

const endpoints = async () => (await sb.api('GET', '/api/volt/webhooks')).json.webhooks;
const deliveries = async () => (await sb.api('GET', '/api/volt/webhooks/deliveries?limit=100')).json.deliveries;

test('endpoints: add, pause, enable, delete from the page reach the API', async () => {
  const { page } = br;
  await page.goto(sb.url + '/#/webhooks');
  await page.waitForSelector('#wh-endpoints .empty');
  await page.fill('#wh-url', hookUrl);
  await page.fill('#wh-events', 'pod.*,webhook.test');
  await page.click('#wh-add');
  await until(async () => (await endpoints()).length === 1, 10000, 'the endpoint');
  const ep = (await endpoints())[0];
  assert.equal(ep.url, hookUrl);
  assert.equal(ep.events, 'pod.*,webhook.test');
  assert.equal(ep.enabled, true);
  const row = `#wh-endpoints tr[data-id="${ep.id}"]`;
  await page.waitForSelector(row + ' .badge.st-enabled');

  await page.click(row + ' [data-action=pause]');
  await page.waitForSelector(row + ' .badge.st-disabled');
  assert.equal((await endpoints())[0].enabled, false);
  await page.click(row + ' [data-action=enable]');
  await page.waitForSelector(row + ' .badge.st-enabled');
  assert.equal((await endpoints())[0].enabled, true);

  // a second endpoint, deleted after a confirmation (a cancelled one deletes nothing)
  await page.fill('#wh-url', 'http://127.0.0.1:9/other');
  await page.fill('#wh-events', '*');
  await page.click('#wh-add');
  await until(async () => (await endpoints()).length === 2, 10000, 'the second endpoint');
  const other = (await endpoints()).find((w) => w.url.endsWith('/other'));
  await page.click(`#wh-endpoints tr[data-id="${other.id}"] [data-action=delete]`);
  await page.click('dialog.confirm button.secondary');
  assert.equal((await endpoints()).length, 2);
  await page.click(`#wh-endpoints tr[data-id="${other.id}"] [data-action=delete]`);
  await page.click('dialog.confirm [data-confirm]');
  await page.waitForSelector(`#wh-endpoints tr[data-id="${other.id}"]`, { state: 'detached' });
  assert.deepEqual((await endpoints()).map((w) => w.id), [ep.id]);
  assert.deepEqual(page.problems, []);
});

test('the signing secret shows only on demand, and signs what arrives', async () => {
  const { page } = br;
  assert.equal(await page.locator('#wh-secret').count(), 0);
  assert.ok(!(await page.textContent('#main')).includes('whsec_'));
  await page.click('#wh-secret-show');
  await page.waitForSelector('#wh-secret');
  const secret = (await sb.api('GET', '/api/volt/webhooks/secret')).json.secret;
  assert.equal(await page.textContent('#wh-secret'), secret);
  // a test message sent from the page arrives signed with that secret
  const ep = (await endpoints())[0];
  const n = received.length;
  await page.click(`#wh-endpoints tr[data-id="${ep.id}"] [data-action=test]`);
  await until(() => received.slice(n).find((m) => m.body.includes('"webhook.test"')), 15000, 'the test message');
  const m = received.slice(n).find((x) => x.body.includes('"webhook.test"'));
  const want = createHmac('sha256', Buffer.from(secret.replace(/^whsec_/, ''), 'base64')).update(`${m.id}.${m.ts}.${m.body}`).digest('base64');
  assert.ok(m.sig.split(' ').includes('v1,' + want), 'signed with the shown secret');
  await page.click('#wh-secret-hide');
  assert.equal(await page.locator('#wh-secret').count(), 0);
  assert.deepEqual(page.problems, []);
});

test('deliveries: a pod event arrives, is listed with its attempt, and a redelivery arrives again with the same webhook-id', async () => {
  const { page } = br;
  sb.cli(['place', '--gpu', 'RTX4090', '--image', 'ubuntu:22.04', '--name', 'hook <img src=x onerror=alert(1)>']);
  // the first pod message the receiver got
  const first = await until(() => received.find((m) => /"event":"pod\./.test(m.body)), 30000, 'a pod event at the receiver');
  const id = first.id;
  assert.match(id, /^msg_/);
  // the page lists it as delivered, with one attempt
  const row = `#wh-deliveries tr[data-id="${id}"]`;
  await page.waitForSelector(row + ' .badge.st-delivered', { timeout: 15000 });
  const d0 = (await deliveries()).find((d) => d.id === id);
  assert.equal(d0.status, 'delivered');
  assert.equal(d0.attempts, 1);
  assert.ok((await page.textContent(row)).includes(d0.event));
  assert.match(await page.textContent(row + ' summary'), /^1 attempt$/);
  await page.click(row + ' summary');
  assert.equal(await page.locator(row + ' .wh-attempt').count(), 1);
  assert.match(await page.textContent(row + ' .wh-attempt'), /HTTP 200/);
  await shot(page, 'webhooks');

  // redeliver from the page
  assert.equal(received.filter((m) => m.id === id).length, 1);
  await page.click(row + ' [data-action=redeliver]');
  await page.waitForSelector('#wh-del-result [role=status]');
  assert.ok((await page.textContent('#wh-del-result')).includes(id));
  await until(() => received.filter((m) => m.id === id).length === 2, 20000, 'the redelivery at the receiver');
  const both = received.filter((m) => m.id === id);
  assert.equal(both[0].id, both[1].id);
  assert.equal(both[1].body, both[0].body);
  // the far side and the page: a second attempt, delivered
  await until(async () => {
    const d = (await deliveries()).find((x) => x.id === id);
    return (d.attemptLog || []).length === 2 && d.status === 'delivered';
  }, 15000, 'the API shows the second attempt');
  await until(async () => (await page.locator(row + ' .wh-attempt').count()) === 2, 10000, 'the page shows the second attempt');
  assert.match(await page.textContent(row + ' summary'), /^2 attempts \(1 since the last redelivery\)$/);
  assert.match(await page.locator(row + ' .wh-attempt').nth(1).textContent(), /HTTP 200/);
  await page.waitForSelector(row + ' .badge.st-delivered');
  await page.locator('#wh-deliveries').scrollIntoViewIfNeeded();
  await shot(page, 'deliveries');
  assert.equal(await page.locator('#main img').count(), 0);
  assert.deepEqual(page.problems, []);
});

test('phone width: the webhooks page fits', async () => {
  const ctx = await br.browser.newContext({ viewport: { width: 390, height: 844 } });
  const page = await ctx.newPage();
  await page.goto(sb.url + '/');
  await page.evaluate((k) => sessionStorage.setItem('gpubroker.key', k), sb.key);
  await page.goto(sb.url + '/#/webhooks');
  await page.waitForSelector('#wh-deliveries tr[data-id]');
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 1, 'no horizontal scroll: ' + overflow);
  await shot(page, 'webhooks-phone');
  await ctx.close();
});
