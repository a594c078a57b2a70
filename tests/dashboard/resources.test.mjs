// resources.test.mjs: the Keys page (page_resources.js): an API key created from the page is
// shown once, works, and is gone after "copied" and a reload (sessionStorage keeps only the
// signed-in key); revoking it makes the API refuse it; SSH keys, registry credentials (the
// password never appears again) and templates made and deleted from the page, checked through
// the API; names with markup show as text; sections follow the key's scopes; phone width.

import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openBrowser, shot, signIn, startSandbox, until } from './harness.mjs';

const EVIL = '<img src=x onerror=alert(1)>';
let sb, br;

before(async () => {
  sb = await startSandbox();
  br = await openBrowser();
  await signIn(br.page, sb.url, sb.key);
});
after(async () => {
  if (br) await br.browser.close();
  if (sb) await sb.stop();
});

async function openKeys(page) {
  await page.goto(sb.url + '/#/resources');
  await page.reload(); // a fresh render, also when the page was on #/resources already
  await page.waitForSelector('#apikeys-list table');
}

// The page's whole text, its HTML and every form field's value.
async function everything(page) {
  return page.evaluate(() => document.body.innerText + '\n' + document.documentElement.outerHTML + '\n' +
    [...document.querySelectorAll('input, textarea')].map((e) => e.value).join('\n'));
}

function newSshKey(comment) {
  const dir = mkdtempSync(join(tmpdir(), 'gb-ssh-'));
  const r = spawnSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', comment, '-f', join(dir, 'k')]);
  assert.equal(r.status, 0, 'ssh-keygen: ' + r.stderr);
  const pub = readFileSync(join(dir, 'k.pub'), 'utf8').trim();
  rmSync(dir, { recursive: true, force: true });
  return pub;
}

let newKey, newKeyId;

test('an API key made on the page is shown once, works, and is gone after "copied" and a reload', async () => {
  const { page } = br;
  await openKeys(page);
  await page.fill('#apikey-name', 'ci-key');
  // only the pods scope
  for (const box of await page.$$('#apikey-form input[type=checkbox]'))
    if ((await box.getAttribute('data-scope')) !== 'pods') await box.uncheck();
  await page.click('#apikey-form button[type=submit]');
  await page.waitForSelector('#apikey-secret .secret-value');
  newKey = (await page.textContent('#apikey-secret .secret-value')).trim();
  assert.match(newKey, /^gpb_sk_[A-Za-z0-9]{20,}$/);
  await shot(page, 'key-created');

  // the far side: the key exists with the scope asked for, and it works
  const keys = (await sb.api('GET', '/api/volt/api-keys')).json.api_keys;
  const made = keys.find((k) => k.name === 'ci-key');
  assert.ok(made, 'the API lists the new key');
  assert.deepEqual(made.scopes, ['pods']);
  newKeyId = made.id;
  assert.equal((await sb.api('GET', '/api/volt/pods', undefined, newKey)).status, 200);
  assert.equal((await sb.api('GET', '/api/volt/ssh-keys', undefined, newKey)).status, 403); // only pods
  // the list shows it (by its preview, never the key)
  await page.waitForSelector(`#apikeys-list tr[data-id="${newKeyId}"]`);
  assert.ok((await page.textContent(`#apikeys-list tr[data-id="${newKeyId}"]`)).includes(made.key_preview));

  // nothing stored: sessionStorage holds the signed-in key only
  assert.deepEqual(await page.evaluate(() => Object.keys(sessionStorage)), ['gpubroker.key']);
  assert.equal(await page.evaluate(() => sessionStorage.getItem('gpubroker.key')), sb.key);
  assert.equal(await page.evaluate(() => localStorage.length), 0);
  assert.equal((await br.context.cookies()).length, 0);
  assert.ok(!page.url().includes(newKey));

  await page.click('#apikey-secret [data-copied]');
  assert.equal(await page.locator('#apikey-secret').count(), 0);
  assert.ok(!(await everything(page)).includes(newKey), 'the key is gone from the page');
  await page.reload();
  await page.waitForSelector(`#apikeys-list tr[data-id="${newKeyId}"]`);
  assert.ok(!(await everything(page)).includes(newKey), 'not back after a reload');
  assert.deepEqual(await page.evaluate(() => Object.keys(sessionStorage)), ['gpubroker.key']);
  await shot(page, 'keys');
  assert.deepEqual(page.problems, []);
});

test('revoking a key asks first; confirmed, the API refuses the key', async () => {
  const { page } = br;
  assert.ok(newKey, 'the key of the test before');
  await openKeys(page);
  const row = `#apikeys-list tr[data-id="${newKeyId}"]`;
  await page.click(`${row} button[data-action=revoke]`);
  await page.waitForSelector('dialog.confirm[open]');
  assert.match(await page.textContent('dialog.confirm'), /ci-key/);
  await page.click('dialog.confirm button:not([data-confirm])'); // cancel
  assert.equal((await sb.api('GET', '/api/volt/pods', undefined, newKey)).status, 200, 'cancel revokes nothing');
  await page.click(`${row} button[data-action=revoke]`);
  await page.click('dialog.confirm button[data-confirm]');
  await page.waitForSelector(row, { state: 'detached' });
  assert.equal((await sb.api('GET', '/api/volt/pods', undefined, newKey)).status, 401);
  assert.ok(!(await sb.api('GET', '/api/volt/api-keys')).json.api_keys.some((k) => k.id === newKeyId));
  // the signed-in key is marked, and still works
  assert.equal(await page.locator('#apikeys-list .this-key').count(), 1);
  assert.equal((await sb.api('GET', '/api/volt/account')).status, 200);
  assert.deepEqual(page.problems, []);
});

test('SSH keys: added from a pasted public key with its fingerprint; a name with markup is text; deleted', async () => {
  const { page } = br;
  await openKeys(page);
  // a bad key: the API's error, shown with its code
  await page.fill('#sshkey-name', 'bad');
  await page.fill('#sshkey-public', 'ssh-ed25519 not-a-key');
  await page.click('#sshkey-form button[type=submit]');
  await page.waitForSelector('.form-error .error');
  assert.match(await page.textContent('.form-error .error'), /VALIDATION_ERROR/);
  page.problems.length = 0; // the browser logs the refused request's 400, on purpose

  const pub = newSshKey('ci@test');
  await page.fill('#sshkey-name', EVIL);
  await page.fill('#sshkey-public', pub);
  await page.click('#sshkey-form button[type=submit]');
  const listed = await until(async () => (await sb.api('GET', '/api/volt/ssh-keys')).json.ssh_keys.find((k) => k.name === EVIL), 10000, 'the key in the API');
  const row = `#sshkeys-list tr[data-id="${listed.id}"]`;
  await page.waitForSelector(row);
  const text = await page.textContent(row);
  assert.ok(text.includes(EVIL), 'the name shows literally: ' + text);
  assert.ok(text.includes(listed.fingerprint), 'the fingerprint as the API computed it');
  assert.equal(await page.locator('#sshkeys-list img').count(), 0);
  assert.equal(await page.inputValue('#sshkey-public'), '', 'the form is cleared');

  await page.click(`${row} button[data-action=delete]`);
  await page.click('dialog.confirm button[data-confirm]');
  await page.waitForSelector(row, { state: 'detached' });
  assert.equal((await sb.api('GET', '/api/volt/ssh-keys/' + listed.id)).status, 404);
  assert.deepEqual(page.problems, []);
});

test('a registry credential: its password never appears again; a template that uses it, made and deleted', async () => {
  const { page } = br;
  await openKeys(page);
  const password = 'pw-' + Math.random().toString(36).slice(2) + '-secret';
  await page.fill('#cred-name', 'ghcr');
  await page.fill('#cred-registry', 'ghcr.io');
  await page.fill('#cred-username', 'octo');
  await page.fill('#cred-password', password);
  await page.click('#cred-form button[type=submit]');
  const cred = await until(async () => (await sb.api('GET', '/api/volt/docker-credentials')).json.credentials.find((c) => c.name === 'ghcr'), 10000, 'the credential');
  assert.equal(cred.username, 'octo');
  assert.equal(cred.registry, 'ghcr.io');
  assert.ok(!JSON.stringify(cred).includes(password));
  await page.waitForSelector(`#creds-list tr[data-id="${cred.id}"]`);
  assert.ok(!(await everything(page)).includes(password), 'no trace of the password in the page');

  // a template with the credential, ports and environment; its name is markup
  await page.waitForSelector(`#tpl-credential option[value="${cred.id}"]`, { state: 'attached' });
  await page.fill('#tpl-name', EVIL);
  await page.fill('#tpl-image', 'ghcr.io/octo/train:1');
  await page.selectOption('#tpl-credential', cred.id);
  await page.fill('#tpl-ports', '22, 8080');
  await page.fill('#tpl-env', 'A=1\nB=two words');
  await page.click('#tpl-form button[type=submit]');
  const tpl = await until(async () => (await sb.api('GET', '/api/volt/templates')).json.templates.find((t) => t.name === EVIL), 10000, 'the template');
  const full = (await sb.api('GET', '/api/volt/templates/' + tpl.id)).json;
  assert.equal(full.image, 'ghcr.io/octo/train:1');
  assert.equal(full.docker_credential_id, cred.id);
  assert.deepEqual(full.ports, [22, 8080]);
  assert.deepEqual(full.env_vars, { A: '1', B: 'two words' });
  const row = `#templates-list tr[data-id="${tpl.id}"]`;
  await page.waitForSelector(row);
  assert.ok((await page.textContent(row)).includes(EVIL));
  assert.equal(await page.locator('#templates-list img').count(), 0);
  // system templates have no delete button
  assert.equal(await page.locator('#templates-list tr[data-id="tpl_pytorch21"] button').count(), 0);
  // a bad port is refused on the page, nothing sent
  await page.fill('#tpl-name', 'bad-port');
  await page.fill('#tpl-image', 'x:1');
  await page.fill('#tpl-ports', '22, 70000');
  await page.click('#tpl-form button[type=submit]');
  await page.waitForSelector('#tpl-form + .form-error .error');
  assert.ok(!(await sb.api('GET', '/api/volt/templates')).json.templates.some((t) => t.name === 'bad-port'));

  await page.click(`${row} button[data-action=delete]`);
  await page.click('dialog.confirm button[data-confirm]');
  await page.waitForSelector(row, { state: 'detached' });
  assert.equal((await sb.api('GET', '/api/volt/templates/' + tpl.id)).status, 404);
  await page.click(`#creds-list tr[data-id="${cred.id}"] button[data-action=delete]`);
  await page.click('dialog.confirm button[data-confirm]');
  await page.waitForSelector(`#creds-list tr[data-id="${cred.id}"]`, { state: 'detached' });
  assert.equal((await sb.api('GET', '/api/volt/docker-credentials/' + cred.id)).status, 404);
  assert.deepEqual(page.problems, []);
});

test('sections follow the key\'s scopes; phone width has no horizontal scroll', async () => {
  const k = await sb.api('POST', '/api/volt/api-keys', { name: 'ssh-only', scopes: ['ssh-keys'] });
  assert.equal(k.status, 201);
  const ctx = await br.browser.newContext({ viewport: { width: 390, height: 844 } });
  const page = await ctx.newPage();
  const problems = [];
  page.on('console', (m) => m.type() === 'error' && problems.push(m.text()));
  page.on('pageerror', (e) => problems.push(e.message));
  await page.goto(sb.url + '/');
  await page.evaluate((key) => sessionStorage.setItem('gpubroker.key', key), k.json.key);
  await page.goto(sb.url + '/#/resources');
  await page.waitForSelector('#sshkey-form');
  assert.equal(await page.locator('#apikeys-list, #creds-list, #templates-list').count(), 0);
  // the demo key at phone width: every section, no horizontal scroll
  await page.evaluate((key) => sessionStorage.setItem('gpubroker.key', key), sb.key);
  await page.reload();
  await page.waitForSelector('#templates-list table');
  await page.waitForSelector('#apikeys-list table');
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 1, 'no horizontal scroll: ' + overflow);
  await shot(page, 'keys-phone');
  assert.deepEqual(problems, []);
  await ctx.close();
});
