# SPDX-License-Identifier: Apache-2.0
"""sowatch's container image, run with podman as the Kubernetes DaemonSet runs it.

    /usr/bin/python3 tests/e2e/run.py --dir tests/install -p test_image.py

Builds the .deb (`make deb`; $SOWATCH_DEB names a ready one instead) and the image
(deploy/container/build-image.sh) into a podman/buildah store of the test's own under
/var/tmp, so the machine's own store is neither used nor changed and cleanup removes it
whole. Then runs the image with what deploy/kubernetes/sowatch.yaml gives the DaemonSet,
read from the manifest itself (tests/install/manifest.py): the host's pid namespace,
network and host name; all capabilities dropped and exactly the manifest's added; its
hostPath mounts at the same paths with the same read-only flags; its ConfigMap's
configuration; a read-only root file system and no-new-privileges; podman's default seccomp
profile (the DaemonSet's RuntimeDefault). Three things differ, each for the test's sake:
the configuration's metrics port is a free one on 127.0.0.1 (the machine is shared); the
store's host directory (/var/lib/sowatch on a node) is a directory of the test's own; and
the open-files and process limits are set below this machine's, since its root lacks
CAP_SYS_RESOURCE and podman's default limits (1048576) cannot be set here.

Then: a module loaded on the host, and one loaded in a runc container laid out as
containerd's under Kubernetes, each give a finding on the container's standard output, the
second naming its container and pod. Twenty benign `openssl dgst` runs on the host give no
finding. Without CAP_BPF, and without CAP_PERFMON, the sensor
exits 1 with one line naming the missing capability.

Each phase's time is printed (stderr) as `image-test: PHASE N.N s`.
"""

import glob
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.request

import container
import harness
import manifest
from harness import OPENSSL, for_module, for_process, read_marker, run_cmd

REPO_ROOT = harness.REPO_ROOT
BUILD_IMAGE = os.path.join(REPO_ROOT, "deploy", "container", "build-image.sh")
PODMAN = shutil.which("podman") or "/usr/bin/podman"

SKIP = None
STORE = None     # the test's own container storage
IMAGE = None     # the image reference built
TIMES = []       # (phase, seconds)


def phase(name, t0):
    dt = time.monotonic() - t0
    TIMES.append((name, dt))
    sys.stderr.write("image-test: %-40s %6.1f s\n" % (name, dt))


class Store:
    """A containers-storage of the test's own (graph root, run root, podman's tmpdir)."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="sowatch-itest-image-", dir="/var/tmp")
        self.conf = os.path.join(self.dir, "storage.conf")
        with open(self.conf, "w") as f:
            f.write('[storage]\ndriver = "overlay"\ngraphroot = "%s/graph"\n'
                    'runroot = "%s/run"\n' % (self.dir, self.dir))
        self.env = dict(harness.base_env(), CONTAINERS_STORAGE_CONF=self.conf)

    def podman(self, *args):
        return [PODMAN, "--cgroup-manager=cgroupfs", "--events-backend=none",
                "--tmpdir", os.path.join(self.dir, "libpod")] + list(args)

    def run(self, *args, timeout=120):
        return subprocess.run(self.podman(*args), env=self.env, stdin=subprocess.DEVNULL,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              timeout=timeout)

    def remove(self):
        self.run("rm", "-a", "-f", timeout=120)
        self.run("rmi", "-a", "-f", timeout=120)
        # Not `podman system reset`: it would also remove the machine's networks
        # overlay mounts left by a crash would keep files busy
        subprocess.run(["umount", "-R", "-l", os.path.join(self.dir, "graph", "overlay")],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        shutil.rmtree(self.dir, ignore_errors=True)


def make_deb():
    given = os.environ.get("SOWATCH_DEB")
    if given:
        return os.path.abspath(given)
    p = subprocess.run(["make", "-C", REPO_ROOT, "deb"], stdin=subprocess.DEVNULL,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=1200)
    if p.returncode != 0:
        raise AssertionError("make deb failed (%d):\n%s" % (
            p.returncode, p.stdout.decode(errors="replace")[-6000:]))
    debs = sorted(glob.glob(os.path.join(REPO_ROOT, "build", "deb", "sowatch_*.deb")),
                  key=os.path.getmtime)
    if not debs:
        raise AssertionError("make deb made no build/deb/sowatch_*.deb")
    return debs[-1]


def setUpModule():
    global SKIP, STORE, IMAGE
    if os.geteuid() != 0:
        SKIP = "the image test needs root (euid %d)" % os.geteuid()
        if harness.in_ci():
            raise RuntimeError("CI is set, refusing to skip: " + SKIP)
        return
    SKIP = harness.require_environment()
    if SKIP:
        return
    spec = manifest.sensor_spec()
    t0 = time.monotonic()
    deb = make_deb()
    phase("make deb", t0)
    STORE = Store()
    try:
        t0 = time.monotonic()
        iidfile = os.path.join(STORE.dir, "iid")
        p = subprocess.run(["bash", BUILD_IMAGE, "--deb", deb, "--iidfile", iidfile],
                           env=STORE.env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, timeout=1200)
        out = p.stdout.decode(errors="replace")
        sys.stderr.write("".join("  " + line + "\n" for line in out.splitlines()
                                 if line.startswith("build-image.sh: ")))
        if p.returncode != 0:
            raise AssertionError("build-image.sh failed (%d):\n%s" % (p.returncode, out[-6000:]))
        phase("build-image.sh", t0)
        IMAGE = spec.container["image"]
        # The manifest's image is the one the script tags
        r = STORE.run("image", "inspect", "--format", "{{.Id}}", IMAGE)
        with open(iidfile) as f:
            iid = f.read().strip()
        if r.returncode != 0 or r.stdout.decode().strip() != iid:
            raise AssertionError("the manifest's image %s is not the image built (%s): %s"
                                 % (IMAGE, iid, r.stderr.decode(errors="replace")))
    except BaseException:
        STORE.remove()
        STORE = None
        raise


def tearDownModule():
    global STORE
    if STORE is not None:
        t0 = time.monotonic()
        if harness.keep_artifacts():
            sys.stderr.write("keeping the image store %s\n" % STORE.dir)
        else:
            STORE.remove()
        STORE = None
        phase("cleanup (store and image)", t0)
    if TIMES:
        sys.stderr.write("image-test: phases: %s\n" % ", ".join(
            "%s %.1f s" % t for t in TIMES))


def _limit(resource_id, cap):
    import resource
    hard = resource.getrlimit(resource_id)[1]
    n = cap if hard == resource.RLIM_INFINITY else min(hard, cap)
    return "%d:%d" % (n, n)


class ContainerSensor(harness.Sensor):
    """The image, run attached by podman the DaemonSet's way: its standard output (the
    findings) goes to self.jsonl, its standard error through the harness's reader."""

    def __init__(self, store, drop=(), **kw):
        super().__init__(ready_timeout=90, **kw)  # podman mounts the image first
        self.store = store
        self.spec = manifest.sensor_spec()
        self.name = "sowatch-itest-%s" % harness.rand()
        self.caps = [c for c in self.spec.cap_add if c not in drop]
        self.metrics_port = harness.free_port()

    def argv(self):
        spec = self.spec
        cfg_dir = os.path.join(self.dir, "config")
        state_dir = os.path.join(self.dir, "state")
        os.makedirs(state_dir)
        path, files = spec.config_mount
        os.makedirs(cfg_dir)
        for name, text in files.items():
            if name == "sowatch.yaml":
                port = spec.probe["port"]
                want = "0.0.0.0:%d" % port
                if want not in text:
                    raise AssertionError("the ConfigMap does not listen on %s" % want)
                text = text.replace(want, "127.0.0.1:%d" % self.metrics_port)
            with open(os.path.join(cfg_dir, name), "w") as f:
                f.write(text)
        argv = self.store.podman("run", "--rm", "--name", self.name)
        if not spec.pod.get("hostPID"):
            raise AssertionError("the DaemonSet does not share the host's pids")
        argv.append("--pid=host")
        if spec.pod.get("hostNetwork"):
            # Kubernetes gives a hostNetwork pod the node's host name too
            argv += ["--network=host", "--uts=host"]
        argv.append("--cap-drop=all")
        for cap in self.caps:
            argv.append("--cap-add=CAP_%s" % cap)
        if spec.security.get("allowPrivilegeEscalation") is False:
            argv += ["--security-opt", "no-new-privileges"]
        if spec.read_only_root:
            argv.append("--read-only")
        if spec.security.get("privileged"):
            raise AssertionError("the DaemonSet is privileged")
        for host, inside, ro, kind in spec.host_mounts:
            if inside == "/var/lib/sowatch":
                host = state_dir
            elif kind == "DirectoryOrCreate":
                # What the kubelet does for such a volume: a node without containerd or
                # runc has no /run/containerd or /run/runc, and podman would refuse.
                os.makedirs(host, mode=0o755, exist_ok=True)
            argv += ["-v", "%s:%s%s" % (host, inside, ":ro" if ro else "")]
        argv += ["-v", "%s:%s:ro" % (cfg_dir, path)]
        # This machine's root lacks CAP_SYS_RESOURCE, so podman's default limits
        # (1048576) cannot be set: give limits under ours. sowatch needs 17,408 files.
        import resource
        argv += ["--ulimit", "nofile=" + _limit(resource.RLIMIT_NOFILE, 65536),
                 "--ulimit", "nproc=4096:4096"]
        argv += [IMAGE] + spec.args
        return argv

    name = "the container"
    findings_on_stdout = True

    def command(self):
        return self.argv()

    def popen_env(self):
        return self.store.env

    def remove(self):
        """Whatever happened: the container is gone."""
        self.store.run("rm", "-f", "-t", "5", self.name, timeout=60)
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(30)
        if self.dir and not harness.keep_artifacts():
            shutil.rmtree(self.dir, ignore_errors=True)

    def _kill(self):
        self.remove()

    def host_libcrypto_probed(self):
        """Before "ready", sowatch said it reads the host's files through the host's root
        (/proc/1/root, or kthreadd's /proc/2/root where PID 1 is out of reach, as on these
        machines), and probed a libcrypto there. Returns the probe's log line."""
        with open(self.log_path, "rb") as f:
            lines = f.read().decode("utf-8", "replace").splitlines()
        before = lines[:lines.index(harness.READY_LINE)]
        if not any(re.match(r"sowatch: the host's files are read through /proc/[12]/root",
                            line) for line in before):
            raise AssertionError("sowatch does not read the host's root\n%s"
                                 % self.log_tail())
        probed = [line for line in before if re.match(
            r"sowatch: library-layer probe on /usr/lib/[^/ ]+/libcrypto\.so", line)]
        if not probed:
            raise AssertionError("no probe on the host's libcrypto at start\n%s"
                                 % self.log_tail())
        return probed[0]

    def healthz(self):
        url = "http://127.0.0.1:%d%s" % (self.metrics_port, self.spec.probe["path"])
        with urllib.request.urlopen(url, timeout=5) as r:
            return r.status, r.read().decode()


class TestImage(unittest.TestCase):

    def setUp(self):
        if SKIP:
            self.skipTest(SKIP)
        self.ws = harness.Workspace(prefix="sowatch-itest-image-")
        self.addCleanup(self.ws.cleanup)

    def test_findings_from_the_host_and_a_container(self):
        t0 = time.monotonic()
        sensor = ContainerSensor(STORE)
        self.addCleanup(sensor.remove)
        sensor.start()
        phase("podman run until ready", t0)
        status, body = sensor.healthz()
        self.assertEqual((status, body.strip()), (200, "ok"))

        # (a) a module load on the host
        t0 = time.monotonic()
        sensor.host_libcrypto_probed()
        phase("host libcrypto probed", t0)
        t0 = time.monotonic()
        mod = self.ws.module("host")
        marker = self.ws.marker()
        r = run_cmd([OPENSSL, "engine", "-t", mod], marker=marker)
        self.assertEqual(read_marker(marker), r.pid, r.output)
        fd = sensor.wait_for(for_process(r.pid, mod), timeout=30)
        self.assertEqual(fd.f.get("category"), harness.CATEGORY)
        self.assertEqual(fd.f.get("severity"), "CRITICAL")
        self.assertEqual(fd.library_paths()[0], mod)
        self.assertIs(fd.props.get("loaded"), True, fd.raw)
        # The host's libcrypto carried the probe from the start: the library layer saw it
        self.assertIn("library", fd.props.get("detectionLayers") or [], fd.raw)
        # Read through the host's root, even once the process is gone
        self.assertEqual(fd.process["libraries"][0].get("sha256"), harness.sha256_file(mod),
                         fd.raw)
        self.assertFalse(fd.props.get("containerId"), fd.raw)
        self.assertEqual(fd["resource"].get("type"), "host")
        phase("finding of a host load", t0)

        # (b) a module load in a container laid out as containerd's under Kubernetes
        t0 = time.monotonic()
        mod = self.ws.module("ctr")
        marker = self.ws.marker()
        with container.Container(self.ws.dir, layout="containerd", name="web") as c:
            r = c.exec([OPENSSL, "engine", "-t", mod], env={"SOWATCH_TEST_MARKER": marker})
            # The module ran (its marker), then openssl refused it: not an engine
            self.assertIsInstance(read_marker(marker), int, r.output)
            fd = sensor.wait_for(for_module(mod), timeout=30)
        self.assertEqual(fd.f.get("severity"), "CRITICAL")
        self.assertEqual(fd.pid, str(r.pid))
        self.assertEqual(fd.props.get("containerId"), c.id, fd.raw)
        self.assertEqual(fd["resource"].get("type"), "container")
        self.assertEqual(fd.f["containers"][0].get("name"), c.identity["container"], fd.raw)
        self.assertEqual(fd.f["containers"][0].get("uri"), c.identity["image"], fd.raw)
        pod = fd.f["kubernetes"]["pods"][0]
        self.assertEqual((pod.get("name"), pod.get("ns")),
                         (c.identity["pod"], c.identity["namespace"]))
        phase("finding of a container load", t0)

        t0 = time.monotonic()
        sensor.stop()  # SIGTERM through podman: exit 0, heartbeat never lost
        phase("stop (SIGTERM)", t0)
        self.assertIn("privileges dropped", sensor.final_log)

    def test_no_finding_for_benign_host_commands(self):
        """The host's own openssl, run as a host's programs run it (short-lived, the
        system's libcrypto and libssl), and loading the host's legacy provider and afalg
        engine: no finding, as from the sensor on the host."""
        sensor = ContainerSensor(STORE)
        self.addCleanup(sensor.remove)
        sensor.start()
        sensor.host_libcrypto_probed()
        t0 = time.monotonic()
        data = self.ws.write("benign-%s.txt" % harness.rand(), "hello\n")
        pids = []
        for _ in range(20):
            r = run_cmd([OPENSSL, "dgst", "-sha256", data])
            self.assertEqual(r.returncode, 0, r.output)
            pids.append(r.pid)
        # The host's own provider and engine modules, judged by the host's dpkg database
        # (afalg is loaded, then finds no AF_ALG in this kernel: exit 1 all the same)
        r = run_cmd([OPENSSL, "list", "-providers", "-provider", "legacy"])
        self.assertEqual(r.returncode, 0, r.output)
        pids.append(r.pid)
        r = run_cmd([OPENSSL, "engine", "-t", "afalg"])
        self.assertIn("afalg", r.output)
        pids.append(r.pid)
        try:
            harness.assert_no_findings(sensor, self.ws, pids=pids,
                                       names=(os.path.basename(data),), timeout=30)
        finally:
            phase("benign host commands", t0)
        sensor.stop()

    def assert_refused_without(self, cap):
        t0 = time.monotonic()
        sensor = ContainerSensor(STORE, drop=(cap,))
        self.assertNotIn(cap, sensor.caps)
        self.assertIn(cap, sensor.spec.cap_add)
        sensor.dir = tempfile.mkdtemp(prefix="sowatch-itest-sensor-")
        self.addCleanup(shutil.rmtree, sensor.dir, True)
        self.addCleanup(sensor.remove)
        p = subprocess.run(sensor.argv(), env=STORE.env, stdin=subprocess.DEVNULL,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120)
        err = p.stderr.decode("utf-8", "replace")
        lines = [line for line in err.splitlines() if "CAP_" + cap in line]
        self.assertEqual(p.returncode, 1, err)
        self.assertEqual(len(lines), 1, err)
        self.assertNotIn(harness.READY_LINE, err)
        self.assertEqual(p.stdout, b"")
        phase("refused without CAP_%s" % cap, t0)

    def test_refused_without_cap_bpf(self):
        self.assert_refused_without("BPF")

    def test_refused_without_cap_perfmon(self):
        self.assert_refused_without("PERFMON")


if __name__ == "__main__":
    unittest.main()
