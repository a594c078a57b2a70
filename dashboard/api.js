// api.js: the dashboard's one way to the broker's API (docs/api.md). The API key lives in this
// tab's sessionStorage only: never in a URL, a cookie or localStorage, so no other site can
// make the browser use it and it is gone when the tab closes (docs/dashboard.md).

const KEY = 'gpubroker.key';

export class ApiError extends Error {
  constructor(status, code, message, body) {
    super(message || `HTTP ${status}`);
    this.status = status;
    this.code = code || '';
    this.body = body || null;
  }
}

export function getKey() {
  return sessionStorage.getItem(KEY);
}

export function setKey(k) {
  sessionStorage.setItem(KEY, k);
}

export function clearKey() {
  sessionStorage.removeItem(KEY);
}

// A random Idempotency-Key (crypto.getRandomValues works outside secure contexts too).
export function newIdemKey() {
  const b = new Uint8Array(16);
  crypto.getRandomValues(b);
  return 'ui-' + Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
}

// Query string from an object, leaving out empty values.
export function qs(params) {
  const u = new URLSearchParams();
  for (const [k, v] of Object.entries(params || {}))
    if (v !== undefined && v !== null && v !== '' && v !== false) u.set(k, String(v));
  const s = u.toString();
  return s ? '?' + s : '';
}

// Calls the API: resolves with the parsed JSON body (null for an empty one), rejects with an
// ApiError carrying the Volt error body's status, code and message. opts.idem sends an
// Idempotency-Key (creates and charges: a retried click cannot create twice). A 401 signs out.
export async function api(method, path, body, opts = {}) {
  const headers = { 'X-API-Key': getKey() || '' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (opts.idem) headers['Idempotency-Key'] = typeof opts.idem === 'string' ? opts.idem : newIdemKey();
  let r;
  try {
    r = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      cache: 'no-store',
      credentials: 'omit',
      signal: opts.signal,
    });
  } catch (e) {
    if (e.name === 'AbortError') throw e;
    throw new ApiError(0, 'NETWORK', 'The broker did not answer: ' + e.message);
  }
  const text = await r.text();
  let j = null;
  if (text) {
    try {
      j = JSON.parse(text);
    } catch {
      j = null;
    }
  }
  if (!r.ok) {
    const err = new ApiError(r.status, j && j.code, (j && j.message) || `HTTP ${r.status}`, j);
    if (r.status === 401 && !opts.noSignOut) window.dispatchEvent(new CustomEvent('gb-signed-out'));
    throw err;
  }
  return j;
}
