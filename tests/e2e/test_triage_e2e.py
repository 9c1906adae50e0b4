# SPDX-License-Identifier: Apache-2.0
"""End-to-end tests of what a responder works with: the findings store and
the `sowatch findings` commands, container attribution in the layouts of
docker, containerd on Kubernetes and CRI-O, the Added Library Loaded
detector on an overlay-rooted container, and mute rules.

Real sensor, real runc containers, real openssl. Each test uses its own
store and picks out its own findings by unique module names.
"""

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import container  # noqa: E402
import harness  # noqa: E402
from harness import for_module, run_cmd  # noqa: E402

SKIP_REASON = None


def setUpModule():
    global SKIP_REASON
    SKIP_REASON = harness.require_environment() or container.runc_available()
    if SKIP_REASON and harness.in_ci():
        raise RuntimeError("CI is set, refusing to skip: " + SKIP_REASON)
    if not SKIP_REASON:
        harness.fixture_module()
        harness.fixture_loader()


def findings_cli(db, *args):
    """`sowatch findings ARGS --db DB`: (returncode, stdout, stderr)."""
    p = subprocess.run([harness.sowatch_bin(), "findings"] + list(args) + ["--db", db],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
    return (p.returncode, p.stdout.decode("utf-8", "strict"),
            p.stderr.decode("utf-8", "replace"))


def findings_json(db, *args):
    """The objects `sowatch findings ARGS --json` prints, strictly parsed."""
    rc, out, err = findings_cli(db, *(list(args) + ["--json"]))
    assert rc == 0, (rc, out, err)
    return [harness.parse_line(line.encode()) for line in out.splitlines() if line]


def finding_id(fd):
    return fd["finding"]["name"].rsplit("/", 1)[1]


def lib_path(fd):
    return fd["finding"]["processes"][0]["libraries"][0]["path"]


class TriageTest(unittest.TestCase):
    maxDiff = None

    def setUp(self):
        if SKIP_REASON:
            self.skipTest(SKIP_REASON)
        self.ws = harness.Workspace()
        self.addCleanup(self.ws.cleanup)
        self.db = self.ws.path("findings.db")
        self.sensors = []

    def start_sensor(self, **kw):
        s = harness.Sensor(db=self.db, **kw).start()
        self.sensors.append(s)
        self.addCleanup(lambda: s.proc.poll() is None and s.stop())
        return s

    def load_in(self, ctr, mod, linger=False):
        """openssl engine -t MODULE in a running container. linger: an openssl
        that stays a second after loading (reading a pipe), so that its
        cgroup is still there to read on a loaded machine: the container
        of a process gone before its exec is handled is unknown (README,
        Known limitations)."""
        argv = ["openssl", "engine", "-t", mod]
        if linger:
            argv = ["/bin/sh", "-c", 'sleep 1 | exec openssl dgst -engine "$1" -sha256',
                    "sh", mod]
        r = ctr.exec(argv)
        self.assertIsNotNone(r.pid, r.output)
        return mod, r


class TestStoreAndRelated(TriageTest):

    def check_layout(self, layout):
        sensor = self.start_sensor()
        # The modules exist before the containers start: only the OpenSSL detector
        # speaks (a file added later would also be an Added Library finding).
        mod_a1, mod_a2, mod_b = (self.ws.module(stem=s) for s in ("a1", "a2", "b"))
        with container.Container(self.ws.dir, layout=layout, name="web") as a, \
                container.Container(self.ws.dir, layout=layout, name="db") as b:
            self.load_in(a, mod_a1, linger=True)
            fd_a1 = sensor.wait_for(for_module(mod_a1))
            time.sleep(1.1)  # a second apart: offsets must show it
            self.load_in(a, mod_a2, linger=True)
            self.load_in(b, mod_b, linger=True)
            fd_a2 = sensor.wait_for(for_module(mod_a2))
            fd_b = sensor.wait_for(for_module(mod_b))
            ids = {finding_id(fd) for fd in (fd_a1, fd_a2, fd_b)}
            self.assertEqual(len(ids), 3)

            # Attribution: each names its container, as the runtime knows it.
            for fd, ctr in ((fd_a1, a), (fd_a2, a), (fd_b, b)):
                f = fd["finding"]
                self.assertEqual(f["sourceProperties"]["containerId"], ctr.id)
                self.assertEqual(fd["resource"]["type"], "container")
                c = f["containers"][0]
                if ctr.identity.get("container"):
                    self.assertEqual(c["name"], ctr.identity["container"])
                if ctr.identity.get("image"):
                    self.assertEqual(c.get("uri"), ctr.identity["image"])
                if ctr.identity.get("pod"):
                    pod = f["kubernetes"]["pods"][0]
                    self.assertEqual(pod["name"], ctr.identity["pod"])
                    self.assertEqual(pod["ns"], ctr.identity["namespace"])
                self.assertRegex(c.get("createTime", ""), harness.RFC3339_UTC)

            # Crash right after the last finding was printed: nothing is lost.
            sensor.crash()

        related = findings_json(self.db, "related", finding_id(fd_a1), "--window", "10m")
        related_ids = [finding_id(fd) for fd in related]
        self.assertIn(finding_id(fd_a2), related_ids)
        self.assertNotIn(finding_id(fd_b), related_ids)
        self.assertNotIn(finding_id(fd_a1), related_ids)
        rc, out, err = findings_cli(self.db, "related", finding_id(fd_a1))
        self.assertEqual(rc, 0, err)
        row = [line for line in out.splitlines()
               if finding_id(fd_a2)[:12] in line]
        self.assertEqual(len(row), 1, out)
        self.assertRegex(row[0], r"\+\d+s|\+\d+m")

        # Restart on the same store: still exactly these three, no duplicates.
        self.start_sensor()
        ours = [fd for fd in findings_json(self.db, "list", "--all")
                if os.path.dirname(lib_path(fd)) == self.ws.dir]
        self.assertEqual(sorted(finding_id(fd) for fd in ours), sorted(ids))
        related = findings_json(self.db, "related", finding_id(fd_a1))
        self.assertIn(finding_id(fd_a2), [finding_id(fd) for fd in related])

    def test_docker_layout(self):
        self.check_layout("docker")

    def test_containerd_kubernetes_layout(self):
        self.check_layout("containerd")

    def test_crio_layout(self):
        self.check_layout("crio")

    def test_stored_but_unwritten_is_written_at_next_start(self):
        """The output failed (a full disk): the finding is in the store, and the
        next start writes it."""
        sensor = self.start_sensor(args=["--jsonl", "/dev/full"])
        mod = self.ws.module()
        r = run_cmd(["openssl", "engine", "-t", mod])
        deadline = time.time() + 10
        stored = []
        while not stored and time.time() < deadline:
            time.sleep(0.2)
            rc, out, err = findings_cli(self.db, "list", "--json")
            stored = [x for x in out.splitlines() if mod in x]
        self.assertEqual(len(stored), 1, "not stored")
        sensor.stop()
        self.assertIn("output jsonl: cannot deliver now (cannot write to /dev/full",
                      sensor.final_log)
        self.assertRegex(sensor.final_log, r"; [1-9]\d* deliveries still pending \(kept")
        again = self.start_sensor()
        fd = again.wait_for(harness.for_process(r.pid, mod))
        self.assertEqual(fd["finding"]["severity"], "CRITICAL")
        again.stop()
        self.assertIn("; 0 deliveries still pending", again.final_log)
        # Written once: a third start has nothing left to write.
        third = self.start_sensor()
        harness.canary(third, self.ws)
        self.assertEqual([x for x in third.findings() if lib_path(x) == mod], [])

    def test_show_answers_the_review_questions(self):
        sensor = self.start_sensor()
        mod = self.ws.module(stem="shown")
        with container.Container(self.ws.dir, layout="containerd", name="api") as a:
            self.load_in(a, mod)
            fd = sensor.wait_for(for_module(mod))
        rc, out, err = findings_cli(self.db, "show", finding_id(fd))
        self.assertEqual(rc, 0, err)
        f = fd["finding"]
        # What was detected, the program binary and its arguments, the module
        # and its hash, the affected resource, the container, then the JSON.
        for text in (f["category"], "/usr/bin/openssl", mod,
                     f["processes"][0]["libraries"][0]["sha256"],
                     fd["resource"]["name"], fd["resource"]["project_display_name"],
                     a.identity["container"], a.identity["pod"], a.identity["namespace"],
                     a.id, "JSON"):
            self.assertIn(text, out)
        self.assertIn("openssl engine -t " + mod, out)
        shown = json.loads(out[out.index("\n{") + 1:]) if "\n{" in out else None
        self.assertEqual(shown, fd)

        # The host it came from: in the finding, in show, and as list's HOST column
        # and --host filter (a fleet's central store holds many hosts' findings).
        host = socket.gethostname() or "localhost"
        self.assertEqual(f["sourceProperties"]["host"], host)
        self.assertRegex(out, r"(?m)^  host +%s$" % re.escape(host))
        rc, out, err = findings_cli(self.db, "list", "--host", host)
        self.assertEqual(rc, 0, err)
        header = out.splitlines()[0].split()
        self.assertEqual(header[:4], ["ID", "TIME", "HOST", "SEVERITY"], out)
        (row,) = [line for line in out.splitlines() if line.startswith(finding_id(fd)[:12])]
        if len(host) <= 24 and host.isprintable() and " " not in host:
            self.assertEqual(row.split()[2], host, out)
        self.assertEqual(findings_json(self.db, "list", "--host", host + "-elsewhere"), [])

    def test_state_and_mute_commands(self):
        sensor = self.start_sensor()
        mod = self.ws.module()
        r = run_cmd(["openssl", "engine", "-t", mod])
        fd = sensor.wait_for(harness.for_process(r.pid, mod))
        fid = finding_id(fd)
        self.assertEqual(findings_cli(self.db, "set-state", fid, "INACTIVE")[0], 0)
        self.assertEqual(findings_cli(self.db, "mute", fid)[0], 0)
        (shown,) = [x for x in findings_json(self.db, "list", "--all") if finding_id(x) == fid]
        self.assertEqual(shown["finding"]["state"], "INACTIVE")
        self.assertEqual(shown["finding"]["mute"], "MUTED")
        self.assertNotIn(fid, [finding_id(x) for x in findings_json(self.db, "list")])

    def test_cli_errors(self):
        self.start_sensor()
        rc, out, err = findings_cli(self.db, "show", "0123456789abcdef0123456789abcdef")
        self.assertEqual(rc, 1)
        self.assertIn("no finding", err)
        self.assertEqual(len(err.strip().splitlines()), 1, err)
        rc, out, err = findings_cli(self.db, "list", "--since", "10 minutes")
        self.assertEqual(rc, 2)
        self.assertIn("10 minutes", err)
        rc, out, err = findings_cli(self.ws.path("nothing-here.db"), "list")
        self.assertEqual(rc, 1)
        self.assertIn("nothing-here.db", err)
        self.assertFalse(os.path.exists(self.ws.path("nothing-here.db")))


class TestAddedLibrary(TriageTest):

    def test_upper_layer_flagged_lower_layer_not(self):
        sensor = self.start_sensor()
        loader = self.ws.path("loader")
        shutil.copy2(harness.fixture_loader(), loader)
        lower = "/opt/lib/liblower-%s.so" % harness.rand()
        upper = "/opt/lib/libupper-%s.so" % harness.rand()
        canary = "/opt/lib/libcanary-%s.so" % harness.rand()
        with container.Container(self.ws.dir, layout="docker",
                                 image_files={lower: harness.fixture_module()}) as c:
            c.add_file(upper, harness.fixture_module())
            # Held 500 ms: its file exists only in the container, and is hashed through
            # the live process (a process gone before its event is read has no hash).
            up = c.exec([loader, "dlopen", upper, "500"])
            self.assertEqual(up.returncode, 0, up.output)
            low = c.exec([loader, "dlopen", lower, "0"])
            self.assertEqual(low.returncode, 0, low.output)
            fd = sensor.wait_for(lambda fd: lib_path(fd) == upper)
            # Events come in order: once a later load is seen, the lower one was too.
            c.add_file(canary, harness.fixture_module())
            c.exec([loader, "dlopen", canary, "0"])
            sensor.wait_for(lambda fd: lib_path(fd) == canary)
        f = fd["finding"]
        self.assertEqual(f["category"], "Execution: Added Library Loaded")
        self.assertEqual(f["severity"], "LOW")
        # Copied in after the start, into the writable layer: both reasons hold.
        self.assertEqual(f["sourceProperties"]["addedReasons"],
                         ["upperLayer", "changedAfterContainerStart"])
        self.assertEqual(f["processes"][0]["pid"], str(up.pid))
        self.assertEqual(f["processes"][0]["libraries"][0]["sha256"],
                         harness.sha256_file(harness.fixture_module()))
        self.assertEqual(f["sourceProperties"]["containerId"], c.id)
        self.assertEqual([fd["finding"]["sourceProperties"] for fd in sensor.findings()
                          if lib_path(fd) == lower], [])
        rc, out, err = findings_cli(self.db, "show", finding_id(fd))
        self.assertEqual(rc, 0, err)
        self.assertRegex(out, r"why added +upperLayer, changedAfterContainerStart")


    def test_private_mount_namespace_is_not_a_container(self):
        """systemd services, sandboxes and `unshare -m` have their own mount
        namespace too; without a container runtime's word, no finding."""
        sensor = self.start_sensor()
        shm = "/dev/shm/sowatch-e2e-%s.so" % harness.rand()
        shutil.copy2(harness.fixture_module(), shm)
        self.addCleanup(os.unlink, shm)
        r = run_cmd(["unshare", "-m", harness.fixture_loader(), "dlopen", shm, "0"])
        self.assertEqual(r.returncode, 0, r.output)
        harness.canary(sensor, self.ws)
        self.assertEqual([fd for fd in sensor.findings() if lib_path(fd) == shm], [])


class TestMuteRules(TriageTest):

    def test_mute_rule_suppresses_and_counts(self):
        muted_mod = self.ws.module(stem="muted")
        cfg = self.ws.write("sowatch.yaml", (
            "mute:\n"
            "  - module_path: %s\n") % json.dumps(muted_mod))
        sensor = self.start_sensor(config=cfg)
        r = run_cmd(["openssl", "engine", "-t", muted_mod])
        self.assertIsNotNone(r.pid)
        harness.canary(sensor, self.ws)  # in order: the muted one was handled
        self.assertEqual([fd for fd in sensor.findings() if lib_path(fd) == muted_mod], [])
        stored = [fd for fd in findings_json(self.db, "list", "--all")
                  if lib_path(fd) == muted_mod]
        self.assertEqual(len(stored), 1)
        self.assertEqual(stored[0]["finding"]["mute"], "MUTED")
        self.assertEqual([fd for fd in findings_json(self.db, "list")
                          if lib_path(fd) == muted_mod], [])
        sensor.stop()
        self.assertRegex(sensor.final_log, r"[1-9]\d* muted")

    def test_bad_configuration_refused(self):
        cfg = self.ws.write("bad.yaml", "mute:\n  - colour: blue\n")
        p = subprocess.run([harness.sowatch_bin(), "run", "--config", cfg, "--db", self.db],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=30)
        self.assertEqual(p.returncode, 1)
        err = p.stderr.decode()
        self.assertIn("bad.yaml:2", err)
        self.assertIn("mute.colour", err)


class TestConfigurationRefused(TriageTest):
    """A configuration sowatch cannot read as a whole stops it at once, with one
    line naming the file, escaped: never the defaults, never a wait."""

    def refused(self, cfg):
        p = subprocess.run([harness.sowatch_bin(), "run", "--config", cfg, "--db", self.db],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=30)
        self.assertEqual(p.returncode, 1, p.stderr)
        self.assertEqual(p.stdout, b"")
        lines = p.stderr.decode().splitlines()
        self.assertEqual(len(lines), 1, p.stderr)
        self.assertFalse(any(ord(c) < 0x20 or ord(c) == 0x7f for c in lines[0]), lines[0])
        return lines[0]

    def test_directory(self):
        cfg = self.ws.path("conf.d")
        os.mkdir(cfg)
        self.assertEqual(self.refused(cfg),
                         "sowatch: %s: is a directory, not a configuration file" % cfg)

    def test_fifo_refused_without_waiting(self):
        cfg = self.ws.path("sowatch.yaml")
        os.mkfifo(cfg)
        t0 = time.monotonic()
        self.assertEqual(self.refused(cfg), "sowatch: %s: not a regular file" % cfg)
        self.assertLess(time.monotonic() - t0, 10)

    def test_duplicate_key(self):
        cfg = self.ws.write("dup.yaml", "enforce: {mode: kill, mode: off}\n")
        self.assertIn("dup.yaml:1: key given twice: 'enforce.mode'", self.refused(cfg))

    def test_escape_bytes_shown_escaped(self):
        cfg = self.ws.write("esc.yaml", '"\\e]0;owned\\a": 1\n')
        self.assertIn("esc.yaml:1: unknown section '\\x1b]0;owned\\x07'", self.refused(cfg))


if __name__ == "__main__":
    unittest.main()
