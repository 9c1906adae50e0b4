# SPDX-License-Identifier: Apache-2.0
"""The Debian package and `make install`, tested as a user gets them.

* PackageTest builds the package (`make deb`), checks it with lintian, installs it with
  apt-get, runs the installed /usr/sbin/sowatch with the installed configuration until it
  reports an untrusted module that openssl loads, then purges the package and checks that
  only the findings store is left. It changes the machine (a package, /etc/sowatch,
  /usr/sbin/sowatch) and puts it back, even on failure; it refuses to start if any of those
  is there already, so as not to take over what someone else installed.
* MakeInstallTest runs `make install` and `make uninstall` into a DESTDIR.

Run with: /usr/bin/python3 tests/e2e/run.py --dir tests/install -p test_package.py
"""

import glob
import os
import re
import shutil
import stat
import subprocess
import tempfile
import time
import unittest

import harness

ROOT = harness.REPO_ROOT
SBIN = "/usr/sbin/sowatch"
ETC = "/etc/sowatch"
CONF = "/etc/sowatch/sowatch.yaml"
STORE_DIR = "/var/lib/sowatch"
STORE = "/var/lib/sowatch/findings.db"
# Waits for the dpkg lock rather than failing when another apt-get runs on this machine.
APT = ["apt-get", "-y", "-q", "-o", "DPkg::Lock::Timeout=600"]


def version():
    with open(os.path.join(ROOT, "VERSION")) as f:
        return f.read().strip()


def run(argv, timeout=600, cwd=ROOT, env=None):
    """Run argv; return (returncode, stdout and stderr together)."""
    p = subprocess.run(argv, cwd=cwd, env=env, stdin=subprocess.DEVNULL,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=timeout)
    return p.returncode, p.stdout.decode("utf-8", "replace")


def make_env():
    """Our environment without make's own variables: a make that runs the tests must not
    hand its job server down."""
    return {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL")}


def dlopened_packages():
    """The packages of the libraries sowatch loads with dlopen() (each `.soname = "..."` of a
    struct dynlib in src/), found by dpkg -S on this build machine, which has them."""
    sonames = set()
    for path in glob.glob(os.path.join(ROOT, "src", "**", "*.c"), recursive=True):
        with open(path) as f:
            sonames |= set(re.findall(r'\.soname = "([^"]+)"', f.read()))
    packages = {}
    for soname in sorted(sonames):
        rc, out = run(["dpkg", "-S", "*/" + soname])
        if rc != 0:
            raise AssertionError("dpkg -S */%s: no package has it:\n%s" % (soname, out))
        packages[soname] = out.split(":", 1)[0]
    return packages


def installed(package):
    rc, out = run(["dpkg-query", "-W", "-f=${db:Status-Status}", package])
    return rc == 0 and out.strip() not in ("", "not-installed")


class InstalledSensor(harness.Sensor):
    """The installed sensor as its unit runs it: `/usr/sbin/sowatch run` with no option, so
    /etc/sowatch/sowatch.yaml decides everything: findings on standard output
    (outputs.jsonl "-"), the store /var/lib/sowatch/findings.db.

    Standard output goes to the file harness.Sensor reads findings from (self.jsonl), and
    standard error to its log; waiting for the findings, stop() (SIGTERM, exit 0) and the log
    are harness.Sensor's."""

    name = "installed sensor"
    findings_on_stdout = True
    cwd = "/"

    def __init__(self, **kw):
        super().__init__(db=STORE, **kw)

    def command(self):
        return [self.binary, "run"]


class PackageTest(unittest.TestCase):
    maxDiff = None

    def setUp(self):
        if os.geteuid() != 0:
            self.skipTest("installs a package: needs root (euid %d)" % os.geteuid())
        # Never take over what was there before the test: the purge at the end removes it.
        if installed("sowatch"):
            self.fail("the sowatch package is installed already: this test installs and "
                      "purges it (apt-get purge sowatch, if it is a leftover)")
        if os.path.isdir("/run/systemd/system"):
            self.fail("systemd runs this machine: the package would start sowatch.service at "
                      "install, beside the sensor this test starts on the same store")
        for path in (ETC, SBIN):
            if os.path.lexists(path):
                self.fail("%s exists and no package owns it (make install?): the package "
                          "would take it over and its purge remove it; move it away first"
                          % path)
        self.ws = harness.Workspace(prefix="sowatch-install-")
        self.addCleanup(self.ws.cleanup)

    def keep_store_dir(self):
        """Put /var/lib/sowatch back as it was, at cleanup: removed if the test made it, else
        with its mode and without the store files the test made. If it is there already, its
        mode is made 0755 now, so that the test sees postinst set it back to 0700."""
        if not os.path.isdir(STORE_DIR):
            self.addCleanup(shutil.rmtree, STORE_DIR, True)
            return
        mode = stat.S_IMODE(os.stat(STORE_DIR).st_mode)
        made = [p for p in (STORE, STORE + "-wal", STORE + "-shm", STORE + "-journal")
                if not os.path.lexists(p)]
        self.addCleanup(os.chmod, STORE_DIR, mode)
        for p in made:
            self.addCleanup(lambda p=p: os.path.lexists(p) and os.unlink(p))
        os.chmod(STORE_DIR, 0o755)

    def purge_if_installed(self):
        if installed("sowatch"):
            rc, out = run(APT + ["purge", "sowatch"])
            if rc != 0:
                raise AssertionError("cleanup: apt-get purge sowatch: exit %d\n%s" % (rc, out))

    def test_package(self):
        v = version()

        # 1. Build and lint. One build per run: make deb starts from an empty build/deb/.
        t0 = time.monotonic()
        rc, out = run(["make", "deb"], timeout=1800, env=make_env())
        self.assertEqual(rc, 0, "make deb failed:\n" + out[-6000:])
        built = time.monotonic() - t0
        debs = glob.glob(os.path.join(ROOT, "build", "deb", "sowatch_%s_*.deb" % v))
        self.assertEqual(len(debs), 1, "make deb made %s:\n%s" % (debs, out[-3000:]))
        deb = debs[0]
        self.assertIn("deb: build/deb/" + os.path.basename(deb), out)
        rc, conffiles = run(["dpkg-deb", "--info", deb, "conffiles"])
        self.assertEqual((rc, conffiles), (0, CONF + "\n"))
        # What dpkg-shlibdeps cannot see: each library loaded with dlopen() is recommended.
        rc, recommends = run(["dpkg-deb", "-f", deb, "Recommends"])
        self.assertEqual(rc, 0, recommends)
        recommends = [r.strip() for r in recommends.split(",")]
        packages = dlopened_packages()
        self.assertEqual(len(packages), 3, packages)  # libcurl, libnats, libmicrohttpd
        for soname, package in packages.items():
            self.assertIn(package, recommends, "%s (%s) is dlopen()ed" % (package, soname))
        changes = glob.glob(os.path.join(ROOT, "build", "deb", "sowatch_%s_*.changes" % v))
        self.assertEqual(len(changes), 1, changes)
        rc, lint = run(["lintian", "--fail-on", "error", changes[0]])
        self.assertEqual(rc, 0, "lintian found errors:\n" + lint)
        self.assertNotIn("\nE: ", "\n" + lint)
        self.assertNotIn("\nW: ", "\n" + lint, "the README says lintian gives no warning")
        print("\n  make deb: %.0fs; lintian: %s" % (
            built, "; ".join(line for line in lint.splitlines()
                             if line[:2] in ("E:", "W:")) or "no errors, no warnings"))

        # 2. Install, and check what is where.
        self.keep_store_dir()
        self.addCleanup(self.purge_if_installed)
        rc, out = run(APT + ["install", deb])
        self.assertEqual(rc, 0, "apt-get install %s failed:\n%s" % (deb, out))
        self.assertTrue(installed("sowatch"))
        rc, out = run([SBIN, "--version"])
        self.assertEqual((rc, out.strip()), (0, "sowatch " + v))
        rc, conffiles = run(["dpkg-query", "-W", "-f=${Conffiles}", "sowatch"])
        self.assertEqual(rc, 0, conffiles)
        self.assertEqual([line.split()[0] for line in conffiles.splitlines() if line.strip()],
                         [CONF])
        self.assertEqual(stat.S_IMODE(os.stat(CONF).st_mode), 0o600)
        st = os.stat(STORE_DIR)
        self.assertEqual((stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid), (0o700, 0, 0))
        rc, listing = run(["dpkg", "-L", "sowatch"])
        self.assertEqual(rc, 0, listing)
        files = listing.split()
        for path in ("/lib/systemd/system/sowatch.service", "/usr/share/man/man8/sowatch.8.gz",
                     "/usr/share/bash-completion/completions/sowatch", SBIN, CONF):
            self.assertIn(path, files)
            self.assertTrue(os.path.isfile(path), path)
        self.assertNotIn(STORE_DIR, files)  # made by postinst: a purge leaves it
        with open("/lib/systemd/system/sowatch.service") as f:
            self.assertIn("ExecStart=%s run" % SBIN, f.read())
        # The installed unit as systemd would load it: its binary, and the man page that
        # Documentation= names, are where it says.
        rc, out = run(["systemd-analyze", "verify", "sowatch.service"])
        self.assertEqual((rc, out), (0, ""), "systemd-analyze verify")
        rc, out = run(["man", "-w", "8", "sowatch"])
        self.assertEqual((rc, out.strip()), (0, "/usr/share/man/man8/sowatch.8.gz"))
        # What was a file or a directory of sowatch's own (shared ones such as /usr/sbin stay).
        ours = [p for p in files
                if not os.path.isdir(p) or os.path.basename(p) == "sowatch"]

        # 3. The installed sensor with the installed configuration reports an untrusted module.
        sensor = InstalledSensor(binary=SBIN)
        with sensor:
            fd = harness.engine_load(sensor, self.ws, stem="pkg")
            self.assertEqual(fd.f.get("category"), harness.CATEGORY, fd.raw)
            self.assertEqual(sensor.db, STORE)
        self.assertEqual(sensor.returncode, 0)
        self.assertTrue(os.path.isfile(STORE), "no store at " + STORE)

        # 4. Purge: nothing of sowatch's is left but the store.
        rc, out = run(APT + ["purge", "sowatch"])
        self.assertEqual(rc, 0, "apt-get purge sowatch failed:\n" + out)
        self.assertIn("kept the findings store in /var/lib/sowatch", out)
        self.assertFalse(installed("sowatch"))
        left = [p for p in ours if os.path.lexists(p)]
        self.assertEqual(left, [], "left after the purge")
        self.assertFalse(os.path.lexists(ETC))
        self.assertTrue(os.path.isdir(STORE_DIR), "the purge removed the store, kept on purpose")
        self.assertTrue(os.path.isfile(STORE))


class MakeInstallTest(unittest.TestCase):
    """`make install` and `make uninstall` into a DESTDIR: what goes where, with which mode,
    a configuration kept at a second install, and only the configuration left after an
    uninstall."""

    def test_install_uninstall(self):
        dest = tempfile.mkdtemp(prefix="sowatch-destdir-")
        self.addCleanup(shutil.rmtree, dest, True)
        args = ["DESTDIR=" + dest, "PREFIX=/usr/local"]

        rc, out = run(["make", "install"] + args, timeout=1800, env=make_env())
        self.assertEqual(rc, 0, "make install failed:\n" + out[-4000:])
        modes = {
            "usr/local/sbin/sowatch": 0o755,
            "etc/sowatch/sowatch.yaml": 0o600,
            # the administrator's unit directory: never over the package's
            "etc/systemd/system/sowatch.service": 0o644,
            "usr/local/share/man/man8/sowatch.8": 0o644,
            "usr/local/share/bash-completion/completions/sowatch": 0o644,
        }
        self.assertEqual(self.files(dest), sorted(modes))
        for rel, mode in modes.items():
            self.assertEqual(stat.S_IMODE(os.stat(os.path.join(dest, rel)).st_mode), mode, rel)
        with open(os.path.join(dest, "etc/systemd/system/sowatch.service")) as f:
            unit = f.read()
        self.assertIn("ExecStart=/usr/local/sbin/sowatch run", unit)
        self.assertNotIn("/usr/sbin/sowatch", unit)
        rc, out = run([os.path.join(dest, "usr/local/sbin/sowatch"), "--version"])
        self.assertEqual((rc, out.strip()), (0, "sowatch " + version()))

        # A second install keeps the configuration an administrator changed.
        conf = os.path.join(dest, "etc/sowatch/sowatch.yaml")
        with open(conf, "a") as f:
            f.write("# changed by the administrator\n")
        rc, out = run(["make", "install"] + args, env=make_env())
        self.assertEqual(rc, 0, out)
        self.assertIn("install: kept %s as it is" % conf, out)
        with open(conf) as f:
            self.assertTrue(f.read().endswith("# changed by the administrator\n"))
        self.assertIn("etc/sowatch/sowatch.yaml.example", self.files(dest))

        rc, out = run(["make", "uninstall"] + args, env=make_env())
        self.assertEqual(rc, 0, out)
        self.assertIn("uninstall: kept the configuration", out)
        self.assertEqual(self.files(dest), ["etc/sowatch/sowatch.yaml"])

    @staticmethod
    def files(top):
        """Every file and symbolic link under top, relative to it, sorted."""
        found = []
        for d, _, names in os.walk(top):
            found += [os.path.relpath(os.path.join(d, n), top) for n in names]
        return sorted(found)


if __name__ == "__main__":
    unittest.main()
