# SPDX-License-Identifier: Apache-2.0
"""The fleet, end to end: nodes publish their findings to a real 3-server NATS
JetStream cluster (outputs.nats), `sowatch nats-init` makes the R3 stream, and
`sowatch collect` gathers them into one central store.

* Two nodes with different host names (the second sensor runs in its own UTS
  namespace) and one collector; during 50 module loads one server is killed
  with kill -9 and restarted, and so is the collector. The central store ends
  with every finding of both nodes exactly once, and lists both hosts.
* The whole cluster down: 20 findings wait in the node's store, then all reach
  the central store and the node's pending count falls to 0.
* Forged messages published straight to the stream (not JSON, another host's
  finding, 2 MB) are refused and counted; the stream nats-init made refuses the
  2 MB one itself, one without that limit passes it to the collector, which
  refuses it; the collector keeps working.
* TLS is verified: with the servers' CA the node's finding reaches the central
  store over tls://; with another CA nothing connects, and neither does a
  server whose certificate, from the trusted CA, names another host.
"""

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness  # noqa: E402
from natscluster import (JetStreamError, NatsClient, NatsCluster, fleet_module_setup,  # noqa: E402
                         ids_of, js_api, js_publish, js_stream_info, load, store_rows,
                         uts_sensor)
from receiver import make_certificates  # noqa: E402

SKIP_REASON = None
REFUSED = "collect: refused a message on "


def setUpModule():
    global SKIP_REASON
    SKIP_REASON = fleet_module_setup()


def pending(db, output="nats"):
    return store_rows(db, "SELECT count(*) FROM deliveries WHERE output = ? AND state = "
                      "'pending'", (output,))[0][0]


def forged_finding(host, severity="HIGH", pad=0, fid=None):
    """(id, JSON bytes) of a finding as fleet_finding_parse() accepts it, with `pad` bytes of
    process arguments; host None: no sourceProperties.host, as an older sowatch wrote."""
    fid = fid or harness.rand(32)
    props = {"containerId": ""}
    if host is not None:
        props["host"] = host
    finding = {"finding": {
        "name": "projects/p/sources/sowatch/findings/" + fid,
        "category": "Execution: Suspicious OpenSSL Shared Object Loaded",
        "severity": severity, "state": "ACTIVE", "mute": "UNDEFINED",
        "eventTime": "2026-12-02T21:00:00.000001Z", "createTime": "2026-12-02T21:00:00.000002Z",
        "processes": [{"binary": {"path": "/usr/bin/openssl"}, "args": ["x" * pad]}],
        "sourceProperties": props}, "resource": {"name": "//sowatch/hosts/forged"}}
    return fid, json.dumps(finding).encode()


def peak_rss_kib(pid):
    """The process's peak resident memory (VmHWM), in KiB."""
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    raise AssertionError("no VmHWM for %d" % pid)


class Collector:
    """`sowatch collect` as a subprocess, its log in the workspace."""

    def __init__(self, ws, urls, db, env=None, args=()):
        self.ws, self.urls, self.db, self.env, self.args = ws, urls, db, env, list(args)
        self.log = ws.path("collect-%s.log" % harness.rand())
        self.proc = None

    def start(self):
        self.logf = open(self.log, "ab")
        self.proc = subprocess.Popen(
            [harness.sowatch_bin(), "collect", "--nats", ",".join(self.urls), "--db", self.db]
            + self.args,
            stdin=subprocess.DEVNULL, stdout=self.logf, stderr=self.logf, env=self.env)
        self.wait_log("collect: reading stream", 60)
        return self

    def text(self):
        with open(self.log, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def wait_log(self, what, timeout, count=1):
        deadline = time.monotonic() + timeout
        while self.text().count(what) < count:
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise AssertionError("collector: no %r:\n%s" % (what, self.text()[-3000:]))
            time.sleep(0.1)

    def kill(self):
        self.proc.kill()
        self.proc.wait(10)
        self.logf.close()

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(30)
            self.logf.close()
        return self.proc.returncode


class Fleet(unittest.TestCase):

    def setUp(self):
        if SKIP_REASON:
            self.skipTest(SKIP_REASON)
        self.ws = harness.Workspace()
        self.addCleanup(self.ws.cleanup)
        self.cluster = NatsCluster(self.ws).start()
        self.addCleanup(self.cluster.stop)
        p = subprocess.run([harness.sowatch_bin(), "nats-init", "--nats",
                            ",".join(self.cluster.urls()), "--replicas", "3"],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=60)
        out = p.stdout.decode("utf-8", "replace")
        self.assertEqual(p.returncode, 0, out)
        self.assertIn("created stream SOWATCH: subjects sowatch.findings.>, 3 replicas", out)
        self.central = self.ws.path("central.db")
        self.collector = Collector(self.ws, self.cluster.urls(), self.central).start()
        self.addCleanup(self.collector.stop)

    def node_config(self):
        path = self.ws.write("node-%s.yaml" % harness.rand(),
                             "outputs:\n  nats:\n    servers: [%s]\n"
                             % ", ".join(self.cluster.urls()))
        os.chmod(path, 0o600)
        return path

    def sensor(self, host=None):
        """A node: this host's name, or host (its own UTS namespace)."""
        return uts_sensor(self, self.ws, self.node_config(), host)

    def wait_central(self, want, timeout=120):
        deadline = time.monotonic() + timeout
        while True:
            have = ids_of(self.central)
            if want <= have or time.monotonic() > deadline:
                return have
            time.sleep(0.5)

    def test_two_nodes_a_server_and_the_collector_killed(self):
        host_b = "sowatch-node-b-" + harness.rand(6)
        a, b = self.sensor(), self.sensor(host_b)
        ids = []
        for i in range(50):
            ids += load(self.ws, [a, b], "fleet")
            if i == 15:
                self.cluster.kill(1)
            if i == 25:
                self.collector.kill()
                self.collector.start()
            if i == 35:
                self.cluster.start_server(1)
        # The machine is busy: both nodes also report other processes' loads. The test's
        # own findings are those of its modules.
        mine = "SELECT id FROM findings WHERE module_path LIKE ?"
        like = (self.ws.path("") + "%",)
        union = {r[0] for db in (a.db, b.db) for r in store_rows(db, mine, like)}
        self.assertEqual(len(union), 100, "50 loads, seen by two nodes under two names")
        self.assertTrue(all(i in union for i in ids))
        have = self.wait_central(union)
        self.assertEqual({r[0] for r in store_rows(self.central, mine, like)}, union)
        rows = store_rows(self.central, "SELECT host, count(*) FROM findings WHERE "
                          "module_path LIKE ? GROUP BY host", like)
        self.assertEqual(dict(rows), {os.uname().nodename: 50, host_b: 50}, rows)
        # Nothing in the central store that a node does not hold
        self.assertTrue(have <= ids_of(a.db) | ids_of(b.db))
        listed = harness.findings_cli(self.central, "list", "--all")
        self.assertTrue(union <= {o["finding"]["name"].rsplit("/", 1)[1] for o in listed})
        p = subprocess.run([harness.sowatch_bin(), "findings", "list", "--all", "--db",
                            self.central], stdout=subprocess.PIPE, timeout=60)
        table = p.stdout.decode()
        self.assertIn(host_b, table)
        self.assertIn(os.uname().nodename[:11], table)
        for s in (a, b):
            deadline = time.monotonic() + 30
            while pending(s.db) and time.monotonic() < deadline:
                time.sleep(0.5)
            self.assertEqual(pending(s.db), 0)

    def test_whole_cluster_down(self):
        a = self.sensor()
        self.cluster.stop_all()
        ids = [load(self.ws, [a], "down")[0] for _ in range(20)]
        time.sleep(2)
        self.assertGreaterEqual(pending(a.db), 20)
        self.cluster.start_all()
        have = self.wait_central(set(ids))
        self.assertTrue(set(ids) <= have, "missing: %s" % (set(ids) - have))
        deadline = time.monotonic() + 60
        while pending(a.db) and time.monotonic() < deadline:
            time.sleep(0.5)
        self.assertEqual(pending(a.db), 0)

    def test_forged_messages_refused(self):
        a = self.sensor()
        real = load(self.ws, [a], "forged")[0]
        self.wait_central({real})
        json_line = store_rows(a.db, "SELECT json FROM findings WHERE id = ?", (real,))[0][0]
        nc = NatsClient(self.cluster.urls()[0])
        try:
            nc.publish("sowatch.findings.somehost.critical", b"not json")
            # A real finding of this host, on another host's subject
            nc.publish("sowatch.findings.another-host.critical", json_line.encode())
            nc.flush()
            # Too large for a finding: the stream nats-init made refuses it at once...
            two_mb = b"{" + b" " * (2 * 1024 * 1024) + b"}"
            with self.assertRaises(JetStreamError):
                js_publish(nc, "sowatch.findings.somehost.low", two_mb)
            # ... and a stream without that limit (made by hand, or by an older sowatch)
            # takes it: then the collector refuses it
            config = js_stream_info(nc, "SOWATCH")["config"]
            js_api(nc, "STREAM.UPDATE.SOWATCH", dict(config, max_msg_size=-1), timeout=30)
            js_publish(nc, "sowatch.findings.somehost.low", two_mb, timeout=30)
            js_api(nc, "STREAM.UPDATE.SOWATCH", config, timeout=30)
        finally:
            nc.close()
        self.collector.wait_log(REFUSED, 60, count=3)
        text = self.collector.text()
        self.assertIn("not JSON", text)
        self.assertIn("belong on", text)
        self.assertIn("more than a finding's", text)
        # Still collecting
        after = load(self.ws, [a], "forged-after")[0]
        self.assertIn(after, self.wait_central({after}))
        self.assertEqual(self.collector.stop(), 0)
        self.assertRegex(self.collector.text(), r"collect: stopping: \d+ messages received, "
                         r"\d+ findings stored, \d+ already stored, 3 refused")

    def test_finding_larger_than_the_stream_takes_fails_and_holds_nothing_back(self):
        """A stream whose largest message is smaller than a finding: the servers refuse it
        for good (JetStream error 10054), so the node marks it failed with the reason instead
        of retrying it for ever in front of every later finding."""
        a = self.sensor()
        with NatsClient(self.cluster.urls()[0]) as nc:
            config = js_stream_info(nc, "SOWATCH")["config"]
            js_api(nc, "STREAM.UPDATE.SOWATCH", dict(config, max_msg_size=512), timeout=30)
            big = load(self.ws, [a], "too-big")[0]
            deadline = time.monotonic() + 60
            while True:
                rows = store_rows(a.db, "SELECT state, last_error FROM deliveries WHERE "
                                  "finding_id = ? AND output = 'nats'", (big,))
                if rows and rows[0][0] == "failed":
                    break
                self.assertLess(time.monotonic(), deadline, "not failed: %r" % rows)
                time.sleep(0.2)
            self.assertIn("JetStream error 10054", rows[0][1])
            js_api(nc, "STREAM.UPDATE.SOWATCH", config, timeout=30)
        after = load(self.ws, [a], "after-big")[0]
        self.assertIn(after, self.wait_central({after}))
        self.assertNotIn(big, ids_of(self.central))


# 300 findings of about 200 KiB: 60 MB waiting in the stream when the collector starts
BIG_COUNT = 300
BIG_PAD = 200 * 1024
# What the collector may reach with them. A fetch holds at most 8 MiB of messages
# (COLLECT_FETCH_MAX_BYTES) and one parsed finding at a time; libnats may buffer as much
# again, and the program itself (libraries, SQLite's cache) is some 15 MiB. Without a byte
# limit, one fetch of 256 such messages is 50 MiB before a byte is parsed.
BIG_RSS_LIMIT_KIB = 96 * 1024


class FleetOneServer(unittest.TestCase):
    """One server: large findings, findings of older nodes, nats-init's updates."""

    def setUp(self):
        if SKIP_REASON:
            self.skipTest(SKIP_REASON)
        self.ws = harness.Workspace()
        self.addCleanup(self.ws.cleanup)
        # A max_payload over a fetch's 8 MiB, as a server may have (up to 64 MiB)
        self.cluster = NatsCluster(self.ws, size=1, max_payload=12 * 1024 * 1024).start()
        self.addCleanup(self.cluster.stop)
        self.url = self.cluster.url(0)
        status, out = run_sowatch("nats-init", "--nats", self.url)
        self.assertEqual(status, 0, out)
        self.central = self.ws.path("central.db")

    def collector(self, env=None):
        c = Collector(self.ws, [self.url], self.central, env=env)
        self.addCleanup(c.stop)
        return c.start()

    def wait_stored(self, collector, want, timeout=180):
        deadline = time.monotonic() + timeout
        while True:
            have = ids_of(self.central)
            if want <= have:
                return have
            if time.monotonic() > deadline or collector.proc.poll() is not None:
                raise AssertionError("%d of %d stored:\n%s" % (len(want & have), len(want),
                                                               collector.text()[-3000:]))
            time.sleep(0.5)

    def test_large_findings_in_bounded_memory(self):
        host = "big-node"
        ids = set()
        with NatsClient(self.url) as nc:
            for i in range(BIG_COUNT):
                fid, data = forged_finding(host, pad=BIG_PAD)
                js_publish(nc, "sowatch.findings.%s.high" % host, data, msg_id=fid, timeout=30)
                ids.add(fid)
        env = dict(os.environ)
        # ASan keeps freed memory aside (256 MiB by default) to catch its use: keep it small,
        # so that the figure is the collector's and not the sanitizer's
        env["ASAN_OPTIONS"] = ":".join(filter(None, [env.get("ASAN_OPTIONS"),
                                                     "quarantine_size_mb=4"]))
        c = self.collector(env)
        self.wait_stored(c, ids)
        peak = peak_rss_kib(c.proc.pid)
        self.assertEqual(c.stop(), 0)
        self.assertRegex(c.text(), r"%d messages received, %d findings stored, 0 already "
                         r"stored, 0 refused" % (BIG_COUNT, BIG_COUNT))
        sizes = store_rows(self.central, "SELECT count(*), min(length(json)) FROM findings "
                           "WHERE host = ?", (host,))[0]
        self.assertEqual(sizes[0], BIG_COUNT)
        self.assertGreater(sizes[1], BIG_PAD)
        print("collector peak RSS: %d KiB for %d findings of %d KiB" % (peak, BIG_COUNT,
                                                                         BIG_PAD // 1024))
        self.assertLess(peak, BIG_RSS_LIMIT_KIB)

    def test_message_over_the_fetch_limit(self):
        """A message larger than a fetch's byte limit is refused; the stream goes on."""
        c = self.collector()
        with NatsClient(self.url) as nc:
            # A stream without nats-init's message size limit (made by hand, or by an older
            # sowatch): the collector's own limit is what refuses the message
            config = js_stream_info(nc, "SOWATCH")["config"]
            config["max_msg_size"] = -1
            js_api(nc, "STREAM.UPDATE.SOWATCH", config)
            # 9 MiB: within the server's max_payload, over a fetch's 8 MiB
            js_publish(nc, "sowatch.findings.a.high", b"{" + b" " * (9 << 20) + b"}",
                       timeout=30)
            fid, data = forged_finding("a")
            js_publish(nc, "sowatch.findings.a.high", data)
        self.wait_stored(c, {fid}, timeout=60)
        self.assertIn("more than a finding's", c.text())

    def test_batch_the_store_cannot_take_comes_again_whole(self):
        """The central store locked by another program: every message of the batch comes
        again after the collector's retry delay (5 s), none only after the server's 30 s
        acknowledgement wait."""
        c = self.collector()
        # Held still while the findings are published, so that its next fetch takes all 20
        # in one batch (its pending one, of 1 s, has expired by then)
        os.kill(c.proc.pid, signal.SIGSTOP)
        time.sleep(1.5)
        lock = sqlite3.connect(self.central, isolation_level=None, timeout=30)
        self.addCleanup(lock.close)
        lock.execute("BEGIN IMMEDIATE")
        ids = set()
        with NatsClient(self.url) as nc:
            for _ in range(20):
                fid, data = forged_finding("a")
                js_publish(nc, "sowatch.findings.a.high", data, msg_id=fid)
                ids.add(fid)
        os.kill(c.proc.pid, signal.SIGCONT)
        c.wait_log("cannot store", 60)
        lock.execute("ROLLBACK")
        released = time.monotonic()
        self.wait_stored(c, ids, timeout=60)
        self.assertLess(time.monotonic() - released, 20, c.text()[-3000:])
        self.assertIn("cannot store 20 findings now", c.text())

    def test_same_id_from_another_host_refused(self):
        """A finding id another host's finding holds in the store is refused, never stored
        over it: whether the first was stored long before, or in the same batch."""
        c = self.collector()
        first, second = harness.rand(32), harness.rand(32)
        with NatsClient(self.url) as nc:
            fid, a_data = forged_finding("host-a", fid=first)
            js_publish(nc, "sowatch.findings.host-a.high", a_data, msg_id=fid)
            self.wait_stored(c, {first}, timeout=60)
            # Without the message id, that the stream would drop as a duplicate for 20 min
            _, b_data = forged_finding("host-b", fid=first)
            js_publish(nc, "sowatch.findings.host-b.high", b_data)
            c.wait_log(REFUSED, 30)
            # Both in one batch: the first is not committed yet when the second is read
            os.kill(c.proc.pid, signal.SIGSTOP)
            time.sleep(1.5)
            _, a2_data = forged_finding("host-a", fid=second)
            _, b2_data = forged_finding("host-b", fid=second)
            js_publish(nc, "sowatch.findings.host-a.high", a2_data)
            js_publish(nc, "sowatch.findings.host-b.high", b2_data)
            os.kill(c.proc.pid, signal.SIGCONT)
        self.wait_stored(c, {second}, timeout=60)
        c.wait_log(REFUSED, 30, count=2)
        rows = store_rows(self.central, "SELECT id, host, json FROM findings")
        self.assertEqual(sorted(rows), sorted([(first, "host-a", a_data.decode()),
                                               (second, "host-a", a2_data.decode())]))
        refusals = [x for x in c.text().splitlines() if REFUSED in x]
        self.assertIn("sowatch.findings.host-b.high: finding %s is host-a's in the store, "
                      "not host-b's" % first, refusals[0])
        self.assertIn("finding %s is host-a's" % second, refusals[1])
        self.assertEqual(c.stop(), 0)
        self.assertIn("4 messages received, 2 findings stored, 0 already stored, 2 refused",
                      c.text())

    def test_findings_without_a_host(self):
        """An older node's findings name no host: they take their subject's."""
        c = self.collector()
        old = {}
        with NatsClient(self.url) as nc:
            for host in ("old-node.lan", "h\u00e9 x"):
                fid, data = forged_finding(None)
                token = "".join(ch if ch.isalnum() and ch.isascii() or ch == "-"
                                else "".join("_%02x" % b for b in ch.encode())
                                for ch in host)
                js_publish(nc, "sowatch.findings.%s.high" % token, data)
                old[fid] = host
            # One that names a host must still name its subject's
            bad, data = forged_finding("other-node")
            js_publish(nc, "sowatch.findings.old-node_2elan.high", data)
        self.wait_stored(c, set(old), timeout=60)
        c.wait_log(REFUSED, 30)
        rows = dict(store_rows(self.central, "SELECT id, host FROM findings"))
        self.assertEqual(rows, old)
        self.assertIn("belong on", c.text())

    def test_refused_subject_is_escaped(self):
        """C1 controls and bidi overrides in a subject reach the log escaped."""
        c = self.collector()
        with NatsClient(self.url) as nc:
            nc.publish("sowatch.findings.\u202egnp.\u009b31m.high", b"not json")
            nc.flush()
        c.wait_log(REFUSED, 30)
        line = [x for x in c.text().splitlines() if REFUSED in x][0]
        self.assertIn("sowatch.findings.\\u202egnp.\\u009b31m.high", line)
        self.assertNotIn("\u202e", line)
        self.assertNotIn("\u009b", line)

    def test_nats_init_updates_what_it_is_given(self):
        status, out = run_sowatch("nats-init", "--nats", self.url, "--duplicate-window", "15m")
        self.assertEqual(status, 0, out)
        self.assertIn("updated stream SOWATCH", out)
        self.assertIn("duplicate window 15m", out)
        self.assertIn("max age 30d", out)
        status, out = run_sowatch("nats-init", "--nats", self.url, "--max-age", "2d")
        self.assertEqual(status, 0, out)
        self.assertIn("max age 2d, duplicate window 15m", out)
        self.assertIn("1 replicas (one server, not a cluster)", out)

    def test_nats_init_keeps_what_it_is_not_given(self):
        """Limits set some other way (an operator, another tool) survive an update."""
        with NatsClient(self.url) as nc:
            config = js_stream_info(nc, "SOWATCH")["config"]
            config.update(max_msgs=5000, max_bytes=64 << 20, max_msgs_per_subject=700,
                          discard="new")
            js_api(nc, "STREAM.UPDATE.SOWATCH", config)
        status, out = run_sowatch("nats-init", "--nats", self.url, "--replicas", "1",
                                  "--max-age", "2d")
        self.assertEqual(status, 0, out)
        self.assertIn("updated stream SOWATCH", out)
        with NatsClient(self.url) as nc:
            after = js_stream_info(nc, "SOWATCH")["config"]
        self.assertEqual(after["max_age"], 2 * 86400 * 10**9)
        for key, value in (("max_msgs", 5000), ("max_bytes", 64 << 20),
                           ("max_msgs_per_subject", 700), ("discard", "new"),
                           ("max_msg_size", config["max_msg_size"]),
                           ("duplicate_window", config["duplicate_window"])):
            self.assertEqual(after[key], value, key)

    def test_nats_init_limits_message_size(self):
        """The stream takes no message larger than the collector accepts: a node is told
        at publish time, instead of its finding being acknowledged and then refused."""
        with NatsClient(self.url) as nc:
            limit = js_stream_info(nc, "SOWATCH")["config"]["max_msg_size"]
            self.assertGreater(limit, 0)
            fid, data = forged_finding("a", pad=limit)
            with self.assertRaises(JetStreamError) as refused:
                js_publish(nc, "sowatch.findings.a.high", data, msg_id=fid)
            self.assertEqual(refused.exception.err_code, 10054)  # message size exceeds maximum
        # and says so
        status, out = run_sowatch("nats-init", "--nats", self.url)
        self.assertEqual(status, 0, out)
        size = "%d MiB" % (limit >> 20) if limit % (1 << 20) == 0 else "%d KiB" % (limit >> 10)
        self.assertIn("messages up to %s;" % size, out)


class FleetClosedConnection(unittest.TestCase):
    """libnats gives a connection up for good after the same authorization error twice: the
    collector says why and connects anew, reading the password file again."""

    AUTH = "authorization {\n  users: [ { user: collector, password: \"%s\" } ]\n}\n"

    def setUp(self):
        if SKIP_REASON:
            self.skipTest(SKIP_REASON)
        self.ws = harness.Workspace()
        self.addCleanup(self.ws.cleanup)
        self.cluster = NatsCluster(self.ws, size=1, auth=self.AUTH % "first-pass").start()
        self.addCleanup(self.cluster.stop)
        self.url = self.cluster.url(0)
        self.password = self.ws.write("password", "first-pass\n")
        os.chmod(self.password, 0o600)
        self.config = self.ws.write("collect.yaml", "collect:\n  servers: [%s]\n  user: "
                                    "collector\n  password_file: %s\n"
                                    % (self.url, self.password))
        os.chmod(self.config, 0o600)
        status, out = run_sowatch("nats-init", "--config", self.config)
        self.assertEqual(status, 0, out)

    def test_reconnects_after_the_connection_is_closed(self):
        c = Collector(self.ws, [self.url], self.ws.path("central.db"),
                      args=["--config", self.config])
        self.addCleanup(c.stop)
        c.start()
        # The server now wants another password: the collector's is refused, twice
        conf = self.cluster.servers[0].conf
        with open(conf) as f:
            text = f.read()
        with open(conf, "w") as f:
            f.write(text.replace("first-pass", "second-pass"))
        self.cluster.stop_server(0)
        self.cluster.start_server(0)
        c.wait_log("collect: the connection to NATS is closed (", 60)
        self.assertRegex(c.text(), r"closed \([^)]*[Aa]uthorization[^)]*\): connecting again "
                         r"in 5 s")
        with open(self.password, "w") as f:
            f.write("second-pass\n")
        c.wait_log("collect: reading stream", 60, count=2)
        fid, data = forged_finding("node-a")
        with NatsClient(self.url, user="collector", password="second-pass") as nc:
            js_publish(nc, "sowatch.findings.node-a.high", data, timeout=30)
        deadline = time.monotonic() + 60
        while fid not in ids_of(c.db):
            self.assertLess(time.monotonic(), deadline, c.text()[-3000:])
            time.sleep(0.5)
        self.assertEqual(c.stop(), 0)


def run_sowatch(*args):
    """(exit status, stdout and stderr) of `sowatch ARGS`."""
    p = subprocess.run([harness.sowatch_bin()] + list(args), stdin=subprocess.DEVNULL,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=60)
    return p.returncode, p.stdout.decode("utf-8", "replace")


class FleetOptions(unittest.TestCase):
    """Command-line values pass the checks the configuration's keys pass."""

    def setUp(self):
        if SKIP_REASON:
            self.skipTest(SKIP_REASON)
        self.ws = harness.Workspace()
        self.addCleanup(self.ws.cleanup)

    def test_bad_values_refused(self):
        # Port 1: nothing answers there, and nothing may be tried before the values are checked
        url = "nats://127.0.0.1:1"
        long_prefix = ".".join(["abcdefghij"] * 10)  # 109 bytes
        cases = [
            (["--stream", "a.b"], "--stream", "1 to 32 letters"),
            (["--stream", "S" * 33], "--stream", "1 to 32 letters"),
            (["--subject-prefix", "sowatch.>"], "--subject-prefix", "wildcards"),
            (["--subject-prefix", "a..b"], "--subject-prefix", "empty token"),
            (["--subject-prefix", long_prefix], "--subject-prefix", "at most 100 bytes"),
            (["--subject-prefix", "a b"], "--subject-prefix", "tokens of letters"),
        ]
        for command in ("collect", "nats-init"):
            for args, option, why in cases + [
                    ([], "--nats", "expected a nats:// or tls:// URL"),
            ]:
                nats = "TLS://127.0.0.1:1" if option == "--nats" else url
                with self.subTest(command=command, args=args, option=option):
                    status, out = run_sowatch(command, "--nats", nats, *args)
                    self.assertEqual(status, 2, out)
                    self.assertIn("sowatch %s: " % command, out)
                    self.assertIn("'%s'" % option, out)
                    self.assertIn(why, out)
                    self.assertNotIn("cannot connect", out)
        for durable in ("a.b", "x" * 33, "a*"):
            status, out = run_sowatch("collect", "--nats", url, "--durable", durable,
                                      "--db", self.ws.path("c.db"))
            self.assertEqual(status, 2, out)
            self.assertIn("'--durable'", out)
            self.assertFalse(os.path.exists(self.ws.path("c.db")))
        # A server with a path, or a user in it, is refused as in the configuration
        for bad, why in (("nats://127.0.0.1:4222/x", "nothing may follow"),
                         ("nats://u:p@127.0.0.1:4222", "no user or password")):
            status, out = run_sowatch("nats-init", "--nats", bad)
            self.assertEqual(status, 2, out)
            self.assertIn(why, out)


    def test_no_servers_names_the_keys_read(self):
        # outputs.nats alone: nats-init uses it, collect reads collect only
        config = self.ws.write("nodes.yaml", "outputs:\n  nats:\n    servers: "
                               "[nats://127.0.0.1:1]\n")
        os.chmod(config, 0o600)
        empty = self.ws.write("empty.yaml", "store:\n  retention_days: 3\n")
        os.chmod(empty, 0o600)
        status, out = run_sowatch("collect", "--config", config)
        self.assertEqual(status, 2, out)
        self.assertIn("no servers: give --nats, or collect.servers in the configuration", out)
        status, out = run_sowatch("nats-init", "--config", empty)
        self.assertEqual(status, 2, out)
        self.assertIn("no servers: give --nats, or collect.servers or outputs.nats.servers in "
                      "the configuration", out)
        status, out = run_sowatch("nats-init", "--config", config)
        self.assertEqual(status, 1, out)
        self.assertIn("cannot connect to NATS (nats://127.0.0.1:1)", out)


class FleetTLS(unittest.TestCase):

    def setUp(self):
        if SKIP_REASON:
            self.skipTest(SKIP_REASON)
        self.ws = harness.Workspace()
        self.addCleanup(self.ws.cleanup)
        good, bad = self.ws.path("ca-good"), self.ws.path("ca-bad")
        os.mkdir(good)
        os.mkdir(bad)
        os.chmod(good, 0o755)
        os.chmod(bad, 0o755)
        self.ca, cert, key = make_certificates(good)
        self.other_ca, _, _ = make_certificates(bad)
        self.cluster = NatsCluster(self.ws, size=1, auth="tls {\n  cert_file: %s\n"
                                   "  key_file: %s\n}\n" % (json.dumps(cert), json.dumps(key)))
        self.cluster.start()
        self.addCleanup(self.cluster.stop)
        self.url = self.cluster.url(0).replace("nats://", "tls://")

    def config(self, section, ca):
        path = self.ws.write("tls-%s.yaml" % harness.rand(), section % (self.url, ca))
        os.chmod(path, 0o600)
        return path

    def test_tls_is_verified(self):
        collect = "collect:\n  servers: [%s]\n  ca_file: %s\n"
        p = subprocess.run([harness.sowatch_bin(), "nats-init", "--config",
                            self.config(collect, self.other_ca)],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=60)
        out = p.stdout.decode("utf-8", "replace")
        self.assertEqual(p.returncode, 1, out)
        self.assertIn("cannot connect to NATS (%s)" % self.url, out)
        good = self.config(collect, self.ca)
        p = subprocess.run([harness.sowatch_bin(), "nats-init", "--config", good],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=60)
        self.assertEqual(p.returncode, 0, p.stdout.decode("utf-8", "replace"))
        central = self.ws.path("central.db")
        log = open(self.ws.path("collect.log"), "wb")
        collector = subprocess.Popen([harness.sowatch_bin(), "collect", "--config", good,
                                      "--db", central], stdin=subprocess.DEVNULL,
                                     stdout=log, stderr=log)
        self.addCleanup(collector.wait, 30)
        self.addCleanup(collector.terminate)
        node = self.config("outputs:\n  nats:\n    servers: [%s]\n    ca_file: %s\n", self.ca)
        s = harness.Sensor(config=node)
        s.start()
        self.addCleanup(s.stop)
        fid = load(self.ws, [s], "tls")[0]
        deadline = time.monotonic() + 60
        while fid not in ids_of(central):
            self.assertLess(time.monotonic(), deadline, "not collected over TLS")
            time.sleep(0.2)
        # A node that trusts another CA never gets its finding out
        other = self.config("outputs:\n  nats:\n    servers: [%s]\n    ca_file: %s\n",
                            self.other_ca)
        t = harness.Sensor(config=other)
        t.start()
        self.addCleanup(t.stop)
        fid = load(self.ws, [t], "tls-other")[0]
        time.sleep(3)
        rows = store_rows(t.db, "SELECT state, attempts, last_error FROM deliveries WHERE "
                          "output = 'nats' AND finding_id = ?", (fid,))
        self.assertEqual(len(rows), 1)
        state, attempts, error = rows[0]
        self.assertEqual(state, "pending")
        self.assertGreaterEqual(attempts, 1)
        self.assertIn("no NATS server reachable", error)

    def test_tls_names_the_server(self):
        # A certificate from the trusted CA, but for another server's name
        elsewhere = self.ws.path("ca-good-elsewhere")
        os.mkdir(elsewhere)
        os.chmod(elsewhere, 0o755)
        _, cert, key = make_certificates(elsewhere, "DNS:elsewhere.example",
                                         ca_dir=os.path.dirname(self.ca))
        cluster = NatsCluster(self.ws, size=1, auth="tls {\n  cert_file: %s\n"
                              "  key_file: %s\n}\n" % (json.dumps(cert), json.dumps(key)))
        cluster.start()
        self.addCleanup(cluster.stop)
        url = cluster.url(0).replace("nats://", "tls://")
        collect = "collect:\n  servers: [%s]\n  ca_file: %s\n" % (url, self.ca)
        path = self.ws.write("tls-elsewhere.yaml", collect)
        os.chmod(path, 0o600)
        p = subprocess.run([harness.sowatch_bin(), "nats-init", "--config", path],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=60)
        out = p.stdout.decode("utf-8", "replace")
        self.assertEqual(p.returncode, 1, out)
        self.assertIn("cannot connect to NATS (%s)" % url, out)
        # The CA was trusted: what was refused is the name ("IP address mismatch")
        self.assertIn("mismatch", out)


if __name__ == "__main__":
    unittest.main()
