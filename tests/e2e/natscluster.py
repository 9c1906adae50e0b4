# SPDX-License-Identifier: Apache-2.0
"""A real NATS JetStream cluster for the end-to-end tests, and a small NATS
client to talk to it (Python standard library only).

* NatsCluster(ws, size=3, max_payload=4 MiB, auth=None): `size` real
  /usr/sbin/nats-server processes (Debian's nats-server package) clustered
  on loopback ports, each with JetStream on and its store and log file in the
  workspace. start() waits until every server has JetStream enabled and the
  whole cluster agrees on a JetStream meta leader. kill(i) is a `kill -9`,
  start_server(i) a restart on the same ports and store, stop_all() and
  start_all() take the whole cluster down and up again, stop() ends it for
  good (also at exit, so a failing test leaves no server behind).
* NatsClient(url): the NATS client protocol over a socket (INFO, CONNECT,
  PUB/HPUB, SUB/UNSUB, MSG/HMSG, PING/PONG, -ERR), single-threaded: replies
  are read while a call waits for them.
* js_*(): the JetStream API as plain requests on $JS.API.> (stream info,
  stream creation for the tests' own use, publish with a message id and its
  ack, consumer info, a durable pull consumer's fetch and ack).

Server indexes are 0-based: kill(0) kills the first server.

    cluster = NatsCluster(ws).start()
    with NatsClient(cluster.urls()[0]) as nc:
        js_create_stream(nc, "T", ["t.>"], replicas=3)
        ack = js_publish(nc, "t.a", b"x", msg_id="1")
"""

import atexit
import base64
import json
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness  # noqa: E402
from harness import OPENSSL, for_process, read_marker, run_cmd  # noqa: E402

NATS_SERVER = "/usr/sbin/nats-server"
READY_TIMEOUT = 60.0
STOP_TIMEOUT = 20.0
START_ATTEMPTS = 3  # a port taken between free_port() and the server's bind

def nats_server_problem():
    """Why no nats-server can run here (a failure to report, not a skip)."""
    if not os.access(NATS_SERVER, os.X_OK):
        return "%s is missing (Debian's nats-server package: scripts/install-deps.sh --test)" \
            % NATS_SERVER
    return None


def fleet_module_setup():
    """setUpModule of a fleet test: the reason to skip (no root, no BPF), or
    None once the fixtures are built. A missing nats-server is a failure."""
    reason = harness.require_environment()
    if reason:
        return reason
    problem = nats_server_problem()
    if problem:
        raise RuntimeError(problem)
    harness.fixture_module()
    return None


def load(ws, sensors, stem):
    """`openssl engine -t MODULE`; waits for each sensor's finding of it and
    returns their finding ids."""
    mod = ws.module(stem)
    marker = ws.marker()
    r = run_cmd([OPENSSL, "engine", "-t", mod], marker=marker)
    if read_marker(marker) != r.pid:
        raise AssertionError("the module did not run:\n" + r.output)
    return [s.wait_for(for_process(r.pid, mod), timeout=30).finding_id() for s in sensors]


def uts_sensor(test, ws, config, host=None):
    """`sowatch run` with config: on this host, or as host in a UTS namespace."""
    binary = None
    if host:
        binary = ws.write("uts-%s.sh" % harness.rand(),
                          "#!/bin/sh\nexec unshare --uts /bin/sh -c "
                          "'hostname %s && exec %s \"$@\"' sh \"$@\"\n"
                          % (host, harness.sowatch_bin()))
        os.chmod(binary, 0o700)
    s = harness.Sensor(binary=binary, config=config)
    s.start()
    test.addCleanup(s.stop)
    return s


def store_rows(db, sql, args=()):
    """The rows of a query on a sowatch store, read-only (a sensor or collector
    may be writing it)."""
    con = sqlite3.connect("file:%s?mode=ro" % db, uri=True, timeout=30)
    try:
        return con.execute(sql, args).fetchall()
    finally:
        con.close()


def store_made(db):
    """Whether a collector (or sensor) has made its store yet: the file comes
    into being a moment before its tables."""
    if not os.path.exists(db):
        return False
    return bool(store_rows(db, "SELECT 1 FROM sqlite_master WHERE name = 'findings'"))


def ids_of(db):
    """The finding ids in a store; none while it is not made yet."""
    if not store_made(db):
        return set()
    return {r[0] for r in store_rows(db, "SELECT id FROM findings")}


def http_json(url, timeout=2.0):
    """(status, parsed JSON or text) of a GET; an HTTP error status is an
    answer, a refused connection an OSError."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            status, body = r.status, r.read()
    except urllib.error.HTTPError as e:
        status, body = e.code, e.read()
    try:
        return status, json.loads(body)
    except ValueError:
        return status, body.decode("utf-8", "replace")


# --------------------------------------------------------------------------
# The cluster


class NatsServer:
    """One server of a cluster: its ports, files and process."""

    def __init__(self, index, name):
        self.index = index
        self.name = name
        self.port = self.http_port = self.cluster_port = None
        self.conf = self.log = self.store = None
        self.proc = None
        self.down = False  # stopped or killed on purpose (kill, stop_server)

    @property
    def url(self):
        return "nats://127.0.0.1:%d" % self.port

    @property
    def monitor(self):
        return "http://127.0.0.1:%d" % self.http_port

    def running(self):
        return self.proc is not None and self.proc.poll() is None


class NatsCluster:
    """`size` nats-server processes with JetStream, clustered on loopback.

    ws: a harness.Workspace (configs, stores js-N/, logs nats-N.log).
    max_payload: the servers' max_payload in bytes.
    auth: text put as is into every server's configuration, e.g. an
      `accounts { ... }` block (with `jetstream: enabled` in each account
      that uses JetStream) or an `authorization { ... }` block. Quote
      subjects that start with `$` ("$JS.API.>"): unquoted, nats-server
      reads them as variables.
    max_file_store / max_memory_store: JetStream's limits per server, small
      for tests.

    start() -> self; start_all(); wait_ready(); kill(i); start_server(i);
    stop_server(i); stop_all(); stop(); urls(); url(i); running(i); pid(i);
    monitor(i, path) -> (status, JSON); meta_leader(); log_tail(i);
    log_tails(). .servers[i] has name, port, http_port, cluster_port, conf,
    store, log and proc.
    """

    def __init__(self, ws, size=3, max_payload=4 * 1024 * 1024, auth=None,
                 max_file_store=256 * 1024 * 1024,
                 max_memory_store=64 * 1024 * 1024):
        if size < 1:
            raise ValueError("a cluster needs at least one server")
        self.ws = ws
        self.size = size
        self.max_payload = int(max_payload)
        self.auth = auth
        self.max_file_store = int(max_file_store)
        self.max_memory_store = int(max_memory_store)
        self.cluster_name = "sowatch-%s" % harness.rand()
        self.servers = [NatsServer(i, "%s-n%d" % (self.cluster_name, i))
                        for i in range(size)]
        atexit.register(self._at_exit)

    # -- configuration

    def _pick_ports(self):
        taken = set()

        def port():
            while True:
                p = harness.free_port()
                if p not in taken:
                    taken.add(p)
                    return p
        for s in self.servers:
            s.port, s.http_port, s.cluster_port = port(), port(), port()

    def _config(self, s):
        routes = ["nats-route://127.0.0.1:%d" % o.cluster_port
                  for o in self.servers if o is not s]
        text = (
            "# nats-server configuration written by tests/e2e/natscluster.py\n"
            "server_name: %(name)s\n"
            "listen: 127.0.0.1:%(port)d\n"
            "http: 127.0.0.1:%(http)d\n"
            "max_payload: %(max_payload)d\n"
            "jetstream {\n"
            "  store_dir: %(store)s\n"
            "  max_memory_store: %(mem)d\n"
            "  max_file_store: %(file)d\n"
            "}\n"
        ) % {"name": json.dumps(s.name), "port": s.port, "http": s.http_port,
             "max_payload": self.max_payload, "store": json.dumps(s.store),
             "mem": self.max_memory_store, "file": self.max_file_store}
        if self.size > 1:
            text += (
                "cluster {\n"
                "  name: %s\n"
                "  listen: 127.0.0.1:%d\n"
                "  routes: [\n%s  ]\n"
                "}\n") % (json.dumps(self.cluster_name), s.cluster_port,
                          "".join("    %s\n" % r for r in routes))
        if self.auth:
            text += "\n" + self.auth.rstrip("\n") + "\n"
        return text

    def _write_configs(self):
        for s in self.servers:
            s.store = self.ws.path("js-%d" % s.index)
            s.conf = self.ws.path("nats-%d.conf" % s.index)
            s.log = self.ws.path("nats-%d.log" % s.index)
            with open(s.conf, "w") as f:
                f.write(self._config(s))

    # -- processes

    def start(self, timeout=READY_TIMEOUT):
        """Write the configurations, start every server, wait_ready()."""
        problem = nats_server_problem()
        if problem:
            raise RuntimeError(problem)
        last = None
        for _attempt in range(START_ATTEMPTS):
            self._pick_ports()
            self._write_configs()
            try:
                self.start_all(timeout=timeout)
                return self
            except RuntimeError as e:
                last = e
                logs = "".join(self._log_text(s.index) for s in self.servers)
                self._terminate_all()
                if "address already in use" not in logs:
                    break
                # A port taken meanwhile: new ports, empty stores, again.
                for s in self.servers:
                    shutil.rmtree(s.store, ignore_errors=True)
                    with open(s.log, "ab") as f:
                        f.write(b"--- natscluster: port taken, new ports ---\n")
        raise last

    def start_server(self, i, timeout=READY_TIMEOUT):
        """Start server i (again): same configuration, ports and store. It
        returns once the server's monitoring port answers; the cluster may
        not be ready yet (see wait_ready)."""
        s = self.servers[i]
        if s.running():
            raise RuntimeError("server %d (%s) is already running" % (i, s.name))
        self._spawn(s)
        self._wait_up(s, timeout)

    def _spawn(self, s):
        with open(s.log, "ab") as log:
            log.write(("--- natscluster: starting %s at %s ---\n" % (
                s.name, time.strftime("%H:%M:%S"))).encode())
            log.flush()
            s.proc = subprocess.Popen(
                [NATS_SERVER, "-c", s.conf],
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                cwd=self.ws.dir)
            s.down = False

    def _wait_up(self, s, timeout):
        deadline = time.monotonic() + timeout
        while True:
            if s.proc.poll() is not None:
                raise RuntimeError("nats-server %d (%s) exited with %s:\n%s" % (
                    s.index, s.name, s.proc.returncode, self.log_tail(s.index)))
            try:
                if http_json(s.monitor + "/varz", 1.0)[0] == 200:
                    return
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("nats-server %d (%s): no monitoring answer after %ss:\n%s"
                                   % (s.index, s.name, timeout, self.log_tail(s.index)))
            time.sleep(0.05)

    def start_all(self, timeout=READY_TIMEOUT):
        """Start every server that is not running, then wait_ready()."""
        for s in self.servers:
            if not s.running():
                self._spawn(s)
        for s in self.servers:
            self._wait_up(s, timeout)
        self.wait_ready(timeout)

    def kill(self, i):
        """kill -9 server i and reap it."""
        s = self.servers[i]
        if not s.running():
            raise RuntimeError("server %d (%s) is not running" % (i, s.name))
        s.down = True
        s.proc.send_signal(signal.SIGKILL)
        s.proc.wait()

    def stop_server(self, i, timeout=STOP_TIMEOUT):
        """SIGTERM server i and wait for it (SIGKILL after timeout). Returns
        its exit status."""
        s = self.servers[i]
        if s.proc is None:
            return None
        s.down = True
        if s.proc.poll() is None:
            s.proc.terminate()
            try:
                s.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                s.proc.kill()
                s.proc.wait()
        return s.proc.returncode

    def stop_all(self, timeout=STOP_TIMEOUT):
        """SIGTERM every running server at once, then wait for each."""
        self._terminate_all(timeout)

    def _terminate_all(self, timeout=STOP_TIMEOUT):
        for s in self.servers:
            if s.running():
                s.proc.terminate()
        for s in self.servers:
            self.stop_server(s.index, timeout)

    def stop(self):
        """End the cluster for good (the workspace, stores and logs stay:
        they are the workspace's). Safe to call twice."""
        self._terminate_all()

    def _at_exit(self):
        if any(s.running() for s in self.servers):
            self._terminate_all(5.0)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    # -- state

    def urls(self, running_only=False):
        """The client URLs, "nats://127.0.0.1:PORT", in server order."""
        return [s.url for s in self.servers
                if not running_only or s.running()]

    def url(self, i=0):
        return self.servers[i].url

    def running(self, i):
        return self.servers[i].running()

    def pid(self, i):
        s = self.servers[i]
        return s.proc.pid if s.running() else None

    def monitor(self, i, path):
        """(status, JSON) of GET <server i's monitoring port><path>."""
        return http_json(self.servers[i].monitor + path)

    def meta_leader(self):
        """The JetStream meta leader's server name as the running servers
        see it, or None while they do not agree on one."""
        leaders = set()
        for s in self.servers:
            if not s.running():
                continue
            try:
                status, jsz = self.monitor(s.index, "/jsz")
            except OSError:
                return None
            if status != 200 or not isinstance(jsz, dict):
                return None
            leaders.add((jsz.get("meta_cluster") or {}).get("leader") or None)
        if len(leaders) != 1:
            return None
        return leaders.pop()

    def _not_ready(self, s):
        """Why server s is not ready, or None."""
        try:
            status, health = self.monitor(s.index, "/healthz?js-enabled-only=true")
            if status != 200:
                return "healthz?js-enabled-only: %s %s" % (status, health)
            status, varz = self.monitor(s.index, "/varz")
            if status != 200 or not (varz.get("jetstream") or {}).get("config"):
                return "varz: JetStream not enabled"
            status, jsz = self.monitor(s.index, "/jsz")
            if status != 200 or jsz.get("disabled"):
                return "jsz: JetStream disabled"
            meta = jsz.get("meta_cluster") or {}
            if self.size > 1:
                if not meta.get("leader"):
                    return "no meta leader"
                if meta.get("cluster_size") != self.size:
                    return "meta cluster size %s" % meta.get("cluster_size")
            # The full check: JetStream current with the meta group and
            # every stream and consumer assigned here.
            status, health = self.monitor(s.index, "/healthz")
            if status != 200:
                return "healthz: %s %s" % (status, health)
        except (OSError, ValueError, AttributeError) as e:
            return "monitoring: %s" % e
        return None

    def wait_ready(self, timeout=READY_TIMEOUT):
        """Wait until every running server has JetStream enabled and is
        healthy (/healthz: current with the meta group, its streams and
        consumers), and all of them name the same meta leader. Servers
        killed or stopped on purpose are left out (with one of three down
        the other two are ready once they have a leader); a server that
        exited by itself is an error. On a timeout, a RuntimeError with
        every server's log tail."""
        deadline = time.monotonic() + timeout
        while True:
            problems = []
            for s in self.servers:
                if s.proc is None or s.down:
                    continue
                if s.proc.poll() is not None:
                    raise RuntimeError("nats-server %d (%s) exited with %s:\n%s" % (
                        s.index, s.name, s.proc.returncode, self.log_tails()))
                why = self._not_ready(s)
                if why:
                    problems.append("server %d (%s): %s" % (s.index, s.name, why))
            if not problems and not any(s.running() for s in self.servers):
                problems.append("no server is running")
            if not problems and self.size > 1:
                leader = self.meta_leader()
                if leader is None:
                    problems.append("the servers do not agree on a meta leader")
                elif leader not in [s.name for s in self.servers if s.running()]:
                    problems.append("the meta leader %s is down" % leader)
            if not problems:
                return self
            if time.monotonic() > deadline:
                raise RuntimeError("NATS cluster not ready after %ss: %s\n%s" % (
                    timeout, "; ".join(problems), self.log_tails()))
            time.sleep(0.1)

    # -- logs

    def _log_text(self, i):
        try:
            with open(self.servers[i].log, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except (OSError, TypeError):
            return ""

    def log_tail(self, i, n=40):
        lines = self._log_text(i).splitlines()
        return "--- nats-server %d (%s) log ---\n%s\n" % (
            i, self.servers[i].name, "\n".join(lines[-n:]) or "(empty)")

    def log_tails(self, n=40):
        return "".join(self.log_tail(s.index, n) for s in self.servers)


# --------------------------------------------------------------------------
# The client


class NatsError(Exception):
    """An -ERR from the server, a closed connection or a protocol error."""


class NatsTimeout(NatsError, TimeoutError):
    pass


class Msg:
    """A message received: subject, sid, reply (or None), headers (dict or
    None), status and description from a header block's status line (e.g.
    "503", "No Responders"), data (bytes)."""

    __slots__ = ("subject", "sid", "reply", "headers", "status", "description", "data")

    def __init__(self, subject, sid, reply, data, headers=None, status=None,
                 description=None):
        self.subject, self.sid, self.reply, self.data = subject, sid, reply, data
        self.headers, self.status, self.description = headers, status, description

    def json(self):
        return json.loads(self.data)

    def __repr__(self):
        return "Msg(%r, reply=%r, status=%r, headers=%r, %d bytes)" % (
            self.subject, self.reply, self.status, self.headers, len(self.data))


def _check_token(what, text):
    if not text or any(c in text for c in " \t\r\n"):
        raise ValueError("invalid %s %r" % (what, text))


def encode_headers(headers, status=None):
    """The NATS/1.0 header block for a dict (values str, or lists of str)."""
    out = ["NATS/1.0" + (" " + status if status else "")]
    for k, v in (headers or {}).items():
        for item in (v if isinstance(v, (list, tuple)) else [v]):
            if any(c in str(k) for c in ":\r\n ") or any(c in str(item) for c in "\r\n"):
                raise ValueError("invalid header %r: %r" % (k, item))
            out.append("%s: %s" % (k, item))
    return ("\r\n".join(out) + "\r\n\r\n").encode()


def decode_headers(block):
    """(status, description, headers) of a header block; repeated keys keep
    their last value."""
    lines = block.decode("utf-8", "replace").split("\r\n")
    first = lines[0]
    if not first.startswith("NATS/1.0"):
        raise NatsError("bad header block %r" % block[:200])
    rest = first[len("NATS/1.0"):].strip()
    status = description = None
    if rest:
        status, _, description = rest.partition(" ")
        description = description or None
    headers = {}
    for ln in lines[1:]:
        if not ln:
            continue
        k, sep, v = ln.partition(":")
        if sep:
            headers[k.strip()] = v.strip()
    return status, description, headers


class NatsClient:
    """One connection to a NATS server (the client protocol, no threads).

    url: "nats://[user:password@]host:port". user/password: credentials
    (they override the URL's). inbox_prefix: the first token(s) of the
    reply subjects of request() (default "_INBOX"), for a user whose
    subscribe permission is its own prefix only (libnats:
    natsOptions_SetCustomInboxPrefix). A connection refused by the server
    (for example an authorization violation) raises NatsError here.

    Messages for subscriptions arrive while any call reads from the socket
    and wait in a queue per subscription: next_msg(sid) takes them.
    Non-fatal -ERRs (permission violations) are kept in .errors and raised
    by the call that is waiting (flush, request, next_msg).
    """

    def __init__(self, url, user=None, password=None, name=None, timeout=5.0,
                 inbox_prefix="_INBOX"):
        u = urllib.parse.urlsplit(url)
        if u.scheme not in ("nats", ""):
            raise ValueError("only nats:// URLs: %r" % url)
        self.host, self.port = u.hostname or "127.0.0.1", u.port or 4222
        user = user if user is not None else urllib.parse.unquote(u.username or "") or None
        password = password if password is not None else \
            urllib.parse.unquote(u.password or "") or None
        self.timeout = timeout
        self.sock = socket.create_connection((self.host, self.port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = b""
        self.closed = False
        self.errors = []
        self._unseen_errors = []
        self._pongs = 0
        self._pings_sent = 0
        self._next_sid = 1
        self._subs = {}  # sid -> list of Msg
        _check_token("inbox prefix", inbox_prefix)
        self._inbox_prefix = "%s.%s" % (inbox_prefix, harness.rand(22))
        self._inbox_n = 0
        try:
            line = self._read_line(timeout)
            if not line.startswith(b"INFO "):
                raise NatsError("expected INFO, got %r" % line[:200])
            self.info = json.loads(line[5:])
            self.max_payload = int(self.info.get("max_payload", 1 << 20))
            # verbose: the server answers the CONNECT itself (+OK or -ERR),
            # and nothing else is sent before that answer. A refused
            # CONNECT followed at once by a PING made the server close with
            # unread bytes, a reset that could destroy its -ERR in transit.
            connect = {"verbose": True, "pedantic": False, "headers": True,
                       "no_responders": True, "protocol": 1,
                       "lang": "python-test", "version": "0",
                       "name": name or "natscluster.py"}
            if user is not None:
                connect["user"] = user
                connect["pass"] = password or ""
            self._send(b"CONNECT " + json.dumps(connect).encode() + b"\r\n")
            self._connect_answer(time.monotonic() + timeout)
            self.flush(timeout)
        except BaseException:
            self.sock.close()
            self.closed = True
            raise

    def _connect_answer(self, deadline):
        while True:
            line = self._read_line(deadline, absolute=True)
            op, _, rest = line.partition(b" ")
            if op.upper() == b"+OK":
                return
            if op.upper() == b"-ERR":
                text = rest.decode("utf-8", "replace").strip().strip("'")
                self.errors.append(text)
                raise NatsError(text)
            if op.upper() != b"INFO":
                raise NatsError("expected +OK or -ERR after CONNECT, got %r" % line[:200])
            self.info.update(json.loads(rest))

    # -- output

    def _send(self, data):
        if self.closed:
            raise NatsError("connection closed")
        try:
            self.sock.settimeout(self.timeout)
            self.sock.sendall(data)
        except OSError as e:
            self.closed = True
            raise NatsError("send: %s" % e) from e

    def publish(self, subject, payload=b"", headers=None, reply=None):
        """PUB (or HPUB when headers is a dict, even an empty one)."""
        _check_token("subject", subject)
        if reply is not None:
            _check_token("reply subject", reply)
        if isinstance(payload, str):
            payload = payload.encode()
        head = subject + (" " + reply if reply else "")
        if headers is None:
            if len(payload) > self.max_payload:
                raise NatsError("payload of %d bytes over the server's max_payload %d"
                                % (len(payload), self.max_payload))
            self._send(b"PUB %s %d\r\n%s\r\n" % (head.encode(), len(payload), payload))
        else:
            hdr = encode_headers(headers)
            total = len(hdr) + len(payload)
            if total > self.max_payload:
                raise NatsError("message of %d bytes over the server's max_payload %d"
                                % (total, self.max_payload))
            self._send(b"HPUB %s %d %d\r\n%s%s\r\n" % (
                head.encode(), len(hdr), total, hdr, payload))

    def subscribe(self, subject, queue=None):
        """SUB; returns the sid for next_msg() and unsubscribe()."""
        _check_token("subject", subject)
        sid = str(self._next_sid)
        self._next_sid += 1
        self._subs[sid] = []
        self._send(("SUB %s %s%s\r\n" % (subject, queue + " " if queue else "", sid)).encode())
        return sid

    def unsubscribe(self, sid, max_msgs=None):
        self._send(("UNSUB %s%s\r\n" % (sid, " %d" % max_msgs if max_msgs else "")).encode())
        if not max_msgs:
            self._subs.pop(sid, None)

    def new_inbox(self):
        self._inbox_n += 1
        return "%s.%d" % (self._inbox_prefix, self._inbox_n)

    def flush(self, timeout=5.0):
        """PING and wait for its PONG: the server has processed everything
        sent before. Raises NatsError for an -ERR that came meanwhile."""
        self._pings_sent += 1
        want = self._pings_sent
        self._send(b"PING\r\n")
        deadline = time.monotonic() + timeout
        while self._pongs < want:
            self._read_op(deadline)
        self._raise_errors()

    def request(self, subject, payload=b"", timeout=5.0, headers=None):
        """Publish with a unique _INBOX reply subject and return the first
        reply (a Msg). NatsTimeout when none comes in time; NatsError for
        an -ERR (e.g. a permission violation) meanwhile."""
        inbox = self.new_inbox()
        sid = self.subscribe(inbox)
        self.unsubscribe(sid, 1)
        try:
            self.publish(subject, payload, headers=headers, reply=inbox)
            return self.next_msg(sid, timeout)
        finally:
            self._subs.pop(sid, None)

    def next_msg(self, sid, timeout=5.0):
        """The next message of subscription sid (NatsTimeout if none)."""
        deadline = time.monotonic() + timeout
        while True:
            self._raise_errors()
            queue = self._subs.get(sid)
            if queue is None:
                raise NatsError("no subscription %s" % sid)
            if queue:
                return queue.pop(0)
            self._read_op(deadline)

    def _raise_errors(self):
        if self._unseen_errors:
            errs, self._unseen_errors = self._unseen_errors, []
            raise NatsError("; ".join(errs))

    # -- input

    def _fill(self, deadline):
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise NatsTimeout("timed out waiting for the server")
        self.sock.settimeout(remaining)
        try:
            chunk = self.sock.recv(1 << 20)
        except socket.timeout:
            raise NatsTimeout("timed out waiting for the server") from None
        except OSError as e:
            self.closed = True
            raise NatsError("receive: %s" % e) from e
        if not chunk:
            self.closed = True
            raise NatsError("connection closed by the server%s" % (
                " (" + "; ".join(self.errors) + ")" if self.errors else ""))
        self.buf += chunk

    def _read_line(self, timeout_or_deadline, absolute=False):
        deadline = timeout_or_deadline if absolute else time.monotonic() + timeout_or_deadline
        while b"\r\n" not in self.buf:
            self._fill(deadline)
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def _read_exact(self, n, deadline):
        while len(self.buf) < n:
            self._fill(deadline)
        data, self.buf = self.buf[:n], self.buf[n:]
        return data

    def _read_op(self, deadline):
        """Read and handle one protocol line (and its payload)."""
        line = self._read_line(deadline, absolute=True)
        op, _, rest = line.partition(b" ")
        op = op.upper()
        if op == b"MSG":
            parts = rest.decode().split()
            if len(parts) == 3:
                subject, sid, size = parts
                reply = None
            else:
                subject, sid, reply, size = parts
            data = self._read_exact(int(size) + 2, deadline)[:-2]
            self._deliver(Msg(subject, sid, reply, data))
        elif op == b"HMSG":
            parts = rest.decode().split()
            if len(parts) == 4:
                subject, sid, hsize, size = parts
                reply = None
            else:
                subject, sid, reply, hsize, size = parts
            raw = self._read_exact(int(size) + 2, deadline)[:-2]
            status, description, headers = decode_headers(raw[:int(hsize)])
            self._deliver(Msg(subject, sid, reply, raw[int(hsize):], headers,
                              status, description))
        elif op == b"PING":
            self._send(b"PONG\r\n")
        elif op == b"PONG":
            self._pongs += 1
        elif op == b"+OK":
            pass
        elif op == b"-ERR":
            text = rest.decode("utf-8", "replace").strip().strip("'")
            self.errors.append(text)
            self._unseen_errors.append(text)
        elif op == b"INFO":
            self.info.update(json.loads(rest))
        else:
            raise NatsError("unexpected protocol line %r" % line[:200])

    def _deliver(self, msg):
        queue = self._subs.get(msg.sid)
        if queue is not None:
            queue.append(msg)

    def close(self):
        if not self.closed:
            self.closed = True
            try:
                self.sock.close()
            except OSError:
                pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def connect_any(urls, timeout=5.0, **kw):
    """A NatsClient to the first of urls that accepts a connection."""
    problems = []
    for url in urls:
        try:
            return NatsClient(url, timeout=timeout, **kw)
        except (OSError, NatsError) as e:
            problems.append("%s: %s" % (url, e))
    raise NatsError("no server accepted a connection: " + "; ".join(problems))


# --------------------------------------------------------------------------
# JetStream


class JetStreamError(NatsError):
    """An error answer of the JetStream API: .code (HTTP-like), .err_code
    (JetStream's own), .description; or no responder (code 503)."""

    def __init__(self, what, code, err_code, description):
        super().__init__("%s: %s (code %s, err_code %s)" % (what, description, code, err_code))
        self.code, self.err_code, self.description = code, err_code, description


def _js_answer(what, msg):
    if msg.status == "503":
        raise JetStreamError(what, 503, None, "no responders (no JetStream or no stream "
                             "for the subject)")
    if msg.status is not None and msg.status not in ("100", "200"):
        raise JetStreamError(what, int(msg.status) if msg.status.isdigit() else msg.status,
                             None, msg.description or "status %s" % msg.status)
    try:
        answer = json.loads(msg.data)
    except ValueError:
        raise JetStreamError(what, None, None, "not JSON: %r" % msg.data[:200]) from None
    err = answer.get("error") if isinstance(answer, dict) else None
    if err:
        raise JetStreamError(what, err.get("code"), err.get("err_code"),
                             err.get("description"))
    return answer


def js_api(client, api, body=None, timeout=5.0):
    """A request to $JS.API.<api> with body (a dict, JSON-encoded, or
    bytes); the answer dict. JetStreamError for an error answer."""
    if body is None:
        data = b""
    elif isinstance(body, bytes):
        data = body
    else:
        data = json.dumps(body).encode()
    msg = client.request("$JS.API." + api, data, timeout)
    return _js_answer("$JS.API." + api, msg)


def js_stream_info(client, stream, timeout=5.0):
    """$JS.API.STREAM.INFO.<stream>: config, state (messages, bytes,
    first_seq, last_seq, ...) and cluster (leader, replicas)."""
    return js_api(client, "STREAM.INFO." + stream, None, timeout)


def js_create_stream(client, name, subjects, replicas=3, storage="file",
                     duplicate_window_s=600, max_msg_size=None, timeout=10.0, **extra):
    """Create a stream (for the harness's own tests: sowatch creates its
    stream with `sowatch nats-init`). Returns STREAM.CREATE's answer."""
    config = {"name": name, "subjects": list(subjects), "retention": "limits",
              "storage": storage, "num_replicas": int(replicas),
              "discard": "old",
              "duplicate_window": int(duplicate_window_s * 1e9)}
    if max_msg_size is not None:
        config["max_msg_size"] = int(max_msg_size)
    config.update(extra)
    answer = js_api(client, "STREAM.CREATE." + name, config, timeout)
    # The answer can come before the stream's group has a leader and its replicas have
    # caught up; a publish then finds no responder (503). Wait for both.
    deadline = time.monotonic() + timeout
    while True:
        cluster = js_stream_info(client, name, timeout).get("cluster") or {}
        followers = cluster.get("replicas") or []
        if cluster.get("leader") and len(followers) == int(replicas) - 1 and \
                all(r.get("current") for r in followers):
            return answer
        if time.monotonic() > deadline:
            raise JetStreamError("stream %s" % name, None, None,
                                 "no leader with current replicas after %ss: %r"
                                 % (timeout, cluster))
        time.sleep(0.05)


def js_delete_stream(client, name, timeout=10.0):
    return js_api(client, "STREAM.DELETE." + name, None, timeout)


def js_publish(client, subject, payload, msg_id=None, timeout=5.0, headers=None):
    """Publish to a stream's subject as a request and return the ack
    ({"stream", "seq", "duplicate"?}); with msg_id, header Nats-Msg-Id.
    JetStreamError for an error ack or no stream (no responders)."""
    hdrs = dict(headers or {})
    if msg_id is not None:
        hdrs["Nats-Msg-Id"] = str(msg_id)
    msg = client.request(subject, payload, timeout, headers=hdrs or None)
    return _js_answer("publish to " + subject, msg)


def js_get_msg(client, stream, seq, timeout=5.0):
    """Message seq of stream ($JS.API.STREAM.MSG.GET): a dict with subject,
    seq, time, data (bytes) and headers (dict or None)."""
    m = js_api(client, "STREAM.MSG.GET." + stream, {"seq": int(seq)}, timeout)["message"]
    out = {"subject": m["subject"], "seq": m["seq"], "time": m.get("time"),
           "data": base64.b64decode(m.get("data") or ""), "headers": None}
    if m.get("hdrs"):
        out["headers"] = decode_headers(base64.b64decode(m["hdrs"]).rstrip(b"\r\n")
                                        + b"\r\n")[2]
    return out


def js_consumer_info(client, stream, durable, timeout=5.0):
    """$JS.API.CONSUMER.INFO.<stream>.<durable>: config, delivered,
    ack_floor, num_ack_pending, num_pending, ..."""
    return js_api(client, "CONSUMER.INFO.%s.%s" % (stream, durable), None, timeout)


def js_add_pull_consumer(client, stream, durable, filter_subject=None, ack_wait_s=30,
                         replicas=0, timeout=10.0):
    """Create (or find) a durable pull consumer with explicit acks."""
    config = {"durable_name": durable, "ack_policy": "explicit",
              "deliver_policy": "all", "ack_wait": int(ack_wait_s * 1e9)}
    if filter_subject:
        config["filter_subject"] = filter_subject
    if replicas:
        config["num_replicas"] = int(replicas)
    return js_api(client, "CONSUMER.DURABLE.CREATE.%s.%s" % (stream, durable),
                  {"stream_name": stream, "config": config}, timeout)


def js_fetch(client, stream, durable, batch=1, timeout=2.0):
    """Up to `batch` messages of a durable pull consumer
    ($JS.API.CONSUMER.MSG.NEXT), waiting up to timeout. Each is a Msg whose
    reply is its $JS.ACK subject; status messages (404 no messages, 408
    request timeout) end the batch and are not returned."""
    inbox = client.new_inbox()
    sid = client.subscribe(inbox)
    expires_ns = int(max(0.05, timeout - 0.1) * 1e9)
    client.publish("$JS.API.CONSUMER.MSG.NEXT.%s.%s" % (stream, durable),
                   json.dumps({"batch": int(batch), "expires": expires_ns}).encode(),
                   reply=inbox)
    msgs = []
    deadline = time.monotonic() + timeout + 1.0
    try:
        while len(msgs) < batch:
            try:
                m = client.next_msg(sid, max(0.01, deadline - time.monotonic()))
            except NatsTimeout:
                break
            if m.status is not None:  # 404 No Messages, 408 Request Timeout, ...
                break
            msgs.append(m)
    finally:
        client.unsubscribe(sid)
    return msgs


def js_ack(client, msg, timeout=5.0):
    """Acknowledge a fetched message and wait for the server to confirm
    (a request to its $JS.ACK reply subject)."""
    client.request(msg.reply, b"+ACK", timeout)
