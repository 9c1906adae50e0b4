# SPDX-License-Identifier: Apache-2.0
"""Real runc containers for sowatch's end-to-end tests.

A container here is deliberately minimal and needs no image: the rootfs is an
empty directory into which the host's /usr and /etc are bind-mounted
read-only (Debian 12 is merged-usr, so /bin, /sbin, /lib and /lib64 are just
symlinks into /usr and are recreated as symlinks in the rootfs). The test's
workspace directory is bind-mounted read-write at the same path, so a module
at /tmp/sowatch-e2e-XXXX/m-abcd.so has the same path inside and outside the
container and the marker file the module writes appears on the host.

The container is run in two steps, `runc create` then `runc start`, so that
the host pid of the container's process is known before it runs (the process
created by `runc create` waits on runc's exec fifo and then execs the test's
argv with the same pid). It is always removed with `runc delete -f`.

Cgroups on the CI machines are v1 "hybrid" (one hierarchy per controller
under /sys/fs/cgroup/<ctrl>, cgroup2 mounted at /sys/fs/cgroup/unified with
no controllers). runc 1.1's cgroupfs driver handles that: it creates
<cgroupsPath> in every mounted v1 hierarchy and in the unified one. The
container id is 64 hex digits (the shape docker/containerd ids have) and the
cgroups path ends with it, so a sensor reading the cgroup path recovers it.

Only the Python standard library is used (run with /usr/bin/python3).
"""

import ctypes
import json
import os
import secrets
import shutil
import subprocess
import tempfile
import time

RUNC = os.environ.get("SOWATCH_RUNC") or shutil.which("runc") or "/usr/sbin/runc"

# Cgroup parent under which every test container is created.
CGROUP_PARENT = "/sowatch-e2e"

# Host directories that are bind-mounted read-only into the rootfs.
HOST_RO_DIRS = ("/usr", "/etc")

# Symlinks recreated in the rootfs (only those that are symlinks on the host;
# on a merged-usr Debian 12 all four are).
MERGED_USR_LINKS = ("bin", "sbin", "lib", "lib64")


class ContainerError(Exception):
    pass


def runc_available():
    """Return None when runc can run containers here, else a reason."""
    if os.geteuid() != 0:
        return "runc containers need root"
    if not os.path.exists(RUNC):
        return "runc not found (%s)" % RUNC
    return None


def new_container_id():
    """A fresh container id: 64 lowercase hex digits, like docker's."""
    return secrets.token_hex(32)


class ContainerResult:
    def __init__(self, container_id, cgroups_path, pid, returncode,
                 stdout, stderr, cgroup_lines):
        self.id = container_id
        self.cgroups_path = cgroups_path
        self.pid = pid  # host pid of the container's process
        self.returncode = returncode
        self.stdout = stdout
        self.stderr = stderr
        # /proc/<pid>/cgroup of the process as seen while it was created.
        self.cgroup_lines = cgroup_lines

    @property
    def output(self):
        return self.stdout + self.stderr

    def __repr__(self):
        return ("ContainerResult(id=%s, pid=%s, rc=%s, stdout=%r, stderr=%r)"
                % (self.id, self.pid, self.returncode, self.stdout[-2000:],
                   self.stderr[-2000:]))


def _runc(*args, timeout=30, check=True):
    proc = subprocess.run([RUNC] + list(args), stdin=subprocess.DEVNULL,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          timeout=timeout)
    if check and proc.returncode != 0:
        raise ContainerError("runc %s failed (%d): %s%s" % (
            " ".join(args), proc.returncode,
            proc.stdout.decode(errors="replace"),
            proc.stderr.decode(errors="replace")))
    return proc


def make_bundle(bundle, args, workspace, env=None, cid=None, cwd=None,
                cgroups_path=None):
    """Write an OCI bundle (config.json + rootfs/) into the directory bundle.

    args: the container process argv (list of str).
    workspace: host dir bind-mounted read-write at the same path.
    env: dict of extra environment variables for the process.
    """
    os.makedirs(bundle, exist_ok=True)
    rootfs = os.path.join(bundle, "rootfs")
    os.makedirs(rootfs, exist_ok=True)
    _runc("spec", "--bundle", bundle)  # fails if config.json exists
    with open(os.path.join(bundle, "config.json")) as f:
        config = json.load(f)

    # The rootfs: empty directories as mount points, merged-usr symlinks.
    for d in HOST_RO_DIRS:
        os.makedirs(rootfs + d, exist_ok=True)
    for name in MERGED_USR_LINKS:
        host = "/" + name
        if os.path.islink(host):
            os.symlink(os.readlink(host), os.path.join(rootfs, name))
        elif os.path.isdir(host):
            # Not merged-usr: bind-mount the real directory instead.
            os.makedirs(os.path.join(rootfs, name), exist_ok=True)
            config["mounts"].append({
                "destination": host, "type": "bind", "source": host,
                "options": ["rbind", "ro", "nosuid", "nodev"]})
    for d in ("tmp", "root", "run", "var"):
        os.makedirs(os.path.join(rootfs, d), exist_ok=True)
    ws = os.path.realpath(workspace)
    os.makedirs(rootfs + ws, exist_ok=True)

    config["root"] = {"path": rootfs, "readonly": True}
    for d in HOST_RO_DIRS:
        config["mounts"].append({
            "destination": d, "type": "bind", "source": d,
            "options": ["rbind", "ro", "nosuid", "nodev"]})
    config["mounts"].append({
        "destination": "/tmp", "type": "tmpfs", "source": "tmpfs",
        "options": ["nosuid", "nodev", "mode=1777", "size=65536k"]})
    # After /tmp, so that a workspace under /tmp is mounted over the tmpfs.
    config["mounts"].append({
        "destination": ws, "type": "bind", "source": ws,
        "options": ["rbind", "rw", "nosuid", "nodev"]})

    proc = config["process"]
    proc["terminal"] = False
    proc["args"] = list(args)
    proc["cwd"] = cwd or ws
    penv = [e for e in proc.get("env", []) if not e.startswith("TERM=")]
    penv.append("HOME=/root")
    for k, v in (env or {}).items():
        penv.append("%s=%s" % (k, v))
    proc["env"] = penv

    config["hostname"] = "sowatch-e2e"
    linux = config.setdefault("linux", {})
    linux["cgroupsPath"] = cgroups_path or "%s/%s" % (CGROUP_PARENT, cid)
    annotations = config.setdefault("annotations", {})
    annotations["org.sowatch.test"] = "e2e"

    with open(os.path.join(bundle, "config.json"), "w") as f:
        json.dump(config, f, indent=2)
    return config


_PR_SET_CHILD_SUBREAPER = 36
_PR_GET_CHILD_SUBREAPER = 37


def _libc():
    return ctypes.CDLL(None, use_errno=True)


def _get_subreaper():
    val = ctypes.c_int(0)
    if _libc().prctl(_PR_GET_CHILD_SUBREAPER, ctypes.byref(val), 0, 0, 0):
        return None
    return val.value


def _set_subreaper(on):
    return _libc().prctl(_PR_SET_CHILD_SUBREAPER, 1 if on else 0, 0, 0, 0) == 0


def _ppid(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            stat = f.read()
    except OSError:
        return None
    return int(stat.rsplit(")", 1)[1].split()[1])


def _state(cid):
    proc = _runc("state", cid, check=False, timeout=10)
    if proc.returncode != 0:
        return None
    return json.loads(proc.stdout)


def run(args, workspace, env=None, timeout=60, cid=None, cwd=None,
        on_created=None):
    """Run args in a fresh runc container and wait for it to finish.

    Returns a ContainerResult whose returncode is the exit status of the
    container's process (negative signal number if killed; None only if the
    status could not be collected). The container is always deleted.
    on_created, if given, is called with (container_id, host_pid) after
    `runc create` and before `runc start`.

    To collect the exit status of a detached container the calling process
    makes itself a child subreaper for the duration of the call: when
    `runc create` exits, the container process is reparented to us and
    os.waitpid() works on it.
    """
    reason = runc_available()
    if reason:
        raise ContainerError(reason)
    cid = cid or new_container_id()
    cgroups_path = "%s/%s" % (CGROUP_PARENT, cid)
    tmp = tempfile.mkdtemp(prefix="sowatch-e2e-bundle-")
    bundle = os.path.join(tmp, "bundle")
    out_path = os.path.join(tmp, "stdout")
    err_path = os.path.join(tmp, "stderr")
    created = False
    was_subreaper = _get_subreaper()
    if not was_subreaper:
        _set_subreaper(True)
    try:
        make_bundle(bundle, args, workspace, env=env, cid=cid, cwd=cwd,
                    cgroups_path=cgroups_path)
        with open(out_path, "wb") as out, open(err_path, "wb") as err:
            # The container process inherits these files as its stdio.
            p = subprocess.run(
                [RUNC, "create", "--bundle", bundle, cid],
                stdin=subprocess.DEVNULL, stdout=out, stderr=err,
                timeout=timeout)
        created = True  # even on failure runc may have left state behind
        if p.returncode != 0:
            raise ContainerError("runc create failed (%d): %s" % (
                p.returncode, _read(err_path) + _read(out_path)))
        st = _state(cid)
        if not st or not st.get("pid"):
            raise ContainerError("runc state gave no pid: %r" % (st,))
        pid = int(st["pid"])
        try:
            with open("/proc/%d/cgroup" % pid) as f:
                cgroup_lines = f.read().splitlines()
        except OSError:
            cgroup_lines = []
        ours = _ppid(pid) == os.getpid()
        if on_created:
            on_created(cid, pid)
        _runc("start", cid, timeout=timeout)
        returncode = _wait(cid, pid, ours, timeout)
        return ContainerResult(cid, cgroups_path, pid, returncode,
                               _read(out_path), _read(err_path), cgroup_lines)
    finally:
        if created:
            _runc("delete", "-f", cid, check=False, timeout=30)
        if not was_subreaper:
            _set_subreaper(False)
        shutil.rmtree(tmp, ignore_errors=True)


def _wait(cid, pid, ours, timeout):
    deadline = time.monotonic() + timeout
    while True:
        if ours:
            try:
                wpid, status = os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                return None
            if wpid == pid:
                return os.waitstatus_to_exitcode(status)
        else:
            st = _state(cid)
            if st is None or st.get("status") == "stopped":
                return None
        if time.monotonic() > deadline:
            raise ContainerError("container %s still running after %ss"
                                 % (cid, timeout))
        time.sleep(0.02)


def _read(path):
    try:
        with open(path, "rb") as f:
            return f.read().decode("utf-8", errors="replace")
    except OSError:
        return ""


if __name__ == "__main__":
    # Self-check: `/usr/bin/python3 tests/e2e/container.py [module.so]`.
    import sys
    ws = tempfile.mkdtemp(prefix="sowatch-e2e-ctr-")
    r = run(["openssl", "version"], ws)
    print(r)
    if len(sys.argv) > 1:
        mod = os.path.join(ws, "m-selfcheck.so")
        shutil.copy(sys.argv[1], mod)
        marker = os.path.join(ws, "marker")
        r = run(["openssl", "engine", "-t", mod], ws,
                env={"SOWATCH_TEST_MARKER": marker})
        print(r)
        print("cgroup:", r.cgroup_lines)
        print("marker:", _read(marker).strip() or "MISSING")
    shutil.rmtree(ws, ignore_errors=True)
