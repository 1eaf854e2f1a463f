#!/usr/bin/env python3
"""tests/lib/s3proxy.py - a fault-injecting HTTP/1.1 proxy for the S3 client tests.

Sits between the client and the S3 server (s3rver) on 127.0.0.1 and forwards every request
unchanged (the Host header too, so AWS Signature V4 still verifies), except that it can be
told to misbehave on chosen requests.  Python standard library only.

    s3proxy.py --upstream http://127.0.0.1:PORT --port-file F --rules RULES --log LOG

It listens on a free port of 127.0.0.1 and writes that port to F once ready.

RULES is re-read for every request.  Each line is

    ACTION COUNT [MATCH]

and applies to the next COUNT requests whose "METHOD /path?query" contains MATCH (every
request when MATCH is empty); COUNT is decremented in the file as requests are hit, and the
first line with a positive count that matches wins.  ACTION is one of

    500, 503, 429, ... answer with that status and an S3 XML error (InternalError,
                        SlowDown, ...) without forwarding the request
    error:STATUS:CODE   answer with STATUS and the S3 error CODE without forwarding
    ok-error:CODE       answer 200 with an S3 <Error> body (as CompleteMultipartUpload may)
                        without forwarding
    reset               read the request, then reset the connection (nothing forwarded)
    reset-after         forward the request, then reset the connection instead of answering
    reset-mid           forward the request, send the headers and half of the body, reset
    delay:SECONDS       wait that long, then forward, unless the client gave up meanwhile
                        (for client timeouts)

LOG gets one line per request: "METHOD /path?query -> STATUS" or "-> ACTION", followed by
" body=N" when the request had a body of N bytes.
"""

import argparse
import http.client
import http.server
import os
import socket
import struct
import sys
import threading
import time
import urllib.parse

HOP_BY_HOP = {"connection", "keep-alive", "proxy-connection", "transfer-encoding", "expect",
              "te", "trailer", "upgrade"}
CODES = {400: "BadRequest", 403: "AccessDenied", 404: "NoSuchKey", 429: "SlowDown",
         500: "InternalError", 502: "BadGateway", 503: "SlowDown", 504: "GatewayTimeout"}


class Rules:
    def __init__(self, path):
        self.path = path
        self.lock = threading.Lock()

    def take(self, what):
        """The action of the first matching rule with a positive count (decremented), or None."""
        with self.lock:
            try:
                with open(self.path, encoding="utf-8") as f:
                    lines = f.read().splitlines()
            except FileNotFoundError:
                return None
            action = None
            for i, line in enumerate(lines):
                parts = line.split(" ", 2)
                if len(parts) < 2 or not parts[1].isdigit():
                    continue
                count = int(parts[1])
                match = parts[2] if len(parts) > 2 else ""
                if count > 0 and match in what:
                    action = parts[0]
                    lines[i] = "%s %d %s" % (parts[0], count - 1, match)
                    break
            if action is not None:
                tmp = self.path + ".tmp"
                with open(tmp, "w", encoding="utf-8") as f:
                    f.write("".join(l + "\n" for l in lines))
                os.replace(tmp, self.path)
            return action


class Log:
    def __init__(self, path):
        self.path = path
        self.lock = threading.Lock()

    def write(self, line):
        with self.lock:
            with open(self.path, "a", encoding="utf-8") as f:
                f.write(line + "\n")


def error_xml(code):
    return ('<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>%s</Code>'
            '<Message>injected by s3proxy</Message><RequestId>s3proxy</RequestId></Error>'
            % code).encode()


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 600

    def log_message(self, fmt, *args):  # no stderr chatter
        pass

    def reset(self):
        """Abort the connection with a TCP reset."""
        try:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()
        except OSError:
            pass
        self.close_connection = True

    def client_gone(self):
        """True if the client has closed (or reset) its connection."""
        try:
            self.connection.setblocking(False)
            try:
                return self.connection.recv(1, socket.MSG_PEEK) == b""
            finally:
                self.connection.settimeout(self.timeout)
        except BlockingIOError:
            return False
        except OSError:
            return True

    def answer(self, status, body, content_type="application/xml"):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def handle_any(self):
        what = "%s %s" % (self.command, self.path)
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = 0
        if self.headers.get("Transfer-Encoding"):
            self.log_line(what, "411")
            self.answer(411, error_xml("MissingContentLength"))
            return
        body = self.rfile.read(length) if length else b""
        self.body_len = len(body)
        action = self.server.rules.take(what)
        try:
            self.dispatch(what, action, body)
        except (ConnectionError, BrokenPipeError, socket.timeout, OSError) as e:
            self.log_line(what, "client gone (%s)" % e.__class__.__name__)
            self.close_connection = True

    def log_line(self, what, result):
        size = getattr(self, "body_len", 0)
        self.server.log.write("%s -> %s%s" % (what, result, " body=%d" % size if size else ""))

    def dispatch(self, what, action, body):
        if action is not None:
            if action.isdigit():
                status = int(action)
                self.log_line(what, action)
                self.answer(status, error_xml(CODES.get(status, "InjectedFault")))
                return
            if action.startswith("error:"):
                _, status, code = action.split(":", 2)
                self.log_line(what, action)
                self.answer(int(status), error_xml(code))
                return
            if action.startswith("ok-error:"):
                self.log_line(what, action)
                self.answer(200, error_xml(action.split(":", 1)[1]))
                return
            if action == "reset":
                self.log_line(what, action)
                self.reset()
                return
            if action.startswith("delay:"):
                time.sleep(float(action.split(":", 1)[1]))
                if self.client_gone():
                    # the client gave up: the request is lost, as on a real network
                    self.log_line(what, action + ", client gone, not forwarded")
                    self.close_connection = True
                    return
                self.log_line(what, action)
        self.forward(what, action, body)

    def forward(self, what, action, body):
        up = self.server.upstream
        conn = http.client.HTTPConnection(up.hostname, up.port, timeout=600)
        try:
            conn.putrequest(self.command, self.path, skip_host=True, skip_accept_encoding=True)
            for k, v in self.headers.items():
                if k.lower() not in HOP_BY_HOP:
                    conn.putheader(k, v)
            conn.endheaders(body if body else None)
            resp = conn.getresponse()
            if action == "reset-after":
                resp.read()
                self.log_line(what, "%d, then reset" % resp.status)
                self.reset()
                return
            headers = [(k, v) for k, v in resp.getheaders() if k.lower() not in HOP_BY_HOP]
            has_len = any(k.lower() == "content-length" for k, _ in headers)
            no_body = self.command == "HEAD" or resp.status in (204, 304) or resp.status < 200
            data = None
            if not no_body and not has_len:
                data = resp.read()
                headers.append(("Content-Length", str(len(data))))
            self.send_response_only(resp.status, resp.reason)
            for k, v in headers:
                self.send_header(k, v)
            self.end_headers()
            if no_body:
                self.log_line(what, str(resp.status))
                return
            if data is not None:
                total = len(data)
                chunks = iter([data])
            else:
                total = int(resp.getheader("Content-Length"))
                chunks = iter(lambda: resp.read(65536), b"")
            sent = 0
            for chunk in chunks:
                if action == "reset-mid" and sent + len(chunk) >= total // 2:
                    self.wfile.write(chunk[: max(0, total // 2 - sent)])
                    self.log_line(what, "%d, reset after %d of %d bytes" % (resp.status, total // 2, total))
                    self.reset()
                    return
                self.wfile.write(chunk)
                sent += len(chunk)
            self.log_line(what, str(resp.status))
        finally:
            conn.close()

    do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = handle_any


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True


def main():
    ap = argparse.ArgumentParser(description="fault-injecting proxy for S3 tests")
    ap.add_argument("--upstream", required=True)
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--rules", required=True)
    ap.add_argument("--log", required=True)
    a = ap.parse_args()
    srv = Server(("127.0.0.1", 0), Handler)
    srv.upstream = urllib.parse.urlsplit(a.upstream)
    srv.rules = Rules(a.rules)
    srv.log = Log(a.log)
    tmp = a.port_file + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(str(srv.server_address[1]))
    os.replace(tmp, a.port_file)
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
