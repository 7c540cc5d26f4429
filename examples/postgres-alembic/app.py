#!/usr/bin/python3
"""A small shop service on PostgreSQL: GET /health, GET /items (count),
POST /items (adds one), GET /search (a feature behind the flag
fast-search, read from rollguard over OFREP). A release named *-bad
answers 500 on /health; a release named *-slowsearch breaks /search when
the flag is on. Settings come from the environment only."""
import json
import os
import sys
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import psycopg2

VERSION = os.environ.get("ROLLGUARD_VERSION", "dev")


def db():
    return psycopg2.connect(host=os.environ["PGHOST"], port=os.environ["PGPORT"],
                            user=os.environ.get("PGUSER", "postgres"),
                            dbname=os.environ["PGDATABASE"])


def token():
    """The flags token, read from FLAGS_TOKEN_FILE at each use (never logged)."""
    try:
        with open(os.environ.get("FLAGS_TOKEN_FILE", "")) as f:
            return f.read().strip()
    except OSError:
        return ""


def flag_on(key):
    url = os.environ.get("FLAGS_URL")
    if not url:
        return False
    req = urllib.request.Request(url + "/ofrep/v1/evaluate/flags/" + key, method="POST",
                                 data=json.dumps({"context": {"targetingKey": "app"}}).encode(),
                                 headers={"Content-Type": "application/json",
                                          "Authorization": "Bearer " + token()})
    try:
        with urllib.request.urlopen(req, timeout=2) as r:
            return json.load(r).get("value") is True
    except Exception:
        return False


class Handler(BaseHTTPRequestHandler):
    def answer(self, code, body):
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        if self.path == "/health":
            if VERSION.endswith("-bad"):
                return self.answer(500, {"status": "broken", "version": VERSION})
            with db() as c, c.cursor() as cur:
                cur.execute("SELECT 1")
            return self.answer(200, {"status": "ok", "version": VERSION})
        if self.path == "/items":
            with db() as c, c.cursor() as cur:
                cur.execute("SELECT count(*) FROM items")
                return self.answer(200, {"count": cur.fetchone()[0], "version": VERSION})
        if self.path == "/search":
            if flag_on("fast-search") and VERSION.endswith("-slowsearch"):
                return self.answer(500, {"error": "fast search is broken"})
            return self.answer(200, {"results": [], "version": VERSION})
        return self.answer(404, {"error": "not found"})

    def do_POST(self):
        if self.path != "/items":
            return self.answer(404, {"error": "not found"})
        with db() as c, c.cursor() as cur:
            cur.execute("INSERT INTO items(name) VALUES (%s)", ("item from " + VERSION,))
        return self.answer(201, {"added": 1})

    def log_message(self, fmt, *args):
        pass


def main():
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    with open(sys.argv[1], "w") as f:   # where rollguard finds the backend
        f.write("127.0.0.1:%d\n" % srv.server_address[1])
    srv.serve_forever()


if __name__ == "__main__":
    main()
