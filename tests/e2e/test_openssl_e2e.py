# SPDX-License-Identifier: Apache-2.0
"""End-to-end tests: a real sensor, real openssl, real runc containers.

Run as root with Debian's Python:
    /usr/bin/python3 tests/e2e/test_openssl_e2e.py -v
    /usr/bin/python3 -m unittest discover -v -s tests/e2e -p 'test_*.py'
    tests/run

One sensor (`$SOWATCH_BIN run --jsonl FILE`, default build/sowatch) is shared
by all the tests of this module. Each test makes its own workspace with
uniquely named modules and picks out its own findings by pid and module path:
the machine is busy and other findings may appear at any time.

Skipped only when not root or when the kernel has no BTF; never when CI is
set (then the module fails instead).
"""

import os
import shutil
import subprocess
import sys
import time
import unittest
from datetime import datetime, timedelta, timezone

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import container  # noqa: E402
import harness  # noqa: E402
from harness import (CATEGORY, OPENSSL, FINDING_NAME, RFC3339_UTC,  # noqa
                     for_module, for_process, read_marker, run_cmd,
                     sha256_file)

SENSOR = None
SKIP_REASON = None
OPENSSL_SHA256 = None

ENGINESDIR = harness.openssl_dir("-e")
PKCS11_ENGINE = os.path.join(ENGINESDIR, "pkcs11.so")


def setUpModule():
    global SENSOR, SKIP_REASON, OPENSSL_SHA256
    SKIP_REASON = harness.require_environment()
    if SKIP_REASON:
        return
    harness.fixture_module()  # build it before the sensor starts
    OPENSSL_SHA256 = sha256_file(OPENSSL)
    SENSOR = harness.Sensor().start()


def tearDownModule():
    global SENSOR
    if SENSOR is not None:
        s, SENSOR = SENSOR, None
        s.stop()  # asserts exit status 0


def parse_time(text):
    # Python 3.11's fromisoformat takes "Z" but at most 6 fraction digits.
    m = RFC3339_UTC.match(text)
    assert m, text
    base = text[:19]
    frac = (m.group(1) or ".0")[1:7].ljust(6, "0")
    return datetime.strptime(base + "." + frac, "%Y-%m-%dT%H:%M:%S.%f") \
        .replace(tzinfo=timezone.utc)


class E2ETest(unittest.TestCase):
    maxDiff = None

    def setUp(self):
        if SKIP_REASON:
            self.skipTest(SKIP_REASON)
        self.assertIsNotNone(SENSOR, "sensor not running")
        self.assertTrue(SENSOR.alive(), "sensor died:\n" + SENSOR.log_tail())
        self.ws = harness.Workspace()
        self.addCleanup(self.ws.cleanup)
        self.started = datetime.now(timezone.utc)

    # -- helpers

    def assertMarker(self, marker, pid, output=""):
        """The module's constructor ran (in process pid, when given); in enforce
        mode (harness.ENFORCE) it did not run at all."""
        got = read_marker(marker)
        if harness.ENFORCE:
            self.assertIsNone(got, "enforce mode let the module's constructor run "
                              "(marker %s); command output:\n%s" % (marker, output))
            return
        self.assertIsNotNone(got, "module constructor did not run (no marker "
                             "%s); command output:\n%s" % (marker, output))
        if pid is not None:
            self.assertEqual(got, pid, "marker written by another process")

    def assertFileInfo(self, file_obj, path, real_path=None):
        """A SCC File object describes path (hashed from real_path)."""
        real_path = real_path or path
        self.assertEqual(file_obj.get("path"), path)
        self.assertEqual(file_obj.get("sha256"), sha256_file(real_path))
        size = str(os.path.getsize(real_path))
        self.assertEqual(file_obj.get("size"), size)
        self.assertEqual(file_obj.get("hashedSize"), size)
        self.assertIs(file_obj.get("partiallyHashed"), False)

    def assertLoadFinding(self, fd, pid, module, argv, binary=OPENSSL,
                          kinds=("engine",), parent_pid=None):
        """What a user must see for a custom module really loaded by pid."""
        f = fd.f
        self.assertEqual(f.get("category"), CATEGORY)
        self.assertEqual(f.get("findingClass"), "THREAT")
        self.assertEqual(f.get("severity"), "CRITICAL")
        self.assertEqual(f.get("state"), "ACTIVE")
        # Name, parent, uniqueness of the id.
        m = FINDING_NAME.match(f.get("name", ""))
        self.assertTrue(m, "bad finding name %r" % f.get("name"))
        self.assertEqual(f.get("parent"), m.group(1))
        others = [o for o in SENSOR.findings() if o.index != fd.index
                  and o.finding_id() == m.group(2)]
        self.assertEqual(others, [], "finding id %s not unique" % m.group(2))
        self.assertTrue(f.get("resourceName"))
        # Times: RFC 3339 UTC, around when the test ran.
        lo = self.started - timedelta(seconds=60)
        hi = datetime.now(timezone.utc) + timedelta(seconds=60)
        for key in ("eventTime", "createTime"):
            val = f.get(key, "")
            self.assertRegex(val, RFC3339_UTC, key)
            self.assertTrue(lo <= parse_time(val) <= hi,
                            "%s %s not around %s" % (key, val, self.started))
        self.assertLessEqual(parse_time(f["eventTime"]),
                             parse_time(f["createTime"]) + timedelta(seconds=1))
        # MITRE ATT&CK.
        mitre = f.get("mitreAttack") or {}
        self.assertEqual(mitre.get("primaryTactic"), "EXECUTION")
        self.assertEqual(mitre.get("primaryTechniques"), ["SHARED_MODULES"])
        self.assertTrue(mitre.get("version"))
        # The process that loaded the module.
        p = fd.process
        self.assertEqual(p.get("pid"), str(pid))
        if parent_pid is not None:
            self.assertEqual(p.get("parentPid"), str(parent_pid))
            if len(fd.processes) > 1:
                self.assertEqual(fd.processes[1].get("pid"), str(parent_pid))
        self.assertEqual(p.get("userId"), str(os.geteuid()))
        self.assertEqual(p.get("name"), os.path.basename(binary)[:15])
        self.assertFileInfo(p.get("binary") or {}, binary)
        self.assertEqual(p.get("args"), list(argv))
        self.assertIs(p.get("argumentsTruncated"), False)
        libs = p.get("libraries") or []
        self.assertTrue(libs, "no libraries in processes[0]")
        self.assertFileInfo(libs[0], module)
        # Our own properties.
        props = fd.props
        self.assertIs(props.get("loaded"), True)
        self.assertIn(props.get("moduleKind"), kinds)
        self.assertEqual(props.get("modulePath"), module)
        self.assertIn("effect", props.get("detectionLayers") or [])
        self.assertTrue(props.get("sensor"))
        self.assertTrue(f.get("description"))
        self.assertTrue(f.get("nextSteps"))
        self.assertIsInstance(fd.get("resource"), dict)

    def assertSensorAlive(self):
        self.assertTrue(SENSOR.alive(), "sensor died:\n" + SENSOR.log_tail())


class TestLoads(E2ETest):
    """Each route by which openssl loads a custom module is reported."""

    def test_engine_t_absolute_path(self):
        mod = self.ws.module()
        marker = self.ws.marker()
        argv = ["openssl", "engine", "-t", mod]
        r = run_cmd(argv, marker=marker)
        self.assertMarker(marker, r.pid, r.output)
        fd = SENSOR.wait_for(for_process(r.pid, mod))
        harness.route_enforced(self, SENSOR, fd)
        self.assertLoadFinding(fd, r.pid, mod, argv, parent_pid=os.getpid())

    def test_req_engine_relative_path(self):
        mod = self.ws.module()
        rel = "./" + os.path.basename(mod)
        marker = self.ws.marker()
        argv = ["openssl", "req", "-engine", rel, "-new", "-x509", "-nodes",
                "-subj", "/CN=x", "-keyout", "k", "-out", "c"]
        r = run_cmd(argv, marker=marker, cwd=self.ws.dir)
        self.assertMarker(marker, r.pid, r.output)
        fd = SENSOR.wait_for(for_process(r.pid, mod))
        harness.route_enforced(self, SENSOR, fd)
        self.assertLoadFinding(fd, r.pid, mod, argv, parent_pid=os.getpid())
        self.assertIn(rel, fd.process["args"])
        self.assertEqual(fd.props.get("requestedModule"), rel)

    def test_openssl_conf_dynamic_path(self):
        mod = self.ws.module()
        marker = self.ws.marker()
        cnf = harness.engine_conf(self.ws, mod, name="evil", init=True)
        argv = ["openssl", "version"]
        r = run_cmd(argv, env={"OPENSSL_CONF": cnf}, marker=marker)
        self.assertEqual(r.returncode != 0, harness.ENFORCE, r.output)
        self.assertMarker(marker, r.pid, r.output)
        fd = SENSOR.wait_for(for_process(r.pid, mod))
        harness.route_enforced(self, SENSOR, fd)
        self.assertLoadFinding(fd, r.pid, mod, argv,
                               kinds=("engine", "unknown"),
                               parent_pid=os.getpid())
        env = fd.process.get("envVariables") or []
        self.assertIn({"name": "OPENSSL_CONF", "val": cnf}, env)
        self.assertIs(fd.process.get("envVariablesTruncated"), False)

    def test_provider_path(self):
        mod = self.ws.module()
        name = os.path.basename(mod)[:-len(".so")]
        marker = self.ws.marker()
        argv = ["openssl", "list", "-providers", "-provider-path",
                self.ws.dir, "-provider", name]
        r = run_cmd(argv, marker=marker)
        self.assertMarker(marker, r.pid, r.output)
        fd = SENSOR.wait_for(for_process(r.pid, mod))
        harness.route_enforced(self, SENSOR, fd)
        self.assertLoadFinding(fd, r.pid, mod, argv,
                               kinds=("provider", "unknown"),
                               parent_pid=os.getpid())

    def test_renamed_openssl_copy(self):
        mod = self.ws.module()
        copy = self.ws.path("notssl-%s" % harness.rand())
        shutil.copy2(OPENSSL, copy)
        os.chmod(copy, 0o755)
        marker = self.ws.marker()
        argv = [copy, "engine", "-t", mod]
        r = run_cmd(argv, marker=marker)
        self.assertMarker(marker, r.pid, r.output)
        fd = SENSOR.wait_for(for_process(r.pid, mod))
        harness.route_enforced(self, SENSOR, fd)
        self.assertLoadFinding(fd, r.pid, mod, argv, binary=copy,
                               parent_pid=os.getpid())
        self.assertEqual(fd.process["binary"]["sha256"], OPENSSL_SHA256)

    def test_run_through_the_dynamic_loader(self):
        """`ld.so /usr/bin/openssl ...`: the exe is the loader, yet the intent
        layer reads openssl's own arguments."""
        mod = self.ws.module()
        marker = self.ws.marker()
        ldso = os.path.realpath("/lib64/ld-linux-x86-64.so.2")
        argv = [ldso, "--inhibit-cache", OPENSSL, "engine", "-t", mod]
        r = run_cmd(argv, marker=marker)
        self.assertMarker(marker, r.pid, r.output)
        fd = SENSOR.wait_for(for_process(r.pid, mod))
        harness.route_enforced(self, SENSOR, fd)
        self.assertEqual(fd.f.get("severity"), "CRITICAL")
        self.assertEqual(fd.process.get("args"), argv)
        self.assertEqual(fd.process["binary"].get("path"), ldso)
        layers = fd.props.get("detectionLayers") or []
        for layer in ("intent", "library", "effect"):
            self.assertIn(layer, layers)
        self.assertEqual(fd.props.get("requestedModule"), mod)
        self.assertEqual(fd.props.get("moduleKind"), "engine")

    def test_runc_container(self):
        mod = self.ws.module()
        marker = self.ws.marker()
        argv = ["openssl", "engine", "-t", mod]
        r = container.run(argv, self.ws.dir,
                          env={"SOWATCH_TEST_MARKER": marker})
        # Inside its pid namespace the container's process is pid 1.
        self.assertMarker(marker, 1, r.output)
        fd = SENSOR.wait_for(for_module(mod), timeout=15)
        harness.route_enforced(self, SENSOR, fd)
        # Same path inside and outside: the workspace is bind-mounted.
        self.assertEqual(fd.library_paths()[0], mod)
        self.assertLoadFinding(fd, r.pid, mod, argv)
        self.assertTrue(fd.props.get("containerId"), "no containerId")
        self.assertEqual(fd.props.get("containerId"), r.id,
                         "container cgroup %s" % r.cgroup_lines)
        self.assertTrue(fd.f.get("containers"), "no containers[]")


class TestModuleForms(E2ETest):
    """A program that is not openssl loads a module through libcrypto from a
    plain path, a deleted file and a memfd: the library and effect layers see
    it, and the module is hashed through the process's own view."""

    def run_loader(self, form):
        mod = self.ws.module()
        marker = self.ws.marker()
        argv = [harness.fixture_loader(), form, mod, "500"]
        r = run_cmd(argv, marker=marker)
        self.assertEqual(r.returncode != 0, harness.ENFORCE, r.output)
        self.assertMarker(marker, r.pid, r.output)
        fd = SENSOR.wait_for(for_process(r.pid))
        harness.route_enforced(self, SENSOR, fd)
        f, p = fd.f, fd.process
        self.assertEqual(f.get("severity"), "CRITICAL")
        self.assertEqual(p.get("name"), "loader")
        self.assertEqual(p.get("args"), argv)
        lib = (p.get("libraries") or [{}])[0]
        if harness.ENFORCE and form in ("memfd", "deleted") and "sha256" not in lib:
            # Killed at the mapping, the process may take the only reference to its
            # memfd or deleted file with it before sowatch reads it: the finding
            # then says why there is no hash.
            self.assertIn("processes[0].libraries[0]",
                          [m.get("file") for m in fd.props.get("hashesMissing", [])])
            return fd, mod, lib
        # Whatever its name, the content is the module's.
        self.assertEqual(lib.get("sha256"), sha256_file(mod))
        self.assertEqual(lib.get("size"), str(os.path.getsize(mod)))
        self.assertIs(fd.props.get("loaded"), True)
        layers = fd.props.get("detectionLayers") or []
        self.assertIn("library", layers)
        self.assertIn("effect", layers)
        return fd, mod, lib

    def test_plain_path(self):
        fd, mod, lib = self.run_loader("path")
        self.assertEqual(lib.get("path"), mod)
        self.assertEqual(fd.props.get("requestedModule"), mod)
        self.assertIs(fd.props.get("moduleDeleted"), False)

    def test_deleted_file(self):
        fd, mod, lib = self.run_loader("deleted")
        self.assertRegex(lib.get("path", ""), r"^/tmp/sowatch-loader-")
        self.assertIs(fd.props.get("moduleDeleted"), True)
        self.assertRegex(fd.props.get("requestedModule", ""),
                         r"^/proc/self/fd/\d+$")

    def test_memfd(self):
        fd, mod, lib = self.run_loader("memfd")
        self.assertEqual(lib.get("path"), "/memfd:sowatch-test")
        self.assertIs(fd.props.get("moduleMemfd"), True)
        self.assertIs(fd.props.get("moduleDeleted"), False)


class TestEvasions(E2ETest):
    """Ways around the detector that were found in review, and must stay closed."""

    def test_many_decoy_names_before_the_module(self):
        """Hundreds of engine names that load nothing do not hide the one that does."""
        mod = self.ws.module()
        marker = self.ws.marker()
        decoys = ["decoy%d" % i for i in range(300)]
        argv = ["openssl", "engine", "-t"] + decoys + [mod]
        r = run_cmd(argv, marker=marker)
        self.assertMarker(marker, r.pid, r.output)
        fd = SENSOR.wait_for(for_process(r.pid, mod))
        harness.route_enforced(self, SENSOR, fd)
        self.assertEqual(fd.f.get("severity"), "CRITICAL")
        self.assertIs(fd.props.get("loaded"), True)

    def test_main_thread_exits_first(self):
        """The process lives on in a second thread: it keeps its identity, and its
        kernel bookkeeping goes when its last thread does."""
        mod = self.ws.module()
        marker = self.ws.marker()
        argv = [harness.fixture_loader(), "thread", mod, "300"]
        r = run_cmd(argv, marker=marker)
        self.assertEqual(r.returncode != 0, harness.ENFORCE, r.output)
        self.assertMarker(marker, r.pid, r.output)
        fd = SENSOR.wait_for(for_process(r.pid, mod))
        harness.route_enforced(self, SENSOR, fd)
        self.assertEqual(fd.process.get("name"), "loader")
        self.assertEqual(fd.process.get("args"), argv)
        self.assertEqual(fd.process["binary"].get("path"),
                         harness.fixture_loader())
        # After the exit, the kernel's per-process interest entry is gone.
        deadline = time.time() + 5
        while r.pid in harness.interest_pids() and time.time() < deadline:
            time.sleep(0.1)
        self.assertNotIn(r.pid, harness.interest_pids())


class TestAttempts(E2ETest):
    """A module asked for but never mapped is a lower-severity finding."""

    def test_missing_module_via_engine_command(self):
        missing = self.ws.path("missing-%s.so" % harness.rand())
        argv = ["openssl", "engine", "-t", missing]
        r = run_cmd(argv)
        fd = SENSOR.wait_for(for_process(r.pid, missing))
        self.assertEqual(fd.f.get("severity"), "HIGH")
        self.assertIs(fd.props.get("loaded"), False)
        self.assertEqual(fd.props.get("modulePath"), missing)
        self.assertEqual(fd.props.get("moduleKind"), "engine")
        layers = fd.props.get("detectionLayers") or []
        self.assertIn("intent", layers)
        self.assertIn("library", layers)
        self.assertNotIn("effect", layers)
        self.assertEqual(fd.process.get("args"), argv)

    def test_failed_load_reported_while_process_lives(self):
        """Reported when DSO_load() returns, not only when the process ends."""
        missing = self.ws.path("missing-%s.so" % harness.rand())
        argv = [harness.fixture_loader(), "path", missing, "20000"]
        proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL,
                                env=harness.base_env())
        try:
            fd = SENSOR.wait_for(for_process(proc.pid, missing))
            self.assertIsNone(proc.poll(), "the loader exited already")
        finally:
            proc.kill()
            proc.wait()
        self.assertEqual(fd.f.get("severity"), "HIGH")
        self.assertIs(fd.props.get("loaded"), False)
        self.assertEqual(fd.props.get("detectionLayers"), ["library"])


class TestNegatives(E2ETest):
    """OpenSSL's own engines and providers are not reported."""

    def _benign(self, argv):
        r = run_cmd(argv)
        self.assertEqual(r.returncode, 0, r.output)
        harness.assert_no_findings(SENSOR, self.ws, pids=[r.pid])
        return r

    def test_openssl_version(self):
        self._benign(["openssl", "version"])

    def test_legacy_provider(self):
        r = self._benign(["openssl", "list", "-provider", "legacy",
                          "-providers"])
        self.assertIn("legacy", r.output)

    def test_pkcs11_engine(self):
        self.assertTrue(os.path.exists(PKCS11_ENGINE),
                        "libengine-pkcs11-openssl is not installed")
        r = self._benign(["openssl", "engine", "-t", "pkcs11"])
        self.assertIn("available", r.output)

    def test_version_with_dirs(self):
        r = self._benign(["openssl", "version", "-e", "-m"])
        self.assertIn(ENGINESDIR, r.output)


class TestBadInput(E2ETest):
    """Hostile bytes in argv and paths give valid JSON; the sensor lives."""

    WEIRD = [b'q"uo"te', b"back\\slash\\", b"new\nline\r\n",
             bytes(range(1, 32)), b"tab\there", b"{\"json\":[1]}",
             "caf\u00e9-\u2603".encode("utf-8")]
    INVALID = b"inv\xff\xfealid\xc3("

    def _run_weird(self, extra):
        mod = self.ws.module()
        marker = self.ws.marker()
        argv = [b"openssl", b"engine", b"-t", os.fsencode(mod)] + extra
        r = run_cmd(argv, marker=marker)
        self.assertMarker(marker, r.pid, r.output)
        fd = SENSOR.wait_for(for_process(r.pid, mod))
        harness.route_enforced(self, SENSOR, fd)
        # The harness parsed the line strictly (strict UTF-8, no NaN,
        # no duplicate keys); check it once more from the raw bytes.
        harness.parse_line(fd.raw)
        self.assertNotIn(b"\n", fd.raw)
        return r, fd, mod

    def test_control_bytes_quotes_invalid_utf8(self):
        r, fd, mod = self._run_weird(self.WEIRD + [self.INVALID])
        args = fd.process["args"]
        self.assertIs(fd.process.get("argumentsTruncated"), False)
        self.assertEqual(len(args), 4 + len(self.WEIRD) + 1, args)
        self.assertEqual(args[:4], ["openssl", "engine", "-t", mod])
        for i, raw in enumerate(self.WEIRD):
            self.assertEqual(args[4 + i], raw.decode("utf-8"))
        bad = args[-1]
        self.assertIsInstance(bad, str)
        self.assertTrue(bad.startswith("inv") and "alid" in bad, bad)
        self.assertEqual(fd.f.get("severity"), "CRITICAL")
        self.assertSensorAlive()
        harness.canary(SENSOR, self.ws)

    def test_huge_argument_truncated(self):
        pad = b"A" * (100 * 1024)
        r, fd, mod = self._run_weird([b"before", pad, b"after"])
        p = fd.process
        self.assertIs(p.get("argumentsTruncated"), True)
        self.assertEqual(p["args"][:5],
                         ["openssl", "engine", "-t", mod, "before"])
        self.assertSensorAlive()
        harness.canary(SENSOR, self.ws)

    def test_weird_module_path(self):
        name = 'm-%s "q\\ \n\t\x01.so' % harness.rand()
        mod = self.ws.module(name=name)
        marker = self.ws.marker()
        argv = ["openssl", "engine", "-t", mod]
        r = run_cmd(argv, marker=marker)
        self.assertMarker(marker, r.pid, r.output)
        fd = SENSOR.wait_for(for_process(r.pid, mod))
        harness.route_enforced(self, SENSOR, fd)
        self.assertLoadFinding(fd, r.pid, mod, argv, parent_pid=os.getpid())
        self.assertSensorAlive()
        harness.canary(SENSOR, self.ws)


if __name__ == "__main__":
    unittest.main()
