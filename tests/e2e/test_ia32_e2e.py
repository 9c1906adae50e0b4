# SPDX-License-Identifier: Apache-2.0
"""End-to-end tests of 32-bit (ia32) processes.

A 32-bit openssl (Debian's openssl:i386, unpacked into the test's folder
with dpkg -x, since it cannot be installed beside the host's) with Debian's
32-bit libcrypto (libssl3:i386, installed side by side) loads a module
built with -m32. Its system calls are compat ones, which the per-syscall
tracepoints skip, and DSO_load's arguments are on the stack: the sensor
probes the 32-bit libcrypto with a program of its own and, from the first
32-bit program on, watches compat mmap2/mprotect with raw tracepoints.
"""

import glob
import os
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness  # noqa: E402
from harness import for_process, run_cmd  # noqa: E402

DEB_GLOB = "/var/cache/sowatch-test/openssl_*_i386.deb"
LIBCRYPTO32 = "/usr/lib/i386-linux-gnu/libcrypto.so.3"
WATCHING = "watching 32-bit system calls from now on"
SENSOR = None
SKIP_REASON = None
OPENSSL32 = None
UNPACKED = None


def setUpModule():
    global SENSOR, SKIP_REASON, OPENSSL32, UNPACKED
    SKIP_REASON = harness.require_environment()
    if SKIP_REASON:
        return
    debs = sorted(glob.glob(DEB_GLOB))
    # Not reasons to skip: scripts/install-deps.sh --test provides both.
    if not debs:
        raise RuntimeError("no %s: run scripts/install-deps.sh --test" % DEB_GLOB)
    if not os.path.exists(LIBCRYPTO32):
        raise RuntimeError("no %s: run scripts/install-deps.sh --test" % LIBCRYPTO32)
    UNPACKED = harness.Workspace(prefix="sowatch-e2e-i386-")
    subprocess.run(["dpkg", "-x", debs[-1], UNPACKED.dir], check=True)
    OPENSSL32 = UNPACKED.path("usr/bin/openssl")
    harness.fixture_module32()
    harness.fixture_module()
    SENSOR = harness.Sensor().start()


def tearDownModule():
    global SENSOR
    if SENSOR is not None:
        s, SENSOR = SENSOR, None
        s.stop()
    if UNPACKED is not None:
        UNPACKED.cleanup()


class Ia32(unittest.TestCase):

    def setUp(self):
        if SKIP_REASON:
            self.skipTest(SKIP_REASON)
        self.ws = harness.Workspace()
        self.addCleanup(self.ws.cleanup)

    def run32(self, args, **kw):
        return run_cmd([OPENSSL32] + args, **kw)

    def test_a_version_gives_nothing(self):
        """`openssl version` of the 32-bit build: it runs, the sensor starts
        watching 32-bit system calls, and nothing is reported. (Named to run
        first: the first 32-bit program after start is what switches the
        compat hooks on.)"""
        r = self.run32(["version"])
        self.assertEqual(r.returncode, 0, r.output)
        self.assertIn("OpenSSL 3", r.output)
        SENSOR.wait_for_log(WATCHING)
        harness.assert_no_findings(SENSOR, self.ws, pids=[r.pid])

    def test_engine_module(self):
        """`openssl engine -t /ABS/m.so` in 32 bits: CRITICAL, seen by the
        library layer (the 32-bit libcrypto's DSO_load) and the effect layer
        (the compat mmap2 of the module), with the module's hash."""
        warm = self.run32(["version"])
        self.assertEqual(warm.returncode, 0, warm.output)
        SENSOR.wait_for_log(WATCHING)
        mod = self.ws.path("m32-%s.so" % harness.rand())
        with open(harness.fixture_module32(), "rb") as src, open(mod, "wb") as dst:
            dst.write(src.read())
        marker = self.ws.marker()
        r = self.run32(["engine", "-t", mod], marker=marker)
        harness.route_ran(self, marker, r)
        fd = SENSOR.wait_for(for_process(r.pid, mod))
        harness.route_enforced(self, SENSOR, fd)
        self.assertEqual(fd.f["severity"], "CRITICAL", fd.raw)
        self.assertIs(fd.props.get("loaded"), True)
        self.assertEqual(sorted(fd.props.get("detectionLayers") or []),
                         ["effect", "library"])
        self.assertEqual(fd.process["binary"]["path"], OPENSSL32)
        self.assertEqual(fd.process["binary"]["sha256"],
                         harness.sha256_file(OPENSSL32))
        lib = fd.process["libraries"][0]
        self.assertEqual(lib["path"], mod)
        self.assertEqual(lib["sha256"], harness.sha256_file(mod))


if __name__ == "__main__":
    unittest.main()
