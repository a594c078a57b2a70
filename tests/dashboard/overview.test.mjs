// overview.test.mjs: the overview with real money: the demo account runs pods on two providers,
// the metering worker charges them (a 300 ms period), and the page's figures (running cost,
// pods by provider and status, spend by provider, today's column of spend by day) are the
// ones GET /api/volt/account and /api/volt/account/usage answer at that moment.

import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { openBrowser, signIn, shot, startSandbox, until } from './harness.mjs';

let sb, br;
const pods = [];

const usage = async (group) => (await sb.api('GET', `/api/volt/account/usage?group_by=${group}&from=${encodeURIComponent(new Date(Date.now() - 13 * 86400000).toISOString().slice(0, 10) + 'T00:00:00Z')}`)).json;
const money = (x) => '$' + Number(x).toFixed(2);

before(async () => {
  sb = await startSandbox({ env: { GPUBROKER_METERING_PERIOD_MS: '300' } });
  br = await openBrowser();
  // the dearest machine of two providers, so a few seconds of metering is cents, not $0.00
  const machines = (await sb.api('GET', '/api/volt/machines')).json.machines;
  for (const prov of ['volt', 'targon']) {
    const m = machines.filter((x) => x.provider === prov).sort((x, y) => y.cost_per_hour - x.cost_per_hour)[0];
    assert.ok(m, 'a ' + prov + ' machine');
    const r = await sb.api('POST', '/api/volt/pods', { machine_id: m.id, image: 'ubuntu:22.04', name: 'spend-' + prov });
    assert.equal(r.status, 201, JSON.stringify(r.json));
    pods.push(r.json);
  }
  for (const p of pods) {
    await until(async () => (await sb.api('GET', '/api/volt/pods/' + p.id)).json.status === 'running', 20000, p.id + ' running');
  }
  await signIn(br.page, sb.url, sb.key);
});
after(async () => {
  if (br) await br.browser.close();
  if (sb) await sb.stop();
});

test('while pods run: the running cost and the pods by provider and status are the API\'s', async () => {
  const { page } = br;
  await page.goto(sb.url + '/#/overview');
  await page.waitForSelector('#overview-stats .stat');
  const acct = (await sb.api('GET', '/api/volt/account')).json;
  assert.ok(acct.running_cost_per_hour > 0, JSON.stringify(acct));
  await until(async () => (await page.textContent('#overview-stats')).includes(money(acct.running_cost_per_hour) + '/h'), 10000, 'running cost shown');
  await page.waitForSelector('table.pods-summary');
  const rows = await page.$$eval('table.pods-summary tbody tr', (trs) => trs.map((tr) => [...tr.cells].map((c) => c.textContent.trim().replace(/^(Provider|Status|Pods)/, ''))));
  assert.deepEqual(rows, [['targon', 'running', '1'], ['volt', 'running', '1']]);
  assert.deepEqual(page.problems, []);
});

test('spend by provider and by day: the usage API\'s figures, after the pods are gone', async () => {
  const { page } = br;
  // some seconds of metering on both providers, then delete; the spend stops moving
  await until(async () => {
    const g = (await usage('provider')).groups || [];
    return g.length === 2 && g.every((x) => money(x.spend) !== '$0.00');
  }, 30000, 'both providers charged at least a cent');
  for (const p of pods) assert.ok([200, 204].includes((await sb.api('DELETE', '/api/volt/pods/' + p.id)).status));
  let last = null;
  await until(async () => {
    const now = JSON.stringify((await usage('provider')).groups); // not `to`: that is now
    const same = now === last;
    last = now;
    return same;
  }, 20000, 'the spend settles', 1000);
  const byProv = await usage('provider');
  const byDay = await usage('day');
  assert.ok(byProv.spend > 0);
  assert.equal(byDay.spend, byProv.spend);

  await page.goto(sb.url + '/#/pods');
  await page.goto(sb.url + '/#/overview');
  await page.waitForSelector('#chart-provider svg');
  const labels = await page.$$eval('#chart-provider svg text.label', (ts) => ts.map((t) => t.textContent));
  const want = [];
  for (const g of byProv.groups) want.push(g.key, money(g.spend));
  assert.deepEqual([...labels].sort(), [...want].sort());
  // today's column (the last of 14) carries today's spend in its title
  const today = new Date().toISOString().slice(0, 10);
  const todaySpend = (byDay.groups.find((g) => g.key === today) || { spend: 0 }).spend;
  assert.ok(todaySpend > 0);
  const titles = await page.$$eval('#chart-day svg rect.bar title', (ts) => ts.map((t) => t.textContent));
  assert.equal(titles.length, 14);
  assert.equal(titles[13], `${today.slice(8)}: ${money(todaySpend)}`);
  assert.match(await page.textContent('#chart-day + p'), new RegExp('Spent \\' + money(byDay.spend)));
  await shot(page, 'overview-spend');
  assert.deepEqual(page.problems, []);
});
