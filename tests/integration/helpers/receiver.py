#!/usr/bin/python3
"""receiver.py PORT LOG [--fail N] [--status 500|429] [--retry-after S] [--secret S]

A Slack-, PagerDuty- or webhook-like receiver for the integration tests:
each POST is appended to LOG as one JSON line {t, path, headers, body,
status, sig_ok}; the first N requests are answered with --status (and a
Retry-After with 429), the others 200. With --secret the X-Rollguard-Signature
is checked (HMAC-SHA256 of timestamp "." body) and a bad one is answered 401.
A request whose Idempotency-Key was answered 200 before is recorded with
"duplicate": true. Standard library only."""
import argparse, hashlib, hmac, json, sys, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ap = argparse.ArgumentParser()
ap.add_argument("port", type=int)
ap.add_argument("log")
ap.add_argument("--fail", type=int, default=0)
ap.add_argument("--status", type=int, default=500)
ap.add_argument("--retry-after", type=int, default=0)
ap.add_argument("--secret", default=None)
args = ap.parse_args()
state = {"n": 0, "seen": set()}


class H(BaseHTTPRequestHandler):
    def log_message(self, *a):
        pass

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        state["n"] += 1
        status = args.status if state["n"] <= args.fail else 200
        sig_ok = None
        if args.secret is not None:
            ts = self.headers.get("X-Rollguard-Timestamp", "")
            want = "sha256=" + hmac.new(args.secret.encode(), ts.encode() + b"." + body,
                                        hashlib.sha256).hexdigest()
            sig_ok = hmac.compare_digest(want, self.headers.get("X-Rollguard-Signature", ""))
            fresh = ts.isdigit() and abs(time.time() - int(ts)) < 300
            if not (sig_ok and fresh):
                status = 401
        key = self.headers.get("Idempotency-Key")
        dup = status == 200 and key is not None and key in state["seen"]
        if status == 200 and key:
            state["seen"].add(key)
        rec = {"t": time.time(), "path": self.path, "headers": dict(self.headers.items()),
               "body": body.decode("utf-8", "replace"), "status": status, "sig_ok": sig_ok,
               "duplicate": dup}
        with open(args.log, "a") as f:
            f.write(json.dumps(rec) + "\n")
        self.send_response(status)
        if status == 429 and args.retry_after:
            self.send_header("Retry-After", str(args.retry_after))
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")


ThreadingHTTPServer(("127.0.0.1", args.port), H).serve_forever()
