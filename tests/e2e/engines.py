# SPDX-License-Identifier: Apache-2.0
"""Real container engines for sowatch's end-to-end tests: Debian's Docker
daemon and containerd, each started by the test on its own directories
and stopped again.

Dockerd runs with a private data root, pid file and API socket
(--bridge=none --iptables=false: no network is set up on the host), and
the storage driver vfs, which needs nothing of the kernel. Its exec root
stays Docker's default, /run/docker: that is where the runc state of its
containers lives (/run/docker/runtime-runc/moby), as on every Docker
host, and where sowatch looks for it. Only one dockerd can use it at a
time: a Docker daemon already running on the machine is an error, never
a reason to share it.

Containerd runs with a private root, state directory and socket; its runc
shim keeps the state under /run/containerd/runc/<namespace>, as always.
Containers are made with `ctr run --rootfs` on a directory, so no image
store is needed.

Images are never pulled: image_root() builds a root file system from the
host's own files (openssl, a shell, their libraries, OpenSSL's engines
and providers), and Dockerd.import_image() makes it an image with
`docker import`.

Only the Python standard library is used (run with /usr/bin/python3).
"""

import os
import shutil
import signal
import subprocess
import tempfile
import time

DOCKERD = "/usr/sbin/dockerd"
# The package's client: /usr/local/bin may hold another one
DOCKER = "/usr/bin/docker"
CONTAINERD = "/usr/bin/containerd"
CTR = "/usr/bin/ctr"
DOCKER_EXEC_ROOT = "/run/docker"

# The programs an image holds, with their libraries
IMAGE_PROGRAMS = ["/usr/bin/openssl", "/usr/bin/dash", "/usr/bin/cat", "/usr/bin/sleep",
                  "/usr/bin/printf", "/usr/bin/head", "/usr/bin/tr"]
MULTIARCH = "/usr/lib/x86_64-linux-gnu"


def available():
    """None when dockerd, containerd and their clients are installed, else
    why not (the skip reason)."""
    for path in (DOCKERD, DOCKER, CONTAINERD, CTR):
        if not os.access(path, os.X_OK):
            return "%s is missing (apt-get install docker.io containerd)" % path
    return None


def _libraries(program):
    out = subprocess.run(["ldd", program], stdout=subprocess.PIPE, check=True,
                         universal_newlines=True).stdout
    libs = []
    for line in out.splitlines():
        for word in line.split():
            if word.startswith("/"):
                libs.append(word)
    return libs


def _copy_real(path, root):
    """path's file (symlinks resolved) at the same path in root, and at its
    resolved path too, so that both names work."""
    real = os.path.realpath(path)
    for name in {path, real}:
        dst = os.path.join(root, name.lstrip("/"))
        os.makedirs(os.path.dirname(dst), exist_ok=True)
        if not os.path.exists(dst):
            shutil.copy2(real, dst)


def image_root(root):
    """A root file system at root: IMAGE_PROGRAMS and their libraries, the
    dynamic loader, OpenSSL's engines and providers, /bin/sh, and empty
    /tmp, /etc, /proc, /sys and /dev. Debian's merged /usr is kept: /bin,
    /lib and /lib64 are symlinks into /usr."""
    os.makedirs(os.path.join(root, "usr"), exist_ok=True)
    for d in ("bin", "lib", "lib64"):
        os.makedirs(os.path.join(root, "usr", d), exist_ok=True)
        os.symlink("usr/" + d, os.path.join(root, d))
    for d in ("tmp", "etc", "proc", "sys", "dev"):
        os.makedirs(os.path.join(root, d), exist_ok=True)
    os.chmod(os.path.join(root, "tmp"), 0o1777)
    for prog in IMAGE_PROGRAMS:
        _copy_real(prog, root)
        for lib in _libraries(prog):
            _copy_real(lib, root)
    os.symlink("dash", os.path.join(root, "usr/bin/sh"))
    for sub in ("engines-3", "ossl-modules"):
        shutil.copytree(os.path.join(MULTIARCH, sub), os.path.join(root, MULTIARCH[1:], sub),
                        symlinks=True)
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            p = os.path.join(dirpath, name)
            if not os.path.islink(p):
                os.chmod(p, os.stat(p).st_mode | 0o555)
    return root


def _wait(predicate, timeout, what, log=None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    tail = ""
    if log and os.path.exists(log):
        with open(log, errors="replace") as f:
            tail = "".join(f.readlines()[-30:])
    raise RuntimeError("%s within %ss\n%s" % (what, timeout, tail))


class _Daemon:
    """A daemon process of the test's own, its output in <dir>/daemon.log."""

    def __init__(self, prefix):
        self.dir = os.path.realpath(tempfile.mkdtemp(prefix=prefix))
        os.chmod(self.dir, 0o711)
        self.log = os.path.join(self.dir, "daemon.log")
        self.proc = None

    def _start(self, argv):
        with open(self.log, "wb") as log:
            self.proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL, start_new_session=True)

    def _stop(self, timeout=30):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()

    def log_tail(self, n=30):
        with open(self.log, errors="replace") as f:
            return "".join(f.readlines()[-n:])


class Dockerd(_Daemon):
    """A Docker daemon of the test's own (context manager)."""

    def __init__(self):
        super().__init__("sowatch-dockerd-")
        self.data_root = os.path.join(self.dir, "data")
        self.sock = os.path.join(self.dir, "docker.sock")
        self.containers = []

    def start(self):
        if os.path.exists(os.path.join(DOCKER_EXEC_ROOT, "docker.pid")) or \
                os.path.exists("/run/docker.pid"):
            raise RuntimeError("a Docker daemon already runs here (%s): the test's own "
                               "needs its exec root" % DOCKER_EXEC_ROOT)
        self.made_exec_root = not os.path.exists(DOCKER_EXEC_ROOT)
        self._start([DOCKERD, "--data-root", self.data_root, "--exec-root", DOCKER_EXEC_ROOT,
                     "--pidfile", os.path.join(self.dir, "docker.pid"),
                     "--host", "unix://" + self.sock, "--bridge=none", "--iptables=false",
                     "--ip6tables=false", "--ip-masq=false", "--storage-driver=vfs",
                     "--log-driver=json-file"])
        _wait(lambda: self.proc.poll() is not None or self._ping(), 60,
              "dockerd answered", self.log)
        if self.proc.poll() is not None:
            raise RuntimeError("dockerd exited with %s:\n%s" % (self.proc.returncode,
                                                                self.log_tail()))
        return self

    def _ping(self):
        return subprocess.run([DOCKER, "-H", "unix://" + self.sock, "version"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode == 0

    def docker(self, *args, check=True, timeout=120):
        """`docker ARGS` against this daemon: its stdout (str)."""
        p = subprocess.run([DOCKER, "-H", "unix://" + self.sock] + list(args),
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout,
                           universal_newlines=True)
        if check and p.returncode != 0:
            raise RuntimeError("docker %s: %s\n%s" % (" ".join(args), p.returncode, p.stderr))
        return p.stdout

    def import_image(self, root, tag):
        """`docker import` of root (a directory) as tag."""
        tar = os.path.join(self.dir, "root.tar")
        subprocess.run(["tar", "-C", root, "-cf", tar, "."], check=True)
        self.docker("import", tar, tag)
        os.unlink(tar)
        return tag

    def run(self, *args):
        """`docker run -d ARGS`: the container's full id."""
        cid = self.docker("run", "-d", *args).strip()
        self.containers.append(cid)
        return cid

    def pid_of(self, cid):
        return int(self.docker("inspect", "--format", "{{.State.Pid}}", cid).strip())

    def stop(self):
        for cid in self.containers:
            self.docker("rm", "-f", cid, check=False)
        self._stop()
        # Mounts a killed daemon left behind, then the directories
        for d in (DOCKER_EXEC_ROOT, self.dir):
            subprocess.run(["sh", "-c", "grep -o ' %s/[^ ]*' /proc/self/mounts | sort -r | "
                            "xargs -r -n1 umount -l" % d], stderr=subprocess.DEVNULL)
        if self.made_exec_root:
            shutil.rmtree(DOCKER_EXEC_ROOT, ignore_errors=True)
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


class Containerd(_Daemon):
    """A containerd of the test's own (context manager), driven with ctr."""

    def __init__(self, namespace="default"):
        super().__init__("sowatch-containerd-")
        self.sock = os.path.join(self.dir, "containerd.sock")
        self.namespace = namespace
        self.containers = []

    def start(self):
        config = os.path.join(self.dir, "config.toml")
        with open(config, "w") as f:
            # Only what ctr run needs: no CRI plugin (it would want a CNI network)
            f.write('version = 2\ndisabled_plugins = ["io.containerd.grpc.v1.cri"]\n')
        self._start([CONTAINERD, "--config", config, "--root", os.path.join(self.dir, "root"),
                     "--state", os.path.join(self.dir, "state"), "--address", self.sock])
        _wait(lambda: self.proc.poll() is not None or self._ping(), 60,
              "containerd answered", self.log)
        if self.proc.poll() is not None:
            raise RuntimeError("containerd exited with %s:\n%s" % (self.proc.returncode,
                                                                   self.log_tail()))
        return self

    def _ping(self):
        return subprocess.run([CTR, "--address", self.sock, "version"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode == 0

    def ctr(self, *args, check=True, timeout=120):
        p = subprocess.run([CTR, "--address", self.sock, "--namespace", self.namespace]
                           + list(args), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           timeout=timeout, universal_newlines=True)
        if check and p.returncode != 0:
            raise RuntimeError("ctr %s: %s\n%s" % (" ".join(args), p.returncode, p.stderr))
        return p.stdout

    def run(self, cid, rootfs, argv, log_uri=None, extra=()):
        """`ctr run -d --rootfs ROOTFS ... CID ARGV`: in the background."""
        args = ["run", "-d", "--rootfs"] + list(extra)
        if log_uri:
            args += ["--log-uri", log_uri]
        self.ctr(*(args + [rootfs, cid] + list(argv)))
        self.containers.append(cid)
        return cid

    def pid_of(self, cid):
        for line in self.ctr("task", "ls").splitlines()[1:]:
            words = line.split()
            if words and words[0] == cid:
                return int(words[1])
        return None

    def remove(self, cid):
        self.ctr("task", "kill", "--signal", "SIGKILL", cid, check=False)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.ctr("task", "delete", cid, check=False, timeout=30) == "" and \
                    self.pid_of(cid) is None:
                break
            time.sleep(0.2)
        self.ctr("container", "delete", cid, check=False)

    def stop(self):
        for cid in self.containers:
            self.remove(cid)
        self._stop()
        subprocess.run(["sh", "-c", "grep -o ' %s/[^ ]*' /proc/self/mounts | sort -r | "
                        "xargs -r -n1 umount -l" % self.dir], stderr=subprocess.DEVNULL)
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
