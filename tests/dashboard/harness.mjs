// harness.mjs: what every dashboard browser test needs: a sandbox daemon of its own (the real
// gpubroker binary, simulators of every provider), Debian's chromium through playwright-core,
// signing in, screenshots as artifacts, and a record of what must never happen on a page:
// a dialog (an alert from injected script), a console error, a CSP violation, a failed request.

import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const pw = await import(process.env.GB_PLAYWRIGHT || 'playwright-core');
const chromiumType = pw.chromium || (pw.default && pw.default.chromium);

export const ARTIFACTS = process.env.GB_ARTIFACTS || join(tmpdir(), 'gb-dashboard-artifacts');
mkdirSync(ARTIFACTS, { recursive: true });

// Starts `gpubroker sandbox` in a fresh data dir; resolves {url, key, adminKey, sims, env, cli, stop}.
export async function startSandbox({ speed = 200, env = {} } = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'gb-dash-'));
  const child = spawn(process.env.GPUBROKER_BIN, ['sandbox', '--data-dir', join(dir, 'data'), '--sim-speed', String(speed)], {
    env: {
      ...process.env,
      GPUBROKER_RECONCILER_INTERVAL_MS: '200',
      GPUBROKER_WEBHOOKS_ALLOW_CIDRS: '127.0.0.0/8',
      // GB_DASHBOARD_DIR=dashboard serves the files being edited without a rebuild
      ...(process.env.GB_DASHBOARD_DIR ? { GPUBROKER_SERVER_DASHBOARD_DIR: process.env.GB_DASHBOARD_DIR } : {}),
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '', err = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (err += d));
  const vars = await new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('sandbox did not start: ' + err.slice(-2000))), 20000);
    const check = () => {
      if (/^GPUBROKER_ADMIN_API_KEY=.+$/m.test(out) && /^SIM_[A-Z]+_URL=/m.test(out)) {
        clearTimeout(t);
        resolve(Object.fromEntries(out.trim().split('\n').map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)])));
      }
    };
    child.stdout.on('data', check);
    child.on('exit', (c) => reject(new Error('sandbox exited ' + c + ': ' + err.slice(-2000))));
  });
  const cliEnv = { ...process.env, GPUBROKER_URL: vars.GPUBROKER_URL, GPUBROKER_API_KEY: vars.GPUBROKER_API_KEY };
  return {
    url: vars.GPUBROKER_URL,
    key: vars.GPUBROKER_API_KEY,
    adminKey: vars.GPUBROKER_ADMIN_API_KEY,
    vars,
    log: () => err,
    // Runs the CLI against this sandbox (as the demo account, or admin: true); returns parsed
    // JSON when json is set, else stdout. Throws on a non-zero exit.
    cli(args, { admin = false, json = true, input } = {}) {
      const r = spawnSync(process.env.GPUBROKER_BIN, json ? [...args, '--json'] : args, {
        env: { ...cliEnv, GPUBROKER_API_KEY: admin ? vars.GPUBROKER_ADMIN_API_KEY : vars.GPUBROKER_API_KEY },
        input, encoding: 'utf8', timeout: 120000,
      });
      if (r.status !== 0) throw new Error(`gpubroker ${args.join(' ')}: exit ${r.status}: ${r.stderr}`);
      return json ? JSON.parse(r.stdout) : r.stdout;
    },
    // Calls the API directly (as the demo account unless key is given).
    async api(method, path, body, key) {
      const r = await fetch(vars.GPUBROKER_URL + path, {
        method,
        headers: { 'X-API-Key': key || vars.GPUBROKER_API_KEY, 'Content-Type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await r.text();
      return { status: r.status, json: text ? JSON.parse(text) : null, headers: r.headers };
    },
    async stop() {
      child.kill('SIGTERM');
      await new Promise((res) => (child.exitCode !== null ? res() : child.on('exit', res)));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

// A headless chromium and a page that records what must not happen (page.problems).
export async function openBrowser({ width = 1280, height = 900 } = {}) {
  const browser = await chromiumType.launch({
    executablePath: process.env.GB_CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
  });
  const context = await browser.newContext({ viewport: { width, height } });
  const page = await context.newPage();
  page.problems = [];
  page.on('dialog', async (d) => {
    page.problems.push('dialog: ' + d.type() + ' ' + d.message());
    await d.dismiss();
  });
  page.on('console', (m) => {
    if (m.type() === 'error') page.problems.push('console: ' + m.text());
  });
  page.on('pageerror', (e) => page.problems.push('pageerror: ' + e.message));
  page.setDefaultTimeout(15000);
  return { browser, context, page };
}

// Signs in on the dashboard's sign-in form with key; waits for the overview.
export async function signIn(page, baseUrl, key) {
  await page.goto(baseUrl + '/');
  await page.fill('#api-key', key);
  await page.click('#signin button[type=submit]');
  await page.waitForSelector('#nav a[href="#/overview"]');
}

// Writes ARTIFACTS/name.png (full page).
export async function shot(page, name) {
  await page.screenshot({ path: join(ARTIFACTS, name + '.png'), fullPage: true });
}

// Polls fn until it returns a truthy value (or throws after ms).
export async function until(fn, ms = 30000, what = 'condition', every = 200) {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error('timed out waiting for ' + what);
    await new Promise((r) => setTimeout(r, every));
  }
}
