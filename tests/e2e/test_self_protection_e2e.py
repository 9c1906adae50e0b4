# SPDX-License-Identifier: Apache-2.0
"""End-to-end tests of the sensor's own protection: after start it keeps only
the capabilities it still uses, its files are root-only, and the list of
trusted directories of enforce mode cannot be changed behind its back."""

import glob
import os
import re
import signal
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness  # noqa: E402
from harness import OPENSSL, for_process, read_marker, run_cmd  # noqa: E402

SENSOR = None
SKIP_REASON = None
CONFIG_DIR = None
# CAP_DAC_READ_SEARCH, CAP_SYS_PTRACE, CAP_SYS_ADMIN, CAP_PERFMON, CAP_BPF
KEPT = (1 << 2) | (1 << 19) | (1 << 21) | (1 << 38) | (1 << 39)


def setUpModule():
    global SENSOR, SKIP_REASON, CONFIG_DIR
    SKIP_REASON = harness.require_environment()
    if SKIP_REASON:
        return
    harness.fixture_module()
    CONFIG_DIR = harness.Workspace()
    cfg = CONFIG_DIR.write("sowatch.yaml", "enforce:\n  mode: kill\n")
    # A store directory the sensor makes itself
    db = os.path.join(CONFIG_DIR.dir, "store", "findings.db")
    SENSOR = harness.Sensor(config=cfg, db=db).start()


def tearDownModule():
    global SENSOR
    if SENSOR is not None:
        s, SENSOR = SENSOR, None
        s.stop()
    if CONFIG_DIR is not None:
        CONFIG_DIR.cleanup()


def status_fields(pid):
    with open("/proc/%d/status" % pid) as f:
        return dict(line.rstrip("\n").split(":\t", 1) for line in f
                    if ":\t" in line)


def sensor_map_ids(pid):
    """The ids of the BPF maps the sensor holds open."""
    ids = set()
    for fdinfo in glob.glob("/proc/%d/fdinfo/*" % pid):
        try:
            with open(fdinfo) as f:
                m = re.search(r"^map_id:\s*(\d+)", f.read(), re.M)
        except OSError:
            continue
        if m:
            ids.add(int(m.group(1)))
    return ids


class SelfProtection(unittest.TestCase):

    def setUp(self):
        if SKIP_REASON:
            self.skipTest(SKIP_REASON)
        self.ws = harness.Workspace()
        self.addCleanup(self.ws.cleanup)

    def test_capabilities_dropped(self):
        st = status_fields(SENSOR.proc.pid)
        for field in ("CapEff", "CapPrm", "CapBnd"):
            self.assertEqual(int(st[field], 16), KEPT, "%s %s" % (field, st[field]))
        self.assertEqual(int(st["CapInh"], 16), 0)
        self.assertEqual(int(st["CapAmb"], 16), 0)
        self.assertEqual(st["NoNewPrivs"].strip(), "1")
        SENSOR.wait_for_log("privileges dropped")

    def test_files_are_root_only(self):
        for path, mode in ((SENSOR.db, 0o600), (os.path.dirname(SENSOR.db), 0o700),
                           (SENSOR.jsonl, 0o600)):
            st = os.stat(path)
            self.assertEqual((st.st_uid, st.st_mode & 0o777), (0, mode), path)

    def test_trusted_directories_cannot_be_changed(self):
        """A root attacker with bpftool adds the module's directory to enforce
        mode's trusted list: the kernel refuses, and the load is still
        stopped."""
        mod = self.ws.module()
        st = os.stat(os.path.dirname(mod))
        dev = (os.major(st.st_dev) << 20) | os.minor(st.st_dev)
        key = st.st_ino.to_bytes(8, "little") + dev.to_bytes(4, "little") + bytes(4)
        trusted = None
        for map_id in sensor_map_ids(SENSOR.proc.pid):
            out = subprocess.run(["bpftool", "map", "show", "id", str(map_id)],
                                 capture_output=True, text=True).stdout
            if " name trusted_dirs " in out:
                trusted = map_id
        self.assertIsNotNone(trusted, "no trusted_dirs map held by the sensor")
        r = subprocess.run(["bpftool", "map", "update", "id", str(trusted),
                            "key", "hex"] + ["%02x" % b for b in key]
                           + ["value", "hex", "01"],
                           capture_output=True, text=True)
        self.assertNotEqual(r.returncode, 0, "the update was accepted")
        self.assertIn("Operation not permitted", r.stderr)

        marker = self.ws.marker()
        r = run_cmd([OPENSSL, "engine", "-t", mod], marker=marker)
        self.assertEqual(r.returncode, -signal.SIGKILL, r.output)
        self.assertIsNone(read_marker(marker), "the module's constructor ran")
        SENSOR.wait_for(for_process(r.pid, mod))


    def test_fd_names_never_read_sowatchs_own_files(self):
        """`openssl engine -t /proc/self/fd/N` names the reader's fd N: read
        from the sensor, that would be the sensor's own store or output. No
        finding may carry a hash of a file the sensor holds open."""
        own = set()
        for link in glob.glob("/proc/%d/fd/*" % SENSOR.proc.pid):
            try:
                target = os.path.realpath(link)
                if os.path.isfile(target):
                    own.add(harness.sha256_file(target))
            except OSError:
                continue
        names = ["/proc/self/fd/%d" % n for n in range(3, 16)] + ["/dev/fd/3"]
        pids = []
        for name in names:
            pids.append(run_cmd([OPENSSL, "engine", "-t", name]).pid)
        # Run one after another: once the last one's finding is in, all are.
        SENSOR.wait_for(for_process(pids[-1]))
        hashed = [(fd.pid, lib.get("path"), lib.get("sha256"))
                  for fd in SENSOR.findings() if fd.pid in map(str, pids)
                  for lib in fd.process.get("libraries", [])]
        self.assertTrue(hashed, "no finding for the fd names")
        self.assertEqual([h for h in hashed if h[2] in own], [])


if __name__ == "__main__":
    unittest.main()
