# SPDX-License-Identifier: Apache-2.0
"""End-to-end tests of the responder's last two steps, with real engines:
the container's settings kept with the finding (`findings show`) and its
log lines (`findings logs`), live and from the copy kept in the store.

A real Docker daemon (Debian's docker.io, started by the test with a
private data root, --bridge=none --iptables=false) runs an image that the
test makes from a root it builds (`docker import`, no registry). A real
containerd (Debian's containerd, driven with ctr) runs a container as
Kubernetes' CRI plugin would describe it: its io.kubernetes.cri.*
annotations, a kubepods cgroup, and its log written in the CRI format
to /var/log/pods/<namespace>_<pod>_<uid>/<container>/0.log by a logging
binary of the test's (tests/fixtures/cri_logger.py): the CRI plugin
itself would need a CNI network and a kubelet.

Each test picks out its findings by a module name of its own.
"""

import os
import re
import shutil
import subprocess
import sys
import tempfile
import unittest
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import container  # noqa: E402
import engines  # noqa: E402
import harness  # noqa: E402
from harness import for_module  # noqa: E402

SKIP_REASON = None
DOCKERD = None
IMAGE = "sowatch-e2e/openssl:1"
ROOT = None
PODMAN = "/usr/bin/podman"
CRI_LOGGER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures",
                          "cri_logger.py")


def setUpModule():
    global SKIP_REASON, DOCKERD, ROOT
    SKIP_REASON = (harness.require_environment() or container.runc_available()
                   or engines.available())
    if SKIP_REASON and harness.in_ci():
        raise RuntimeError("CI is set, refusing to skip: " + SKIP_REASON)
    if SKIP_REASON:
        return
    harness.fixture_module()
    ROOT = tempfile.mkdtemp(prefix="sowatch-e2e-root-")
    engines.image_root(os.path.join(ROOT, "rootfs"))
    DOCKERD = engines.Dockerd().start()
    try:
        DOCKERD.import_image(os.path.join(ROOT, "rootfs"), IMAGE)
    except Exception:
        DOCKERD.stop()
        raise


def tearDownModule():
    if DOCKERD:
        DOCKERD.stop()
    if ROOT:
        shutil.rmtree(ROOT, ignore_errors=True)


CAPABILITY_NAMES = [
    "CHOWN", "DAC_OVERRIDE", "DAC_READ_SEARCH", "FOWNER", "FSETID", "KILL", "SETGID",
    "SETUID", "SETPCAP", "LINUX_IMMUTABLE", "NET_BIND_SERVICE", "NET_BROADCAST",
    "NET_ADMIN", "NET_RAW", "IPC_LOCK", "IPC_OWNER", "SYS_MODULE", "SYS_RAWIO",
    "SYS_CHROOT", "SYS_PTRACE", "SYS_PACCT", "SYS_ADMIN", "SYS_BOOT", "SYS_NICE",
    "SYS_RESOURCE", "SYS_TIME", "SYS_TTY_CONFIG", "MKNOD", "LEASE", "AUDIT_WRITE",
    "AUDIT_CONTROL", "SETFCAP", "MAC_OVERRIDE", "MAC_ADMIN", "SYSLOG", "WAKE_ALARM",
    "BLOCK_SUSPEND", "AUDIT_READ", "PERFMON", "BPF", "CHECKPOINT_RESTORE"]


def capabilities_missing():
    """The capabilities this machine's bounding set lacks (by name)."""
    with open("/proc/self/status") as f:
        bnd = int(next(line for line in f if line.startswith("CapBnd:")).split()[1], 16)
    return [n for i, n in enumerate(CAPABILITY_NAMES) if not bnd & (1 << i)]


def cli(db, *args):
    """`sowatch findings ARGS --db DB`: (returncode, stdout as bytes, stderr)."""
    p = subprocess.run([harness.sowatch_bin(), "findings"] + list(args) + ["--db", db],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
    return p.returncode, p.stdout, p.stderr.decode("utf-8", "replace")


def cli_text(test, db, *args):
    rc, out, err = cli(db, *args)
    test.assertEqual(rc, 0, (args, out, err))
    # Whatever the container wrote, the CLI's output is text a terminal shows as it is
    text = out.decode("utf-8", "strict")
    test.assertNotRegex(text, "[\x00-\x08\x0b-\x1f\x7f\x9b]", "raw control bytes printed")
    return text


def marked(text, needle):
    """The lines of `show` that carry needle and the risk mark."""
    return [line for line in text.splitlines() if line.startswith("!") and needle in line]


class ResponseTest(unittest.TestCase):
    maxDiff = None

    def setUp(self):
        if SKIP_REASON:
            self.skipTest(SKIP_REASON)
        self.ws = harness.Workspace()
        self.addCleanup(self.ws.cleanup)
        self.db = self.ws.path("findings.db")
        self.sensor = harness.Sensor(db=self.db).start()
        self.addCleanup(lambda: self.sensor.proc.poll() is None and self.sensor.stop())

    def script(self, known, mod, marker, extra=""):
        """A container's shell script: the known line on stdout, then the module
        loaded through `openssl engine -t`, then waiting to be removed.

        An openssl that reads its input for a few seconds runs first, as a
        container that uses OpenSSL would: the image's own libcrypto and
        openssl (copies, other files than the host's) are probed and known
        by then. A container's very first openssl gone within milliseconds
        can be missed (README, Known limitations), which is not what these
        tests are about."""
        return ("(sleep 3 | openssl enc -aes-128-cbc -pbkdf2 -pass pass:warm-up "
                "-out /dev/null) & sleep 1; "
                "printf '%%s\\n' %s; %s SOWATCH_TEST_MARKER=%s openssl engine -t %s; "
                "printf 'after the load\\n'; exec sleep 600" % (known, extra, marker, mod))

    def finding_id(self, fd):
        return fd["finding"]["name"].rsplit("/", 1)[1]


class DockerTest(ResponseTest):

    def test_settings_logs_and_the_kept_copy(self):
        mod, marker = self.ws.module(), self.ws.marker()
        known = "known-line-%s" % harness.rand()
        name = "sowatch-e2e-%s" % harness.rand()
        cid = DOCKERD.run("--name", name, "--cap-add", "SYS_ADMIN",
                          "-v", "/etc:/host-etc:ro", "-v", "%s:%s" % (self.ws.dir, self.ws.dir),
                          "-e", "SOWATCH_E2E_SECRET=hunter2-%s" % known,
                          IMAGE, "/bin/sh", "-c", self.script(known, mod, marker))
        fd = self.sensor.wait_for(for_module(mod), timeout=30)
        self.assertIsNotNone(harness.read_marker(marker), "the module did not run")
        f = fd["finding"]
        self.assertEqual(f["sourceProperties"]["containerId"], cid)
        # Named as `docker ps` names it, with the image as it was asked for
        self.assertEqual(f["containers"][0]["name"], name)
        self.assertEqual(f["containers"][0].get("uri"), IMAGE)

        settings = f["sourceProperties"]["containerSettings"]
        self.assertIn("CAP_SYS_ADMIN", settings["capabilities"]["effective"])
        self.assertEqual(settings["capabilities"]["risky"], ["CAP_SYS_ADMIN"])
        self.assertFalse(settings["privileged"])
        self.assertEqual(settings["hostNamespaces"], [])
        etc = [m for m in settings["mounts"] if m.get("destination") == "/host-etc"]
        self.assertEqual(etc, [{"source": "/etc", "destination": "/host-etc", "type": "bind",
                                "readOnly": True, "sensitive": True}])
        workspace = [m for m in settings["mounts"] if m.get("destination") == self.ws.dir]
        self.assertFalse(workspace[0]["sensitive"])
        self.assertIn("SOWATCH_E2E_SECRET", settings["environmentNames"])
        self.assertNotIn("hunter2", str(fd), "an environment value was reported")
        self.assertEqual(settings["commandLine"][:2], ["/bin/sh", "-c"])
        self.assertEqual(settings["seccomp"], "SCMP_ACT_ERRNO")
        self.assertTrue(settings["user"]["root"])

        fid = self.finding_id(fd)
        show = cli_text(self, self.db, "show", fid)
        self.assertIn("Container settings", show)
        self.assertTrue(marked(show, "CAP_SYS_ADMIN"), show)
        self.assertTrue(marked(show, "/etc -> /host-etc (read-only)"), show)
        self.assertFalse(marked(show, self.ws.dir), show)
        self.assertRegex(show, r"(?m)^  name +%s$" % re.escape(name))

        logs = cli_text(self, self.db, "logs", fid)
        self.assertIn("From the live log (docker)", logs)
        self.assertRegex(logs, r"(?m)^\S+Z stdout %s$" % known)
        self.assertIn("read from: %s/containers/%s/%s-json.log" % (DOCKERD.data_root, cid, cid),
                      logs)

        # The container and its log are gone: the copy kept with the finding speaks
        DOCKERD.docker("rm", "-f", cid)
        self.assertFalse(os.path.exists(os.path.join(DOCKERD.data_root, "containers", cid)))
        logs = cli_text(self, self.db, "logs", fid)
        self.assertIn("the live log is gone", logs)
        self.assertIn("From the copy kept with the finding", logs)
        self.assertRegex(logs, r"(?m)^\S+Z stdout %s$" % known)
        self.assertRegex(logs, r"(?m)^\d+ lines \(kept copy\)\.$")

    def test_privileged_with_the_hosts_pid_namespace(self):
        mod, marker = self.ws.module(), self.ws.marker()
        name = "sowatch-e2e-%s" % harness.rand()
        missing = capabilities_missing()
        if missing:
            # runc cannot grant what the machine lacks (these sandboxes have no
            # CAP_SYS_RESOURCE): every capability the machine has, as --privileged
            # would, and its other settings
            privileged = ["--cap-add", "ALL", "--security-opt", "seccomp=unconfined",
                          "--security-opt", "apparmor=unconfined"]
            for cap in missing:
                privileged += ["--cap-drop", cap]
        else:
            privileged = ["--privileged"]
        DOCKERD.run("--name", name, "--pid", "host", *privileged,
                    "-v", "%s:%s" % (self.ws.dir, self.ws.dir),
                    IMAGE, "/bin/sh", "-c", self.script("privileged", mod, marker))
        fd = self.sensor.wait_for(for_module(mod), timeout=30)
        settings = fd["finding"]["sourceProperties"]["containerSettings"]
        self.assertTrue(settings["privileged"])
        self.assertEqual(settings["capabilities"]["effective"], ["ALL"])
        self.assertEqual(settings["capabilities"]["risky"], ["ALL"])
        self.assertEqual(settings["hostNamespaces"], ["pid"])
        self.assertEqual(settings["seccomp"], "none")
        if not missing:
            self.assertTrue(settings["devices"], "a privileged container has the host's devices")
        show = cli_text(self, self.db, "show", self.finding_id(fd))
        self.assertTrue(marked(show, "every capability (ALL)"), show)
        self.assertRegex(show, r"(?m)^! host namespaces +pid$")
        self.assertRegex(show, r"(?m)^! seccomp +none$")

    def test_hostile_log_lines(self):
        mod, marker = self.ws.module(), self.ws.marker()
        # An escape sequence that would retitle the terminal, invalid UTF-8, a 1 MB line
        hostile = ("printf 'esc:\\033]0;pwned\\007:end\\n'; printf 'bad:\\377\\376:utf8\\n'; "
                   "head -c 1048576 /dev/zero | tr '\\000' A; printf '\\n'; ")
        DOCKERD.run("-v", "%s:%s" % (self.ws.dir, self.ws.dir), IMAGE, "/bin/sh", "-c",
                    hostile + self.script("hostile-done", mod, marker))
        fd = self.sensor.wait_for(for_module(mod), timeout=30)
        fid = self.finding_id(fd)
        for args in (("logs", fid), ("logs", fid, "--kept")):
            logs = cli_text(self, self.db, *args)
            self.assertRegex(logs, r"(?m)stdout esc:\\x1b\]0;pwned\\x07:end$")
            # Docker's json-file keeps invalid UTF-8 as U+FFFD (the CRI test sees the bytes)
            self.assertRegex(logs, "(?m)stdout bad:\ufffd\ufffd:utf8$")
            big = [line for line in logs.splitlines() if "AAAA" in line]
            self.assertEqual(len(big), 1, logs[:2000])
            # Cut with the marker, which counts exactly what is missing
            m = re.search(r"stdout (A+) \[\.\.\. (\d+) bytes cut\]$", big[0])
            self.assertIsNotNone(m, big[0][-200:])
            self.assertEqual(len(m.group(1)) + int(m.group(2)), 1048576)
            self.assertLessEqual(len(m.group(1)), 4096)
            self.assertIn("hostile-done", logs)


class ContainerdTest(ResponseTest):

    def test_cri_layout_settings_and_logs(self):
        mod, marker = self.ws.module(), self.ws.marker()
        known = "known-line-%s" % harness.rand()
        cid = container.new_container_id()
        pod, namespace, uid = "web-%s" % harness.rand(), "shop", str(uuid.uuid4())
        name = "app"
        pod_dir = "/var/log/pods/%s_%s_%s" % (namespace, pod, uid)
        self.addCleanup(shutil.rmtree, pod_dir, True)
        log = os.path.join(pod_dir, name, "0.log")
        annotations = {
            "io.kubernetes.cri.container-type": "container",
            "io.kubernetes.cri.container-name": name,
            "io.kubernetes.cri.sandbox-name": pod,
            "io.kubernetes.cri.sandbox-namespace": namespace,
            "io.kubernetes.cri.sandbox-uid": uid,
            "io.kubernetes.cri.image-name": "registry.example/shop/app:7",
        }
        extra = ["--cgroup", "/kubepods/besteffort/pod%s/%s" % (uid, cid),
                 "--cap-add", "CAP_NET_ADMIN",
                 "--mount", "type=bind,src=%s,dst=%s,options=rbind:rw" % (self.ws.dir,
                                                                          self.ws.dir)]
        for k, v in annotations.items():
            extra += ["--annotation", "%s=%s" % (k, v)]
        rootfs = os.path.join(ROOT, "rootfs")
        with engines.Containerd(namespace="k8s.io") as ctrd:
            hostile = "printf 'bad:\\377\\376:utf8 esc:\\033[2J\\n'; "
            ctrd.run(cid, rootfs, ["/bin/sh", "-c", hostile + self.script(known, mod, marker)],
                     log_uri="binary://%s?path=%s" % (os.path.realpath(CRI_LOGGER), log),
                     extra=extra)
            fd = self.sensor.wait_for(for_module(mod), timeout=30)
            f = fd["finding"]
            self.assertEqual(f["sourceProperties"]["containerId"], cid)
            self.assertEqual(f["containers"][0]["name"], name)
            self.assertEqual(f["kubernetes"]["pods"][0]["name"], pod)
            settings = f["sourceProperties"]["containerSettings"]
            self.assertEqual(settings["capabilities"]["risky"], ["CAP_NET_ADMIN"])
            fid = self.finding_id(fd)
            show = cli_text(self, self.db, "show", fid)
            self.assertTrue(marked(show, "CAP_NET_ADMIN"), show)

            logs = cli_text(self, self.db, "logs", fid)
            self.assertIn("From the live log (cri)", logs)
            self.assertRegex(logs, r"(?m)^\S+Z stdout %s$" % known)
            self.assertIn("read from: %s" % log, logs)
            # The CRI format keeps the container's bytes: shown escaped
            self.assertRegex(logs, r"(?m)stdout bad:\\xff\\xfe:utf8 esc:\\x1b\[2J$")
            ctrd.remove(cid)
        # The kubelet deletes a removed pod's logs
        shutil.rmtree(pod_dir)
        logs = cli_text(self, self.db, "logs", fid)
        self.assertIn("the live log is gone", logs)
        self.assertRegex(logs, r"(?m)^\S+Z stdout %s$" % known)


class PodmanTest(ResponseTest):

    def test_k8s_file_log(self):
        """podman's default log driver here, k8s-file: <bundle>/ctr.log, in the
        CRI format, written by conmon."""
        if not os.access(PODMAN, os.X_OK):
            raise AssertionError("%s is missing (apt-get install podman)" % PODMAN)
        mod, marker = self.ws.module(), self.ws.marker()
        known = "known-line-%s" % harness.rand()
        name = "sowatch-e2e-%s" % harness.rand()
        # This machine's root lacks CAP_SYS_RESOURCE: podman's default limits cannot be set
        argv = [PODMAN, "run", "-d", "--name", name, "--log-driver", "k8s-file",
                "--ulimit", "nofile=1024:1024", "--ulimit", "nproc=4096:4096",
                "-v", "%s:%s" % (self.ws.dir, self.ws.dir),
                "--rootfs", os.path.join(ROOT, "rootfs"),
                "/bin/sh", "-c", self.script(known, mod, marker)]
        p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           universal_newlines=True, timeout=120)
        self.assertEqual(p.returncode, 0, p.stderr)
        cid = p.stdout.strip()
        self.addCleanup(subprocess.run, [PODMAN, "rm", "-f", "-t", "0", cid],
                        stdout=subprocess.DEVNULL,
                        stderr=subprocess.DEVNULL)
        fd = self.sensor.wait_for(for_module(mod), timeout=30)
        self.assertEqual(fd["finding"]["sourceProperties"]["containerId"], cid)
        self.assertIn("containerSettings", fd["finding"]["sourceProperties"])
        fid = self.finding_id(fd)
        logs = cli_text(self, self.db, "logs", fid)
        self.assertIn("From the live log (podman)", logs)
        self.assertRegex(logs, r"(?m)^\S+Z stdout %s$" % known)
        self.assertRegex(logs, r"(?m)^read from: /\S+/%s/userdata/ctr\.log$" % cid)
        subprocess.run([PODMAN, "rm", "-f", "-t", "0", cid], stdout=subprocess.DEVNULL, check=True)
        logs = cli_text(self, self.db, "logs", fid)
        self.assertIn("the live log is gone", logs)
        self.assertRegex(logs, r"(?m)^\S+Z stdout %s$" % known)


class HostFindingTest(ResponseTest):

    def test_a_host_finding_has_no_container_log(self):
        mod, marker = self.ws.module(), self.ws.marker()
        r = harness.run_cmd(["openssl", "engine", "-t", mod], marker=marker)
        fd = self.sensor.wait_for(harness.for_process(r.pid, mod), timeout=30)
        logs = cli_text(self, self.db, "logs", self.finding_id(fd))
        self.assertIn("not in a container", logs)
        self.assertNotIn("containerSettings", str(fd))


if __name__ == "__main__":
    unittest.main()
