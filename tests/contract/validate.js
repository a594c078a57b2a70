// validate.js: the contract check. Lints docs/openapi.json (swagger-parser: OpenAPI 3.1
// structure and $refs), then validates recorded e2e answers (JSON lines {method, path, status,
// content_type, body} written by tests/e2e/support_daemon.c under GB_E2E_RECORD) against the
// response schema the document gives for that method, path and status (ajv, JSON Schema 2020-12
// as OpenAPI 3.1 uses it). An answer of a documented operation with an undocumented status, or
// a body its schema refuses, fails. Usage: node validate.js OPENAPI_JSON RECORDS_JSONL
'use strict';
const fs = require('fs');
const SwaggerParser = require('@apidevtools/swagger-parser');
const Ajv2020 = require('ajv/dist/2020').default;
const addFormats = require('ajv-formats');

const MIN_OPERATIONS = 40; // the flow must reach this many documented operations

function ptr(...parts) {
  return parts.map((p) => String(p).replace(/~/g, '~0').replace(/\//g, '~1')).join('/');
}

async function main() {
  const [docPath, recPath] = process.argv.slice(2);
  const text = fs.readFileSync(docPath, 'utf8');
  const doc = JSON.parse(text);
  await SwaggerParser.validate(JSON.parse(text)); // throws on a structural error
  console.log(`lint: ${docPath} is valid OpenAPI ${doc.openapi}`);

  const ajv = new Ajv2020({ strict: false, allErrors: true });
  addFormats(ajv);
  ajv.addSchema(doc, 'openapi.json');
  const ops = Object.entries(doc.paths).map(([p, item]) => ({
    path: p,
    item,
    re: new RegExp('^' + p.replace(/\{[^}]+\}/g, '[^/]+') + '$'),
  }));
  const compiled = new Map();
  function validator(pointer) {
    if (!compiled.has(pointer)) compiled.set(pointer, ajv.compile({ $ref: 'openapi.json#' + pointer }));
    return compiled.get(pointer);
  }
  // the check itself can fail: a pod whose id is a number is refused
  if (validator('/components/schemas/Pod')({ id: 5, status: 'running' }))
    throw new Error('self-check: the Pod schema took an id that is a number');

  const lines = fs.readFileSync(recPath, 'utf8').split('\n').filter((l) => l.trim());
  let passed = 0, failed = 0, skipped = 0;
  const reached = new Set();
  for (const line of lines) {
    const rec = JSON.parse(line);
    const path = rec.path.split('?')[0].replace(/\/$/, '') || '/';
    const m = rec.method.toLowerCase();
    const hit = ops.find((o) => o.re.test(path) && o.item[m]);
    if (!hit) { skipped++; continue; } // an unknown path or method: no operation to hold it to
    const where = `${rec.method} ${hit.path} ${rec.status}`;
    let resp = hit.item[m].responses[String(rec.status)];
    let base = '/' + ptr('paths', hit.path, m, 'responses', String(rec.status));
    if (!resp) { failed++; console.log(`FAIL ${where}: status not documented`); continue; }
    if (resp.$ref) {
      base = resp.$ref.slice(1);
      resp = base.split('/').slice(1).reduce((o, k) => o[k.replace(/~1/g, '/').replace(/~0/g, '~')], doc);
    }
    const ct = (rec.content_type || '').split(';')[0].trim().toLowerCase();
    const content = resp.content || {};
    if (!content[ct]) {
      failed++;
      console.log(`FAIL ${where}: content type '${ct}' not documented (${Object.keys(content)})`);
      continue;
    }
    reached.add(`${m} ${hit.path}`);
    if (ct !== 'application/json') { passed++; continue; }
    let body;
    try { body = JSON.parse(rec.body); } catch (e) {
      failed++; console.log(`FAIL ${where}: body is not JSON`); continue;
    }
    const v = validator(base + '/' + ptr('content', ct, 'schema'));
    if (v(body)) { passed++; continue; }
    failed++;
    console.log(`FAIL ${where}: ${ajv.errorsText(v.errors)}\n  body: ${rec.body.slice(0, 400)}`);
  }
  console.log(`records: ${lines.length}, undocumented paths or methods skipped: ${skipped}, ` +
              `operations reached: ${reached.size}`);
  if (reached.size < MIN_OPERATIONS) {
    failed++;
    console.log(`FAIL only ${reached.size} documented operations reached (want ${MIN_OPERATIONS})`);
  }
  console.log(`${passed} passed, ${failed} failed`);
  process.exit(failed ? 1 : 0);
}

main().catch((e) => { console.log(`FAIL ${e.message}`); console.log('0 passed, 1 failed'); process.exit(1); });
