# SPDX-License-Identifier: Apache-2.0
"""End-to-end tests of enforce mode (`enforce: {mode: kill}`): a custom module's
process is killed before the module's code runs; legitimate engines and
providers run normally."""

import os
import signal
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness  # noqa: E402
from harness import OPENSSL, for_process, read_marker, run_cmd  # noqa: E402

SENSOR = None
SKIP_REASON = None
CONFIG_DIR = None


def setUpModule():
    global SENSOR, SKIP_REASON, CONFIG_DIR
    SKIP_REASON = harness.require_environment()
    if SKIP_REASON:
        return
    harness.fixture_module()
    CONFIG_DIR = harness.Workspace()
    cfg = CONFIG_DIR.write("sowatch.yaml", "enforce:\n  mode: kill\n")
    SENSOR = harness.Sensor(config=cfg).start()


def tearDownModule():
    global SENSOR
    if SENSOR is not None:
        s, SENSOR = SENSOR, None
        s.stop()
    if CONFIG_DIR is not None:
        CONFIG_DIR.cleanup()


class Enforce(unittest.TestCase):

    def setUp(self):
        if SKIP_REASON:
            self.skipTest(SKIP_REASON)
        self.ws = harness.Workspace()
        self.addCleanup(self.ws.cleanup)

    def test_req_engine_killed_before_the_constructor(self):
        mod = self.ws.module()
        marker = self.ws.marker()
        rel = "./" + os.path.basename(mod)
        argv = [OPENSSL, "req", "-engine", rel, "-new", "-x509", "-nodes",
                "-subj", "/CN=x", "-keyout", "k", "-out", "c"]
        r = run_cmd(argv, marker=marker, cwd=self.ws.dir)
        self.assertEqual(r.returncode, -signal.SIGKILL, r.output)
        self.assertIsNone(read_marker(marker), "the module's constructor ran")
        fd = SENSOR.wait_for(for_process(r.pid, mod))
        self.assertEqual(fd.f.get("severity"), "CRITICAL")
        self.assertRegex(fd.props.get("enforcement", ""), r"^killed")

    def test_program_other_than_openssl_killed(self):
        mod = self.ws.module()
        marker = self.ws.marker()
        r = run_cmd([harness.fixture_loader(), "path", mod, "0"], marker=marker)
        self.assertEqual(r.returncode, -signal.SIGKILL, r.output)
        self.assertIsNone(read_marker(marker), "the module's constructor ran")

    def test_legitimate_modules_run(self):
        pids = []
        for argv in ([OPENSSL, "engine", "-t", "pkcs11"],
                     [OPENSSL, "list", "-provider", "legacy", "-providers"],
                     [OPENSSL, "version"],
                     ["/usr/bin/python3", "-c", "import ssl; ssl.create_default_context()"]):
            r = run_cmd(argv)
            self.assertEqual(r.returncode, 0, "%s: %s" % (argv, r.output))
            pids.append(str(r.pid))
        # Events come in order: once a later (killed) load's finding is in, any
        # finding about the legitimate runs would be too.
        mod = self.ws.module(stem="sync")
        r = run_cmd([harness.fixture_loader(), "path", mod, "0"])
        SENSOR.wait_for(for_process(r.pid, mod))
        self.assertEqual([fd.raw[:300] for fd in SENSOR.findings()
                          if fd.process.get("pid") in pids], [])

if __name__ == "__main__":
    unittest.main()
