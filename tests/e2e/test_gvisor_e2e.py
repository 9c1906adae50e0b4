# SPDX-License-Identifier: Apache-2.0
"""End-to-end tests of the gVisor source: real runsc sandboxes, real openssl.

Run as root with Debian's Python:
    /usr/bin/python3 tests/e2e/test_gvisor_e2e.py -v
    tests/run -k gvisor

One sensor is shared by all the tests of this module:

    sowatch gvisor-config --socket S > pod.json
    sowatch run --source gvisor --gvisor-socket S --jsonl F --db D

and every sandbox is started with `runsc --network=none --platform=ptrace
--pod-init-config=pod.json` (see sandbox.py), so its trace points go to the
sensor. In a sandbox, pids are the sandbox's own (the marker a module writes
holds the pid the finding must carry) and the container is the sandbox's
container id: "runsc-NNNNNN" for `runsc do`, the id we choose for an OCI
bundle run with `runsc run`. Findings are picked out by their unique module
path and container id; the machine is busy.

Skipped only when runsc is not installed or when not root (like every e2e
test); never when CI is set (then the module fails instead).
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness  # noqa: E402
import sandbox  # noqa: E402
from harness import CATEGORY, OPENSSL, for_module, read_marker  # noqa: E402

SENSOR = None
SKIP_REASON = None
POD_CONFIG = None
SOCKET = None
_TMP = None

FINDING_TIMEOUT = 20.0


def environment_problem():
    """Why these tests cannot run here, or None: only a missing runsc, or
    not being root, are reasons. With CI set they are failures."""
    reason = sandbox.runsc_available()
    if reason and harness.in_ci():
        raise RuntimeError("CI is set, refusing to skip: " + reason)
    return reason


def setUpModule():
    global SKIP_REASON, _TMP
    SKIP_REASON = environment_problem()
    if SKIP_REASON:
        return
    harness.fixture_module()  # build it before the sensor starts
    _TMP = tempfile.mkdtemp(prefix="sowatch-e2e-gvisor-")
    try:
        _start_sensor()
    except BaseException:
        # unittest does not run tearDownModule after a failed setUpModule.
        shutil.rmtree(_TMP, ignore_errors=True)
        raise


def _start_sensor():
    global SENSOR, POD_CONFIG, SOCKET
    os.chmod(_TMP, 0o755)
    SOCKET = os.path.join(_TMP, "gvisor.sock")
    POD_CONFIG = os.path.join(_TMP, "pod.json")
    with open(POD_CONFIG, "wb") as f:
        p = subprocess.run([harness.sowatch_bin(), "gvisor-config",
                            "--socket", SOCKET],
                           stdout=f, stderr=subprocess.PIPE)
    if p.returncode != 0:
        raise RuntimeError("sowatch gvisor-config failed (%d): %s" % (
            p.returncode, p.stderr.decode(errors="replace")))
    with open(POD_CONFIG, "rb") as f:
        pod = json.loads(f.read().decode("utf-8", "strict"),
                         object_pairs_hook=harness._reject_duplicates)
    sinks = pod["trace_session"]["sinks"]
    if [s["config"]["endpoint"] for s in sinks] != [SOCKET]:
        raise RuntimeError("pod-init-config does not name %s: %r" % (
            SOCKET, sinks))
    SENSOR = harness.Sensor(args=["--source", "gvisor",
                                  "--gvisor-socket", SOCKET]).start()


def tearDownModule():
    global SENSOR
    try:
        if SENSOR is not None:
            s, SENSOR = SENSOR, None
            s.stop()  # asserts exit status 0
    finally:
        if _TMP and not harness.keep_artifacts():
            shutil.rmtree(_TMP, ignore_errors=True)


# --------------------------------------------------------------------------
# Helpers


def container_ids(fd):
    """The container ids a finding names: sourceProperties.containerId and
    every containers[].name."""
    ids = set()
    cid = fd.props.get("containerId")
    if cid:
        ids.add(cid)
    for c in fd.f.get("containers") or []:
        if c.get("name"):
            ids.add(c["name"])
    return ids


def for_sandbox(container_id, module):
    """Predicate: a finding about module in the container container_id."""

    def pred(fd):
        return module in fd.library_paths() and container_id in container_ids(fd)
    pred.description = "module %s in container %s" % (module, container_id)
    return pred


def names_container(fd, container_id):
    return container_id in container_ids(fd) or \
        container_id.encode() in fd.raw


def sandbox_canary(ws, mode="do"):
    """A known-positive load in a sandbox of the given mode; returns
    (finding, SandboxResult) once the sensor reported it."""
    mod = ws.module("canary")
    marker = ws.marker("canary-marker")
    r = sandbox.run_in_sandbox(["openssl", "engine", "-t", mod], POD_CONFIG,
                               marker=marker, files=[ws.dir], mode=mode)
    if read_marker(marker) is None:
        raise AssertionError("canary module did not run in the sandbox:\n%s"
                             % r.output)
    fd = SENSOR.wait_for(for_sandbox(r.container_id, mod),
                         timeout=FINDING_TIMEOUT)
    return fd, r


class GVisorTest(unittest.TestCase):
    maxDiff = None

    def setUp(self):
        if SKIP_REASON:
            self.skipTest(SKIP_REASON)
        self.assertIsNotNone(SENSOR, "sensor not running")
        self.assertTrue(SENSOR.alive(), "sensor died:\n" + SENSOR.log_tail())
        self.ws = harness.Workspace()
        self.addCleanup(self.ws.cleanup)

    def run_sandboxed(self, argv, marker, **kw):
        """Run argv in a sandbox; the module's constructor must have run
        (the marker holds its pid inside the sandbox, returned)."""
        kw.setdefault("files", [self.ws.dir])
        r = sandbox.run_in_sandbox(argv, POD_CONFIG, marker=marker, **kw)
        pid = read_marker(marker)
        self.assertIsNotNone(pid, "module constructor did not run in the "
                             "sandbox (no marker %s); %r output:\n%s"
                             % (marker, r, r.output))
        self.assertIsInstance(pid, int, "bad marker %r" % (pid,))
        return r, pid

    def assertSandboxFinding(self, fd, r, module, argv, pid=None,
                             binary=OPENSSL):
        """What a responder must see for a module loaded in a sandbox."""
        f = fd.f
        self.assertEqual(f.get("category"), CATEGORY)
        self.assertEqual(f.get("findingClass"), "THREAT")
        self.assertEqual(f.get("state"), "ACTIVE")
        # The module's code was mapped (gVisor reports the mmap): critical.
        self.assertEqual(f.get("severity"), "CRITICAL", fd.raw[:3000])
        mitre = f.get("mitreAttack") or {}
        self.assertEqual(mitre.get("primaryTactic"), "EXECUTION")
        self.assertEqual(mitre.get("primaryTechniques"), ["SHARED_MODULES"])
        p = fd.process
        self.assertEqual(p.get("args"), list(argv))
        # The module as the sandbox sees it (the same path as on the host
        # here: runsc do shares the host's root, a bundle bind-mounts the
        # workspace at the same path).
        self.assertEqual((p.get("libraries") or [{}])[0].get("path"), module)
        self.assertEqual((p.get("binary") or {}).get("path"), binary)
        if pid is not None:
            # Pids in a sandbox are the sandbox's own.
            self.assertEqual(p.get("pid"), str(pid))
        self.assertEqual(fd.props.get("sensor"), "gvisor")
        self.assertIn(r.container_id, container_ids(fd),
                      "finding names containers %s, the sandbox is %s"
                      % (sorted(container_ids(fd)), r.container_id))

    def assertNoSandboxFindings(self, results, names=()):
        """Negative check: a canary in a new sandbox (of the first result's
        mode) proves the sensor is alive and caught up; no finding before it
        may name one of the results' containers or contain one of names."""
        mode = results[0].mode if results else "do"
        c, cr = sandbox_canary(self.ws, mode=mode)
        bad = []
        for fd in SENSOR.findings()[:c.index]:
            hit = [r.container_id for r in results
                   if names_container(fd, r.container_id)]
            text = fd.raw.decode("utf-8", "replace")
            hit += [n for n in names if n in text]
            if hit:
                bad.append("%s (matched %s)\n%s" % (fd.short(), hit,
                                                    text[:3000]))
        if bad:
            self.fail("unexpected findings for benign sandboxes:\n"
                      + "\n".join(bad))
        self.assertNotIn(cr.container_id,
                         [r.container_id for r in results])
        return c


# --------------------------------------------------------------------------
# Tests


class TestSandboxLoads(GVisorTest):
    """Each route by which openssl loads a module, inside a sandbox."""

    def test_engine_t_absolute_path(self):
        mod = self.ws.module()
        marker = self.ws.marker()
        argv = ["openssl", "engine", "-t", mod]
        r, pid = self.run_sandboxed(argv, marker)
        self.assertRegex(r.container_id, sandbox.DO_CID)
        fd = SENSOR.wait_for(for_sandbox(r.container_id, mod),
                             timeout=FINDING_TIMEOUT)
        self.assertSandboxFinding(fd, r, mod, argv, pid=pid)

    def test_req_engine_relative_path(self):
        mod = self.ws.module()
        rel = "./" + os.path.basename(mod)
        marker = self.ws.marker()
        argv = ["openssl", "req", "-engine", rel, "-new", "-x509", "-nodes",
                "-subj", "/CN=x", "-keyout", "k", "-out", "c"]
        r, pid = self.run_sandboxed(argv, marker, cwd=self.ws.dir)
        fd = SENSOR.wait_for(for_sandbox(r.container_id, mod),
                             timeout=FINDING_TIMEOUT)
        self.assertSandboxFinding(fd, r, mod, argv, pid=pid)
        self.assertIn(rel, fd.process["args"])

    def test_req_engine_relative_path_oci_bundle(self):
        """The same in an OCI bundle run with `runsc run` and a container id
        of our choosing."""
        mod = self.ws.module()
        rel = "./" + os.path.basename(mod)
        marker = self.ws.marker()
        cid = "sowatch-gv-%s" % harness.rand(12)
        argv = ["openssl", "req", "-engine", rel, "-new", "-x509", "-nodes",
                "-subj", "/CN=x", "-keyout", "k", "-out", "c"]
        r, pid = self.run_sandboxed(argv, marker, cwd=self.ws.dir, mode="run",
                                    container_id=cid,
                                    annotations={"org.sowatch.test": "e2e"})
        self.assertEqual(r.container_id, cid)
        fd = SENSOR.wait_for(for_sandbox(cid, mod), timeout=FINDING_TIMEOUT)
        self.assertSandboxFinding(fd, r, mod, argv, pid=pid)

    def test_container_settings_from_runsc_state(self):
        """A sandbox run by a Kubernetes runtime carries its pod's annotations:
        the finding names the container, image, pod and namespace, read from
        runsc's state (its default root, where containerd's shim keeps it)."""
        mod = self.ws.module()
        marker = self.ws.marker()
        cid = "sowatch-gv-%s" % harness.rand(12)
        # (No io.kubernetes.cri.container-type: runsc would then look for a pod
        # sandbox to join.)
        ann = {
            "io.kubernetes.cri.container-name": "payments",
            "io.kubernetes.cri.sandbox-name": "payments-7d9f",
            "io.kubernetes.cri.sandbox-namespace": "shop",
            "io.kubernetes.cri.image-name": "registry.example/payments:2.1",
        }
        argv = ["openssl", "engine", "-t", mod]
        r, pid = self.run_sandboxed(argv, marker, mode="run", container_id=cid,
                                    annotations=ann, state_root="/var/run/runsc")
        fd = SENSOR.wait_for(for_sandbox(cid, mod), timeout=FINDING_TIMEOUT)
        c = fd.f["containers"][0]
        self.assertEqual(c.get("name"), "payments")
        self.assertEqual(c.get("uri"), "registry.example/payments:2.1")
        self.assertRegex(c.get("createTime", ""), harness.RFC3339_UTC)
        pod = fd.f["kubernetes"]["pods"][0]
        self.assertEqual((pod.get("ns"), pod.get("name")), ("shop", "payments-7d9f"))
        self.assertEqual(fd.props.get("containerId"), cid)

    def test_openssl_conf_dynamic_path(self):
        mod = self.ws.module()
        marker = self.ws.marker()
        cnf = harness.engine_conf(self.ws, mod, name="evil", init=True)
        argv = ["openssl", "version"]
        r, pid = self.run_sandboxed(argv, marker, env={"OPENSSL_CONF": cnf})
        self.assertEqual(r.returncode, 0, r.output)
        fd = SENSOR.wait_for(for_sandbox(r.container_id, mod),
                             timeout=FINDING_TIMEOUT)
        self.assertSandboxFinding(fd, r, mod, argv, pid=pid)
        env = fd.process.get("envVariables") or []
        self.assertIn({"name": "OPENSSL_CONF", "val": cnf}, env)
        # The configuration was read: the intent layer saw the request, too.
        self.assertIn("intent", fd.props.get("detectionLayers") or [])
        self.assertEqual(fd.props.get("requestOrigin"), "config dynamic_path")

    def test_renamed_openssl_copy(self):
        mod = self.ws.module()
        copy = self.ws.path("notssl-%s" % harness.rand())
        shutil.copy2(OPENSSL, copy)
        os.chmod(copy, 0o755)
        marker = self.ws.marker()
        argv = [copy, "engine", "-t", mod]
        r, pid = self.run_sandboxed(argv, marker)
        fd = SENSOR.wait_for(for_sandbox(r.container_id, mod),
                             timeout=FINDING_TIMEOUT)
        self.assertSandboxFinding(fd, r, mod, argv, pid=pid, binary=copy)

    def test_openssl_child_of_a_shell(self):
        """openssl exec'd by a process in the sandbox (gVisor reports a
        clone and an exec) rather than being the sandbox's first process
        (reported only as the container's start)."""
        mod = self.ws.module()
        marker = self.ws.marker()
        argv = ["openssl", "engine", "-t", mod]
        r, pid = self.run_sandboxed(
            ["/bin/sh", "-c", "openssl engine -t '%s'; exit 0" % mod], marker)
        self.assertEqual(r.returncode, 0, r.output)
        self.assertNotEqual(pid, 1, "openssl should not be the first process")
        fd = SENSOR.wait_for(for_sandbox(r.container_id, mod),
                             timeout=FINDING_TIMEOUT)
        self.assertSandboxFinding(fd, r, mod, argv, pid=pid)
        # The shell is the sandbox's first process.
        self.assertEqual(fd.process.get("parentPid"), "1")


class TestSandboxNegatives(GVisorTest):
    """OpenSSL's own behaviour in a sandbox is not reported."""

    def test_openssl_version(self):
        r = sandbox.run_in_sandbox(["openssl", "version"], POD_CONFIG)
        self.assertEqual(r.returncode, 0, r.output)
        self.assertNoSandboxFindings([r])

    def test_openssl_version_oci_bundle(self):
        r = sandbox.run_in_sandbox(["openssl", "version", "-e", "-m"],
                                   POD_CONFIG, mode="run")
        self.assertEqual(r.returncode, 0, r.output)
        self.assertNoSandboxFindings([r])


class TestSandboxIdentity(GVisorTest):

    def test_two_sandboxes_at_once(self):
        """Two sandboxes running at the same time are told apart."""
        mods = [self.ws.module("a"), self.ws.module("b")]
        markers = [self.ws.marker("a-marker"), self.ws.marker("b-marker")]
        calls = [dict(args=["openssl", "engine", "-t", m],
                      pod_config_path=POD_CONFIG, marker=k,
                      files=[self.ws.dir])
                 for m, k in zip(mods, markers)]
        results = sandbox.run_many(calls)
        ids = [r.container_id for r in results]
        self.assertNotEqual(ids[0], ids[1])
        for mod, marker, r in zip(mods, markers, results):
            self.assertIsNotNone(read_marker(marker),
                                 "module did not run in %r:\n%s"
                                 % (r, r.output))
        for i, (mod, r) in enumerate(zip(mods, results)):
            fd = SENSOR.wait_for(for_module(mod), timeout=FINDING_TIMEOUT)
            self.assertSandboxFinding(fd, r, mod,
                                      ["openssl", "engine", "-t", mod],
                                      pid=read_marker(markers[i]))
            self.assertNotIn(ids[1 - i], container_ids(fd),
                             "finding about sandbox %d names the other one"
                             % i)

    def test_issue_check_plain_runsc_do(self):
        """The issue's check, as a user types it:
            sowatch gvisor-config --socket S > pod.json
            sowatch run --source gvisor --gvisor-socket S
            runsc --network=none --platform=ptrace \\
                  --pod-init-config=pod.json do openssl engine -t /tmp/.../x.so
        gives exactly one finding, naming the sandbox's container."""
        mod = self.ws.module(name="x-%s.so" % harness.rand())
        self.assertTrue(mod.startswith("/tmp/"), mod)
        argv = ["openssl", "engine", "-t", mod]
        r = sandbox.run_plain_do(argv, POD_CONFIG)
        self.assertIn("bind_engine", r.output,
                      "openssl did not try the module:\n%s" % r.output)
        fd = SENSOR.wait_for(for_module(mod), timeout=FINDING_TIMEOUT)
        self.assertEqual(fd.f.get("category"), CATEGORY)
        self.assertEqual(fd.process.get("args"), argv)
        self.assertEqual(fd.props.get("sensor"), "gvisor")
        ids = container_ids(fd)
        self.assertTrue(ids, "the finding names no container:\n%s"
                        % fd.raw[:3000])
        for cid in ids:
            self.assertRegex(cid, sandbox.DO_CID)
        # Exactly one: once a later canary's finding is in, every finding
        # about the command would be too.
        c, cr = sandbox_canary(self.ws)
        self.assertNotIn(cr.container_id, ids)
        about = [o for o in SENSOR.findings()[:c.index]
                 if mod.encode() in o.raw]
        self.assertEqual([o.index for o in about], [fd.index],
                         "expected exactly one finding about %s:\n%s" % (
                             mod, "\n".join(o.short() for o in about)))


if __name__ == "__main__":
    unittest.main()
