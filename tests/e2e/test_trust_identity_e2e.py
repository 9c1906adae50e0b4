# SPDX-License-Identifier: Apache-2.0
"""Trust by identity (issue 11, item 3): a file at a trusted path is trusted only
if it is the file the package manager installed there.

Each attack proves with the module's marker that its constructor ran, and that
the CRITICAL finding came with the trustReason saying why the file is not the
installed one. The benign test loads every engine and provider Debian's
packages installed here, for real, and expects silence (canary pattern).
"""

import glob
import os
import shutil
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness  # noqa: E402
from harness import OPENSSL, for_process, read_marker, run_cmd  # noqa: E402

SENSOR = None
SKIP_REASON = None
CATEGORY = "Execution: Suspicious OpenSSL Shared Object Loaded"


def setUpModule():
    global SENSOR, SKIP_REASON
    SKIP_REASON = harness.require_environment()
    if SKIP_REASON:
        return
    if not os.path.isdir("/var/lib/dpkg/info"):
        # Not a reason to skip: these tests run on Debian.
        raise RuntimeError("no dpkg database (/var/lib/dpkg/info) on this host")
    harness.fixture_module()
    SENSOR = harness.Sensor().start()


def tearDownModule():
    global SENSOR
    if SENSOR is not None:
        s, SENSOR = SENSOR, None
        s.stop()


class TrustIdentity(unittest.TestCase):
    maxDiff = None

    def setUp(self):
        if SKIP_REASON:
            self.skipTest(SKIP_REASON)
        self.ws = harness.Workspace()
        self.addCleanup(self.ws.cleanup)
        self.engines = harness.openssl_dir("-e")
        self.modules = harness.openssl_dir("-m")

    def loads(self, argv, mod_path, expect_sha256, reason, marker=None, may_miss_hash=False,
              stoppable=True, env=None):
        """Run argv: the module's code must run, and the CRITICAL finding must
        name mod_path (as the process saw it) with the content expect_sha256
        and a trustReason containing reason. may_miss_hash: the module's file
        can be reached only while the process lives (a mount of its own), so a
        process gone before the sensor hashed it leaves the hash out (never
        another file's hash). In enforce mode (harness.ENFORCE) the load is
        stopped, or, when not `stoppable` (README: what enforce mode cannot
        stop), runs and the finding says why it could not be stopped."""
        marker = marker or self.ws.marker()
        r = run_cmd(argv, marker=marker, env=env)
        if stoppable:
            harness.route_ran(self, marker, r)
        else:
            self.assertEqual(read_marker(marker), r.pid,
                             "the module's constructor did not run:\n" + r.output)
        fd = SENSOR.wait_for(for_process(r.pid, mod_path))
        if stoppable:
            harness.route_enforced(self, SENSOR, fd)
        elif harness.ENFORCE:
            self.assertRegex(fd.props.get("enforcement", ""), r"^not possible: ", fd.raw)
        f = fd.f
        self.assertEqual(f.get("category"), CATEGORY)
        self.assertEqual(f.get("severity"), "CRITICAL")
        self.assertIs(fd.props.get("loaded"), True)
        self.assertIn(reason, fd.props.get("trustReason", ""))
        lib = [x for x in fd.process["libraries"] if x.get("path") == mod_path][0]
        if lib.get("sha256") is not None or not may_miss_hash:
            self.assertEqual(lib.get("sha256"), expect_sha256)
        return fd

    def plant(self, name, src=None, symlink_to=None):
        """Put a file (a copy of src, or a symlink) into ENGINESDIR, removed
        at cleanup even when the test fails."""
        dst = os.path.join(self.engines, name)
        self.assertFalse(os.path.lexists(dst), dst)
        self.addCleanup(lambda: os.path.lexists(dst) and os.unlink(dst))
        if symlink_to:
            os.symlink(symlink_to, dst)
        else:
            shutil.copyfile(src, dst)
            os.chown(dst, 0, 0)
            os.chmod(dst, 0o644)
        return dst

    def test_bind_mount_over_engine_in_private_mount_namespace(self):
        """`unshare -m`, then a bind mount of the attacker's file over afalg.so:
        in the process's view the path shows another file than the host's."""
        target = os.path.join(self.engines, "afalg.so")
        if not os.path.exists(target):
            self.skipTest("no afalg engine installed")
        evil = self.ws.module("evil")
        script = 'mount --bind "$1" "$2" && exec "$3" engine -t afalg'
        # unshare execs sh, and sh execs openssl: one pid from start to end
        fd = self.loads(["unshare", "-m", "--propagation", "private", "sh", "-c",
                         script, "sh", evil, target, OPENSSL],
                        target, harness.sha256_file(evil), "not the installed file",
                        may_miss_hash=True)
        self.assertEqual(fd.props.get("moduleKind"), "engine")
        # and the host's afalg.so never moved
        self.assertNotEqual(harness.sha256_file(target), harness.sha256_file(evil))

    def test_file_planted_in_enginesdir(self):
        """A root-owned 0644 copy in ENGINESDIR, loaded by its bare name."""
        name = "sowatch-planted-" + harness.rand()
        dst = self.plant(name + ".so", src=harness.fixture_module())
        fd = self.loads([OPENSSL, "engine", "-t", name], dst, harness.sha256_file(dst),
                        "no package owns it")
        self.assertEqual(fd.props.get("moduleKind"), "engine")

    def test_file_planted_in_modulesdir_as_provider(self):
        """The same in MODULESDIR, as a provider."""
        name = "sowatch-planted-" + harness.rand()
        dst = os.path.join(self.modules, name + ".so")
        self.addCleanup(lambda: os.path.lexists(dst) and os.unlink(dst))
        shutil.copyfile(harness.fixture_module(), dst)
        os.chmod(dst, 0o644)
        self.loads([OPENSSL, "list", "-providers", "-provider", name], dst,
                   harness.sha256_file(dst), "no package owns it")

    def test_library_planted_in_a_system_library_directory(self):
        """A root-owned 0644 library no package owns, in the system's library
        directory, preloaded into openssl. Enforce mode cannot stop it: the
        kernel judges a library by owner, mode and directory, all as they
        should be, and only user space reads the package records. The finding
        says so (README: what enforce mode cannot stop)."""
        libdir = os.path.dirname(os.path.realpath(
            "/usr/lib/x86_64-linux-gnu/libcrypto.so.3"))
        dst = os.path.join(libdir, "libsowatch-planted-%s.so" % harness.rand())
        self.addCleanup(lambda: os.path.lexists(dst) and os.unlink(dst))
        shutil.copyfile(harness.fixture_module(), dst)
        os.chmod(dst, 0o644)
        fd = self.loads([OPENSSL, "version"], dst, harness.sha256_file(dst),
                        "no package owns it", env={"LD_PRELOAD": dst}, stoppable=False)
        if harness.ENFORCE:
            self.assertIn("content against the package's record",
                          fd.props.get("enforcement", ""))

    def test_symlink_in_enginesdir_still_caught(self):
        """A symlink in ENGINESDIR to a file elsewhere: judged where it leads."""
        mod = self.ws.module("linked")
        name = "sowatch-link-" + harness.rand()
        self.plant(name + ".so", symlink_to=mod)
        self.loads([OPENSSL, "engine", "-t", name], mod, harness.sha256_file(mod),
                   "lies outside")

    def test_installed_engines_and_providers_are_silent(self):
        """Every engine and provider Debian's packages installed here, loaded for
        real (and what the pkcs11 engine pulls in through p11-kit): no finding."""
        pids = []
        ran = []
        for path in sorted(glob.glob(os.path.join(self.engines, "*.so"))):
            name = os.path.basename(path)[:-3]
            if os.path.islink(path) or name.startswith("sowatch-"):
                continue  # libpkcs11.so -> pkcs11.so; other tests' plants
            r = run_cmd([OPENSSL, "engine", "-t", name])
            pids.append(r.pid)
            ran.append(name)
        self.assertTrue(ran, "no engine installed in " + self.engines)
        providers = ["-provider", "default"]
        for path in sorted(glob.glob(os.path.join(self.modules, "*.so"))):
            name = os.path.basename(path)[:-3]
            if name.startswith("sowatch-"):
                continue
            if name == "fips":
                continue  # needs its fipsmodule.cnf: loaded below on its own
            providers += ["-provider", name]
        r = run_cmd([OPENSSL, "list", "-providers"] + providers)
        self.assertIn("legacy", r.output)
        pids.append(r.pid)
        if os.path.exists(os.path.join(self.modules, "fips.so")):
            r = run_cmd([OPENSSL, "list", "-providers", "-provider", "fips"])
            pids.append(r.pid)
        # The pkcs11 engine loading p11-kit's proxy, which loads p11-kit's trust
        # module and its libraries (libffi, libtasn1): all from packages
        proxy = glob.glob("/usr/lib/*/p11-kit-proxy.so")
        if proxy and os.path.exists(os.path.join(self.engines, "pkcs11.so")):
            r = run_cmd([OPENSSL, "pkey", "-engine", "pkcs11", "-inform", "engine",
                         "-in", "pkcs11:object=sowatch-none"],
                        env={"PKCS11_MODULE_PATH": proxy[0]})
            pids.append(r.pid)
        harness.assert_no_findings(SENSOR, self.ws, pids=pids)


if __name__ == "__main__":
    unittest.main()
