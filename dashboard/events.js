// events.js: live updates from GET /api/volt/events (Server-Sent Events, docs/api.md "The
// event stream"). EventSource cannot send the X-API-Key header and the key must never be in a
// URL, so the stream is read with fetch: frames parsed here, resumed with Last-Event-ID after a
// drop. When the stream is refused (403 for the key's scopes, 503 too many streams) or breaks
// repeatedly, onPoll runs every pollMs instead, so a page is live either way.

import { getKey } from './api.js';

export function subscribe({ types = '*', id = '', onEvent, onPoll, pollMs = 5000 }) {
  const ctl = new AbortController();
  let lastId = '';
  let closed = false;
  let pollTimer = 0;
  let failures = 0;

  const poll = () => {
    if (closed) return;
    if (onPoll) Promise.resolve(onPoll()).catch(() => {});
    pollTimer = setTimeout(poll, pollMs);
  };

  const frame = (text) => {
    let ev = 'message', data = '', fid = null;
    for (const line of text.split('\n')) {
      if (line.startsWith(':')) continue;
      const i = line.indexOf(':');
      const name = i < 0 ? line : line.slice(0, i);
      const val = i < 0 ? '' : line.slice(i + 1).replace(/^ /, '');
      if (name === 'id') fid = val;
      else if (name === 'event') ev = val;
      else if (name === 'data') data += (data ? '\n' : '') + val;
    }
    if (fid !== null) lastId = fid;
    if (!data || !onEvent) return;
    try {
      onEvent(ev, JSON.parse(data), fid);
    } catch {
      /* a frame we cannot read is skipped */
    }
  };

  const run = async () => {
    while (!closed) {
      try {
        const headers = { 'X-API-Key': getKey() || '', Accept: 'text/event-stream' };
        if (lastId) headers['Last-Event-ID'] = lastId;
        const q = new URLSearchParams({ types });
        if (id) q.set('id', id);
        const r = await fetch('/api/volt/events?' + q, { headers, cache: 'no-store', credentials: 'omit', signal: ctl.signal });
        if (!r.ok || !r.body) throw Object.assign(new Error('HTTP ' + r.status), { status: r.status });
        failures = 0;
        if (onPoll) Promise.resolve(onPoll()).catch(() => {}); // catch up once connected
        const reader = r.body.pipeThrough(new TextDecoderStream()).getReader();
        let buf = '';
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buf += value.replace(/\r\n?/g, '\n');
          let k;
          while ((k = buf.indexOf('\n\n')) >= 0) {
            frame(buf.slice(0, k));
            buf = buf.slice(k + 2);
          }
        }
      } catch (e) {
        if (closed || e.name === 'AbortError') return;
        failures++;
        if (e.status === 403 || e.status === 404 || failures >= 3) {
          poll(); // the stream is not for this key (or keeps failing): poll instead
          return;
        }
      }
      await new Promise((res) => setTimeout(res, 1000 * Math.min(8, 2 ** failures)));
    }
  };
  run();
  return {
    close() {
      closed = true;
      clearTimeout(pollTimer);
      ctl.abort();
    },
  };
}
