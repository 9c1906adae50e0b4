# SPDX-License-Identifier: Apache-2.0
"""Flood test: other processes spawn and map libraries as fast as this machine
lets them (two exec loops per CPU, plus a dlopen loop). A module load in the
middle of it is still reported. Whatever the kernel dropped is counted: in the
log, and in sourceProperties.eventDrops of the findings made afterwards."""

import os
import re
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness  # noqa: E402
from harness import OPENSSL, for_process, read_marker, run_cmd  # noqa: E402

SENSOR = None
SKIP_REASON = None
FLOOD_SECONDS = 6
UNRELATED_LIBRARY = "libz.so.1"


def setUpModule():
    global SENSOR, SKIP_REASON
    SKIP_REASON = harness.require_environment()
    if SKIP_REASON:
        return
    harness.fixture_module()
    harness.fixture_workload()
    SENSOR = harness.Sensor().start()


def tearDownModule():
    global SENSOR
    if SENSOR is not None:
        s, SENSOR = SENSOR, None
        s.stop()


def drops_logged(log):
    """The last 'dropped N events so far' total in the sensor's log, or 0."""
    found = re.findall(r"dropped (\d+) events so far", log)
    return int(found[-1]) if found else 0


class Flood(unittest.TestCase):

    def setUp(self):
        if SKIP_REASON:
            self.skipTest(SKIP_REASON)
        self.ws = harness.Workspace()
        self.addCleanup(self.ws.cleanup)

    def test_load_during_the_fastest_flood(self):
        workload = harness.fixture_workload()
        workers = [subprocess.Popen([workload, "exec", "-t", str(FLOOD_SECONDS), "/bin/true"],
                                    stdout=subprocess.PIPE)
                   for _ in range(2 * (os.cpu_count() or 1))]
        workers.append(subprocess.Popen(
            [workload, "dlopen", "-t", str(FLOOD_SECONDS), UNRELATED_LIBRARY],
            stdout=subprocess.PIPE))
        try:
            time.sleep(FLOOD_SECONDS / 3)
            mod = self.ws.module()
            marker = self.ws.marker()
            r = run_cmd([OPENSSL, "engine", "-t", mod], marker=marker)
            self.assertEqual(read_marker(marker), r.pid, r.output)
        finally:
            # each prints "<iterations> <seconds>"
            counts = [int((w.communicate()[0].split() or [0])[0]) for w in workers]
        for w in workers:
            self.assertEqual(w.returncode, 0)
        fd = SENSOR.wait_for(for_process(r.pid, mod), timeout=60)
        self.assertEqual(fd.f.get("severity"), "CRITICAL")
        self.assertIs(fd.props.get("loaded"), True)
        sys.stderr.write("flood: %d execs/s, %d dlopens/s\n" % (
            sum(counts[:-1]) / FLOOD_SECONDS, counts[-1] / FLOOD_SECONDS))

        # After the flood: the drop total is logged within a second, and a
        # finding made from then on carries exactly that total.
        time.sleep(2)
        with open(SENSOR.log_path, "rb") as f:
            logged = drops_logged(f.read().decode("utf-8", "replace"))
        after = harness.canary(SENSOR, self.ws)
        self.assertEqual(int(after.props.get("eventDrops")), logged)
        sys.stderr.write("flood: %d events dropped\n" % logged)


if __name__ == "__main__":
    unittest.main()
