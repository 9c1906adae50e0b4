# SPDX-License-Identifier: Apache-2.0
"""The sensor as a systemd service, without systemd (it is not PID 1 on these
machines): what the service manager would hear on NOTIFY_SOCKET, read from a
real datagram socket as systemd reads it, and the capabilities the unit
(deploy/systemd/sowatch.service) gives: enough to run, and each missing one
named in one line."""

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness  # noqa: E402

SKIP_REASON = None


def setUpModule():
    global SKIP_REASON
    SKIP_REASON = harness.require_environment()
    if not SKIP_REASON:
        harness.fixture_module()


def unit_capabilities():
    """CapabilityBoundingSet= of the unit: ["CAP_BPF", ...]."""
    return harness.unit_settings()["CapabilityBoundingSet"].split()


def setpriv_keeping(caps):
    """setpriv(1) arguments: a bounding set of only `caps`, as the unit sets it."""
    names = ",".join("+" + c[len("CAP_"):].lower() for c in caps)
    return ["setpriv", "--inh-caps=-all", "--bounding-set=-all," + names]


class NotifySocket:
    """A datagram socket in NOTIFY_SOCKET, as systemd listens on it."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="sowatch-notify-")
        self.path = os.path.join(self.dir, "notify")
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(self.path)
        self.heard = []  # (monotonic time, message)

    def listen(self, seconds, until=None):
        """Collect messages for up to `seconds`, or until one equals `until`."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            self.sock.settimeout(max(0.01, deadline - time.monotonic()))
            try:
                msg = self.sock.recv(4096).decode()
            except socket.timeout:
                break
            self.heard.append((time.monotonic(), msg))
            if msg == until:
                return msg
        return None

    def close(self):
        self.sock.close()
        os.unlink(self.path)
        os.rmdir(self.dir)


class ServiceManager(unittest.TestCase):
    def setUp(self):
        if SKIP_REASON:
            self.skipTest(SKIP_REASON)
        self.ws = harness.Workspace()
        self.addCleanup(self.ws.cleanup)
        self.notify = NotifySocket()
        self.addCleanup(self.notify.close)

    def test_ready_watchdog_reload_stop(self):
        """READY=1 with "sowatch: ready", WATCHDOG=1 every half WatchdogSec
        while findings are made, RELOADING=1 then READY=1 on SIGHUP,
        STOPPING=1 at SIGTERM."""
        sensor = harness.Sensor(env={"NOTIFY_SOCKET": self.notify.path,
                                     "WATCHDOG_USEC": "2000000"})
        sensor.start()
        try:
            self.assertEqual(
                self.notify.listen(5, until="READY=1\nSTATUS=watching"),
                "READY=1\nSTATUS=watching", self.notify.heard)
            harness.engine_load(sensor, self.ws)
            self.notify.listen(4.5)
            fed = [t for t, m in self.notify.heard if m == "WATCHDOG=1"]
            # WatchdogSec=2: fed every second, so at least 3 times in 4.5 s
            self.assertGreaterEqual(len(fed), 3, self.notify.heard)
            gaps = [b - a for a, b in zip(fed, fed[1:])]
            # once a period, give or take a busy machine's scheduling
            self.assertTrue(all(0.5 < g < 3.0 for g in gaps), gaps)

            sensor.proc.send_signal(signal.SIGHUP)
            self.assertEqual(self.notify.listen(10, until="READY=1"), "READY=1",
                             self.notify.heard)
            msgs = [m for _, m in self.notify.heard]
            self.assertIn("RELOADING=1\nSTATUS=reloading the configuration", msgs)
            self.assertLess(
                msgs.index("RELOADING=1\nSTATUS=reloading the configuration"),
                len(msgs) - 1)
        finally:
            sensor.stop()
        self.assertEqual(self.notify.listen(2, until="STOPPING=1\nSTATUS=stopping"),
                         "STOPPING=1\nSTATUS=stopping", self.notify.heard)
        self.assertNotIn("watchdog is no longer fed", sensor.final_log)

    def test_no_watchdog_without_watchdogsec(self):
        """Type=notify without WatchdogSec=: ready, and never a WATCHDOG=1."""
        with harness.Sensor(env={"NOTIFY_SOCKET": self.notify.path}):
            self.assertEqual(
                self.notify.listen(5, until="READY=1\nSTATUS=watching"),
                "READY=1\nSTATUS=watching")
            self.notify.listen(3)
        self.assertNotIn("WATCHDOG=1", [m for _, m in self.notify.heard])


class Capabilities(unittest.TestCase):
    def setUp(self):
        if SKIP_REASON:
            self.skipTest(SKIP_REASON)
        self.ws = harness.Workspace()
        self.addCleanup(self.ws.cleanup)

    def test_the_units_set_is_enough(self):
        """With the unit's bounding set and nothing more (no CAP_SETPCAP, no
        CAP_SYS_RESOURCE), run gets ready, reports a load, keeps exactly that
        set, and stops cleanly."""
        caps = unit_capabilities()
        self.assertEqual(sorted(caps), sorted([
            "CAP_BPF", "CAP_PERFMON", "CAP_SYS_ADMIN", "CAP_SYS_PTRACE",
            "CAP_DAC_READ_SEARCH"]))
        sensor = harness.Sensor(wrapper=setpriv_keeping(caps))
        with sensor:
            harness.engine_load(sensor, self.ws)
            with open("/proc/%d/status" % sensor.proc.pid) as f:
                status = f.read()
        self.assertIn("privileges dropped", sensor.final_log)
        bnd = int(re.search(r"^CapBnd:\s*([0-9a-f]+)$", status, re.M).group(1), 16)
        # CAP_DAC_READ_SEARCH 2, CAP_SYS_PTRACE 19, CAP_SYS_ADMIN 21,
        # CAP_PERFMON 38, CAP_BPF 39
        self.assertEqual(bnd, (1 << 2) | (1 << 19) | (1 << 21) | (1 << 38) | (1 << 39))

    def check_refused(self, missing):
        caps = [c for c in unit_capabilities() if c not in missing]
        p = subprocess.run(
            setpriv_keeping(caps) + [harness.sowatch_bin(), "run", "--db",
                                     self.ws.path("findings.db")],
            stdin=subprocess.DEVNULL, capture_output=True, timeout=60)
        err = p.stderr.decode()
        self.assertEqual(p.returncode, 1, err)
        self.assertEqual(len(err.splitlines()), 1, err)
        for c in missing:
            self.assertIn(c + " (", err)
        self.assertTrue(err.startswith("sowatch: run needs the missing capabilit"), err)
        self.assertFalse(os.path.exists(self.ws.path("findings.db")),
                         "nothing is made before the check")

    def test_without_bpf(self):
        self.check_refused(["CAP_BPF"])

    def test_without_perfmon(self):
        self.check_refused(["CAP_PERFMON"])

    def test_without_bpf_and_perfmon(self):
        self.check_refused(["CAP_BPF", "CAP_PERFMON"])


class PrivateView(unittest.TestCase):
    """The unit's file system sandbox as systemd makes it: a mount namespace of sowatch's
    own, with an empty /tmp, /var/tmp, /home and /root (PrivateTmp=, ProtectHome=), made here
    with unshare(1), and the unit's capabilities. A host process's module and configuration
    in the host's /tmp must still be read, through the host's root."""

    def setUp(self):
        if SKIP_REASON:
            self.skipTest(SKIP_REASON)
        self.ws = harness.Workspace()  # in the host's /tmp
        self.addCleanup(self.ws.cleanup)
        # The sensor's own files, and a copy of it, where its view has them too
        self.work = tempfile.mkdtemp(prefix="sowatch-e2e-view-", dir="/var/lib")
        self.addCleanup(shutil.rmtree, self.work, True)

    def test_host_files_behind_a_private_tmp(self):
        binary = os.path.join(self.work, "sowatch")
        shutil.copy2(harness.sowatch_bin(), binary)
        hide = " && ".join("mount -t tmpfs -o mode=%s sowatch-private %s" % (mode, d)
                           for d, mode in (("/tmp", "1777"), ("/var/tmp", "1777"),
                                           ("/home", "0755"), ("/root", "0700")))
        wrapper = ["unshare", "--mount", "--propagation", "private", "--",
                   "sh", "-c", hide + ' && exec "$@"', "sh"] + \
            setpriv_keeping(unit_capabilities())
        sensor = harness.Sensor(binary=binary, wrapper=wrapper,
                                workdir=os.path.join(self.work))
        with sensor:
            self.assertFalse(os.path.exists("/proc/%d/root%s" % (sensor.proc.pid, self.ws.dir)),
                             "the sensor's view has the host's /tmp")
            # A module named on the command line, in the host's /tmp
            fd = harness.engine_load(sensor, self.ws)
            mod = fd.library_paths()[0]
            self.assertEqual(fd.process["libraries"][0].get("sha256"),
                             harness.sha256_file(mod), fd.raw)
            # A module named only in a configuration file in the host's /tmp: the intent
            # layer reads that file as the process sees it
            mod = self.ws.module("conf")
            marker = self.ws.marker()
            cnf = harness.engine_conf(self.ws, mod, name="private", init=True)
            r = harness.run_cmd([harness.OPENSSL, "version"], env={"OPENSSL_CONF": cnf},
                                marker=marker)
            self.assertEqual(harness.read_marker(marker), r.pid, r.output)
            fd = sensor.wait_for(harness.for_process(r.pid, mod))
            self.assertIn("intent", fd.props.get("detectionLayers") or [], fd.raw)
            self.assertEqual(fd.process["libraries"][0].get("sha256"),
                             harness.sha256_file(mod), fd.raw)
        self.assertRegex(sensor.final_log,
                         r"the host's files are read through /proc/[12]/root")


if __name__ == "__main__":
    unittest.main()
