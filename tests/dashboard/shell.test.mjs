// shell.test.mjs: the dashboard's shell: served by the daemon with strict headers and no key,
// sign-in (a wrong key refused, the key kept in sessionStorage and nowhere else), navigation
// by the key's scopes, the overview's figures equal to the API's, phone width.

import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { openBrowser, signIn, shot, startSandbox } from './harness.mjs';

let sb, br;
before(async () => {
  sb = await startSandbox();
  br = await openBrowser();
});
after(async () => {
  if (br) await br.browser.close();
  if (sb) await sb.stop();
});

test('the dashboard is served without a key, with strict headers', async () => {
  for (const path of ['/', '/ui/app.js', '/ui/app.css']) {
    const r = await fetch(sb.url + path);
    assert.equal(r.status, 200, path);
    const csp = r.headers.get('content-security-policy') || '';
    assert.match(csp, /script-src 'self'/, path);
    assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/, path);
    assert.match(csp, /frame-ancestors 'none'/, path);
    assert.equal(r.headers.get('x-content-type-options'), 'nosniff');
  }
  assert.match((await fetch(sb.url + '/')).headers.get('content-type'), /^text\/html/);
  assert.match((await fetch(sb.url + '/ui/app.js')).headers.get('content-type'), /^text\/javascript/);
  const html = await (await fetch(sb.url + '/')).text();
  assert.doesNotMatch(html, /<script(?![^>]*\bsrc=)[^>]*>/, 'no inline script');
  assert.doesNotMatch(html, /\sstyle=|<style/, 'no inline style');
  assert.equal((await fetch(sb.url + '/ui/nope.js')).status, 404);
  for (const bad of ['/ui/..%2Fapp.js', '/ui/../index.html', '/ui/%00app.js', '/ui/.hidden']) {
    const r = await fetch(sb.url + bad);
    assert.ok(r.status === 404 || r.status === 401, bad + ' ' + r.status);
    assert.doesNotMatch(await r.text(), /import|<html/, bad);
  }
  // the API itself still wants a key
  assert.equal((await fetch(sb.url + '/api/volt/pods')).status, 401);
});

test('sign in: a wrong key is refused, the right one kept in this tab only', async () => {
  const { page } = br;
  await page.goto(sb.url + '/');
  await page.fill('#api-key', 'gpb_sk_wrong');
  await page.click('#signin button[type=submit]');
  await page.waitForSelector('#signin .error');
  assert.match(await page.textContent('#signin .error'), /not valid/);
  assert.equal(await page.evaluate(() => sessionStorage.getItem('gpubroker.key')), null);
  await shot(page, 'signin');
  page.problems.length = 0; // the refused key's 401, on purpose
  await signIn(page, sb.url, sb.key);
  assert.equal(await page.evaluate(() => sessionStorage.getItem('gpubroker.key')), sb.key);
  assert.equal(await page.evaluate(() => localStorage.length), 0);
  assert.equal((await br.context.cookies()).length, 0);
  assert.ok(!page.url().includes(sb.key));
  // a user key sees no admin page
  assert.equal(await page.locator('#nav a[href="#/admin"]').count(), 0);
  assert.deepEqual(page.problems, []);
});

test('overview: the balance and the charts come from the API', async () => {
  const { page } = br;
  await page.goto(sb.url + '/#/overview');
  await page.waitForSelector('#overview-stats .stat');
  const acct = (await sb.api('GET', '/api/volt/account')).json;
  const text = await page.textContent('#overview-stats');
  assert.ok(text.includes('$' + Number(acct.balance).toFixed(2)), text);
  await page.waitForSelector('#chart-day svg', { state: 'attached' });
  assert.equal(await page.locator('#chart-day svg rect.bar').count(), 14);
  await shot(page, 'overview');
  assert.deepEqual(page.problems, []);
});

test('an admin key sees the admin page; scopes hide what a key may not use', async () => {
  const { page } = br;
  await page.evaluate(() => sessionStorage.clear());
  await signIn(page, sb.url, sb.adminKey);
  page.problems.length = 0; // the open page's requests after the key was cleared: 401, on purpose
  assert.equal(await page.locator('#nav a[href="#/admin"]').count(), 1);
  const k = await sb.api('POST', '/api/volt/api-keys', { name: 'pods-only', scopes: ['pods'] });
  assert.equal(k.status, 201);
  await page.evaluate(() => sessionStorage.clear());
  await signIn(page, sb.url, k.json.key);
  page.problems.length = 0;
  const pages = await page.$$eval('#nav a', (as) => as.map((a) => a.getAttribute('href')));
  assert.deepEqual(pages, ['#/overview', '#/pods', '#/resources']);
  assert.deepEqual(page.problems, []);
});

test('server.dashboard_dir serves an installed copy, and only its servable names', async () => {
  const { mkdtempSync, writeFileSync, rmSync } = await import('node:fs');
  const { join } = await import('node:path');
  const { tmpdir } = await import('node:os');
  const dir = mkdtempSync(join(tmpdir(), 'gb-ui-'));
  writeFileSync(join(dir, 'index.html'), '<!doctype html><p>installed copy</p>');
  writeFileSync(join(dir, 'secret.txt'), 'not served');
  writeFileSync(join(dir, '.hidden.js'), 'not served');
  const other = await startSandbox({ env: { GPUBROKER_SERVER_DASHBOARD_DIR: dir } });
  try {
    const r = await fetch(other.url + '/');
    assert.equal(r.status, 200);
    assert.match(await r.text(), /installed copy/);
    assert.match(r.headers.get('content-security-policy'), /frame-ancestors 'none'/);
    assert.equal((await fetch(other.url + '/ui/secret.txt')).status, 404);
    assert.equal((await fetch(other.url + '/ui/.hidden.js')).status, 404);
    assert.equal((await fetch(other.url + '/ui/app.js')).status, 404); // not in that directory
  } finally {
    await other.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('phone width: the menu opens the navigation', async () => {
  const { browser } = br;
  const ctx = await browser.newContext({ viewport: { width: 390, height: 844 } });
  const page = await ctx.newPage();
  await page.goto(sb.url + '/');
  await page.evaluate((k) => sessionStorage.setItem('gpubroker.key', k), sb.key);
  await page.goto(sb.url + '/#/overview');
  await page.waitForSelector('#overview-stats .stat');
  assert.equal(await page.isVisible('#nav a[href="#/pods"]'), false);
  await page.click('#menu');
  assert.equal(await page.isVisible('#nav a[href="#/pods"]'), true);
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 1, 'no horizontal scroll: ' + overflow);
  await shot(page, 'overview-phone');
  await ctx.close();
});
