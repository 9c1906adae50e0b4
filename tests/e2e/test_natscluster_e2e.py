# SPDX-License-Identifier: Apache-2.0
"""The fleet tests' NATS harness (natscluster.py) against Debian's real
nats-server: no sensor runs here.

* ClusterLifecycle: three servers clustered on loopback ports, an R3 stream;
  messages with ids are acked once (a repeated id is acked as a duplicate),
  the stream leader's server is killed with kill -9 and publishing goes on
  (acked), the server comes back and catches up, then the whole cluster is
  stopped and started again and the stream still holds every message, in
  order, with its payload; a 2 MB message fits the servers' max_payload.
* Permissions: the accounts block of the README's fleet section (an admin
  user, one user per node, a collector user, each with its own inbox
  prefix) on a real cluster: a node publishes to its own subjects and gets
  JetStream's ack on its own inbox, and is refused another host's subject,
  the JetStream API and any subscription but its inbox (without its inbox
  prefix its message is stored but the ack cannot reach it); a reply
  subject is not checked, so a node can have its ack stored on another
  host's subject (JetStream's ack JSON, never a finding); the collector
  reads the stream through its durable pull consumer and acks, and may
  neither publish findings nor change the stream or other consumers.

    /usr/bin/python3 tests/e2e/run.py -p test_natscluster_e2e.py
"""

import json
import os
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness  # noqa: E402
from natscluster import (  # noqa: E402
    JetStreamError, NatsClient, NatsCluster, NatsError, connect_any,
    js_ack, js_add_pull_consumer, js_consumer_info, js_create_stream, js_fetch,
    js_get_msg, js_publish, js_stream_info, nats_server_problem)

SKIP_REASON = None
STREAM = "SELFTEST"
TWO_MB = 2 * 1024 * 1024


def setUpModule():
    global SKIP_REASON
    # These tests need no BPF: only root, like every e2e test, and the
    # nats-server (whose absence is a failure, never a skip).
    if os.geteuid() != 0:
        SKIP_REASON = "e2e tests need root (euid %d)" % os.geteuid()
        if harness.in_ci():
            raise RuntimeError("CI is set, refusing to skip: " + SKIP_REASON)
        return
    problem = nats_server_problem()
    if problem:
        raise RuntimeError(problem)


def retry(fn, timeout=30.0, what="operation"):
    """fn() until it returns without a NATS error (a leader election, a
    server coming back), at most timeout seconds."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return fn()
        except (NatsError, OSError) as e:
            if time.monotonic() > deadline:
                raise AssertionError("%s still failing after %ss: %s" % (what, timeout, e))
            time.sleep(0.2)


class Connection:
    """A client that reconnects to any running server of the cluster when
    its connection is gone, like a real client with a server list."""

    def __init__(self, cluster, prefer=None, **kw):
        self.cluster, self.prefer, self.kw = cluster, prefer, kw
        self.nc = None

    def get(self):
        if self.nc is None or self.nc.closed:
            urls = self.cluster.urls()
            if self.prefer is not None:
                urls = [urls[self.prefer]] + [u for i, u in enumerate(urls)
                                              if i != self.prefer]
            self.nc = connect_any(urls, **self.kw)
        return self.nc

    def close(self):
        if self.nc is not None:
            self.nc.close()


def server_index(cluster, name):
    for s in cluster.servers:
        if s.name == name:
            return s.index
    raise AssertionError("no server named %r in %r" % (
        name, [s.name for s in cluster.servers]))


def wait_stream_current(conn, stream, replicas, timeout=60.0):
    """Stream info once the stream has a leader and `replicas - 1`
    followers that are all current."""
    deadline = time.monotonic() + timeout
    last = None
    while True:
        try:
            info = js_stream_info(conn.get(), stream)
            cl = info.get("cluster") or {}
            followers = cl.get("replicas") or []
            if cl.get("leader") and len(followers) == replicas - 1 and \
                    all(r.get("current") and not r.get("offline") for r in followers):
                return info
            last = cl
        except (NatsError, OSError) as e:
            last = e
        if time.monotonic() > deadline:
            raise AssertionError("stream %s not current after %ss: %r\n%s" % (
                stream, timeout, last, conn.cluster.log_tails()))
        time.sleep(0.2)


class ClusterLifecycle(unittest.TestCase):

    def setUp(self):
        if SKIP_REASON:
            self.skipTest(SKIP_REASON)
        self.ws = harness.Workspace(prefix="sowatch-e2e-nats-")
        self.addCleanup(self.ws.cleanup)
        self.cluster = NatsCluster(self.ws, size=3, max_payload=4 * 1024 * 1024)
        self.addCleanup(self.cluster.stop)

    def test_cluster_kill_restart_and_full_stop(self):
        cluster = self.cluster
        t0 = time.monotonic()
        cluster.start()
        started = time.monotonic() - t0
        self.assertLess(started, 30.0)
        urls = cluster.urls()
        self.assertEqual(len(urls), 3)
        self.assertEqual(len(set(urls)), 3)
        for u in urls:
            self.assertRegex(u, r"^nats://127\.0\.0\.1:\d+$")
        self.assertIsNotNone(cluster.meta_leader())
        for i in range(3):
            status, varz = cluster.monitor(i, "/varz")
            self.assertEqual(status, 200)
            self.assertEqual(varz["max_payload"], 4 * 1024 * 1024)
            self.assertEqual(varz["server_name"], cluster.servers[i].name)
            self.assertTrue(os.path.isdir(self.ws.path("js-%d" % i)))
        self.assertEqual(len({s.name for s in cluster.servers}), 3)

        # An R3 stream, 10 messages with ids, then one id again.
        conn = Connection(cluster)
        self.addCleanup(conn.close)
        nc = conn.get()
        self.assertEqual(nc.max_payload, 4 * 1024 * 1024)
        created = js_create_stream(nc, STREAM, ["selftest.>"], replicas=3)
        self.assertEqual(created["config"]["num_replicas"], 3)
        info = wait_stream_current(conn, STREAM, 3)
        payloads = {}
        for n in range(10):
            payloads[n + 1] = b'{"n":%d,"id":"m-%d"}' % (n, n)
            ack = js_publish(nc, "selftest.host-a.high", payloads[n + 1], msg_id="m-%d" % n)
            self.assertEqual(ack["stream"], STREAM)
            self.assertEqual(ack["seq"], n + 1)
            self.assertFalse(ack.get("duplicate", False), ack)
        dup = js_publish(nc, "selftest.host-a.high", b"another payload", msg_id="m-3")
        self.assertTrue(dup.get("duplicate"), dup)
        self.assertEqual(dup["seq"], 4)
        with self.assertRaises(JetStreamError) as cm:  # no stream for the subject
            js_publish(nc, "nostream.x", b"x", msg_id="nostream")
        self.assertEqual(cm.exception.code, 503)
        self.assertEqual(js_stream_info(nc, STREAM)["state"]["messages"], 10)

        # kill -9 the stream leader's server; the client is on another one.
        leader = server_index(cluster, info["cluster"]["leader"])
        conn.close()
        conn = Connection(cluster, prefer=(leader + 1) % 3)
        self.addCleanup(conn.close)
        cluster.kill(leader)
        self.assertFalse(cluster.running(leader))
        self.assertIsNone(cluster.pid(leader))
        for n in range(10, 15):
            payloads[n + 1] = b'{"n":%d,"id":"m-%d"}' % (n, n)
            # Until the stream has a new leader a publish goes unanswered:
            # short tries; the message id makes a retry harmless.
            ack = retry(lambda: js_publish(conn.get(), "selftest.host-b.low",
                                           payloads[n + 1], msg_id="m-%d" % n,
                                           timeout=1.0),
                        what="publish with a server down")
            self.assertEqual(ack["seq"], n + 1, ack)
        info = js_stream_info(conn.get(), STREAM)
        self.assertNotEqual(info["cluster"]["leader"], cluster.servers[leader].name)
        self.assertEqual(info["state"]["messages"], 15)

        # The server comes back on its ports and store and catches up.
        cluster.start_server(leader)
        cluster.wait_ready()
        info = wait_stream_current(conn, STREAM, 3)
        self.assertEqual(info["state"]["messages"], 15)
        with NatsClient(cluster.url(leader)) as back:
            self.assertEqual(js_stream_info(back, STREAM)["state"]["last_seq"], 15)

        # The whole cluster down, and up again: the stream is all there.
        conn.close()
        cluster.stop_all()
        self.assertFalse(any(cluster.running(i) for i in range(3)))
        with self.assertRaises(OSError):
            NatsClient(cluster.url(0), timeout=1.0)
        t1 = time.monotonic()
        cluster.start_all()
        info = wait_stream_current(conn, STREAM, 3)
        restarted = time.monotonic() - t1
        self.assertEqual(info["state"]["messages"], 15)
        self.assertEqual((info["state"]["first_seq"], info["state"]["last_seq"]), (1, 15))
        nc = conn.get()
        for seq, data in payloads.items():
            m = js_get_msg(nc, STREAM, seq)
            self.assertEqual(m["data"], data)
            self.assertEqual(m["headers"]["Nats-Msg-Id"], "m-%d" % (seq - 1))
        # The duplicate window survived the restart too.
        dup = retry(lambda: js_publish(conn.get(), "selftest.host-a.high", b"again",
                                       msg_id="m-7"), what="publish after restart")
        self.assertTrue(dup.get("duplicate"), dup)
        self.assertEqual(dup["seq"], 8)

        # A 2 MB message fits max_payload; the server stores it whole.
        big = bytes(range(256)) * (TWO_MB // 256)
        ack = js_publish(nc, "selftest.host-c.high", big, msg_id="big", timeout=10.0)
        self.assertEqual(ack["seq"], 16)
        self.assertEqual(js_get_msg(nc, STREAM, 16, timeout=10.0)["data"], big)
        with self.assertRaises(NatsError):  # the client refuses what the server would
            nc.publish("selftest.host-c.high", b"x" * (4 * 1024 * 1024 + 1))
        sys.stderr.write("natscluster: start %.1fs, full restart %.1fs\n" % (started, restarted))

        # Everything stops: no server is left.
        cluster.stop()
        self.assertFalse(any(cluster.running(i) for i in range(3)))


# The accounts block of the README's fleet section, with this test's
# passwords: one user per node that publishes its own findings and receives
# JetStream's acks on its own inbox prefix, a collector limited to its
# durable pull consumer, and the admin of `sowatch nats-init`.
def fleet_accounts(stream, durable, passwords):
    return """\
accounts {
  SOWATCH {
    jetstream: enabled
    users: [
      { user: admin, password: "%(admin)s",
        permissions: { publish: ["$JS.API.>"], subscribe: ["_INBOX.>"] } }
      { user: node-a, password: "%(node_a)s",
        permissions: { publish: ["sowatch.findings.node-a.>"],
                       subscribe: ["_INBOX_node-a.>"] } }
      { user: node-b, password: "%(node_b)s",
        permissions: { publish: ["sowatch.findings.node-b.>"],
                       subscribe: ["_INBOX_node-b.>"] } }
      { user: collector, password: "%(collector)s",
        permissions: {
          publish: [
            "$JS.API.STREAM.INFO.%(stream)s",
            "$JS.API.CONSUMER.INFO.%(stream)s.%(durable)s",
            "$JS.API.CONSUMER.DURABLE.CREATE.%(stream)s.%(durable)s",
            "$JS.API.CONSUMER.CREATE.%(stream)s.%(durable)s",
            "$JS.API.CONSUMER.CREATE.%(stream)s.%(durable)s.>",
            "$JS.API.CONSUMER.MSG.NEXT.%(stream)s.%(durable)s",
            "$JS.ACK.%(stream)s.%(durable)s.>"
          ]
          subscribe: ["_INBOX_collect.>"]
        } }
    ]
  }
}
""" % dict(passwords, stream=stream, durable=durable)


INBOX = {"admin": "_INBOX", "node-a": "_INBOX_node-a", "node-b": "_INBOX_node-b",
         "collector": "_INBOX_collect"}


class Permissions(unittest.TestCase):
    STREAM = "SOWATCH"
    DURABLE = "sowatch-collect"

    def setUp(self):
        if SKIP_REASON:
            self.skipTest(SKIP_REASON)
        self.ws = harness.Workspace(prefix="sowatch-e2e-nats-")
        self.addCleanup(self.ws.cleanup)
        self.pw = {k: harness.rand(24) for k in ("admin", "node_a", "node_b", "collector")}
        self.cluster = NatsCluster(self.ws, size=3, auth=fleet_accounts(
            self.STREAM, self.DURABLE, self.pw))
        self.addCleanup(self.cluster.stop)
        self.cluster.start()

    def client(self, user, i=0, inbox_prefix=None):
        nc = NatsClient(self.cluster.url(i), user=user,
                        password=self.pw[user.replace("-", "_")],
                        inbox_prefix=inbox_prefix or INBOX[user])
        self.addCleanup(nc.close)
        return nc

    def refused(self, nc, subject, kind="Publish"):
        """subject is refused to nc: publish (as a request) or subscribe."""
        with self.assertRaises(NatsError, msg=subject) as cm:
            if kind == "Publish":
                nc.request(subject, b"forged", timeout=2.0)
            else:
                nc.subscribe(subject)
                nc.flush()
        self.assertIn('Permissions Violation for %s to "%s"' % (
            "Subscription" if kind != "Publish" else "Publish", subject), str(cm.exception))

    def count(self, admin):
        return js_stream_info(admin, self.STREAM)["state"]["messages"]

    def wait_count(self, admin, n, timeout=10.0):
        """The stream holds n messages (after a publish whose ack nobody
        waited for); fails when it holds more, or fewer after timeout."""
        deadline = time.monotonic() + timeout
        while True:
            got = self.count(admin)
            if got == n:
                return
            if got > n or time.monotonic() > deadline:
                raise AssertionError("stream %s holds %d messages, not %d" % (
                    self.STREAM, got, n))
            time.sleep(0.05)

    def test_node_and_collector_rights(self):
        with self.assertRaises(NatsError) as cm:
            NatsClient(self.cluster.url(0))
        self.assertIn("Authorization Violation", str(cm.exception))
        with self.assertRaises(NatsError) as cm:
            NatsClient(self.cluster.url(0), user="node-a", password="wrong")
        self.assertIn("Authorization Violation", str(cm.exception))

        admin = self.client("admin")
        js_create_stream(admin, self.STREAM, ["sowatch.findings.>"], replicas=3)

        # A node: its own subjects, with JetStream's ack on its inbox.
        node_a = self.client("node-a", 1)
        ack = js_publish(node_a, "sowatch.findings.node-a.high", b'{"n":1}', msg_id="a-1")
        self.assertEqual((ack["stream"], ack["seq"]), (self.STREAM, 1))
        ack = js_publish(node_a, "sowatch.findings.node-a.critical", b'{"n":2}', msg_id="a-2")
        self.assertEqual(ack["seq"], 2)
        self.assertTrue(js_publish(node_a, "sowatch.findings.node-a.high", b"{}",
                                   msg_id="a-1").get("duplicate"))
        # ... and nothing else: another host's subject, the JetStream API,
        # acks; no subscription but its own inbox.
        for subject in ("sowatch.findings.node-b.high", "sowatch.findings.node-a",
                        "sowatch.other", "$JS.API.STREAM.INFO." + self.STREAM,
                        "$JS.API.STREAM.DELETE." + self.STREAM,
                        "$JS.API.CONSUMER.MSG.NEXT.%s.%s" % (self.STREAM, self.DURABLE),
                        "$JS.ACK.%s.%s.1.1.1.0.0" % (self.STREAM, self.DURABLE)):
            self.refused(node_a, subject)
        for subject in ("sowatch.findings.>", "_INBOX.>", "_INBOX_collect.>",
                        "_INBOX_node-b.>", "$JS.ACK.>"):
            self.refused(node_a, subject, "Subscription")
        self.assertEqual(self.count(admin), 2)
        # Without its own inbox prefix the node cannot receive its ack: the
        # message is stored, the ack never comes.
        other_inbox = self.client("node-a", 2, inbox_prefix="_INBOX")
        with self.assertRaises(NatsError) as cm:
            js_publish(other_inbox, "sowatch.findings.node-a.high", b'{"n":3}', msg_id="a-3")
        self.assertIn("Permissions Violation for Subscription", str(cm.exception))
        self.wait_count(admin, 3)
        # The refusals cost the node nothing: it still publishes.
        self.assertEqual(js_publish(node_a, "sowatch.findings.node-a.low", b'{"n":4}',
                                    msg_id="a-4")["seq"], 4)
        node_b = self.client("node-b", 2)
        self.assertEqual(js_publish(node_b, "sowatch.findings.node-b.low", b'{"n":5}',
                                    msg_id="b-1")["seq"], 5)
        self.refused(node_b, "sowatch.findings.node-a.low")
        # A reply subject is not checked against publish rights: node-b can
        # have the server store its ack on node-a's subject. What lands
        # there is JetStream's ack, never a finding (the collector rejects it).
        node_b.publish("sowatch.findings.node-b.low", b'{"n":6}',
                       headers={"Nats-Msg-Id": "b-2"}, reply="sowatch.findings.node-a.x")
        node_b.flush()
        self.wait_count(admin, 7)
        injected = js_get_msg(admin, self.STREAM, 7)
        self.assertEqual(injected["subject"], "sowatch.findings.node-a.x")
        self.assertEqual(json.loads(injected["data"]), {"stream": self.STREAM, "seq": 6})
        self.assertIsNone(injected["headers"])

        # The collector: its durable pull consumer, fetch and ack.
        coll = self.client("collector", 2)
        self.assertEqual(js_stream_info(coll, self.STREAM)["state"]["messages"], 7)
        with self.assertRaises(JetStreamError) as cm:
            js_consumer_info(coll, self.STREAM, self.DURABLE)
        self.assertEqual(cm.exception.code, 404)
        js_add_pull_consumer(coll, self.STREAM, self.DURABLE,
                             filter_subject="sowatch.findings.>")
        got = []
        deadline = time.monotonic() + 15
        while len(got) < 7 and time.monotonic() < deadline:
            for m in js_fetch(coll, self.STREAM, self.DURABLE, batch=7, timeout=2.0):
                self.assertTrue(m.reply.startswith("$JS.ACK.%s.%s." % (
                    self.STREAM, self.DURABLE)), m.reply)
                js_ack(coll, m)
                got.append((m.subject, (m.headers or {}).get("Nats-Msg-Id")))
        self.assertEqual(got, [("sowatch.findings.node-a.high", "a-1"),
                               ("sowatch.findings.node-a.critical", "a-2"),
                               ("sowatch.findings.node-a.high", "a-3"),
                               ("sowatch.findings.node-a.low", "a-4"),
                               ("sowatch.findings.node-b.low", "b-1"),
                               ("sowatch.findings.node-b.low", "b-2"),
                               ("sowatch.findings.node-a.x", None)])
        ci = retry(lambda: self._acked(coll, 7), what="acks of the collector")
        self.assertEqual(ci["num_pending"], 0)
        # A collector publishes no finding, touches no other consumer nor
        # the stream, and reads only through its consumer.
        for subject in ("sowatch.findings.node-a.high",
                        "$JS.API.STREAM.DELETE." + self.STREAM,
                        "$JS.API.STREAM.PURGE." + self.STREAM,
                        "$JS.API.STREAM.UPDATE." + self.STREAM,
                        "$JS.API.STREAM.MSG.GET." + self.STREAM,
                        "$JS.API.STREAM.NAMES",
                        "$JS.API.CONSUMER.DELETE.%s.%s" % (self.STREAM, self.DURABLE),
                        "$JS.API.CONSUMER.MSG.NEXT.%s.other" % self.STREAM):
            self.refused(coll, subject)
        for subject in ("sowatch.findings.>", "_INBOX.>"):
            self.refused(coll, subject, "Subscription")

    def _acked(self, coll, n):
        ci = js_consumer_info(coll, self.STREAM, self.DURABLE)
        if ci["ack_floor"]["stream_seq"] != n or ci["num_ack_pending"] != 0:
            raise NatsError("not acked yet: %r" % ci["ack_floor"])
        return ci


if __name__ == "__main__":
    unittest.main()
