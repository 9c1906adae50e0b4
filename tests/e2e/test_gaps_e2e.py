# SPDX-License-Identifier: Apache-2.0
"""Gaps and drops are told: a sensor stopped (SIGSTOP) or killed and restarted
logs the time it was blind, keeps it in the store, and the findings that
follow carry it in sourceProperties.sensorGap; a finding made from an event
that came after kernel drops counts them in eventDrops, even when the drops
and the event are read in the same drain of the ring buffer."""

import datetime
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness  # noqa: E402
from harness import OPENSSL, for_process, read_marker, run_cmd  # noqa: E402

SKIP_REASON = None
STOPPED_SECONDS = 10
HEARTBEAT_SECONDS = 5  # PIPELINE_HEARTBEAT_PERIOD_MS
GAP_LINE = re.compile(
    r"sowatch was not watching from (\S+) to (\S+) \((\d+) s\): (.*)$")


def setUpModule():
    global SKIP_REASON
    SKIP_REASON = harness.require_environment()
    if SKIP_REASON:
        return
    harness.fixture_module()
    harness.fixture_workload()


def seconds_of(rfc3339):
    """2026-11-27T15:20:01.123456Z -> seconds since the epoch (float)."""
    t = datetime.datetime.strptime(rfc3339, "%Y-%m-%dT%H:%M:%S.%fZ")
    return t.replace(tzinfo=datetime.timezone.utc).timestamp()


def gap_logged(sensor, timeout=15.0):
    """(from, to, seconds, rest of the line) of the sensor's gap line."""
    line = sensor.wait_for_log("sowatch was not watching from", timeout=timeout)
    m = GAP_LINE.search(line)
    if not m:
        raise AssertionError("gap line not as documented: %r" % line)
    return seconds_of(m.group(1)), seconds_of(m.group(2)), int(m.group(3)), m.group(4)


def stored_gaps(db):
    """Every row of the store's sensor_gaps table, read as a responder's tools would."""
    con = sqlite3.connect("file:%s?mode=ro" % db, uri=True)
    try:
        return [(f / 1e9, t / 1e9, cause, bool(clean)) for f, t, cause, clean in con.execute(
            "SELECT from_ns, to_ns, cause, clean_stop FROM sensor_gaps ORDER BY to_ns")]
    finally:
        con.close()


def engine_load(sensor, ws):
    return harness.engine_load(sensor, ws, "gap")


class Gaps(unittest.TestCase):

    def setUp(self):
        if SKIP_REASON:
            self.skipTest(SKIP_REASON)
        self.ws = harness.Workspace()
        self.addCleanup(self.ws.cleanup)

    def assertCarries(self, fd, cause, gap_from, gap_to):
        gap = fd.props.get("sensorGap")
        self.assertIsInstance(gap, dict, fd.raw)
        self.assertEqual(gap.get("cause"), cause)
        # The log has microseconds, as the finding does: the same instants.
        self.assertAlmostEqual(seconds_of(gap["from"]), gap_from, delta=1e-5)
        self.assertAlmostEqual(seconds_of(gap["to"]), gap_to, delta=1e-5)
        self.assertEqual(gap.get("seconds"), str(round(gap_to - gap_from)))
        return gap

    def assertStored(self, db, gap_from, gap_to, cause, clean_stop):
        # The keeper writes it off the event thread, and tries again a second later if the
        # store was busy: allow it a few seconds
        deadline = time.monotonic() + 5
        while True:
            rows = stored_gaps(db)
            for f, t, c, k in rows:
                # the log shows microseconds, the store keeps nanoseconds
                if abs(f - gap_from) < 2e-6 and abs(t - gap_to) < 2e-6:
                    self.assertEqual((c, k), (cause, clean_stop))
                    return
            if time.monotonic() > deadline:
                self.fail("gap %r..%r not in the store: %r" % (gap_from, gap_to, rows))
            time.sleep(0.2)

    def test_stall_is_told(self):
        with harness.Sensor() as s:
            time.sleep(1)
            t_stop = time.time()
            os.kill(s.proc.pid, signal.SIGSTOP)
            try:
                time.sleep(STOPPED_SECONDS)
            finally:
                t_cont = time.time()
                os.kill(s.proc.pid, signal.SIGCONT)
            gap_from, gap_to, seconds, why = gap_logged(s)
            self.assertTrue(why.startswith("stalled"), why)
            # The loop last made progress just before the stop (it wakes every
            # 100 ms), and noticed the stall as soon as it ran again.
            self.assertLessEqual(gap_from, t_stop + 0.05)
            self.assertGreater(gap_from, t_stop - 1.5)
            self.assertGreaterEqual(gap_to, t_cont - 0.05)
            self.assertLess(gap_to, t_cont + 3)
            self.assertGreaterEqual(seconds, STOPPED_SECONDS - 1)

            self.assertStored(s.db, gap_from, gap_to, "stalled", False)
            fd = engine_load(s, self.ws)
            gap = self.assertCarries(fd, "stalled", gap_from, gap_to)
            self.assertNotIn("cleanStop", gap)

            out = subprocess.run([s.binary, "findings", "show", fd.finding_id(),
                                  "--db", s.db], stdout=subprocess.PIPE,
                                 stderr=subprocess.STDOUT, check=True).stdout.decode()
            self.assertRegex(out, r"\n  sensor gap +not watching from %s to %s \(\d+ s, "
                             r"stalled\)\n" % (re.escape(gap["from"]), re.escape(gap["to"])))

    def test_crash_and_restart_are_told(self):
        db = self.ws.path("findings.db")
        first = harness.Sensor(db=db).start()
        try:
            time.sleep(HEARTBEAT_SECONDS + 2)  # a heartbeat or two after the start
            t_kill = time.time()
        finally:
            first.crash()
        time.sleep(2)
        t_restart = time.time()
        with harness.Sensor(db=db) as second:
            t_ready = time.time()
            gap_from, gap_to, _, why = gap_logged(second)
            self.assertIn("not running", why)
            self.assertIn("without a clean stop", why)
            # From the last heartbeat before the kill (one every 5 s) ...
            self.assertLessEqual(gap_from, t_kill)
            self.assertGreater(gap_from, t_kill - HEARTBEAT_SECONDS - 1.5)
            # ... to the moment the new run was ready.
            self.assertGreaterEqual(gap_to, t_restart)
            self.assertLessEqual(gap_to, t_ready + 0.05)
            self.assertStored(db, gap_from, gap_to, "not running", False)

            fd = engine_load(second, self.ws)
            gap = self.assertCarries(fd, "not running", gap_from, gap_to)
            self.assertIs(gap.get("cleanStop"), False)
            t_stop = time.time()
        t_stopped = time.time()

        # A clean stop says when it stopped: the next gap starts there.
        with harness.Sensor(db=db) as third:
            gap_from, gap_to, _, why = gap_logged(third)
            self.assertIn("stopped cleanly", why)
            self.assertGreaterEqual(gap_from, t_stop)
            self.assertLessEqual(gap_from, t_stopped)
            fd = engine_load(third, self.ws)
            gap = self.assertCarries(fd, "not running", gap_from, gap_to)
            self.assertIs(gap.get("cleanStop"), True)

    def test_drops_before_the_event_are_counted(self):
        """Drops and the finding's event read in one drain: the finding still
        counts the drops (it used to say 0 until the next counters check)."""
        workload = harness.fixture_workload()
        # Execs with a big environment fill the 8 MiB ring buffer quickly.
        env = harness.base_env({"SOWATCH_GAPS_FILLER": "x" * 6000})
        with harness.Sensor() as s:
            os.kill(s.proc.pid, signal.SIGSTOP)
            try:
                floods = [subprocess.Popen([workload, "exec", "-n", "3000", "/bin/true"],
                                           env=env, stdout=subprocess.DEVNULL)
                          for _ in range(2)]
                for p in floods:
                    self.assertEqual(p.wait(120), 0)
                # Made while the sensor is still stopped: its events queue behind
                # the drops (module loads are urgent, they keep room of their own).
                mod = self.ws.module("after-drops")
                marker = self.ws.marker()
                r = run_cmd([OPENSSL, "engine", "-t", mod], marker=marker)
                self.assertEqual(read_marker(marker), r.pid, r.output)
            finally:
                os.kill(s.proc.pid, signal.SIGCONT)
            fd = s.wait_for(for_process(r.pid, mod), timeout=60)
            drops = fd.props.get("eventDrops")
            self.assertIsInstance(drops, str)  # int64 as a JSON string
            self.assertGreater(int(drops), 0, fd.raw)
            line = s.wait_for_log("events so far (ring buffer full)")
            logged = int(re.search(r"dropped (\d+) events so far", line).group(1))
            self.assertGreaterEqual(logged, int(drops))
            sys.stderr.write("gaps: %s events dropped before the finding's event\n" % drops)


if __name__ == "__main__":
    unittest.main()
