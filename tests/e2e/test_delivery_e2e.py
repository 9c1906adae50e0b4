# SPDX-License-Identifier: Apache-2.0
"""Delivery to a webhook, end to end: the sensor, its store (the outbox) and
an HTTPS receiver of the test's own (receiver.py).

* Outage: the receiver refuses (503) for 30 s while the sensor is killed
  (kill -9) half-way and restarted on the same store: every finding reaches
  the receiver at least once, byte for byte the JSONL line, with the bearer
  token and its id.
* A hanging receiver costs no detection latency and no kernel events.
* A 400 is final: one request, one log line, counted in /metrics.
* A 429 with Retry-After is honoured.
* A hostile configuration is refused at start, naming file and line.
* libcurl is loaded only once a webhook is configured, here by a reload.
"""

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
import unittest
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness  # noqa: E402
from harness import OPENSSL, for_process, read_marker, run_cmd  # noqa: E402
from receiver import Receiver  # noqa: E402

SKIP_REASON = None
TOKEN = "sowatch-e2e-" + harness.rand(32)
OUTAGE_SECONDS = 30
LATENCY_P99_BUDGET_MS = 50.0  # bench/run.py's LATENCY_P99_BUDGET_MS
STOP_LINE = harness.STOP_DROPS


def setUpModule():
    global SKIP_REASON
    SKIP_REASON = harness.require_environment()
    if SKIP_REASON:
        return
    harness.fixture_module()





def write_token(ws, text=TOKEN, mode=0o600):
    """The bearer token file, root's, mode 0600 unless told."""
    path = ws.path("token-%s" % harness.rand())
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text + "\n")
    os.chmod(path, mode)
    return path


def webhook_config(ws, url, ca_file, token_file, metrics_port=None, timeout_ms=2000):
    text = ("outputs:\n"
            "  webhook:\n"
            "    url: %s\n"
            "    ca_file: %s\n"
            "    bearer_token_file: %s\n"
            "    timeout_ms: %d\n" % (url, ca_file, token_file, timeout_ms))
    if metrics_port:
        text += "metrics:\n  listen: 127.0.0.1:%d\n" % metrics_port
    path = ws.write("sowatch-%s.yaml" % harness.rand(), text)
    os.chmod(path, 0o600)
    return path


def engine_load(sensor, ws, stem="dl"):
    return harness.engine_load(sensor, ws, stem)


def mapped_libraries(pid, sonames):
    """Those of sonames whose library is mapped into pid (the file mapped is
    the soname or, as libcurl.so.4.8.0 for libcurl.so.4, a longer version)."""
    with open("/proc/%d/maps" % pid) as f:
        files = {os.path.basename(line.split()[-1]) for line in f if "/" in line}
    return {so for so in sonames for name in files
            if name == so or name.startswith(so + ".")}


def metric(port, name, labels):
    """The value of one sample of the sensor's /metrics, or None."""
    with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % port, timeout=5) as r:
        text = r.read().decode()
    want = "%s{%s}" % (name, labels)
    for line in text.splitlines():
        if line.startswith(want + " "):
            return float(line.split()[-1])
    return None


class Delivery(unittest.TestCase):

    def setUp(self):
        if SKIP_REASON:
            self.skipTest(SKIP_REASON)
        self.ws = harness.Workspace()
        self.addCleanup(self.ws.cleanup)
        self.receiver = Receiver().start()
        self.addCleanup(self.receiver.stop)
        self.token_file = write_token(self.ws)

    def config(self, metrics_port=None, timeout_ms=2000):
        return webhook_config(self.ws, self.receiver.url("/ingest"), self.receiver.ca_file,
                              self.token_file, metrics_port, timeout_ms)

    def sensor(self, config, db=None):
        s = harness.Sensor(config=config, db=db)
        s.start()
        return s

    def stop_quietly(self, s):
        try:
            s.stop()
        except AssertionError as e:
            sys.stderr.write("%s\n" % e)

    def test_outage_and_crash_lose_nothing(self):
        self.receiver.set_mode("status", 503, seconds=OUTAGE_SECONDS)
        config, db = self.config(), self.ws.path("findings.db")
        t0 = time.monotonic()
        first = self.sensor(config, db)
        lines = {}  # finding id -> set of JSONL lines naming it (both sensors)
        ids = []
        try:
            for _ in range(10):
                ids.append(engine_load(first, self.ws).finding_id())
        finally:
            first.crash()
        for fd in first.findings():
            lines.setdefault(fd.finding_id(), set()).add(fd.raw)
        if not harness.keep_artifacts():  # a crashed sensor leaves its directory
            self.addCleanup(shutil.rmtree, first.dir, True)
        second = self.sensor(config, db)
        self.addCleanup(self.stop_quietly, second)
        for _ in range(10):
            ids.append(engine_load(second, self.ws).finding_id())
        self.assertEqual(len(set(ids)), 20, ids)
        self.assertLess(time.monotonic() - t0, OUTAGE_SECONDS,
                        "the loads took longer than the outage: the test proves less")

        # After the outage, everything arrives (retries back off: allow for it).
        try:
            self.receiver.wait_for(lambda reqs: set(ids) <= {
                r.finding_id for r in reqs if r.status == 200}, timeout=OUTAGE_SECONDS + 90)
        finally:
            for fd in second.findings():
                lines.setdefault(fd.finding_id(), set()).add(fd.raw)
        by_id = self.receiver.by_id()
        problems = []
        for fid in ids:
            if len(lines.get(fid, ())) != 1:
                problems.append("%s: JSONL lines %r" % (fid, lines.get(fid)))
                continue
            line = next(iter(lines[fid]))
            for r in by_id[fid]:
                if r.body != line:
                    problems.append("%s: body differs from the JSONL line:\n%r\n%r"
                                    % (fid, r.body[:300], line[:300]))
                if r.headers.get("Authorization") != "Bearer " + TOKEN:
                    problems.append("%s: Authorization %r" % (fid, r.headers.get(
                        "Authorization")))
                if r.method != "POST" or r.path != "/ingest":
                    problems.append("%s: %s %s" % (fid, r.method, r.path))
                if r.headers.get("Content-Type") != "application/json":
                    problems.append("%s: Content-Type %r" % (fid, r.headers.get(
                        "Content-Type")))
        refused = sum(1 for r in self.receiver.requests() if r.status == 503)
        sys.stderr.write("outage: %d requests refused with 503, %d in all for %d findings\n"
                         % (refused, len(self.receiver.requests()), len(ids)))
        self.assertEqual(problems, [])
        self.assertGreater(refused, 0, "the outage was never seen by the sensor")

        # The store lists the 20, as a responder would see them.
        out = subprocess.run([harness.sowatch_bin(), "findings", "list", "--db", db,
                              "--json", "--all"], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, check=True).stdout.decode()
        listed = set()
        for line in out.splitlines():
            if line.strip():
                m = harness.FINDING_NAME.match(json.loads(line)["finding"]["name"])
                listed.add(m.group(2))
        self.assertEqual(set(ids) - listed, set(), "findings list misses some")

    def test_hanging_receiver_costs_no_latency(self):
        self.receiver.set_mode("hang")
        s = self.sensor(self.config(timeout_ms=2000))
        arrived = {}  # finding index -> time.time() its JSONL line was seen
        done = threading.Event()

        def watch():
            while not done.is_set():
                now = time.time()
                try:
                    for fd in s.findings():
                        arrived.setdefault(fd.index, now)
                except harness.FindingFormatError:
                    pass
                time.sleep(0.002)
        watcher = threading.Thread(target=watch, daemon=True)
        watcher.start()
        loads = []
        try:
            for _ in range(50):
                mod = self.ws.module("hang")
                marker = self.ws.marker()
                r = run_cmd([OPENSSL, "engine", "-t", mod], marker=marker)
                self.assertEqual(read_marker(marker), r.pid, r.output)
                loads.append((r.pid, mod))
            found = [s.wait_for(for_process(pid, mod), timeout=30) for pid, mod in loads]
            time.sleep(0.1)
        finally:
            done.set()
            watcher.join(5)
        latencies = [(arrived[fd.index] - harness.parse_rfc3339(fd.f["eventTime"])) * 1000
                     for fd in found]
        self.assertTrue(self.receiver.requests(), "the sensor never reached the receiver")
        t_stop = time.monotonic()
        s.stop()  # exits 0 despite the receiver in the middle of a request
        stop_s = time.monotonic() - t_stop
        m = STOP_LINE.search(s.final_log)
        summary = ("hanging receiver: %d findings, latency p50 %.1f ms, p99 %.1f ms, "
                   "max %.1f ms; stopped in %.1f s; %s events dropped" % (
                       len(latencies), harness.percentile(latencies, 50), harness.percentile(latencies, 99),
                       max(latencies), stop_s, m.group(1) if m else "?"))
        sys.stderr.write(summary + "\n")
        self.assertIsNotNone(m, "no stop summary in the log:\n" + s.final_log[-3000:])
        self.assertEqual(int(m.group(1)), 0, summary)
        self.assertLessEqual(harness.percentile(latencies, 99), LATENCY_P99_BUDGET_MS, summary)

    def test_400_is_final(self):
        self.receiver.set_mode("status", 400)
        port = harness.free_port()
        s = self.sensor(self.config(metrics_port=port))
        self.addCleanup(self.stop_quietly, s)
        fid = engine_load(s, self.ws).finding_id()
        reqs = self.receiver.wait_for(
            lambda reqs: any(r.finding_id == fid for r in reqs), timeout=30)
        first = min(r.time for r in reqs if r.finding_id == fid)
        time.sleep(max(0.0, first + 8 - time.time()))
        self.assertEqual(len(self.receiver.by_id().get(fid, [])), 1,
                         "a finding refused with 400 was sent again")
        with open(s.log_path, "rb") as f:
            lines = [ln for ln in f.read().decode("utf-8", "replace").splitlines()
                     if fid in ln]
        self.assertEqual(len(lines), 1, "log lines naming %s: %r" % (fid, lines))
        self.assertIn("400", lines[0])
        self.assertNotIn(TOKEN, lines[0])
        self.assertEqual(metric(port, "sowatch_output_failed_total", 'output="webhook"'), 1)

    def test_429_retry_after_is_honoured(self):
        self.receiver.set_mode("status", 429, retry_after=2)
        s = self.sensor(self.config())
        self.addCleanup(self.stop_quietly, s)
        fid = engine_load(s, self.ws).finding_id()
        self.receiver.wait_for(
            lambda reqs: sum(r.finding_id == fid for r in reqs) >= 2, timeout=30)
        times = [r.time for r in self.receiver.by_id()[fid]]
        self.receiver.set_mode("ok")
        self.assertGreaterEqual(times[1] - times[0], 2.0,
                                "sent again %.3f s after a 429 with Retry-After: 2"
                                % (times[1] - times[0]))

    def test_libcurl_loaded_only_for_a_webhook(self):
        # Without an output that needs them, libcurl and libmicrohttpd (and the 29 libraries
        # they pull in) stay out of the sensor; a reload that adds a webhook loads libcurl
        # with the sensor's threads running, and the webhook delivers.
        config = self.ws.path("lazy-%s.yaml" % harness.rand())
        with open(config, "w") as f:
            f.write("resource:\n  source: sowatch\n")
        os.chmod(config, 0o600)
        s = self.sensor(config)
        self.addCleanup(self.stop_quietly, s)
        watched = ("libcrypto.so.3", "libcurl.so.4", "libmicrohttpd.so.12", "libldap-2.5.so.0",
                   "libgnutls.so.30")
        self.assertEqual(mapped_libraries(s.proc.pid, watched), {"libcrypto.so.3"})
        shutil.copyfile(self.config(), config)
        os.kill(s.proc.pid, signal.SIGHUP)
        s.wait_for_log("configuration reloaded from ", timeout=10)
        fid = engine_load(s, self.ws).finding_id()
        reqs = self.receiver.wait_for(
            lambda reqs: any(r.finding_id == fid for r in reqs), timeout=30)
        self.assertTrue(any(r.finding_id == fid
                            and r.headers.get("Authorization") == "Bearer " + TOKEN
                            for r in reqs), reqs)
        self.assertEqual(mapped_libraries(s.proc.pid, watched),
                         {"libcrypto.so.3", "libcurl.so.4", "libldap-2.5.so.0", "libgnutls.so.30"})

    def hostile(self, url=None, ca_file=None, token_mode=0o600, bad_line=None):
        """sowatch run with one bad setting: exits non-zero with one stderr
        line naming the file and the line (bad_line: the lines accepted)."""
        token = write_token(self.ws, mode=token_mode)
        config = webhook_config(self.ws, url or self.receiver.url(),
                                ca_file or self.receiver.ca_file, token)
        jsonl, db = self.ws.path("h-%s.jsonl" % harness.rand()), self.ws.path("h.db")
        p = subprocess.run([harness.sowatch_bin(), "run", "--config", config, "--jsonl", jsonl,
                            "--db", db], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=60)
        err = p.stderr.decode("utf-8", "replace")
        self.assertNotEqual(p.returncode, 0, "sowatch ran with a hostile configuration")
        naming = [ln for ln in err.splitlines() if config in ln]
        self.assertEqual(len(naming), 1, "stderr:\n" + err)
        m = re.search(re.escape(config) + r":(\d+):", naming[0])
        self.assertIsNotNone(m, "no file:line: in %r" % naming[0])
        self.assertIn(int(m.group(1)), bad_line, naming[0])
        self.assertNotIn(TOKEN, err)
        return naming[0]

    def test_hostile_config_refused(self):
        # Line 2 is the webhook section, 3 url, 4 ca_file, 5 bearer_token_file
        self.hostile(url="ftp://127.0.0.1:%d/ingest" % self.receiver.port, bad_line=(2, 3))
        self.hostile(ca_file=self.ws.path("no-such-ca.pem"), bad_line=(2, 4))
        line = self.hostile(token_mode=0o644, bad_line=(2, 5))
        self.assertIn("0644", line)

    def test_bad_syslog_address_refused(self):
        for address in ("udp://127.0.0.1", "tcp://[::1:514", "unix://relative/log",
                        "smtp://127.0.0.1:25", "udp://127.0.0.1:99999"):
            config = self.ws.write("syslog-%s.yaml" % harness.rand(),
                                   "outputs:\n  syslog:\n    address: \"%s\"\n" % address)
            p = subprocess.run([harness.sowatch_bin(), "run", "--config", config, "--jsonl",
                                self.ws.path("s.jsonl"), "--db", self.ws.path("s.db")],
                               stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, timeout=60)
            err = p.stderr.decode("utf-8", "replace").strip()
            self.assertEqual(p.returncode, 1, err)
            self.assertEqual(len(err.splitlines()), 1, err)
            self.assertIn("%s:3:" % config, err)
            self.assertIn("outputs.syslog.address", err)


if __name__ == "__main__":
    unittest.main()
