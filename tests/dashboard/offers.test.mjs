// offers.test.mjs: the offers page against the sandbox: the live offers as the API ranks them,
// the filters of `gpubroker offers` sent as its query, explain's reasons, and placing a pod:
// a plan (dry run: nothing created) confirmed in a dialog, then exactly one pod on the chosen
// offer, seen reaching running on its page.

import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { openBrowser, signIn, shot, startSandbox, until } from './harness.mjs';

let sb, br;
const rows = (page) => page.$$eval('#offers-table tbody tr', (trs) => trs.map((t) => t.dataset.id));
// the offers the Place buttons would place, in the table's order
const shown = (page) => page.$$eval('#offers-table button.place', (bs) => bs.map((b) => b.dataset.offer));
// a fresh offers page (its filters empty): the same hash again would not route
const open = async (page) => {
  await page.goto('about:blank');
  await page.goto(sb.url + '/#/offers');
};

before(async () => {
  sb = await startSandbox();
  br = await openBrowser();
  await signIn(br.page, sb.url, sb.key);
});
after(async () => {
  if (br) await br.browser.close();
  if (sb) await sb.stop();
});

test('the live offers, ranked as the API ranks them', async () => {
  const { page } = br;
  await open(page);
  await page.waitForSelector('#offers-table button.place');
  const api = (await sb.api('GET', '/api/volt/offers')).json;
  assert.deepEqual(await shown(page), api.offers.map((o) => o.id));
  assert.equal(await page.textContent('#offers-summary'), `Shown ${api.offers.length} of ${api.considered} offers (${api.matched} fit).`);
  assert.deepEqual(await rows(page), api.offers.map((o) => o.id));
  await shot(page, 'offers');
  assert.deepEqual(page.problems, []);
});

test('the filters are the CLI\'s: the page shows what `gpubroker offers` answers', async () => {
  const { page } = br;
  await open(page);
  await page.waitForSelector('#offers-table button.place');
  await page.fill('#offers-gpu', 'H100');
  await page.fill('#offers-max_price', '10');
  await page.fill('#offers-exclude_provider', 'lium');
  await page.selectOption('#offers-tier', 'secure');
  await page.selectOption('#offers-sort', 'price_per_gpu');
  await page.click('#offers-search');
  const cli = sb.cli(['offers', '--gpu', 'H100', '--max-price', '10', '--exclude-provider', 'lium', '--tier', 'secure', '--sort', 'price_per_gpu']);
  assert.ok(cli.offers.length >= 2 && cli.offers.length < 34, 'the filters filter: ' + cli.offers.length);
  await until(async () => JSON.stringify(await shown(page)) === JSON.stringify(cli.offers.map((o) => o.id)), 10000, 'filtered offers');
  for (const o of cli.offers) assert.ok(o.gpu_type_normalized === 'H100' && o.provider !== 'lium' && o.tier === 'secure');
  // a bad value is the API's 400, shown with its code
  await page.fill('#offers-location', 'x'.repeat(300));
  await page.click('#offers-search');
  await page.waitForSelector('#offers-msg .error');
  const bad = await sb.api('GET', '/api/volt/offers?location=' + 'x'.repeat(300));
  assert.equal(bad.status, 400);
  assert.equal(await page.textContent('#offers-msg .error'), `${bad.json.code}: ${bad.json.message}`);
  assert.deepEqual(page.problems, ['console: Failed to load resource: the server responded with a status of 400 (Bad Request)']);
  page.problems.length = 0; // chromium logs the 400 the page showed: that one, on purpose
  assert.deepEqual(page.problems, []);
});

test('explain shows each rejected offer with its reason', async () => {
  const { page } = br;
  await open(page);
  await page.waitForSelector('#offers-table button.place');
  await page.fill('#offers-gpu', 'H200');
  await page.check('#offers-explain');
  await page.click('#offers-search');
  await page.waitForSelector('#offers-rejected table.rejected');
  const api = (await sb.api('GET', '/api/volt/offers?gpu=H200&explain=true')).json;
  assert.ok(api.rejected.length > 0);
  const r0 = api.rejected[0];
  const text = await page.textContent(`#offers-rejected tr[data-id="${r0.offer}"] td[data-label=Reason]`);
  assert.equal(text, r0.reason);
  assert.match(text, /is not H200/);
  assert.equal(await page.locator('#offers-rejected tbody tr').count(), api.rejected.length);
  assert.deepEqual(page.problems, []);
});

test('place: a plan first (nothing created), then exactly one pod on that offer, running', async () => {
  const { page } = br;
  const name = 'placed-' + Date.now();
  const offer = 'volt:mach_rtx4090_01';
  const before = sb.cli(['pods', 'ls']).pods.length;
  await open(page);
  await page.fill('#offers-provider', 'volt');
  await page.fill('#offers-gpu', 'RTX4090');
  await page.click('#offers-search');
  await page.waitForSelector(`#offers-table button.place[data-offer="${offer}"]`);
  await page.click(`#offers-table button.place[data-offer="${offer}"]`);
  await page.waitForSelector('#place-dialog[open]');
  assert.equal(await page.isDisabled('#place-create'), true, 'no create before a plan');
  // the image is required: no plan is asked for without it
  await page.click('#place-plan-btn');
  assert.equal(await page.locator('#plan-total').count(), 0);
  await page.fill('#place-image', 'ubuntu:22.04');
  await page.fill('#place-name', name);
  await page.fill('#place-hours', '3');
  await page.click('#place-plan-btn');
  await page.waitForSelector('#plan-total');
  const dry = (await sb.api('POST', '/api/volt/pods', { machine_id: offer, image: 'ubuntu:22.04', name, gpu_count: 1, dry_run: true, hours: 3 })).json;
  assert.equal(await page.textContent('#plan-total'), `$${dry.estimated_cost.toFixed(2)} for 3 h`);
  assert.match(await page.textContent('#plan-price'), new RegExp('^\\$' + dry.price_per_hour.toFixed(4).replace('.', '\\.')));
  assert.match(await page.textContent('#plan-offer'), /volt:mach_rtx4090_01/);
  assert.match(await page.textContent('#plan-admitted'), /^yes/);
  assert.equal(sb.cli(['pods', 'ls']).pods.length, before, 'a plan creates nothing');
  await shot(page, 'offers-plan');
  // a changed field needs a new plan
  await page.fill('#place-hours', '4');
  assert.equal(await page.isDisabled('#place-create'), true);
  await page.click('#place-plan-btn');
  await page.waitForFunction(() => document.querySelector('#plan-total')?.textContent.endsWith('for 4 h'));
  await page.click('#place-create');
  await page.waitForURL(/#\/pods\/pod_/);
  const id = decodeURIComponent(page.url().split('#/pods/')[1]);
  // watched live on its page until running
  await page.waitForFunction(() => document.querySelector('.pod-title .badge')?.textContent === 'running', null, { timeout: 20000 });
  assert.ok((await page.textContent('.pod-title')).startsWith(name));
  const mine = sb.cli(['pods', 'ls']).pods.filter((p) => p.name === name);
  assert.equal(mine.length, 1, 'exactly one pod');
  assert.equal(mine[0].id, id);
  const pod = (await sb.api('GET', '/api/volt/pods/' + id)).json;
  assert.equal(pod.status, 'running');
  assert.equal(pod.provider + ':' + pod.machine_id, offer);
  assert.equal(pod.image, 'ubuntu:22.04');
  assert.equal(sb.cli(['pods', 'ls']).pods.length, before + 1);
  assert.deepEqual(page.problems, []);
});

test('place: a plan the money guards refuse says why, and cannot be created', async () => {
  const { page } = br;
  const before = sb.cli(['pods', 'ls']).pods.length;
  assert.equal((await sb.api('PUT', '/api/volt/account', { spend_limit_per_hour: 0.1 })).status, 200);
  try {
    await open(page);
    await page.waitForSelector('#offers-table button.place');
    await page.click('#offers-table button.place >> nth=0');
    await page.fill('#place-image', 'ubuntu:22.04');
    await page.click('#place-plan-btn');
    await page.waitForSelector('#plan-admitted');
    assert.match(await page.textContent('#plan-admitted'), /^no: SPEND_LIMIT: /);
    assert.equal(await page.isDisabled('#place-create'), true);
    await page.click('#place-cancel');
    await page.waitForSelector('#place-dialog', { state: 'detached' });
    assert.equal(sb.cli(['pods', 'ls']).pods.length, before);
    assert.deepEqual(page.problems, []);
  } finally {
    await sb.api('PUT', '/api/volt/account', { spend_limit_per_hour: 0 });
  }
});

test('phone width: the offers and the place dialog fit', async () => {
  const ctx = await br.browser.newContext({ viewport: { width: 390, height: 844 } });
  const page = await ctx.newPage();
  const problems = [];
  page.on('pageerror', (e) => problems.push(e.message));
  page.on('console', (m) => m.type() === 'error' && problems.push(m.text()));
  await page.goto(sb.url + '/');
  await page.evaluate((k) => sessionStorage.setItem('gpubroker.key', k), sb.key);
  await page.goto(sb.url + '/#/offers');
  await page.waitForSelector('#offers-table button.place');
  const overflow = () => page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok((await overflow()) <= 1, 'no horizontal scroll: ' + (await overflow()));
  await page.fill('#offers-limit', '3');
  await page.click('#offers-search');
  await until(async () => (await page.locator('#offers-table tbody tr').count()) === 3, 10000, 'limit 3');
  await page.click('#offers-table button.place >> nth=0');
  await page.waitForSelector('#place-dialog[open]');
  const box = await page.locator('#place-dialog').boundingBox();
  assert.ok(box.x >= 0 && box.x + box.width <= 390, JSON.stringify(box));
  await shot(page, 'offers-phone');
  await page.click('#place-cancel');
  assert.deepEqual(problems, []);
  await ctx.close();
});
