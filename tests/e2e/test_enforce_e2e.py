# SPDX-License-Identifier: Apache-2.0
"""End-to-end tests of enforce mode (`enforce: {mode: kill}`): a custom module's
process is killed before the module's code runs; legitimate engines and
providers run normally. Scoped: `where: containers` spares the host, and
`severity: low` also stops added libraries in containers."""

import os
import re
import shutil
import signal
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import container  # noqa: E402
import harness  # noqa: E402
from harness import OPENSSL, for_process, read_marker, run_cmd  # noqa: E402

SKIP_REASON = None
ENGINESDIR = harness.openssl_dir("-e")
MODULESDIR = harness.openssl_dir("-m")


def setUpModule():
    global SKIP_REASON
    SKIP_REASON = harness.require_environment() or container.runc_available()
    if SKIP_REASON and harness.in_ci():
        raise RuntimeError("CI must run these tests: " + SKIP_REASON)
    if not SKIP_REASON:
        harness.fixture_module()


class SensorWithConfig(unittest.TestCase):
    """One sensor per class: each class enforces with its own configuration."""
    CONFIG = None
    sensor = None

    @classmethod
    def setUpClass(cls):
        if SKIP_REASON:
            return
        cls.config_dir = harness.Workspace()
        cfg = cls.config_dir.write("sowatch.yaml", cls.CONFIG)
        cls.sensor = harness.Sensor(config=cfg).start()

    @classmethod
    def tearDownClass(cls):
        if cls.sensor is not None:
            cls.sensor.stop()
            cls.config_dir.cleanup()

    def setUp(self):
        if SKIP_REASON:
            self.skipTest(SKIP_REASON)
        self.ws = harness.Workspace()
        self.addCleanup(self.ws.cleanup)


class Enforce(SensorWithConfig):
    CONFIG = "enforce:\n  mode: kill\n"

    def test_req_engine_killed_before_the_constructor(self):
        mod = self.ws.module()
        marker = self.ws.marker()
        rel = "./" + os.path.basename(mod)
        argv = [OPENSSL, "req", "-engine", rel, "-new", "-x509", "-nodes",
                "-subj", "/CN=x", "-keyout", "k", "-out", "c"]
        r = run_cmd(argv, marker=marker, cwd=self.ws.dir)
        self.assertEqual(r.returncode, -signal.SIGKILL, r.output)
        self.assertIsNone(read_marker(marker), "the module's constructor ran")
        fd = self.sensor.wait_for(for_process(r.pid, mod))
        self.assertEqual(fd.f.get("severity"), "CRITICAL")
        self.assertRegex(fd.props.get("enforcement", ""), r"^killed")

    def test_program_other_than_openssl_killed(self):
        mod = self.ws.module()
        marker = self.ws.marker()
        r = run_cmd([harness.fixture_loader(), "path", mod, "0"], marker=marker)
        self.assertEqual(r.returncode, -signal.SIGKILL, r.output)
        self.assertIsNone(read_marker(marker), "the module's constructor ran")

    def test_legitimate_modules_run(self):
        """Every engine and provider Debian's packages put in ENGINESDIR and
        MODULESDIR, by name, and programs that read the system's
        configuration, run to completion. afalg may be the exception that
        proves it ran: on a kernel without AF_ALG its own init fails (exit 1,
        "init failed"), but it was loaded, not killed."""
        engines = sorted(f[:-3] for f in os.listdir(ENGINESDIR)
                         if f.endswith(".so") and not f.startswith("lib"))
        providers = sorted(f[:-3] for f in os.listdir(MODULESDIR) if f.endswith(".so"))
        self.assertIn("pkcs11", engines)
        self.assertIn("legacy", providers)
        commands = []
        for e in engines:
            commands.append([OPENSSL, "engine", "-t", e])
        for p in providers:
            commands.append([OPENSSL, "list", "-provider", p, "-providers"])
        commands += [[OPENSSL, "version", "-a"],
                     ["/usr/bin/curl", "--version"],
                     ["/usr/bin/python3", "-c", "import ssl; ssl.create_default_context()"]]
        pids = []
        for argv in commands:
            r = run_cmd(argv)
            if "afalg" in argv[-1] and r.returncode == 1:
                self.assertIn("init failed", r.output)
            else:
                self.assertEqual(r.returncode, 0, "%s: %s" % (argv, r.output))
            pids.append(str(r.pid))
        self.assert_no_findings(pids)

    def assert_no_findings(self, pids):
        """None of pids has a finding. Events come in order: once a later
        (killed) load's finding is in, any finding about them would be too."""
        pids = [str(p) for p in pids]
        mod = self.ws.module(stem="sync")
        r = run_cmd([harness.fixture_loader(), "path", mod, "0"])
        self.sensor.wait_for(for_process(r.pid, mod))
        self.assertEqual([fd.raw[:300] for fd in self.sensor.findings()
                          if fd.process.get("pid") in pids], [])

    def verified_modules(self):
        """How many modules the sensor last said it verified."""
        lines = [line for line in open(self.sensor.log_path, encoding="utf-8",
                                       errors="replace")
                 if "module files of ENGINESDIR and MODULESDIR are verified" in line]
        self.assertTrue(lines, self.sensor.log_tail())
        return int(re.search(r"enforce mode: (\d+) module files", lines[-1]).group(1))

    def wait_verified(self, n, timeout=10.0):
        """Until the sensor's latest count of verified modules is n."""
        deadline = time.monotonic() + timeout
        while self.verified_modules() != n:
            self.assertLess(time.monotonic(), deadline,
                            "the sensor did not come to %d verified modules:\n%s"
                            % (n, self.sensor.log_tail()))
            time.sleep(0.1)

    def test_engine_installed_later_by_a_package_loads(self):
        """An engine a package installs while the sensor runs is verified from
        dpkg's records within seconds, and then loads: enforce mode follows
        installs, upgrades and removals (here, of a package the test builds)."""
        name = "sowatch-test-engine-%s" % harness.rand()
        pkg = self.ws.path("pkg")
        os.makedirs(os.path.join(pkg, "DEBIAN"))
        os.makedirs(pkg + ENGINESDIR)
        shutil.copyfile(harness.fixture_module(), os.path.join(pkg + ENGINESDIR, name + ".so"))
        with open(os.path.join(pkg, "DEBIAN", "control"), "w") as f:
            f.write("Package: %s\nVersion: 1.0\nArchitecture: all\n"
                    "Maintainer: sowatch tests <tests@localhost>\n"
                    "Description: an engine for sowatch's enforce-mode test\n" % name)
        deb = self.ws.path(name + ".deb")
        subprocess.run(["dpkg-deb", "--root-owner-group", "--build", pkg, deb], check=True,
                       stdout=subprocess.DEVNULL)
        before = self.verified_modules()
        subprocess.run(["dpkg", "-i", deb], check=True, stdout=subprocess.DEVNULL)
        self.addCleanup(subprocess.run, ["dpkg", "--purge", name], stdout=subprocess.DEVNULL)
        self.wait_verified(before + 1)
        marker = self.ws.marker()
        r = run_cmd([OPENSSL, "engine", "-t", name], marker=marker)
        self.assertEqual(read_marker(marker), r.pid, "killed:\n" + r.output)
        self.assert_no_findings([r.pid])
        # Removed: the sensor forgets it.
        subprocess.run(["dpkg", "--purge", name], check=True, stdout=subprocess.DEVNULL)
        self.wait_verified(before)

    def bind_mount_load(self, target, engine, private):
        """`openssl engine -t ENGINE` with the module bind-mounted over
        ENGINESDIR/TARGET: in a private mount namespace, or in the host's
        (undone at once, and padlock's file, which no program here uses)."""
        mod = self.ws.module()
        marker = self.ws.marker()
        path = os.path.join(ENGINESDIR, target)
        if private:
            r = run_cmd(["unshare", "-m", "--propagation", "private", "sh", "-c",
                         'mount --bind "$1" "$2" && exec "$3" engine -t "$4"',
                         "sh", mod, path, OPENSSL, engine], marker=marker)
            fd = self.sensor.wait_for(for_process(r.pid, path))
        else:
            subprocess.run(["mount", "--bind", mod, path], check=True)
            try:
                r = run_cmd([OPENSSL, "engine", "-t", engine], marker=marker)
                # Mounted until the finding is made: sowatch looks at the host's file.
                fd = self.sensor.wait_for(for_process(r.pid, path))
            finally:
                subprocess.run(["umount", path], check=True)
        self.assertEqual(r.returncode, -signal.SIGKILL, r.output)
        self.assertIsNone(read_marker(marker), "the module's constructor ran")
        self.assertEqual(fd.f.get("severity"), "CRITICAL")
        self.assertRegex(fd.props.get("enforcement", ""), r"^killed")
        judged = fd.props.get("enforcementJudgement", {})
        # The kernel judged the directory the file really lies in: the workspace.
        self.assertIn("directory the file really lies in", judged.get("reason", ""))
        self.assertEqual(judged.get("directoryInode"), str(os.stat(self.ws.dir).st_ino))
        self.assertEqual(judged.get("fileInode"), str(os.stat(mod).st_ino))
        told = [g for g in self.sensor.findings()
                if g.process.get("pid") == str(r.pid) and
                harness.KILLED.match(g.props.get("enforcement", ""))]
        self.assertEqual(len(told), 1, [g.short() for g in told])
        return fd

    def test_bind_mount_over_an_engine_in_a_private_namespace(self):
        fd = self.bind_mount_load("afalg.so", "afalg", private=True)
        self.assertRegex(fd.props.get("trustReason", ""), "not the installed file")

    def test_bind_mount_over_an_engine_in_the_hosts_namespace(self):
        fd = self.bind_mount_load("padlock.so", "padlock", private=False)
        self.assertRegex(fd.props.get("trustReason", ""), "differs from its package")


ALLOWED = "/tmp/sowatch-e2e-allowed-%s.so" % harness.rand()


class EnforceAllowRule(SensorWithConfig):
    """An allow rule silences a finding, but not a kill: the kernel kills the
    allowed module all the same, and its finding is reported."""

    @classmethod
    def setUpClass(cls):
        if not SKIP_REASON:
            cls.CONFIG = ("enforce:\n  mode: kill\nallow:\n  - module_path: %s\n"
                          "    module_sha256: %s\n"
                          % (ALLOWED, harness.sha256_file(harness.fixture_module())))
        super().setUpClass()

    def test_allowed_module_killed_and_told(self):
        shutil.copyfile(harness.fixture_module(), ALLOWED)
        self.addCleanup(os.unlink, ALLOWED)
        marker = self.ws.marker()
        r = run_cmd([OPENSSL, "engine", "-t", ALLOWED], marker=marker)
        self.assertEqual(r.returncode, -signal.SIGKILL, r.output)
        self.assertIsNone(read_marker(marker), "the module's constructor ran")
        fd = self.sensor.wait_for(for_process(r.pid, ALLOWED))
        self.assertRegex(fd.props.get("enforcement", ""), harness.KILLED)


class EnforceScoped(SensorWithConfig):
    CONFIG = "enforce:\n  mode: kill\n  where: containers\n  severity: low\n"

    def test_host_process_spared(self):
        """where: containers: a host load is reported, not stopped."""
        mod = self.ws.module()
        marker = self.ws.marker()
        r = run_cmd([OPENSSL, "engine", "-t", mod], marker=marker)
        self.assertEqual(read_marker(marker), r.pid, r.output)
        fd = self.sensor.wait_for(for_process(r.pid, mod))
        self.assertEqual(fd.f.get("severity"), "CRITICAL")
        self.assertNotIn("enforcement", fd.props)

    def test_unprivileged_namespaces_are_not_a_container(self):
        """`unshare -Urm` (open to any user) makes another mount namespace,
        but one owned by a new user namespace: still the host for enforce
        mode, so `where: containers` spares it (and `where: host` would stop
        it)."""
        mod = self.ws.module()
        marker = self.ws.marker()
        r = run_cmd(["unshare", "-Urm", OPENSSL, "engine", "-t", mod], marker=marker)
        self.assertIsInstance(read_marker(marker), int, r.output)
        self.assertNotEqual(r.returncode, -signal.SIGKILL, r.output)

    def test_container_process_killed(self):
        mod = self.ws.module()
        marker = self.ws.marker()
        with container.Container(self.ws.dir, layout="docker") as c:
            r = c.exec([OPENSSL, "engine", "-t", mod],
                       env={"SOWATCH_TEST_MARKER": marker})
        self.assertNotEqual(r.returncode, 0, r.output)
        self.assertIsNone(read_marker(marker), "the module's constructor ran")
        fd = self.sensor.wait_for(for_process(r.pid, mod))
        self.assertRegex(fd.props.get("enforcement", ""), r"^killed")
        self.assertEqual(fd.props.get("containerId"), c.id)

    def test_added_library_killed_image_library_not(self):
        """severity: low: a library written into the container's writable
        layer is stopped before its constructor; the image's own runs."""
        loader = self.ws.path("loader")
        shutil.copy2(harness.fixture_loader(), loader)
        lower = "/opt/lib/liblower-%s.so" % harness.rand()
        upper = "/opt/lib/libupper-%s.so" % harness.rand()
        low_marker, up_marker = self.ws.marker("low"), self.ws.marker("up")
        with container.Container(self.ws.dir, layout="docker",
                                 image_files={lower: harness.fixture_module()}) as c:
            low = c.exec([loader, "dlopen", lower, "0"],
                         env={"SOWATCH_TEST_MARKER": low_marker})
            c.add_file(upper, harness.fixture_module())
            up = c.exec([loader, "dlopen", upper, "0"],
                        env={"SOWATCH_TEST_MARKER": up_marker})
        self.assertEqual(low.returncode, 0, low.output)
        self.assertIsInstance(read_marker(low_marker), int, low.output)
        self.assertNotEqual(up.returncode, 0, up.output)
        self.assertIsNone(read_marker(up_marker), "the library's constructor ran")
        fd = self.sensor.wait_for(
            lambda fd: fd.process["libraries"][0]["path"] == upper)
        self.assertEqual(fd.f["category"], "Execution: Added Library Loaded")
        self.assertRegex(fd.props.get("enforcement", ""), r"^killed")
        self.assertEqual(fd.process["pid"], str(up.pid))


if __name__ == "__main__":
    unittest.main()
