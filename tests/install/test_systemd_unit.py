# SPDX-License-Identifier: Apache-2.0
"""The systemd unit, deploy/systemd/sowatch.service, checked with systemd's own
tools and against what the sensor really does. systemd is not PID 1 on these
machines, so the unit is never started here: `systemd-analyze verify` and
`security` read it, and the release sensor runs under strace(1) through start,
a finding, a reload, a reopen and a stop, to show that its sandbox
(SystemCallFilter=, RestrictAddressFamilies=, MemoryDenyWriteExecute=) allows
everything it does. tests/e2e/test_service_e2e.py covers sd_notify and the
capability set."""

import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
import unittest
import urllib.request

import harness

UNIT = harness.SYSTEMD_UNIT
README = os.path.join(harness.REPO_ROOT, "README.md")


def unit_for_this_tree(tmp):
    """The unit, with ExecStart= naming the sensor built in this tree."""
    path = os.path.join(tmp, "sowatch.service")
    with open(UNIT) as f:
        text = f.read()
    with open(path, "w") as f:
        f.write(text.replace("ExecStart=/usr/sbin/sowatch ",
                             "ExecStart=%s " % harness.sowatch_bin()))
    return path


_groups = {}


def expand(name):
    """System call names of a systemd syscall-filter group, nested groups expanded."""
    if not name.startswith("@"):
        return {name}
    if name not in _groups:
        out = subprocess.run(["systemd-analyze", "syscall-filter", name],
                             capture_output=True, text=True, check=True).stdout
        names = set()
        for line in out.splitlines()[1:]:
            line = line.strip()
            if line and not line.startswith("#"):
                names |= expand(line)
        _groups[name] = names
    return _groups[name]


class Unit(unittest.TestCase):
    def setUp(self):
        if os.geteuid() != 0:
            self.skipTest("needs root (systemd-analyze, and the sensor loads BPF)")
        self.tmp = tempfile.mkdtemp(prefix="sowatch-unit-")
        self.addCleanup(shutil.rmtree, self.tmp, True)

    def test_verify(self):
        """systemd-analyze verify finds nothing to say. (The man page named by
        Documentation= is checked where it is installed: test_package.)"""
        p = subprocess.run(["systemd-analyze", "verify", "--man=no",
                            unit_for_this_tree(self.tmp)],
                           capture_output=True, text=True)
        self.assertEqual((p.returncode, p.stdout + p.stderr), (0, ""))

    def test_exposure_score_is_the_readmes(self):
        """systemd-analyze security's overall exposure is what the README quotes."""
        p = subprocess.run(["systemd-analyze", "security", "--offline=true",
                            "--no-pager", unit_for_this_tree(self.tmp)],
                           capture_output=True, text=True)
        self.assertEqual(p.returncode, 0, p.stderr)
        m = re.search(r"Overall exposure level for sowatch\.service: (\d+\.\d) (\w+)",
                      p.stdout)
        self.assertIsNotNone(m, p.stdout)
        with open(README) as f:
            readme = f.read()
        quote = "exposure level of %s (%s)" % (m.group(1), m.group(2))
        self.assertTrue(quote in readme, "the README does not say %r" % quote)

    def test_sandbox_allows_what_the_sensor_does(self):
        """Every system call, socket family and mapping of a run is allowed."""
        s = harness.unit_settings()
        allowed = set()
        for name in s["SystemCallFilter"].split():
            allowed |= expand(name)
        families = set(s["RestrictAddressFamilies"].split())
        self.assertEqual(s["MemoryDenyWriteExecute"], "yes")

        trace = os.path.join(self.tmp, "strace.out")
        ws = harness.Workspace()
        self.addCleanup(ws.cleanup)
        # The libraries loaded on demand too: libmicrohttpd (/metrics), libcurl (a webhook
        # whose receiver refuses connections: tried, and tried again)
        metrics = harness.free_port()
        config = ws.write("sowatch.yaml", (
            "outputs:\n  webhook:\n    url: http://127.0.0.1:%d/findings\n"
            "metrics:\n  listen: 127.0.0.1:%d\n") % (harness.free_port(), metrics))
        os.chmod(config, 0o600)
        sensor = harness.Sensor(wrapper=["strace", "-f", "-qq", "-o", trace, "--"],
                                ready_timeout=180, config=config)
        sensor.start()
        try:
            # strace keeps fatal signals to itself (-o FILE PROG): signal sowatch
            with open("/proc/%d/task/%d/children" % (sensor.proc.pid,
                                                      sensor.proc.pid)) as f:
                pid = int(f.read().split()[0])
            harness.engine_load(sensor, ws)
            with urllib.request.urlopen("http://127.0.0.1:%d/healthz" % metrics,
                                        timeout=30) as r:
                self.assertEqual(r.status, 200)
            os.kill(pid, signal.SIGHUP)
            os.kill(pid, signal.SIGUSR1)
            time.sleep(3)
            os.kill(pid, signal.SIGTERM)
            sensor.proc.wait(120)
        finally:
            sensor.stop()
        self.assertIn("configuration reloaded", sensor.final_log)

        used, socket_families, wx = set(), set(), []
        call = re.compile(r"^\d+\s+(?:<\.\.\. )?([a-z0-9_]+)[( ]")
        with open(trace, errors="replace") as f:
            for line in f:
                m = call.match(line)
                if not m or "resumed>" in line.split(m.group(1), 1)[0]:
                    continue
                name = m.group(1)
                if name in ("exited", "killed", "resumed"):
                    continue
                used.add(name)
                fam = re.match(r"^\d+\s+socket\((AF_\w+)", line)
                if fam:
                    socket_families.add(fam.group(1))
                # MemoryDenyWriteExecute= refuses a mapping both writable and executable,
                # and any mprotect() that makes memory executable
                if (name == "mmap" and "PROT_WRITE" in line and "PROT_EXEC" in line) or \
                        (name in ("mprotect", "pkey_mprotect") and "PROT_EXEC" in line):
                    wx.append(line.strip())
        self.assertIn("bpf", used, "the trace holds the sensor's start")
        self.assertIn("AF_INET", socket_families, "the webhook and metrics were traced")
        self.assertEqual(sorted(used - allowed), [],
                         "system calls SystemCallFilter= would refuse")
        self.assertEqual(sorted(socket_families - families), [],
                         "socket families RestrictAddressFamilies= would refuse")
        self.assertEqual(wx, [], "MemoryDenyWriteExecute= would refuse these")


if __name__ == "__main__":
    unittest.main()
