#!/usr/bin/env python3
"""http_provider: a scripted SMS provider on 127.0.0.1 for the e2e tests of
the `http` connection (python3 standard library only).

The first path segment picks the scenario:
  /ok/...        200 {"message_id": "P<n>", "status": "accepted"}; when the
                 request carries a "callback" field (form or JSON), POSTs a
                 delivery report {"id": …, "status": "delivered"} there
                 afterwards (HMAC-SHA256 of the body in X-Signature when
                 --hmac-secret is given), retrying until it gets 200.
  /reject/...    400 {"error": {"code": 21211, "message": "Invalid 'To' Phone Number"}}
  /fail5xx/...   503 text "Service Unavailable"
  /throttle/...  429 {"error": "Too many requests"} four times per recipient, then 200
  /slow/...      answers 200 only after --slow seconds (beyond the timeout)
  /reset/...     reads the request, then resets the connection (RST)
  /cgi-bin/sendsms  Kannel's sendsms: checks username/password (foo/bar),
                 answers 202 "0: Accepted for delivery", then calls the
                 dlr-url (GET) with %d replaced by 1 (delivered) when dlr-mask
                 asks for it.
  /oauth/token   OAuth 2.0 client credentials (RFC 6749 4.4): client cid /
                 csecret in HTTP basic auth or in the form body; grants
                 T<n> valid for --oauth-expires seconds; 401 invalid_client
  /oauth/send/.. 200 {"message_id": …} with a valid, unexpired, unrevoked
                 Bearer token, else 401 {"error": "invalid_token"}
  /oauth/revoke  revokes every token granted so far (as a provider may)
Every request is appended to --log as one JSON line: method, path, query,
headers, body.  The chosen port is written to --port-file once listening.
"""
import argparse
import base64
import hashlib
import hmac
import json
import socket
import struct
import sys
import threading
import time
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ARGS = None
LOCK = threading.Lock()
THROTTLED = {}  # recipient -> 429s answered
COUNTER = [0]
TOKENS = {}  # token -> expiry (time.time())
TOKEN_COUNT = [0]


def record(entry):
    with LOCK:
        with open(ARGS.log, "a", encoding="utf-8") as f:
            f.write(json.dumps(entry, ensure_ascii=False) + "\n")


def next_id():
    with LOCK:
        COUNTER[0] += 1
        return "P%06d" % COUNTER[0]


def post_report(url, msg_id, state):
    body = json.dumps({"id": msg_id, "status": state}).encode()
    headers = {"Content-Type": "application/json"}
    if ARGS.hmac_secret:
        headers["X-Signature"] = hmac.new(ARGS.hmac_secret.encode(), body, hashlib.sha256).hexdigest()
    for _ in range(40):  # the gateway answers 503 until it has committed
        try:
            req = urllib.request.Request(url, data=body, headers=headers, method="POST")
            with urllib.request.urlopen(req, timeout=5) as r:
                record({"callback": url, "id": msg_id, "status": r.status})
                if r.status == 200:
                    return
        except Exception as e:  # noqa: BLE001 - any failure means try again
            record({"callback": url, "id": msg_id, "error": str(e)})
        time.sleep(0.25)


def get_dlr(url):
    for _ in range(40):
        try:
            with urllib.request.urlopen(url, timeout=5) as r:
                record({"dlr_url": url, "status": r.status})
                if r.status == 200:
                    return
        except Exception as e:  # noqa: BLE001
            record({"dlr_url": url, "error": str(e)})
        time.sleep(0.25)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive

    def log_message(self, fmt, *args):
        pass

    def answer(self, status, body, ctype="application/json", extra=None):
        data = body.encode() if isinstance(body, str) else body
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def fields(self, body):
        ctype = self.headers.get("Content-Type", "")
        if "json" in ctype:
            try:
                v = json.loads(body or "{}")
                return v if isinstance(v, dict) else {}
            except ValueError:
                return {}
        return {k: v[0] for k, v in urllib.parse.parse_qs(body).items()}

    def handle_any(self):
        url = urllib.parse.urlsplit(self.path)
        n = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(n) if n else b""
        body = raw.decode("utf-8", "replace")
        query = {k: v[0] for k, v in urllib.parse.parse_qs(url.query).items()}
        record({"t": time.time(), "method": self.command, "path": url.path, "query": query,
                "headers": {k.lower(): v for k, v in self.headers.items()}, "body": body})
        scenario = url.path.strip("/").split("/")[0]
        if scenario == "oauth":
            self.oauth(url.path, body)
        elif scenario == "ok":
            mid = next_id()
            self.answer(200, json.dumps({"message_id": mid, "status": "accepted"}))
            cb = self.fields(body).get("callback")
            if cb:
                threading.Thread(target=post_report, args=(cb, mid, "delivered"), daemon=True).start()
        elif scenario == "reject":
            self.answer(400, json.dumps({"error": {"code": 21211, "message": "Invalid 'To' Phone Number"}}))
        elif scenario == "fail5xx":
            self.answer(503, "Service Unavailable", "text/plain")
        elif scenario == "throttle":
            # 429 four times per recipient (more than the test's max_attempts),
            # then accepted: throttling must not spend attempts.
            to = query.get("to", "")
            with LOCK:
                THROTTLED[to] = THROTTLED.get(to, 0) + 1
                n = THROTTLED[to]
            if n <= 4:
                self.answer(429, json.dumps({"error": "Too many requests"}), extra={"Retry-After": "1"})
            else:
                self.answer(200, json.dumps({"message_id": next_id(), "status": "accepted"}))
        elif scenario == "slow":
            time.sleep(ARGS.slow)
            try:
                self.answer(200, json.dumps({"message_id": next_id()}))
            except OSError:
                pass
        elif scenario == "reset":
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()
            self.close_connection = True
        elif url.path == "/cgi-bin/sendsms":
            if query.get("username") != "foo" or query.get("password") != "bar":
                self.answer(403, "Authorization failed for sendsms", "text/plain")
                return
            if not query.get("to") or "text" not in query:
                self.answer(400, "Missing receiver number, rejected", "text/plain")
                return
            self.answer(202, "0: Accepted for delivery", "text/plain")
            dlr = query.get("dlr-url")
            if dlr and int(query.get("dlr-mask", "0")) & 1:
                threading.Thread(target=get_dlr, args=(dlr.replace("%d", "1"),), daemon=True).start()
        else:
            self.answer(404, json.dumps({"error": "no such scenario"}))

    def oauth(self, path, body):
        if path == "/oauth/token":
            form = {k: v[0] for k, v in urllib.parse.parse_qs(body).items()}
            cid, sec = form.get("client_id"), form.get("client_secret")
            auth = self.headers.get("Authorization", "")
            if auth.startswith("Basic "):
                cid, _, sec = base64.b64decode(auth[6:]).decode().partition(":")
            if self.command != "POST" or form.get("grant_type") != "client_credentials":
                self.answer(400, json.dumps({"error": "unsupported_grant_type"}))
            elif (cid, sec) != ("cid", "csecret"):
                self.answer(401, json.dumps({"error": "invalid_client", "error_description": "bad client"}))
            else:
                with LOCK:
                    TOKEN_COUNT[0] += 1
                    tok = "T%d" % TOKEN_COUNT[0]
                    TOKENS[tok] = time.time() + ARGS.oauth_expires
                self.answer(200, json.dumps({"access_token": tok, "token_type": "Bearer",
                                             "expires_in": ARGS.oauth_expires}))
        elif path == "/oauth/revoke":
            with LOCK:
                TOKENS.clear()
            self.answer(200, "{}")
        else:
            auth = self.headers.get("Authorization", "")
            tok = auth[7:] if auth.startswith("Bearer ") else ""
            with LOCK:
                good = TOKENS.get(tok, 0) > time.time()
            if good:
                self.answer(200, json.dumps({"message_id": next_id(), "status": "accepted"}))
            else:
                self.answer(401, json.dumps({"error": "invalid_token"}))

    do_GET = do_POST = do_PUT = handle_any


def main():
    global ARGS
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--port-file", required=True)
    p.add_argument("--log", required=True)
    p.add_argument("--slow", type=float, default=3.0)
    p.add_argument("--hmac-secret", default="")
    p.add_argument("--oauth-expires", type=int, default=3600)
    ARGS = p.parse_args()
    srv = ThreadingHTTPServer(("127.0.0.1", ARGS.port), Handler)
    srv.daemon_threads = True
    with open(ARGS.port_file + ".tmp", "w") as f:
        f.write(str(srv.server_address[1]))
    import os
    os.rename(ARGS.port_file + ".tmp", ARGS.port_file)
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass
    sys.exit(0)


if __name__ == "__main__":
    main()
