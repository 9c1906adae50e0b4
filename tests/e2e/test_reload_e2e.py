# SPDX-License-Identifier: Apache-2.0
"""Reload and signals: SIGHUP applies a new configuration (here a mute rule) while
an exec flood runs, without losing an event; a broken file is refused in one log
line and the rules in force stay; SIGUSR1 reopens the JSONL file by path (log
rotation); every other stray signal is ignored, and only SIGTERM stops the
sensor, with its summary.

Real sensor, real openssl. Each test picks out its own findings by unique module
names and pids."""

import json
import os
import signal
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness  # noqa: E402
from harness import OPENSSL, for_process, read_marker, run_cmd  # noqa: E402

SKIP_REASON = None
# Long enough for the reloads and loads made under it; the test waits for its end.
FLOOD_SECONDS = 15
LOOPS_PER_CPU = 2
UNRELATED_LIBRARY = "libz.so.1"
RELOADED = "configuration reloaded from "
REFUSED = "reload refused, the configuration in force stays: "
# Every signal the sensor must shrug off (README, signals): none stops it.
STRAY_SIGNALS = (signal.SIGALRM, signal.SIGUSR2, signal.SIGPIPE, signal.SIGQUIT,
                 signal.SIGPROF, signal.SIGVTALRM, signal.SIGIO, signal.SIGPWR,
                 signal.SIGXCPU, signal.SIGXFSZ, getattr(signal, "SIGSTKFLT", 16),
                 signal.SIGRTMIN + 3)


def setUpModule():
    global SKIP_REASON
    SKIP_REASON = harness.require_environment()
    if SKIP_REASON:
        return
    harness.fixture_module()
    harness.fixture_workload()



def module_paths(obj):
    procs = obj["finding"].get("processes") or [{}]
    return [lib.get("path") for lib in procs[0].get("libraries") or []]


def jsonl_lines(path):
    """Every finding line of a JSONL file, strictly parsed (a partial last line is left)."""
    with open(path, "rb") as f:
        data = f.read()
    return [harness.parse_line(raw) for raw in data.split(b"\n")[:-1] if raw.strip()]



class Reload(unittest.TestCase):

    def setUp(self):
        if SKIP_REASON:
            self.skipTest(SKIP_REASON)
        self.ws = harness.Workspace()
        self.addCleanup(self.ws.cleanup)

    def write_config(self, text):
        """Replace the configuration file in one rename, as an editor or a deploy would."""
        tmp = self.ws.write("sowatch.yaml.new", text)
        os.rename(tmp, self.cfg)

    def load(self, mod):
        """openssl engine -t MOD: the module runs; returns the RunResult."""
        marker = self.ws.marker()
        r = run_cmd([OPENSSL, "engine", "-t", mod], marker=marker)
        self.assertEqual(read_marker(marker), r.pid, r.output)
        return r

    def start_flood(self):
        """Exec loops as test_flood_e2e makes them (LOOPS_PER_CPU per CPU, plus a
        dlopen loop), for FLOOD_SECONDS. Returns a function that checks the flood
        was still running, waits for its end and returns (execs/s, dlopens/s)."""
        workload = harness.fixture_workload()
        workers = [subprocess.Popen([workload, "exec", "-t", str(FLOOD_SECONDS), "/bin/true"],
                                    stdout=subprocess.PIPE)
                   for _ in range(LOOPS_PER_CPU * (os.cpu_count() or 1))]
        workers.append(subprocess.Popen(
            [workload, "dlopen", "-t", str(FLOOD_SECONDS), UNRELATED_LIBRARY],
            stdout=subprocess.PIPE))

        def kill():
            for w in workers:
                if w.poll() is None:
                    w.kill()
                    w.wait()
        self.addCleanup(kill)

        def end():
            self.assertEqual([w.poll() for w in workers], [None] * len(workers),
                             "the flood ended before the test did: raise FLOOD_SECONDS")
            counts = [int((w.communicate()[0].split() or [0])[0]) for w in workers]
            self.assertEqual([w.returncode for w in workers], [0] * len(workers))
            return sum(counts[:-1]) / FLOOD_SECONDS, counts[-1] / FLOOD_SECONDS
        return end

    def wait_stored_muted(self, sensor, mod, pid, timeout=15.0):
        """Wait for the store to hold pid's finding about mod; assert it is MUTED."""
        deadline = time.monotonic() + timeout
        while True:
            rows = [o for o in harness.findings_cli(sensor.db, "list", "--all")
                    if mod in module_paths(o)
                    and str(o["finding"]["processes"][0].get("pid")) == str(pid)]
            if rows:
                self.assertEqual(len(rows), 1, rows)
                self.assertEqual(rows[0]["finding"].get("mute"), "MUTED", rows[0])
                return rows[0]
            if time.monotonic() > deadline or not sensor.alive():
                self.fail("no stored finding for pid %s module %s\n%s"
                          % (pid, mod, sensor.log_tail(20)))
            time.sleep(0.1)

    def assertNotWritten(self, sensor, mod):
        """After a canary's line: no line of the JSONL names mod."""
        harness.canary(sensor, self.ws, timeout=30)
        bad = [fd.short() for fd in sensor.findings() if mod in fd.library_paths()]
        self.assertEqual(bad, [], "a muted finding was written")

    def test_mute_by_reload_under_flood(self):
        mod_a, mod_b = self.ws.module("reload-a"), self.ws.module("reload-b")
        self.cfg = self.ws.path("sowatch.yaml")
        self.write_config("resource:\n  source: sowatch\n")
        sensor = harness.Sensor(config=self.cfg).start()
        self.addCleanup(lambda: sensor.alive() and sensor.stop())
        end_flood = self.start_flood()
        time.sleep(1)

        # No mute rule yet: A is written.
        r = self.load(mod_a)
        sensor.wait_for(for_process(r.pid, mod_a), timeout=30)

        # 1. A mute rule for B, by reload.
        self.write_config("resource:\n  source: sowatch\n"
                          "mute:\n  - module_path: %s\n" % json.dumps(mod_b))
        t0 = time.monotonic()
        os.kill(sensor.proc.pid, signal.SIGHUP)
        line = sensor.wait_for_log(RELOADED, timeout=10)
        t_reload = time.monotonic() - t0
        self.assertIn("%s%s: 0 allow rules, 1 mute rules" % (RELOADED, self.cfg), line)
        r = self.load(mod_b)
        self.wait_stored_muted(sensor, mod_b, r.pid)
        self.assertNotWritten(sensor, mod_b)

        # 2. A broken file is refused, naming file and line; B stays muted.
        self.write_config("resource:\n  source: sowatch\n  colour: blue\n"
                          "mute:\n  - module_path: %s\n" % json.dumps(mod_b))
        os.kill(sensor.proc.pid, signal.SIGHUP)
        line = sensor.wait_for_log(REFUSED, timeout=10)
        self.assertIn("%s%s:3: " % (REFUSED, self.cfg), line)
        self.assertIn("colour", line)
        r = self.load(mod_b)
        self.wait_stored_muted(sensor, mod_b, r.pid)
        self.assertNotWritten(sensor, mod_b)
        with open(sensor.log_path) as f:
            log = f.read()
        self.assertEqual(log.count(REFUSED), 1, log)
        self.assertEqual(log.count(RELOADED), 1, log)

        # 3. Nothing was lost on the way.
        execs, dlopens = end_flood()
        sensor.stop()
        drops = harness.dropped_at_stop(sensor.final_log)
        sys.stderr.write("reload: %d execs/s, %d dlopens/s; reloaded in %.3f s; "
                         "%d events dropped\n" % (execs, dlopens, t_reload, drops))
        self.assertEqual(drops, 0, sensor.final_log[-3000:])
        self.assertRegex(sensor.final_log, r"stopping: \d+ findings reported, [1-9]\d* muted")

    def test_reopen_and_stray_signals(self):
        sensor = harness.Sensor().start()
        self.addCleanup(lambda: sensor.alive() and sensor.stop())
        pid = sensor.proc.pid

        # 4. SIGUSR1: rotated away, the file is made again at its path.
        mod_old, mod_new = self.ws.module("rotate-old"), self.ws.module("rotate-new")
        r_old = self.load(mod_old)
        sensor.wait_for(for_process(r_old.pid, mod_old), timeout=30)
        rotated = sensor.jsonl + ".1"
        os.rename(sensor.jsonl, rotated)
        os.kill(pid, signal.SIGUSR1)
        sensor.wait_for_log("file outputs reopened (SIGUSR1)", timeout=10)
        self.load(mod_new)
        deadline = time.monotonic() + 30
        while True:
            lines = jsonl_lines(sensor.jsonl) if os.path.exists(sensor.jsonl) else []
            if any(mod_new in module_paths(o) for o in lines):
                break
            if time.monotonic() > deadline or not sensor.alive():
                self.fail("no finding for %s in a new %s\n%s"
                          % (mod_new, sensor.jsonl, sensor.log_tail(20)))
            time.sleep(0.05)
        self.assertEqual(os.stat(sensor.jsonl).st_mode & 0o777, 0o600)
        old = jsonl_lines(rotated)
        self.assertTrue(any(mod_old in module_paths(o) for o in old))
        self.assertFalse(any(mod_new in module_paths(o) for o in old))
        self.assertFalse(any(mod_old in module_paths(o) for o in lines))

        # 5. Stray signals are ignored; a load afterwards is still reported.
        for sig in STRAY_SIGNALS:
            os.kill(pid, sig)
        time.sleep(1)
        self.assertTrue(sensor.alive(), sensor.log_tail(20))
        mod = self.ws.module("after-signals")
        r = self.load(mod)
        deadline = time.monotonic() + 30
        while not any(mod in module_paths(o) and str(o["finding"]["processes"][0]["pid"])
                      == str(r.pid) for o in jsonl_lines(sensor.jsonl)):
            if time.monotonic() > deadline or not sensor.alive():
                self.fail("no finding for %s after the stray signals\n%s"
                          % (mod, sensor.log_tail(20)))
            time.sleep(0.05)
        sensor.stop()  # SIGTERM: exits 0
        harness.dropped_at_stop(sensor.final_log)


if __name__ == "__main__":
    unittest.main()
