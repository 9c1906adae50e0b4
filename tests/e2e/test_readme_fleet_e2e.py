# SPDX-License-Identifier: Apache-2.0
"""The README's fleet example, run as written: the commands and files of
README.md's "A worked example: three servers, two nodes, one collector" and
"Accounts: a node may publish only its own findings", read from the README
itself, so that the test fails when the README drifts.

Each block the test runs is marked in README.md by an HTML comment right
before its fence, invisible once rendered:

    <!-- fleet-example: servers.sh -->
    ```sh
    ...

A `.sh` block runs with /bin/sh -e; a file block (`.yaml`, `.conf`) starts
with a comment naming where it goes (`# /etc/sowatch/sowatch.yaml`). Only
what cannot run as is in a test is changed, mechanically:

* Ports: every port the example uses (README_PORTS) becomes a free loopback
  port, by a table made per test; a port in a block that is not in the table
  fails the test (a new port must be added here, not collide on a busy
  machine).
* Paths: each machine of the example (the servers', the collector's,
  node-a's, node-b's) gets a root of its own in the workspace, and every
  absolute path under /etc or /var in its blocks moves under that root.
* `sowatch` is the binary under test (a `bin/sowatch` link first on PATH).
* A command that runs until it is stopped (`sowatch collect`) is started in
  the background; `sowatch run` is the harness's Sensor with the node's
  configuration file; the second node (and both nodes of the accounts
  example, which are named `node-a` and `node-b`) runs in a UTS namespace
  of its own with that host name.
* The README gives node-a's password and configuration and says node-b's
  are "the same with node-b for node-a": the test makes node-b's so.
* `sowatch nats-init` "run again with other options" is the README's
  command with --max-age 7d for --max-age 30d.

Tests:

* test_blocks (no root needed): every marked block is found and run here,
  and uses only the ports of the table.

* test_worked_example: three servers started by the README's commands,
  ready by its curl check; `sowatch nats-init` prints what the README says
  (and updates the stream when run again); two nodes with the README's
  outputs.nats report a module load (real `openssl engine -t` of an
  untrusted module); `sowatch collect` gathers both findings, `sowatch
  findings list --db CENTRAL` shows both hosts, and the collector stops on
  SIGTERM with the README's summary line.
* test_accounts: the servers with the README's accounts block; the stream
  made by `admin`, nodes node-a and node-b and the collector each logged in
  as its own user with its own inbox prefix; both hosts reach the central
  store; node-a's user may not publish on node-b's subject (a Permissions
  Violation), and a sowatch node named node-b but logged in as node-a
  (node-b stopped) has its finding refused: the servers log the violation,
  the node logs "Not Permitted", the finding waits in its store and never
  reaches the central one. The collector refused nothing.

    SOWATCH_BIN=build/sowatch /usr/bin/python3 tests/e2e/run.py -p test_readme_fleet_e2e.py
"""

import os
import re
import signal
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness  # noqa: E402
from natscluster import (NatsClient, NatsError, fleet_module_setup, load,  # noqa: E402
                         store_made, store_rows, uts_sensor)

README = os.path.join(harness.REPO_ROOT, "README.md")

# The ports of the README's example: three client ports, three cluster ports,
# three monitoring ports. Each becomes a free loopback port in the test.
README_PORTS = (4222, 4223, 4224, 6222, 6223, 6224, 8222, 8223, 8224)

# The blocks the tests run: a block marked in the README but not run here, or
# one run here that the README no longer marks, fails test_blocks.
BLOCKS_RUN = {
    "servers.sh", "nats-init.sh", "node.yaml", "collect.sh", "findings-list.sh",
    "accounts.conf", "servers-accounts.sh", "admin-password.sh", "nats-admin.yaml",
    "nats-init-accounts.sh", "node-a-password.sh", "node-a.yaml", "collector-password.sh",
    "collect.yaml", "collect-accounts.sh",
}

BLOCK = re.compile(r"^(?P<indent> *)<!-- fleet-example: (?P<name>[\w.-]+) -->\n"
                   r"(?P=indent)```[\w-]*\n(?P<body>.*?)\n(?P=indent)```$", re.M | re.S)
PORT = re.compile(r"(?<![\w.-])(\d{4,5})(?![\w-])")
ABSOLUTE = re.compile(r"(?<![\w./-])/(etc|var)/")

SKIP_REASON = None


def setUpModule():
    global SKIP_REASON
    SKIP_REASON = fleet_module_setup()


# --------------------------------------------------------------------------
# The README


def readme_text():
    with open(README, encoding="utf-8") as f:
        return f.read()


def readme_blocks():
    """{name: body} of every marked block, without the list item's indent."""
    blocks = {}
    for m in BLOCK.finditer(readme_text()):
        indent = m.group("indent")
        lines = [line[len(indent):] if line.startswith(indent) else line
                 for line in m.group("body").split("\n")]
        if m.group("name") in blocks:
            raise AssertionError("README.md: two blocks named %s" % m.group("name"))
        blocks[m.group("name")] = "\n".join(lines) + "\n"
    return blocks


def readme_says(pattern):
    """The groups of pattern in the README's prose, whitespace (line breaks,
    a list item's indent) read as single spaces."""
    flat = re.sub(r"\s+", " ", readme_text())
    m = re.search(pattern, flat)
    if not m:
        raise AssertionError("README.md no longer says %r" % pattern)
    return m.groups()


def block_destination(body):
    """The absolute path a file block names in its first line: `# /etc/...`."""
    first = body.split("\n", 1)[0]
    m = re.match(r"# (/\S+)$", first)
    if not m:
        raise AssertionError("a file block must start with `# /PATH`, not %r" % first)
    return m.group(1)


def one_command(body):
    """A block of one command (with `\\` continuations), as one line."""
    lines = [line for line in body.replace("\\\n", " ").split("\n") if line.strip()]
    if len(lines) != 1:
        raise AssertionError("expected one command, got:\n" + body)
    return lines[0]


# --------------------------------------------------------------------------
# The machines of the example, in one workspace


class Example:
    """The README's blocks, a port table, the workspace and `sowatch` on PATH."""

    def __init__(self, test):
        self.test = test
        self.ws = harness.Workspace(prefix="sowatch-e2e-readme-")
        test.addCleanup(self.ws.cleanup)
        self.blocks = readme_blocks()
        taken, self.ports = set(), {}
        for p in README_PORTS:
            while True:
                q = harness.free_port()
                if q not in taken and q not in README_PORTS:
                    break
            taken.add(q)
            self.ports[p] = q
        self.bin = self.ws.path("bin")
        os.mkdir(self.bin)
        os.symlink(harness.sowatch_bin(), os.path.join(self.bin, "sowatch"))
        self.env = harness.base_env({"PATH": self.bin + ":" + harness.SYSTEM_PATH})

    def block(self, name):
        if name not in self.blocks:
            raise AssertionError("README.md has no block marked fleet-example: %s" % name)
        return self.blocks[name]

    def port(self, readme_port):
        return self.ports[readme_port]

    def machine(self, name):
        return Machine(self, name)


class Machine:
    """One machine of the example: its blocks run with paths under its root."""

    def __init__(self, example, name):
        self.example = example
        self.name = name
        self.root = example.ws.path(name)
        os.mkdir(self.root)

    def adapt(self, text):
        def port(m):
            p = int(m.group(1))
            if p not in self.example.ports:
                raise AssertionError("the README's example uses port %d, which the test does "
                                     "not know: add it to README_PORTS" % p)
            return str(self.example.ports[p])
        return ABSOLUTE.sub(lambda m: "%s/%s/" % (self.root, m.group(1)), PORT.sub(port, text))

    def path(self, readme_path):
        return self.adapt(readme_path)

    def sh(self, name, text=None, timeout=120):
        """Run block name (or text) with /bin/sh -e; its output. The output goes
        through a file: a server the block starts in the background keeps it."""
        script = self.adapt(text if text is not None else self.example.block(name))
        log = self.example.ws.path("%s-%s-%s.out" % (self.name, name, harness.rand()))
        with open(log, "wb") as out:
            p = subprocess.run(["/bin/sh", "-ec", script], cwd=self.root, env=self.example.env,
                               stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                               timeout=timeout)
        with open(log, "rb") as f:
            output = f.read().decode("utf-8", "replace")
        if p.returncode != 0:
            raise AssertionError("%s on %s: exit %d\n$ %s\n%s" % (
                name, self.name, p.returncode, script, output))
        return output

    def start_servers(self, name):
        """The block that starts the servers in the background; their pids are
        stopped at the test's end."""
        pids = self.example.ws.path("%s-%s.pids" % (self.name, name))
        script = self.example.block(name) + "jobs -p > %s\n" % pids
        self.sh(name, script)
        with open(pids) as f:
            started = [int(p) for p in f.read().split()]
        self.example.test.assertEqual(len(started), 3, "three servers in the background")
        self.example.test.addCleanup(stop_pids, started)
        return started

    def write(self, name, replace=()):
        """Write file block name where its first line says; its path."""
        body = self.example.block(name)
        for old, new in replace:
            body = body.replace(old, new)
        dest = self.path(block_destination(body))
        os.makedirs(os.path.dirname(dest), exist_ok=True)
        with open(dest, "w") as f:
            f.write(self.adapt(body))
        return dest

    def start(self, name):
        """A block of one command that runs until stopped, in the background."""
        return Background(self, name)


class Background:
    """A command that runs until it is stopped (`sowatch collect`), its output
    in a file."""

    def __init__(self, machine, name):
        self.command = machine.adapt(one_command(machine.example.block(name)))
        self.log = machine.example.ws.path("%s-%s.log" % (machine.name, name))
        self.logf = open(self.log, "wb")
        self.proc = subprocess.Popen(["/bin/sh", "-c", "exec " + self.command], cwd=machine.root,
                                     env=machine.example.env, stdin=subprocess.DEVNULL,
                                     stdout=self.logf, stderr=subprocess.STDOUT)
        machine.example.test.addCleanup(self.stop)

    def text(self):
        with open(self.log, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def wait_log(self, what, timeout=60):
        deadline = time.monotonic() + timeout
        while what not in self.text():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise AssertionError("%s: no %r:\n%s" % (self.command, what, self.text()[-3000:]))
            time.sleep(0.1)

    def stop(self):
        """SIGTERM; the exit status."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.logf.close()
        return self.proc.returncode


def stop_pids(pids, timeout=20.0):
    """SIGTERM the servers a block started (not our children: poll /proc)."""
    for pid in pids:
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
    deadline = time.monotonic() + timeout
    for pid in pids:
        while os.path.exists("/proc/%d" % pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        if os.path.exists("/proc/%d" % pid):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


# --------------------------------------------------------------------------
# Checks a user makes


def wait_ready(machine, timeout=60):
    """The README's readiness check: its curl on each monitoring port says ok."""
    curl, readme_port, ok, first, last = readme_says(
        r"`(curl -s http://127\.0\.0\.1:(\d+)/healthz)` says `([^`]+)` on each monitoring "
        r"port \((\d+) to (\d+)\)")
    for p in range(int(first), int(last) + 1):
        command = curl.replace(readme_port, str(p))
        deadline = time.monotonic() + timeout
        while True:
            said = machine.sh("curl", command + " || true").strip()
            if said == ok:
                break
            if time.monotonic() > deadline:
                raise AssertionError("%s says %r, not %r" % (machine.adapt(command), said, ok))
            time.sleep(0.2)


def check_nats_init(test, output, verb="created"):
    """What `sowatch nats-init` prints, as the README shows it."""
    said, = readme_says(r"It prints what it did: `(created stream [^`]*)`")
    said = said.rsplit(", ...", 1)[0]
    head, _, placement = said.partition(" (on ")
    test.assertTrue(output.startswith(head.replace("created", verb, 1) + " (on "), output)
    got = re.search(r" \(on ([^;]+); leader ([^)]+)\)", output)
    want = re.match(r"([^;]+); leader ([^)]+)\)", placement)
    test.assertIsNotNone(got, output)
    test.assertEqual(sorted(got.group(1).split(", ")), sorted(want.group(1).split(", ")))
    test.assertIn(got.group(2), got.group(1).split(", "))
    # "findings kept 30 days, a duplicate window of 20 minutes"
    test.assertIn("max age 30d, duplicate window 20m", output)


def check_stop_line(test, collector):
    """The collector's last line, as the README shows it (N for a number)."""
    said, = readme_says(r"It stops on SIGINT or SIGTERM with `(collect: stopping: [^`]*)`")
    test.assertEqual(collector.stop(), 0, collector.text()[-3000:])
    pattern = re.escape(said).replace("N", r"(\d+)")
    m = re.search(pattern, collector.text())
    test.assertIsNotNone(m, "no %r in:\n%s" % (said, collector.text()[-3000:]))
    return [int(n) for n in m.groups()]


def wait_central(db, ids, timeout=120):
    """{id: host} of ids in the central store once all are there."""
    deadline = time.monotonic() + timeout
    while True:
        have = {}
        if store_made(db):
            have = dict(store_rows(db, "SELECT id, host FROM findings WHERE id IN (%s)"
                                   % ",".join("?" * len(ids)), tuple(ids)))
        if set(ids) <= set(have) or time.monotonic() > deadline:
            return have
        time.sleep(0.3)


def wait_delivered(test, sensors, timeout=30):
    """Each node learnt that JetStream holds its findings: none pending in its
    store (a node that never gets its acknowledgement sends it again and again)."""
    sql = "SELECT count(*) FROM deliveries WHERE output = 'nats' AND state = 'pending'"
    for s in sensors:
        deadline = time.monotonic() + timeout
        while store_rows(s.db, sql)[0][0] and time.monotonic() < deadline:
            time.sleep(0.3)
        test.assertEqual(store_rows(s.db, sql)[0][0], 0, "%s: findings still pending\n%s"
                         % (s.config, s.log_tail(20)))


def listed_hosts(output):
    """The HOST column of `sowatch findings list`: ID, TIME, HOST, ..."""
    lines = output.splitlines()
    if not lines or lines[0].split()[:3] != ["ID", "TIME", "HOST"]:
        raise AssertionError("no table with a HOST column:\n" + output)
    return {line.split()[2] for line in lines[1:] if re.match(r"[0-9a-f]{12} ", line)}


# --------------------------------------------------------------------------


class ReadmeBlocks(unittest.TestCase):
    """The marked blocks, without root: each is found, and run by a test below."""

    def test_blocks(self):
        blocks = readme_blocks()
        self.assertEqual(set(blocks), BLOCKS_RUN)
        for name, body in blocks.items():
            if not name.endswith(".sh"):
                self.assertTrue(block_destination(body).startswith(("/etc/", "/var/")), name)
            ports = {int(p) for p in PORT.findall(body)}
            self.assertLessEqual(ports, set(README_PORTS), name)


class ReadmeFleet(unittest.TestCase):

    def setUp(self):
        if SKIP_REASON:
            self.skipTest(SKIP_REASON)
        self.example = Example(self)
        self.ws = self.example.ws

    def test_worked_example(self):
        ex = self.example
        servers, collector_host = ex.machine("servers"), ex.machine("collector")
        node_a, node_b = ex.machine("node-a"), ex.machine("node-b")

        # 1. Three servers; ready when the README's curl says so.
        servers.start_servers("servers.sh")
        wait_ready(servers)
        # 2. The stream; run again with other options, it is updated.
        out = collector_host.sh("nats-init.sh")
        check_nats_init(self, out)
        again = one_command(ex.block("nats-init.sh")).replace("--max-age 30d", "--max-age 7d")
        out = collector_host.sh("nats-init.sh (again)", again + "\n")
        self.assertIn("updated stream SOWATCH:", out)
        self.assertIn("max age 7d, duplicate window 20m", out)
        # 3. Two nodes: this host, and node-b in a UTS namespace of its own.
        a = uts_sensor(self, self.ws, node_a.write("node.yaml"))
        b = uts_sensor(self, self.ws, node_b.write("node.yaml"), host="node-b")
        # 4. The collector.
        collector = collector_host.start("collect.sh")
        collector.wait_log("collect: reading stream")

        ids = load(self.ws, [a, b], "readme")
        central = collector_host.path("/var/lib/sowatch/collect.db")
        have = wait_central(central, ids)
        self.assertEqual(have, {ids[0]: os.uname().nodename, ids[1]: "node-b"})
        wait_delivered(self, [a, b])
        hosts = listed_hosts(collector_host.sh("findings-list.sh"))
        self.assertIn("node-b", hosts)
        self.assertIn(os.uname().nodename[:11], {h[:11] for h in hosts})

        received, stored, _already, refused, _again = check_stop_line(self, collector)
        self.assertGreaterEqual(stored, 2)
        self.assertGreaterEqual(received, stored)
        self.assertEqual(refused, 0)

    def test_accounts(self):
        ex = self.example
        servers, collector_host = ex.machine("servers"), ex.machine("collector")
        node_a, node_b = ex.machine("node-a"), ex.machine("node-b")

        # 1. The servers with the accounts block.
        servers.write("accounts.conf")
        servers.start_servers("servers-accounts.sh")
        wait_ready(servers)
        # 2. The stream, made by admin.
        collector_host.sh("admin-password.sh")
        collector_host.write("nats-admin.yaml")
        check_nats_init(self, collector_host.sh("nats-init-accounts.sh"))
        # 3. The nodes, each its own user; node-b's as the README says, node-a's with
        # node-b for node-a.
        node_a.sh("node-a-password.sh")
        config_a = node_a.write("node-a.yaml")
        b_for_a = [("node-a", "node-b")]
        node_b.sh("node-a-password.sh", ex.block("node-a-password.sh").replace("node-a", "node-b"))
        config_b = node_b.write("node-a.yaml", b_for_a)
        for path in (config_a, config_b):
            self.assertNotIn("change-me", open(path).read(), "no password in the YAML")
        a = uts_sensor(self, self.ws, config_a, host="node-a")
        b = uts_sensor(self, self.ws, config_b, host="node-b")
        # 4. The collector.
        collector_host.sh("collector-password.sh")
        collector_host.write("collect.yaml")
        collector = collector_host.start("collect-accounts.sh")
        collector.wait_log("collect: reading stream")

        ids = load(self.ws, [a, b], "readme-accounts")
        central = collector_host.path("/var/lib/sowatch/collect.db")
        self.assertEqual(wait_central(central, ids), {ids[0]: "node-a", ids[1]: "node-b"})
        wait_delivered(self, [a, b])
        hosts = listed_hosts(collector_host.sh("findings-list.sh"))
        self.assertTrue({"node-a", "node-b"} <= hosts, hosts)

        # node-a's user, by hand: node-b's subjects are refused.
        with open(node_a.path("/etc/sowatch/nats-password")) as f:
            password = f.read().strip()
        nc = NatsClient("nats://127.0.0.1:%d" % ex.port(4222), user="node-a",
                        password=password, inbox_prefix="_INBOX_node-a")
        self.addCleanup(nc.close)
        with self.assertRaises(NatsError) as cm:
            nc.request("sowatch.findings.node-b.critical", b"{}", timeout=2.0)
        self.assertIn('Permissions Violation for Publish to "sowatch.findings.node-b.critical"',
                      str(cm.exception))

        # A sowatch node named node-b that logs in as node-a (node-b stopped: a finding's
        # id depends on its host, so node-b would publish the same one): its finding is
        # refused and waits in its own store; node-a's of the same load arrives.
        b.stop()
        b.proc = None  # stopped once, not again at cleanup
        impostor_host = ex.machine("impostor")
        impostor_host.sh("node-a-password.sh")
        impostor = uts_sensor(self, self.ws, impostor_host.write("node-a.yaml"), host="node-b")
        ids = load(self.ws, [a, impostor], "readme-impostor")
        self.assertEqual(wait_central(central, ids[:1]), {ids[0]: "node-a"})
        deadline = time.monotonic() + 30
        while True:
            rows = store_rows(impostor.db, "SELECT state, attempts, last_error FROM deliveries "
                              "WHERE output = 'nats' AND finding_id = ?", (ids[1],))
            if rows and rows[0][1] >= 1 or time.monotonic() > deadline:
                break
            time.sleep(0.3)
        self.assertEqual(len(rows), 1)
        state, attempts, error = rows[0]
        self.assertEqual(state, "pending", rows)
        self.assertGreaterEqual(attempts, 1, rows)
        self.assertIn("publish on sowatch.findings.node-b.", error)
        self.assertEqual(wait_central(central, ids[1:], timeout=1), {})
        impostor.wait_for_log("Not Permitted")
        server_logs = "".join(open(os.path.join(servers.path("/var/lib/sowatch-nats"), "n%d.log"
                                                % i), errors="replace").read()
                              for i in (1, 2, 3))
        refused = [line for line in server_logs.splitlines()
                   if 'Publish Violation - User "node-a", Subject "sowatch.findings.node-b.'
                   in line and "python-test" not in line]
        self.assertTrue(refused, "the servers logged no refusal of the impostor")

        _received, stored, _already, refused, _again = check_stop_line(self, collector)
        self.assertGreaterEqual(stored, 3)  # two of the first load, node-a's of the second
        self.assertEqual(refused, 0)


if __name__ == "__main__":
    unittest.main()
