#!/usr/bin/env python3
"""webhook_receiver.py: a Standard Webhooks receiver that is not gpubroker's code, for the e2e
tests: it verifies each request with Python's own hmac, hashlib and base64, following the
specification (https://github.com/standard-webhooks/standard-webhooks, spec/standard-webhooks.md:
signed content "{webhook-id}.{webhook-timestamp}.{body}", HMAC-SHA256 keyed with the base64
secret after "whsec_", signature "v1,<base64>" among space-separated entries; timestamps
within 5 minutes). Usage: webhook_receiver.py SECRET OUT_FILE [bodies]. Prints LISTEN_URL=...
and appends "OK <webhook-id> <event>" or "BAD <webhook-id> <reason>" to OUT_FILE per request
(with "bodies", "OK <webhook-id> <event> <body>", the body on one line).
"""
import base64
import hashlib
import hmac
import json
import sys
import time
from http.server import BaseHTTPRequestHandler, HTTPServer

SECRET, OUT = sys.argv[1], sys.argv[2]
BODIES = len(sys.argv) > 3 and sys.argv[3] == "bodies"
KEY = base64.b64decode(SECRET[len("whsec_"):])


def verdict(headers, body):
    msg_id = headers.get("webhook-id")
    ts = headers.get("webhook-timestamp")
    sigs = headers.get("webhook-signature")
    if not msg_id or not ts or not sigs:
        return "BAD", msg_id, "missing header"
    if headers.get("x-request-id") != msg_id:  # gpubroker's request id of a delivery
        return "BAD", msg_id, "X-Request-Id is not the message id"
    if abs(time.time() - int(ts)) > 300:
        return "BAD", msg_id, "timestamp outside tolerance"
    signed = msg_id.encode() + b"." + ts.encode() + b"." + body
    want = base64.b64encode(hmac.new(KEY, signed, hashlib.sha256).digest()).decode()
    for entry in sigs.split(" "):
        version, _, sig = entry.partition(",")
        if version == "v1" and hmac.compare_digest(sig, want):
            event = json.loads(body).get("event", "?")
            return "OK", msg_id, event
    return "BAD", msg_id, "no matching v1 signature"


class Handler(BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("content-length", "0")))
        result, msg_id, detail = verdict(self.headers, body)
        with open(OUT, "a") as f:
            extra = " " + body.decode("utf-8", "replace").replace("\n", " ") if BODIES else ""
            f.write(f"{result} {msg_id} {detail}{extra}\n")
        self.send_response(200 if result == "OK" else 400)
        self.end_headers()

    def log_message(self, *args):
        pass


server = HTTPServer(("127.0.0.1", 0), Handler)
print(f"LISTEN_URL=http://127.0.0.1:{server.server_port}", flush=True)
server.serve_forever()
