# SPDX-License-Identifier: Apache-2.0
"""The syslog output against Debian's real rsyslog: one rsyslogd of our own
(never the system's) listens on a private unix datagram socket (imuxsock),
a loopback UDP port (imudp) and a loopback TCP port (imtcp, octet-counted
framing), and writes what each input parses to its own file with the
RSYSLOG_SyslogProtocol23Format template, that is, RFC 5424 again.

RsyslogSetup proves the receiver's configuration with hand-made messages
(it needs no sensor). SyslogDelivery makes a module load under a sensor
whose outputs.syslog points at each input in turn, and checks that rsyslog
parsed the finding as sent: PRI local3.crit, VERSION 1, APP-NAME sowatch,
MSGID finding, the finding id in [finding@32473 id=...], and a MSG that is
the finding's JSON line.

    /usr/bin/python3 tests/e2e/run.py -k syslog
"""

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness  # noqa: E402
from harness import OPENSSL, for_process, read_marker, run_cmd  # noqa: E402

RSYSLOGD = "/usr/sbin/rsyslogd"
LOCAL3 = 19
SEVERITY = {"CRITICAL": 2, "HIGH": 3, "MEDIUM": 4, "LOW": 5}
SD_ID = "finding@32473"
BOM = b"\xef\xbb\xbf"
TRANSPORTS = ("unix", "udp", "tcp")

# What RSYSLOG_SyslogProtocol23Format writes:
# <%PRI%>1 %TIMESTAMP:::date-rfc3339% %HOSTNAME% %APP-NAME% %PROCID% %MSGID%
# %STRUCTURED-DATA% %msg%\n
HEADER = re.compile(
    rb"^<(\d{1,3})>1 (\S+) (\S+) (\S+) (\S+) (\S+) ")

# SD-NAME: printable US-ASCII but '=', SP, ']' and '"'
SD_NAME = re.compile(rb'[!#-<>-\\^-~]{1,32}')

SKIP_REASON = None


def setUpModule():
    global SKIP_REASON
    SKIP_REASON = harness.require_environment()
    if SKIP_REASON:
        return
    harness.fixture_module()


# --------------------------------------------------------------------------
# rsyslog


def free_port(kind):
    """A loopback port nobody uses right now (bound to port 0, closed)."""
    s = socket.socket(socket.AF_INET, kind)
    try:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
    finally:
        s.close()


class Rsyslog:
    """rsyslogd -n with our configuration in a private directory.

    .address[transport] is the sowatch address of each input and
    .lines(transport) what rsyslog wrote for it so far."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="sowatch-rsyslog-")
        # rsyslogd runs as root; the sensor (root too) writes to its socket
        os.chmod(self.dir, 0o755)
        self.sock = os.path.join(self.dir, "log.sock")
        self.proc = None
        self.address = {}

    def path(self, name):
        return os.path.join(self.dir, name)

    def _conf(self, udp_port, tcp_port):
        d = self.dir
        return """\
# The size first: inputs size their buffers when they are loaded
global(maxMessageSize="65536" workDirectory="{d}")
module(load="imuxsock" SysSock.Use="off")
module(load="imudp")
module(load="imtcp")

# The regular parser chain (RFC 5424 first), not imuxsock's syslog(3) one
# (that one takes the whole header as text); and the event's time, not the
# time the message came in.
input(type="imuxsock" Socket="{sock}" UseSpecialParser="off"
      IgnoreTimestamp="off" UseSysTimeStamp="off"
      CreatePath="off" RateLimit.Interval="0" ruleset="unix")
input(type="imudp" address="127.0.0.1" port="{udp}" ruleset="udp")
input(type="imtcp" address="127.0.0.1" port="{tcp}" ruleset="tcp")

ruleset(name="unix") {{
    action(type="omfile" file="{d}/unix.log" template="RSYSLOG_SyslogProtocol23Format")
}}
ruleset(name="udp") {{
    action(type="omfile" file="{d}/udp.log" template="RSYSLOG_SyslogProtocol23Format")
}}
ruleset(name="tcp") {{
    action(type="omfile" file="{d}/tcp.log" template="RSYSLOG_SyslogProtocol23Format")
}}
# rsyslogd's own messages (a port it could not bind, a frame it dropped)
action(type="omfile" file="{d}/internal.log")
""".format(d=d, sock=self.sock, udp=udp_port, tcp=tcp_port)

    def start(self):
        for attempt in range(5):
            udp, tcp = free_port(socket.SOCK_DGRAM), free_port(socket.SOCK_STREAM)
            conf = self.path("rsyslog.conf")
            with open(conf, "w") as f:
                f.write(self._conf(udp, tcp))
            self.address = {
                "unix": "unix://" + self.sock,
                "udp": "udp://127.0.0.1:%d" % udp,
                "tcp": "tcp://127.0.0.1:%d" % tcp,
            }
            self.stderr = open(self.path("rsyslogd.out"), "ab")
            self.proc = subprocess.Popen(
                [RSYSLOGD, "-n", "-f", conf, "-i", self.path("rsyslogd.pid")],
                stdin=subprocess.DEVNULL, stdout=self.stderr,
                stderr=subprocess.STDOUT)
            if self._ready():
                return self
            self.stop()  # a port taken meanwhile: new ports, new daemon
        raise AssertionError("rsyslogd not ready after 5 attempts:\n"
                             + self.log_tail())

    def _ready(self, timeout=10.0):
        """Every input answers: a probe on each reaches its file."""
        deadline = time.monotonic() + timeout
        probe = "probe-" + harness.rand()
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                return False
            if os.path.exists(self.sock):
                break
            time.sleep(0.05)
        sent = set()
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                return False
            for t in TRANSPORTS:
                if t in sent:
                    continue
                try:
                    self.send_raw(t, message(probe + "-" + t, b"{}"))
                    sent.add(t)
                except OSError:
                    pass
            if all(any(b"%s-%s" % (probe.encode(), t.encode()) in ln
                       for ln in self.lines(t)) for t in TRANSPORTS):
                return True
            time.sleep(0.1)
        return False

    def send_raw(self, transport, msg):
        """Send one RFC 5424 message as sowatch frames it."""
        if transport == "unix":
            with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as s:
                s.sendto(msg, self.sock)
        elif transport == "udp":
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
                s.sendto(msg, ("127.0.0.1", int(self.address["udp"].rsplit(":", 1)[1])))
        else:
            port = int(self.address["tcp"].rsplit(":", 1)[1])
            with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
                s.sendall(b"%d %s" % (len(msg), msg))

    def lines(self, transport):
        try:
            with open(self.path(transport + ".log"), "rb") as f:
                return f.read().split(b"\n")[:-1]
        except FileNotFoundError:
            return []

    def wait_line(self, transport, needle, timeout=15.0):
        """The first line of transport's file containing needle (bytes)."""
        deadline = time.monotonic() + timeout
        while True:
            for ln in self.lines(transport):
                if needle in ln:
                    return ln
            if time.monotonic() > deadline:
                raise AssertionError("rsyslog wrote no %s line with %r within %ss:\n%s"
                                     % (transport, needle, timeout, self.log_tail()))
            time.sleep(0.1)

    def log_tail(self):
        out = []
        for name in ("rsyslogd.out", "internal.log", "unix.log", "udp.log", "tcp.log"):
            try:
                with open(self.path(name), "rb") as f:
                    text = f.read().decode("utf-8", "replace")
            except FileNotFoundError:
                continue
            out.append("--- %s ---\n%s" % (name, "\n".join(text.splitlines()[-20:])))
        return "\n".join(out) or "(no rsyslog output)"

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None
        if getattr(self, "stderr", None):
            self.stderr.close()
            self.stderr = None

    def cleanup(self):
        self.stop()
        if harness.keep_artifacts():
            sys.stderr.write("keeping rsyslog files in %s\n" % self.dir)
        else:
            shutil.rmtree(self.dir, ignore_errors=True)


def message(finding_id, json_bytes, severity="CRITICAL", facility=LOCAL3):
    """An RFC 5424 message the way sowatch writes one (outputs/syslog.c)."""
    sd_id = finding_id.replace("\\", "\\\\").replace('"', '\\"').replace("]", "\\]")
    bom = b"" if all(b < 0x80 for b in json_bytes) else BOM
    return (b"<%d>1 2026-01-02T03:04:05.123456Z host-x sowatch 4242 finding "
            b"[%s id=\"%s\"] " % (facility * 8 + SEVERITY.get(severity, 6),
                                  SD_ID.encode(), sd_id.encode())) + bom + json_bytes


def parse_sd(data):
    """RFC 5424 STRUCTURED-DATA at the start of data: ({sd-id: {name:
    value}}, the rest after the SP)."""
    if data.startswith(b"- "):
        return {}, data[2:]
    elements, i = {}, 0
    while data[i:i + 1] == b"[":
        m = SD_NAME.match(data, i + 1)
        if not m:
            raise AssertionError("bad SD-ID: %r" % data[:300])
        sd_id, i, params = m.group(0).decode(), m.end(), {}
        while data[i:i + 1] == b" ":
            m = SD_NAME.match(data, i + 1)
            if not m or data[m.end():m.end() + 2] != b"=\"":
                raise AssertionError("bad SD-PARAM: %r" % data[:300])
            name, i, value = m.group(0).decode(), m.end() + 2, bytearray()
            while data[i:i + 1] != b"\"":
                if data[i:i + 1] == b"\\" and data[i + 1:i + 2] in (b"\"", b"\\", b"]"):
                    i += 1
                value += data[i:i + 1]
                i += 1
            params[name] = value.decode("utf-8")
            i += 1
        if data[i:i + 1] != b"]":
            raise AssertionError("bad structured data: %r" % data[:300])
        elements[sd_id] = params
        i += 1
    if data[i:i + 1] != b" ":
        raise AssertionError("no SP after the structured data: %r" % data[:300])
    return elements, data[i + 1:]


def parse_line(line):
    """One line of RSYSLOG_SyslogProtocol23Format as a dict."""
    m = HEADER.match(line)
    if not m:
        raise AssertionError("not an RFC 5424 line: %r" % line[:300])
    sd, msg = parse_sd(line[m.end():])
    return {
        "pri": int(m.group(1)),
        "timestamp": m.group(2).decode(),
        "hostname": m.group(3).decode(),
        "app": m.group(4).decode(),
        "procid": m.group(5).decode(),
        "msgid": m.group(6).decode(),
        "sd": sd,
        "msg": msg,
    }


def msg_json(msg):
    """MSG as JSON; a leading BOM (RFC 5424's mark of a UTF-8 MSG) is not
    part of the JSON."""
    if msg.startswith(BOM):
        msg = msg[len(BOM):]
    return json.loads(msg.decode("utf-8", "strict"))


# --------------------------------------------------------------------------
# The receiver alone


class RsyslogSetup(unittest.TestCase):
    """rsyslog parses a message framed and formatted as sowatch sends it,
    on each input: the configuration the delivery tests rely on is right."""

    @classmethod
    def setUpClass(cls):
        if not os.access(RSYSLOGD, os.X_OK):
            raise AssertionError("%s is missing (apt-get install rsyslog)" % RSYSLOGD)
        cls.rsyslog = Rsyslog().start()

    @classmethod
    def tearDownClass(cls):
        cls.rsyslog.cleanup()

    def roundtrip(self, transport, json_bytes, fid=None):
        fid = fid or "f" + harness.rand(31)
        self.rsyslog.send_raw(transport, message(fid, json_bytes))
        needle = b"id=\"%s\"" % fid.replace("\\", "\\\\").replace(
            '"', '\\"').replace("]", "\\]").encode()
        return parse_line(self.rsyslog.wait_line(transport, needle)), fid

    def check(self, transport, json_bytes, fid=None):
        rec, fid = self.roundtrip(transport, json_bytes, fid)
        self.assertEqual(rec["pri"], LOCAL3 * 8 + 2)
        self.assertEqual(rec["app"], "sowatch")
        self.assertEqual(rec["procid"], "4242")
        self.assertEqual(rec["msgid"], "finding")
        self.assertEqual(rec["hostname"], "host-x")
        self.assertTrue(rec["timestamp"].startswith("2026-01-02T03:04:05.123456"),
                        rec["timestamp"])
        self.assertEqual(rec["sd"], {SD_ID: {"id": fid}})
        self.assertEqual(msg_json(rec["msg"]), json.loads(json_bytes))
        return rec

    def test_ascii(self):
        body = json.dumps({"finding": {"name": "x", "severity": "CRITICAL"},
                           "resource": {"n": [1, 2]}},
                          separators=(",", ":")).encode()
        for t in TRANSPORTS:
            with self.subTest(transport=t):
                rec = self.check(t, body)
                self.assertEqual(rec["msg"], body)

    def test_utf8_after_bom(self):
        """A non-ASCII line goes after a BOM; rsyslog keeps the BOM in msg."""
        body = json.dumps({"finding": {"path": "/tmp/é/模块.so"}},
                          ensure_ascii=False, separators=(",", ":")).encode()
        for t in TRANSPORTS:
            with self.subTest(transport=t):
                rec = self.check(t, body)
                self.assertEqual(rec["msg"], BOM + body)

    def test_escaped_id(self):
        for t in TRANSPORTS:
            with self.subTest(transport=t):
                self.check(t, b"{}", fid='a"b]c\\d-' + harness.rand())

    def test_large_message(self):
        """60 kB of finding: maxMessageSize lets it through whole."""
        body = json.dumps({"finding": {"pad": "x" * 60000}}).encode()
        for t in TRANSPORTS:
            with self.subTest(transport=t):
                rec = self.check(t, body)
                self.assertEqual(rec["msg"], body)


# --------------------------------------------------------------------------
# The sensor's syslog output


class SyslogDelivery(unittest.TestCase):
    maxDiff = None

    @classmethod
    def setUpClass(cls):
        cls.rsyslog = None
        if SKIP_REASON:
            return
        cls.rsyslog = Rsyslog().start()

    @classmethod
    def tearDownClass(cls):
        if cls.rsyslog:
            cls.rsyslog.cleanup()

    def setUp(self):
        if SKIP_REASON:
            self.skipTest(SKIP_REASON)
        self.ws = harness.Workspace()
        self.addCleanup(self.ws.cleanup)

    def delivered(self, transport):
        config = self.ws.write("sowatch.yaml", (
            "outputs:\n"
            "  syslog:\n"
            "    address: %s\n"
            "    facility: local3\n") % self.rsyslog.address[transport])
        mod = self.ws.module()
        marker = self.ws.marker()
        with harness.Sensor(config=config) as sensor:
            r = run_cmd([OPENSSL, "engine", "-t", mod], marker=marker)
            self.assertEqual(read_marker(marker), r.pid,
                             "the module's constructor did not run:\n" + r.output)
            fd = sensor.wait_for(for_process(r.pid, mod))
            fid = fd.finding_id()
            self.assertTrue(fid, fd.f.get("name"))
            line = self.rsyslog.wait_line(transport, b"id=\"%s\"" % fid.encode(),
                                          timeout=30)
        rec = parse_line(line)
        self.assertEqual(fd.f.get("severity"), "CRITICAL")
        self.assertEqual(rec["pri"], LOCAL3 * 8 + 2)  # local3.crit
        self.assertEqual(rec["app"], "sowatch")
        self.assertEqual(rec["msgid"], "finding")
        self.assertEqual(rec["sd"], {SD_ID: {"id": fid}})
        self.assertEqual(rec["hostname"], socket.gethostname())
        self.assertTrue(rec["procid"].isdigit(), rec["procid"])
        self.assertRegex(rec["timestamp"],
                         r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}(Z|[+-]00:00)$")
        # MSG is the JSONL line (at least once: a retry may repeat it, unchanged)
        self.assertEqual(msg_json(rec["msg"]), harness.parse_line(fd.raw))

    def test_unix(self):
        self.delivered("unix")

    def test_udp(self):
        self.delivered("udp")

    def test_tcp(self):
        self.delivered("tcp")


if __name__ == "__main__":
    unittest.main()
