# SPDX-License-Identifier: Apache-2.0
"""Retention (store.retention_days): old findings that every configured output
delivered are deleted from the store; old findings an output still owes (a
webhook whose receiver is down) are kept, until that output is no longer
configured.

Real sensor, real openssl, one store across five runs of the sensor. The store
is read with python's sqlite3 (read-only) only while no sensor runs, and with
`sowatch findings` while one does. Findings are aged by hand: only this test's
own, picked out by id, so that whatever else this busy machine reports into the
store at the same time stays recent and out of the way."""

import os
import re
import sqlite3
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness  # noqa: E402
from harness import OPENSSL, for_process, read_marker, run_cmd  # noqa: E402

SKIP_REASON = None
DAY_NS = 86400 * 10**9
AGE_DAYS = 3
DELETED = re.compile(r"retention: deleted (\d+) findings older than 1 days")


def setUpModule():
    global SKIP_REASON
    SKIP_REASON = harness.require_environment()
    if SKIP_REASON:
        return
    harness.fixture_module()




def finding_id(obj):
    return obj["finding"]["name"].rsplit("/", 1)[1]


class Store:
    """The store, read-only, as a responder's tools would read it (no sensor running)."""

    def __init__(self, db):
        self.con = sqlite3.connect("file:%s?mode=ro" % db, uri=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.con.close()

    def present(self, ids):
        q = "SELECT id FROM findings WHERE id IN (%s)" % ",".join("?" * len(ids))
        return {row[0] for row in self.con.execute(q, list(ids))}

    def deliveries(self, fid):
        """{output: state} of one finding."""
        return dict(self.con.execute(
            "SELECT output, state FROM deliveries WHERE finding_id = ?", (fid,)))


class Retention(unittest.TestCase):

    def setUp(self):
        if SKIP_REASON:
            self.skipTest(SKIP_REASON)
        self.ws = harness.Workspace()
        self.addCleanup(self.ws.cleanup)
        self.db = self.ws.path("findings.db")

    def run_sensor(self, config):
        s = harness.Sensor(db=self.db, config=config).start()
        self.addCleanup(lambda: s.alive() and s.stop())
        return s

    def loads(self, sensor, n, stem):
        """n module loads; the ids of their findings, once the JSONL has them."""
        ids = []
        for _ in range(n):
            mod = self.ws.module(stem)
            marker = self.ws.marker()
            r = run_cmd([OPENSSL, "engine", "-t", mod], marker=marker)
            self.assertEqual(read_marker(marker), r.pid, r.output)
            ids.append(sensor.wait_for(for_process(r.pid, mod), timeout=30).finding_id())
        return ids

    def wait_pruned(self, sensor, timeout=10.0):
        """The count of the sensor's first retention line, within timeout of ready."""
        line = sensor.wait_for_log("retention: deleted", timeout=timeout)
        m = DELETED.search(line)
        self.assertIsNotNone(m, line)
        return int(m.group(1))

    def test_undelivered_findings_are_kept(self):
        port = harness.free_port()
        webhook = ("outputs:\n"
                   "  webhook:\n"
                   "    url: http://127.0.0.1:%d/ingest\n"
                   "    timeout_ms: 1000\n" % port)
        retention = "store:\n  retention_days: 1\n"
        cfg_down = self.ws.write("webhook-down.yaml", webhook)
        cfg_plain = self.ws.write("plain.yaml", "resource:\n  source: sowatch\n")
        cfg_down_kept = self.ws.write("webhook-down-retention.yaml", webhook + retention)
        cfg_plain_kept = self.ws.write("plain-retention.yaml", retention)

        # Three findings the webhook (down) still owes; the JSONL has them.
        s = self.run_sensor(cfg_down)
        owed = self.loads(s, 3, "owed")
        s.stop()
        # Two findings the only output configured (the JSONL) delivered.
        s = self.run_sensor(cfg_plain)
        done = self.loads(s, 2, "done")
        s.stop()

        with Store(self.db) as st:
            for fid in owed:
                d = st.deliveries(fid)
                self.assertEqual(d.get("jsonl"), "delivered", (fid, d))
                self.assertIn(d.get("webhook"), ("pending", "failed"), (fid, d))
            for fid in done:
                self.assertEqual(st.deliveries(fid), {"jsonl": "delivered"}, fid)
        con = sqlite3.connect(self.db)
        try:
            ids = owed + done
            with con:
                n = con.execute("UPDATE findings SET event_time_ns = event_time_ns - ? "
                                "WHERE id IN (%s)" % ",".join("?" * len(ids)),
                                [AGE_DAYS * DAY_NS] + ids).rowcount
        finally:
            con.close()
        self.assertEqual(n, 5)

        # retention_days: 1, the webhook still configured and down: only the
        # findings every configured output delivered go.
        t0 = time.monotonic()
        s = self.run_sensor(cfg_down_kept)
        t_ready = time.monotonic()
        self.assertEqual(self.wait_pruned(s), 2)
        t_pruned = time.monotonic()
        listed = {finding_id(o) for o in harness.findings_cli(self.db, "list", "--all")}
        self.assertEqual(listed & set(owed + done), set(owed))
        t1 = time.monotonic()
        s.stop()
        t_stop = time.monotonic() - t1
        with Store(self.db) as st:
            self.assertEqual(st.present(owed + done), set(owed))
            for fid in owed:
                d = st.deliveries(fid)
                self.assertIn(d.get("webhook"), ("pending", "failed"), (fid, d))
            for fid in done:
                self.assertEqual(st.deliveries(fid), {}, "deliveries rows left for " + fid)

        # The webhook no longer configured: nothing owes the three any more.
        s = self.run_sensor(cfg_plain_kept)
        self.assertEqual(self.wait_pruned(s), 3)
        s.stop()
        with Store(self.db) as st:
            self.assertEqual(st.present(owed + done), set())
            for fid in owed:
                self.assertEqual(st.deliveries(fid), {}, "deliveries rows left for " + fid)
        sys.stderr.write("retention: ready in %.2f s, pruned line seen %.2f s after ready; "
                         "a stop with the webhook down took %.2f s\n"
                         % (t_ready - t0, t_pruned - t_ready, t_stop))


if __name__ == "__main__":
    unittest.main()
