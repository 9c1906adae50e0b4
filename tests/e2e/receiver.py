# SPDX-License-Identifier: Apache-2.0
"""A webhook receiver for the tests and the bench (Python standard library
only, plus the `openssl` command line to make its certificates).

    with Receiver() as r:          # HTTPS on 127.0.0.1, a port of its own
        r.url("/ingest"), r.ca_file
        r.set_mode("status", 503, seconds=30)   # 503 for 30 s, then 200
        r.set_mode("status", 429, retry_after=2)
        r.set_mode("hang")         # read the request, never answer
        r.set_mode("ok")
        r.requests()               # every request seen, in order

The server listens on port 0 (the kernel picks a free port: nothing to race
for) and reports it as .port. Each connection has its own thread; stop()
closes every connection, hanging ones too, and joins them, so a hanging
receiver never holds up a test's teardown.

Certificates: a CA made for this receiver alone and a server certificate it
signed for IP:127.0.0.1, in a private temporary directory removed at stop().
Give the sensor .ca_file.

Run alone (a manual check): /usr/bin/python3 tests/e2e/receiver.py [--http]
prints its URL and CA, then the requests as they come.
"""

import http.server
import os
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time

FINDING_ID_HEADER = "X-Sowatch-Finding-Id"


def make_certificates(dirpath, names="IP:127.0.0.1", ca_dir=None):
    """A CA and a server certificate for IP:127.0.0.1 signed by it, in
    dirpath. Returns (ca.pem, server.pem, server.key).

    names: the server certificate's subjectAltName (its CN is the first
    name's value), e.g. "DNS:elsewhere.example" for a certificate that names
    another server. ca_dir: a directory this function filled before; the
    server certificate is then signed by that CA (returned as ca.pem) and no
    new CA is made."""
    p = lambda name: os.path.join(dirpath, name)  # noqa: E731
    ca = lambda name: os.path.join(ca_dir or dirpath, name)  # noqa: E731

    def run(*argv):
        r = subprocess.run(["openssl"] + list(argv), stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, env=_openssl_env())
        if r.returncode != 0:
            raise RuntimeError("openssl %s failed:\n%s" % (
                argv[0], r.stdout.decode(errors="replace")))

    with open(p("server.ext"), "w") as f:
        f.write("subjectAltName = " + names + "\n"
                "basicConstraints = critical, CA:FALSE\n"
                "keyUsage = critical, digitalSignature\n"
                "extendedKeyUsage = serverAuth\n")
    # EC keys: a handshake costs the receiver (Python) a few ms, not tens
    ec = ("-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1")
    if ca_dir is None:
        run("req", "-x509", *ec, "-nodes", "-keyout", p("ca.key"),
            "-out", p("ca.pem"), "-days", "2", "-subj", "/CN=sowatch test CA",
            "-addext", "basicConstraints=critical,CA:TRUE",
            "-addext", "keyUsage=critical,keyCertSign,cRLSign")
        # The sensor reads the CA as root through safe_path: root's, not
        # writable by others (the directory is mkdtemp's 0700 then opened to
        # 0755).
        os.chmod(p("ca.pem"), 0o644)
    cn = names.split(",")[0].split(":", 1)[1].strip()
    run("req", *ec, "-nodes", "-keyout", p("server.key"),
        "-out", p("server.csr"), "-subj", "/CN=" + cn)
    run("x509", "-req", "-in", p("server.csr"), "-CA", ca("ca.pem"),
        "-CAkey", ca("ca.key"), "-CAcreateserial", "-out", p("server.pem"),
        "-days", "2", "-extfile", p("server.ext"))
    return ca("ca.pem"), p("server.pem"), p("server.key")


def _openssl_env():
    env = {k: v for k, v in os.environ.items()
           if k not in ("OPENSSL_CONF", "OPENSSL_ENGINES", "OPENSSL_MODULES")}
    env["PATH"] = "/usr/sbin:/usr/bin:/sbin:/bin"
    return env


class Request:
    """One request as received: .time (time.time() once the body was read),
    .method, .path, .headers (an email.message.Message: case-insensitive),
    .body (bytes), .finding_id (the X-Sowatch-Finding-Id header or None),
    .status (what was answered; None while hanging)."""

    def __init__(self, t, method, path, headers, body):
        self.time = t
        self.method = method
        self.path = path
        self.headers = headers
        self.body = body
        self.finding_id = headers.get(FINDING_ID_HEADER)
        self.status = None

    def __repr__(self):
        return "<%s %s %s id=%s %d bytes -> %s>" % (
            time.strftime("%H:%M:%S", time.localtime(self.time)), self.method,
            self.path, self.finding_id, len(self.body), self.status)


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as the sensor expects
    server_version = "sowatch-test-receiver"

    def log_message(self, fmt, *args):
        pass

    def do_POST(self):
        self._serve()

    def do_GET(self):
        self._serve()

    def do_PUT(self):
        self._serve()

    def _serve(self):
        rcv = self.server.receiver
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length > 0 else b""
        req = Request(time.time(), self.command, self.path, self.headers, body)
        status, retry_after, hang = rcv._answer_for(req)
        rcv._record(req)
        if hang:
            # Never answer: wait until stop() closes the connection.
            rcv._stopped.wait()
            self.close_connection = True
            return
        req.status = status
        text = b"" if status < 300 else ("refused by the test receiver: %d\n"
                                         % status).encode()
        self.send_response(status)
        if retry_after is not None:
            self.send_header("Retry-After", str(retry_after))
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(text)))
        self.end_headers()
        self.wfile.write(text)


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = False
    request_queue_size = 64

    def __init__(self, receiver, context):
        self.receiver = receiver
        self.context = context
        super().__init__(("127.0.0.1", 0), _Handler)

    def get_request(self):
        sock, addr = super().get_request()
        # As real servers do: without it, the response waits behind TLS 1.3's session
        # tickets for the client's delayed ACK (Nagle), 40 ms on each new connection
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.receiver._track(sock)
        if self.context is not None:
            # The handshake in the connection's own thread (finish_request),
            # never in the accept loop: a stuck client must not stop others.
            sock = self.context.wrap_socket(sock, server_side=True,
                                            do_handshake_on_connect=False)
            self.receiver._track(sock)
        return sock, addr

    def finish_request(self, request, client_address):
        if isinstance(request, ssl.SSLSocket):
            request.settimeout(10)
            try:
                request.do_handshake()
            except (ssl.SSLError, OSError):
                return
            request.settimeout(None)
        super().finish_request(request, client_address)

    def handle_error(self, request, client_address):
        # A connection closed by stop() or by the client: not worth a trace.
        pass


class Receiver:
    """See the module's docstring. tls=False serves plain HTTP."""

    def __init__(self, tls=True):
        self.tls = tls
        self.dir = tempfile.mkdtemp(prefix="sowatch-receiver-")
        os.chmod(self.dir, 0o755)
        self.ca_file = None
        self._lock = threading.Lock()
        self._requests = []
        self._socks = []
        self._stopped = threading.Event()
        self._mode = ("ok", 200, None, None)  # mode, status, retry_after, until
        self._server = None
        self._thread = None
        self.port = None

    # -- lifecycle

    def start(self):
        context = None
        if self.tls:
            self.ca_file, cert, key = make_certificates(self.dir)
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(cert, key)
        self._server = _Server(self, context)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        kwargs={"poll_interval": 0.1},
                                        name="receiver-%d" % self.port,
                                        daemon=True)
        self._thread.start()
        return self

    def stop(self):
        """Stop accepting, close every connection (hanging ones too), and
        remove the certificates."""
        if self._server is None:
            return
        self._stopped.set()
        self._server.shutdown()
        with self._lock:
            socks, self._socks = self._socks, []
        for s in socks:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            try:
                s.close()
            except OSError:
                pass
        self._server.server_close()
        self._thread.join(10)
        self._server = None
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
        return False

    def url(self, path="/ingest"):
        return "%s://127.0.0.1:%d%s" % ("https" if self.tls else "http",
                                        self.port, path)

    # -- behaviour

    def set_mode(self, mode, status=None, seconds=None, retry_after=None):
        """ok: answer 200. status: answer `status` (with a Retry-After header
        when retry_after is given), for `seconds` from now and 200 after that,
        or for ever when seconds is None. hang: read the request and never
        answer, until stop()."""
        if mode not in ("ok", "status", "hang"):
            raise ValueError("unknown mode %r" % mode)
        if mode == "status" and status is None:
            raise ValueError("mode status needs a status")
        until = None if seconds is None else time.monotonic() + seconds
        with self._lock:
            self._mode = (mode, status or 200, retry_after, until)

    def _answer_for(self, req):
        """(status, retry_after, hang) for a request arriving now."""
        with self._lock:
            mode, status, retry_after, until = self._mode
        if mode == "hang":
            return None, None, True
        if mode == "status" and (until is None or time.monotonic() < until):
            return status, retry_after, False
        return 200, None, False

    def _record(self, req):
        with self._lock:
            self._requests.append(req)

    def _track(self, sock):
        with self._lock:
            self._socks.append(sock)

    # -- what was received

    def requests(self):
        """Every request received so far, in arrival order (a copy)."""
        with self._lock:
            return list(self._requests)

    def by_id(self):
        """{finding id: [requests carrying it, in order]}"""
        out = {}
        for r in self.requests():
            out.setdefault(r.finding_id, []).append(r)
        return out

    def wait_for(self, predicate, timeout=10.0):
        """The requests so far once predicate(requests) is true; fails after
        timeout seconds."""
        deadline = time.monotonic() + timeout
        while True:
            reqs = self.requests()
            if predicate(reqs):
                return reqs
            if time.monotonic() > deadline:
                raise AssertionError("receiver: condition not met within %ss; "
                                     "%d requests: %r" % (timeout, len(reqs),
                                                          reqs[-10:]))
            time.sleep(0.05)


def main():
    tls = "--http" not in sys.argv[1:]
    with Receiver(tls=tls) as r:
        print("listening: %s" % r.url())
        if r.ca_file:
            print("ca_file: %s" % r.ca_file)
        sys.stdout.flush()
        seen = 0
        try:
            while True:
                time.sleep(0.2)
                reqs = r.requests()
                for req in reqs[seen:]:
                    print(req)
                seen = len(reqs)
                sys.stdout.flush()
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    main()
