# SPDX-License-Identifier: Apache-2.0
"""End-to-end tests: gVisor sandboxes with a root of their own, as under
containerd, GKE Sandbox and Cloud Run, where a container's root is an image
unpacked somewhere on the host rather than the host's "/"; and Cloud Run's
service variables.

Run as root with Debian's Python:
    /usr/bin/python3 tests/e2e/run.py -p test_gvisor_root_e2e.py
    tests/run -k gvisor

The sensor and the pod init config are test_gvisor_e2e.py's (one sensor
`sowatch run --source gvisor`). Each sandbox is an OCI bundle run with
`runsc --root STATE run`, whose spec names as root a directory the test
built (sandbox.make_rootfs(): copies of the host's openssl, its libraries
and ld.so), relative to the bundle as containerd writes it. Files the tests
care about exist only inside that root, or differ from the file at the same
path on the host: a finding that read the host's file has the wrong hash,
or none, or no finding comes at all.

The module's constructor writes its marker inside the sandbox; it lands in
the root directory on the host, which proves the code ran. Findings are
picked out by the sandbox's container id and the unique module path.

Skipped only when runsc is not installed or when not root (like every e2e
test); never when CI is set (then the module fails instead).
"""

import json
import os
import re
import shutil
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness  # noqa: E402
import sandbox  # noqa: E402
import test_gvisor_e2e as gv  # noqa: E402
from harness import CATEGORY, OPENSSL, read_marker, sha256_file  # noqa: E402


def setUpModule():
    gv.setUpModule()


def tearDownModule():
    gv.tearDownModule()


class SandboxRootTest(gv.GVisorTest):

    def setUp(self):
        super().setUp()
        self.tag = harness.rand()
        # The sandbox's own copy of openssl, at a path the host does not have:
        # unless the sensor reads it inside the root, nothing says it is
        # OpenSSL, and there is no finding at all.
        self.own_dir = "/opt/ossl-%s/bin" % self.tag
        self.assertFalse(os.path.exists(self.own_dir))
        self.root = sandbox.make_rootfs(
            self.ws.path("rootfs"),
            programs=[(OPENSSL, self.own_dir + "/openssl"),
                      (OPENSSL, "/usr/bin/openssl"),
                      ("/bin/sh", "/bin/sh")])
        # Paths inside the sandbox that are also paths on the host (the
        # workspace): the host's file there must not be what is hashed.
        self.inside = self.ws.path("in-%s" % self.tag)
        os.makedirs(self.root + self.inside)
        os.chmod(self.root + self.inside, 0o777)
        os.makedirs(self.inside)

    def in_root(self, path):
        return self.root + path

    def put_module(self, name):
        """The fixture module at `name` inside the root; at the same path on
        the host, a different file (a decoy)."""
        shutil.copyfile(harness.fixture_module(), self.in_root(name))
        os.chmod(self.in_root(name), 0o755)
        with open(name, "wb") as f:
            f.write(b"not the sandbox's module " + os.urandom(64))
        self.assertNotEqual(sha256_file(name), sha256_file(self.in_root(name)))
        return name

    def run_rooted(self, argv, env, marker, **kw):
        r = sandbox.run_in_sandbox(argv, gv.POD_CONFIG, env=env, marker=marker,
                                   mode="run", root=self.root, **kw)
        pid = read_marker(self.in_root(marker))
        self.assertIsNotNone(pid, "module constructor did not run in the "
                             "sandbox (no marker %s in its root); %r output:\n%s"
                             % (marker, r, r.output))
        self.assertIsInstance(pid, int, "bad marker %r" % (pid,))
        self.assertFalse(os.path.exists(marker),
                         "the marker reached the host's path: the sandbox's "
                         "root is not its own")
        return r, pid

    def assertRootedFinding(self, fd, r, module, pid, binary, module_file=None):
        """module_file: the module's real path inside the root, when module
        is a symlink there (which the host would resolve on its side)."""
        f = fd.f
        self.assertEqual(f.get("category"), CATEGORY)
        self.assertEqual(f.get("severity"), "CRITICAL", fd.raw[:3000])
        self.assertEqual(fd.props.get("sensor"), "gvisor")
        self.assertEqual(fd.props.get("containerId"), r.container_id)
        self.assertTrue(fd.props.get("loaded"))
        p = fd.process
        self.assertEqual(p.get("pid"), str(pid))
        lib = (p.get("libraries") or [{}])[0]
        self.assertEqual(lib.get("path"), module)
        # The sandbox's own files, hashed inside its root
        real = self.in_root(module_file or module)
        self.assertEqual(lib.get("sha256"), sha256_file(real), fd.raw[:3000])
        self.assertEqual(lib.get("size"), str(os.path.getsize(real)))
        b = p.get("binary") or {}
        self.assertEqual(b.get("path"), binary)
        self.assertEqual(b.get("sha256"), sha256_file(self.in_root(binary)),
                         fd.raw[:3000])


class TestSandboxWithItsOwnRoot(SandboxRootTest):

    def test_module_only_in_the_sandbox_root(self):
        """The sandbox's own openssl (found through PATH inside its root)
        loads a module through an absolute symlink that exists only inside
        the root, to a file whose host namesake is a decoy: the finding
        carries the sandbox files' sha256, of the binary and of the module
        (the symlink resolved within the root, never on the host)."""
        target = self.put_module(self.inside + "/target-%s.so" % self.tag)
        link = self.inside + "/link-%s.so" % self.tag
        os.symlink(target, self.in_root(link))  # absolute: /tmp/.../target
        self.assertFalse(os.path.lexists(link))
        marker = self.inside + "/marker"
        argv = ["openssl", "engine", "-t", link]
        r, pid = self.run_rooted(
            argv, {"PATH": self.own_dir + ":/usr/bin:/bin"}, marker)
        fd = gv.SENSOR.wait_for(gv.for_sandbox(r.container_id, link),
                                timeout=gv.FINDING_TIMEOUT)
        self.assertEqual(fd.process.get("args"), argv)
        self.assertEqual(fd.props.get("modulePath"), link)
        self.assertIn("intent", fd.props.get("detectionLayers") or [])
        self.assertIn("effect", fd.props.get("detectionLayers") or [])
        # The link was followed inside the root: the real module's hash.
        self.assertRootedFinding(fd, r, link, pid, self.own_dir + "/openssl",
                                 module_file=target)
        self.assertNotEqual(fd.process["libraries"][0]["sha256"],
                            sha256_file(target))  # the host's decoy

    def test_configuration_only_in_the_sandbox_root(self):
        """OPENSSL_CONF names a file that exists only inside the root, which
        includes (.include) another one there whose engine section loads a
        module of the root: the intent layer read them inside the root."""
        mod = self.put_module(self.inside + "/conf-%s.so" % self.tag)
        conf_dir = "/etc/sowatch-%s" % self.tag
        os.makedirs(self.in_root(conf_dir + "/conf.d"))
        with open(self.in_root(conf_dir + "/conf.d/engines.cnf"), "w") as f:
            f.write("[init]\nengines = eng\n[eng]\ne = esec\n"
                    "[esec]\ndynamic_path = %s\ninit = 1\n" % mod)
        with open(self.in_root(conf_dir + "/openssl.cnf"), "w") as f:
            f.write("openssl_conf = init\n.include %s/conf.d/engines.cnf\n"
                    % conf_dir)
        self.assertFalse(os.path.exists(conf_dir))
        marker = self.inside + "/marker"
        argv = ["openssl", "version"]
        r, pid = self.run_rooted(
            argv, {"PATH": "/usr/bin:/bin",
                   "OPENSSL_CONF": conf_dir + "/openssl.cnf"}, marker)
        self.assertEqual(r.returncode, 0, r.output)
        fd = gv.SENSOR.wait_for(gv.for_sandbox(r.container_id, mod),
                                timeout=gv.FINDING_TIMEOUT)
        self.assertIn("intent", fd.props.get("detectionLayers") or [])
        self.assertEqual(fd.props.get("requestOrigin"), "config dynamic_path")
        self.assertIn({"name": "OPENSSL_CONF",
                       "val": conf_dir + "/openssl.cnf"},
                      fd.process.get("envVariables") or [])
        # The sandbox's /usr/bin/openssl, a copy of the host's
        self.assertRootedFinding(fd, r, mod, pid, "/usr/bin/openssl")


class TestCloudRunService(SandboxRootTest):

    def test_service_and_revision_named(self):
        """A container started with Cloud Run's K_SERVICE, K_REVISION and
        K_CONFIGURATION: the finding names the service and revision in
        resource and sourceProperties.cloudRun, whatever the process that
        loaded the module set for itself. The state is found in runsc's
        default state directory here."""
        service = "svc-%s" % self.tag
        revision = "%s-00001-abc" % service
        # Any bytes can be in there: they must come out escaped, intact.
        configuration = 'cfg "%s"\n</x>\\' % self.tag
        mod = self.put_module(self.inside + "/cr-%s.so" % self.tag)
        marker = self.inside + "/marker"
        # The child sets its own K_* for openssl: the container's count.
        argv = ["/bin/sh", "-c", "K_SERVICE=evil K_REVISION=evil-1 "
                "openssl engine -t %s; exit 0" % mod]
        r, pid = self.run_rooted(
            argv, {"PATH": "/usr/bin:/bin", "K_SERVICE": service,
                   "K_REVISION": revision, "K_CONFIGURATION": configuration},
            marker, state_root="/var/run/runsc")
        self.assertEqual(r.returncode, 0, r.output)
        self.assertNotEqual(pid, 1, "openssl should be the shell's child")
        fd = gv.SENSOR.wait_for(gv.for_sandbox(r.container_id, mod),
                                timeout=gv.FINDING_TIMEOUT)
        self.assertRootedFinding(fd, r, mod, pid, "/usr/bin/openssl")
        self.assertEqual(fd.props.get("cloudRun"), {
            "service": service, "revision": revision,
            "configuration": configuration})
        res = fd.get("resource") or {}
        self.assertEqual(res.get("type"), "cloud_run_revision")
        self.assertEqual(res.get("display_name"), revision)
        self.assertTrue(res.get("name", "").endswith(
            "/cloudRun/services/%s/revisions/%s" % (service, revision)),
            res)
        self.assertEqual(fd.f.get("resourceName"), res.get("name"))
        # The container is still named
        self.assertIn(r.container_id, gv.container_ids(fd))
        self.assertNotIn("evil", json.dumps(res))

        # Its logs are Cloud Logging's: `findings logs` gives the query for them
        p = subprocess.run([harness.sowatch_bin(), "findings", "logs", fd.finding_id(),
                            "--db", gv.SENSOR.db, "--before", "1m", "--after", "2m"],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
        self.assertEqual(p.returncode, 0, p.stderr)
        out = p.stdout.decode("utf-8", "strict")
        query = [line.strip() for line in out.splitlines() if "gcloud logging read" in line]
        self.assertEqual(len(query), 1, out)
        m = re.fullmatch(
            r"gcloud logging read 'resource.type=\"cloud_run_revision\" AND "
            r"resource.labels.service_name=\"%s\" AND resource.labels.revision_name=\"%s\" "
            r"AND timestamp>=\"(\S+)\" AND timestamp<=\"(\S+)\"' --order=asc"
            % (re.escape(service), re.escape(revision)), query[0])
        self.assertIsNotNone(m, query[0])
        # The window: --before and --after around the event
        event = harness.parse_rfc3339(fd.f["eventTime"])
        self.assertAlmostEqual(harness.parse_rfc3339(m.group(1)), event - 60, places=4)
        self.assertAlmostEqual(harness.parse_rfc3339(m.group(2)), event + 120, places=4)


if __name__ == "__main__":
    unittest.main()
