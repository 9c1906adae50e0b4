# SPDX-License-Identifier: Apache-2.0
"""End-to-end tests of metrics.listen: Debian's real Prometheus scrapes the
sensor's /metrics and sees a finding counted; /healthz answers 200 while the
kernel's events flow and 503, with the reason, once they stop.

Prometheus runs for the whole module (setUpModule) with a scrape job for
itself and one for the sensor, every second; tearDownModule stops it."""

import ctypes
import glob
import json
import mmap
import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.error
import urllib.parse
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness  # noqa: E402
from harness import OPENSSL, for_process, read_marker, run_cmd  # noqa: E402

PROMETHEUS = "/usr/bin/prometheus"
READY_TIMEOUT = 60.0
# A canary every 10 s, missing after 5 s, the snapshot published every second
HEALTH_TIMEOUT = 40.0
BPF_MAP_TYPE_RINGBUF = 27
SYS_PIDFD_GETFD = 438

SKIP_REASON = None
PROM = None
SENSOR_PORT = None



def http_get(url, timeout=5.0):
    """(status, body) of a GET; an HTTP error status is an answer, not an
    exception."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return r.status, r.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode("utf-8", "replace")


class Prometheus:
    """/usr/bin/prometheus on 127.0.0.1:<free port>, scraping itself and the
    given targets every second, its data in a temporary directory."""

    def __init__(self, targets):
        self.dir = tempfile.mkdtemp(prefix="sowatch-e2e-prometheus-")
        self.port = harness.free_port()
        self.address = "127.0.0.1:%d" % self.port
        jobs = {"prometheus": [self.address]}
        jobs.update(targets)
        config = ("global:\n"
                  "  scrape_interval: 1s\n"
                  "  scrape_timeout: 1s\n"
                  "  evaluation_interval: 1s\n"
                  "scrape_configs:\n")
        for job, addrs in jobs.items():
            config += ("  - job_name: %s\n"
                       "    static_configs:\n"
                       "      - targets: [%s]\n"
                       % (job, ", ".join('"%s"' % a for a in addrs)))
        self.config = os.path.join(self.dir, "prometheus.yml")
        with open(self.config, "w") as f:
            f.write(config)
        self.log_path = os.path.join(self.dir, "prometheus.log")
        self.proc = None

    def start(self):
        if not os.access(PROMETHEUS, os.X_OK):
            raise RuntimeError("%s is missing (Debian's prometheus package)" % PROMETHEUS)
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen(
                [PROMETHEUS, "--config.file=" + self.config,
                 "--storage.tsdb.path=" + os.path.join(self.dir, "data"),
                 "--web.listen-address=" + self.address],
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                cwd=self.dir)
        deadline = time.monotonic() + READY_TIMEOUT
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError("prometheus exited with %s:\n%s"
                                   % (self.proc.returncode, self.log_tail()))
            try:
                if http_get("http://%s/-/ready" % self.address, 1.0)[0] == 200:
                    return self
            except OSError:
                pass
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("prometheus not ready after %ss:\n%s"
                                   % (READY_TIMEOUT, self.log_tail()))
            time.sleep(0.2)

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if harness.keep_artifacts():
            sys.stderr.write("keeping prometheus data in %s\n" % self.dir)
        else:
            shutil.rmtree(self.dir, ignore_errors=True)

    def log_tail(self, n=30):
        try:
            with open(self.log_path, "rb") as f:
                lines = f.read().decode("utf-8", "replace").splitlines()
        except OSError:
            return "(no prometheus log)"
        return "--- prometheus log ---\n" + "\n".join(lines[-n:])

    def query(self, expr):
        """The instant vector of expr: [(labels, float value)]."""
        url = "http://%s/api/v1/query?%s" % (
            self.address, urllib.parse.urlencode({"query": expr}))
        status, body = http_get(url)
        if status != 200:
            raise AssertionError("query %r: HTTP %d: %s" % (expr, status, body))
        answer = json.loads(body)
        if answer.get("status") != "success":
            raise AssertionError("query %r: %s" % (expr, body))
        return [(r["metric"], float(r["value"][1])) for r in answer["data"]["result"]]

    def scalar(self, expr):
        """The single value of expr, or None when it has no series."""
        result = self.query(expr)
        if not result:
            return None
        if len(result) != 1:
            raise AssertionError("%r: %d series, expected one" % (expr, len(result)))
        return result[0][1]

    def wait_for(self, expr, predicate, timeout=30.0, what=""):
        """Poll expr until predicate(value) holds; return the value."""
        deadline = time.monotonic() + timeout
        value = None
        while True:
            value = self.scalar(expr)
            if value is not None and predicate(value):
                return value
            if time.monotonic() > deadline:
                raise AssertionError("%s: %r is %r after %ss\n%s" % (
                    what or "prometheus", expr, value, timeout, self.log_tail(10)))
            time.sleep(0.5)


def setUpModule():
    global SKIP_REASON, PROM, SENSOR_PORT
    SKIP_REASON = harness.require_environment()
    if SKIP_REASON:
        return
    harness.fixture_module()
    SENSOR_PORT = harness.free_port()
    PROM = Prometheus({"sowatch": ["127.0.0.1:%d" % SENSOR_PORT]}).start()


def tearDownModule():
    global PROM
    if PROM is not None:
        p, PROM = PROM, None
        p.stop()


def metrics_config(ws, port):
    return ws.write("sowatch.yaml", "metrics:\n  listen: 127.0.0.1:%d\n" % port)


class PrometheusHarness(unittest.TestCase):
    """The Prometheus half alone: it starts, scrapes and answers queries
    (here about itself), whatever the sensor does."""

    def setUp(self):
        if SKIP_REASON:
            self.skipTest(SKIP_REASON)

    def test_prometheus_scrapes_itself(self):
        PROM.wait_for('up{job="prometheus"}', lambda v: v == 1, what="self-scrape")
        # The sensor's job is configured and tried (up is 0 while nothing answers there)
        PROM.wait_for('count(up{job="sowatch"})', lambda v: v == 1, what="sowatch job")
        # Its own samples keep coming: the count of appended samples rises
        first = PROM.wait_for("sum(prometheus_tsdb_head_samples_appended_total)",
                              lambda v: v > 0)
        PROM.wait_for("sum(prometheus_tsdb_head_samples_appended_total)", lambda v: v > first,
                      what="samples appended")


class MetricsScraped(unittest.TestCase):
    """One sensor with metrics.listen, scraped by the module's Prometheus."""

    @classmethod
    def setUpClass(cls):
        cls.sensor = None
        if SKIP_REASON:
            return
        cls.cfg_ws = harness.Workspace()
        cls.sensor = harness.Sensor(config=metrics_config(cls.cfg_ws, SENSOR_PORT)).start()

    @classmethod
    def tearDownClass(cls):
        if cls.sensor is not None:
            cls.sensor.stop()
        if not SKIP_REASON:
            cls.cfg_ws.cleanup()

    def setUp(self):
        if SKIP_REASON:
            self.skipTest(SKIP_REASON)
        self.ws = harness.Workspace()
        self.addCleanup(self.ws.cleanup)
        self.base = "http://127.0.0.1:%d" % SENSOR_PORT

    def test_finding_counted_in_prometheus(self):
        """One module load; Prometheus sees sum(sowatch_findings_total) rise
        by at least one (others on the machine may load modules too)."""
        PROM.wait_for('up{job="sowatch"}', lambda v: v == 1, what="sensor scraped")
        PROM.wait_for('sowatch_build_info{job="sowatch"}', lambda v: v == 1)
        PROM.wait_for('sowatch_heartbeat_ok{job="sowatch"}', lambda v: v == 1)
        before = PROM.scalar('sum(sowatch_findings_total{job="sowatch"})') or 0.0

        mod = self.ws.module()
        marker = self.ws.marker()
        r = run_cmd([OPENSSL, "engine", "-t", mod], marker=marker)
        self.assertEqual(read_marker(marker), r.pid, r.output)
        self.sensor.wait_for(for_process(r.pid, mod))

        after = PROM.wait_for('sum(sowatch_findings_total{job="sowatch"})',
                              lambda v: v >= before + 1, what="finding counted")
        self.assertGreaterEqual(after, before + 1)
        reported = PROM.scalar(
            'sum(sowatch_findings_total{job="sowatch",outcome="reported",'
            'category="%s"})' % harness.CATEGORY)
        self.assertGreaterEqual(reported or 0, 1)
        # The kernel's figures came along
        self.assertGreater(PROM.scalar(
            'sowatch_kernel_events_total{job="sowatch",kind="exec"}') or 0, 0)
        self.assertGreater(PROM.scalar('sowatch_libcrypto_probes{job="sowatch"}') or 0, 0)

    def test_exposition_and_health_directly(self):
        status, body = http_get(self.base + "/metrics")
        self.assertEqual(status, 200)
        self.assertIn("# TYPE sowatch_findings_total counter", body)
        self.assertRegex(body, r'(?m)^sowatch_build_info\{version="[^"]+"\} 1$')
        status, body = http_get(self.base + "/healthz")
        self.assertEqual((status, body), (200, "ok\n"))
        self.assertEqual(http_get(self.base + "/nope")[0], 404)


def sensor_fds_of_type(pid, map_type):
    """The sensor's descriptors of BPF maps of map_type (from fdinfo)."""
    fds = []
    for fdinfo in glob.glob("/proc/%d/fdinfo/*" % pid):
        try:
            with open(fdinfo) as f:
                text = f.read()
        except OSError:
            continue
        if re.search(r"^map_type:\s*%d$" % map_type, text, re.M):
            fds.append(int(os.path.basename(fdinfo)))
    return fds


def stop_ring_buffer(pid):
    """What a root attacker can do to blind the sensor without detaching
    anything (its tracepoint links are perf links, which `bpftool link
    detach` cannot detach): take the sensor's ring buffer map
    (pidfd_getfd), map its consumer page (writable by whoever holds the map)
    and move the consumer position past the producer's. The kernel then
    refuses every record (no room), and the reader sees nothing to read."""
    fds = sensor_fds_of_type(pid, BPF_MAP_TYPE_RINGBUF)
    if len(fds) != 1:
        raise AssertionError("sensor holds %d ring buffers, expected 1" % len(fds))
    libc = ctypes.CDLL(None, use_errno=True)
    pidfd = os.pidfd_open(pid)
    try:
        fd = libc.syscall(SYS_PIDFD_GETFD, pidfd, fds[0], 0)
        if fd < 0:
            err = ctypes.get_errno()
            raise OSError(err, "pidfd_getfd: " + os.strerror(err))
    finally:
        os.close(pidfd)
    try:
        page = mmap.PAGESIZE
        consumer = mmap.mmap(fd, page, mmap.MAP_SHARED,
                             mmap.PROT_READ | mmap.PROT_WRITE, offset=0)
        producer = mmap.mmap(fd, page, mmap.MAP_SHARED, mmap.PROT_READ, offset=page)
        prod = struct.unpack_from("<Q", producer, 0)[0]
        struct.pack_into("<Q", consumer, 0, prod + (1 << 40))
        consumer.close()
        producer.close()
    finally:
        os.close(fd)


class HealthWhenKernelStops(unittest.TestCase):
    """A sensor of its own, blinded on purpose: /healthz turns 503 and says
    why. The sensor is broken afterwards and is killed, not stopped (its
    clean stop would rightly complain of the lost heartbeat)."""

    def setUp(self):
        if SKIP_REASON:
            self.skipTest(SKIP_REASON)
        self.ws = harness.Workspace()
        self.addCleanup(self.ws.cleanup)
        self.port = harness.free_port()
        self.sensor = harness.Sensor(config=metrics_config(self.ws, self.port)).start()
        self.addCleanup(self.sensor.crash)
        self.base = "http://127.0.0.1:%d" % self.port

    def test_healthz_503_when_kernel_events_stop(self):
        deadline = time.monotonic() + 10
        while True:
            status, body = http_get(self.base + "/healthz")
            if status == 200 or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        self.assertEqual((status, body), (200, "ok\n"))

        stop_ring_buffer(self.sensor.proc.pid)
        deadline = time.monotonic() + HEALTH_TIMEOUT
        while True:
            status, body = http_get(self.base + "/healthz")
            if status != 200 or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        self.assertEqual(status, 503, "still %d %r after %ss\n%s" % (
            status, body, HEALTH_TIMEOUT, self.sensor.log_tail(20)))
        self.assertRegex(body, r"^no events from the kernel (for \d+ s|since sowatch "
                               r"started)\n$")
        self.sensor.wait_for_log("NO EVENTS FROM THE KERNEL")
        # /metrics tells the same
        status, text = http_get(self.base + "/metrics")
        self.assertEqual(status, 200)
        self.assertIn("\nsowatch_heartbeat_ok 0\n", text)
        self.assertTrue(self.sensor.alive())


if __name__ == "__main__":
    unittest.main()
