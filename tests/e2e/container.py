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

Layouts. run() and Container take layout=, which makes the container look
as a given container manager would have made it, as far as the runtime state
and the cgroup path go (the manager itself is not needed):

  None          the default: runc's /run/runc, cgroup /sowatch-e2e/<64 hex>
  "runc"        plain runc: /run/runc, a name id "sowatch-<hex>", cgroup /<id>
  "docker"      docker: --root /run/docker/runtime-runc/moby, 64 hex id,
                cgroup /docker/<id>, no identifying annotations
  "containerd"  containerd's CRI plugin under Kubernetes: --root
                /run/containerd/runc/k8s.io, 64 hex id, cgroup
                /kubepods/besteffort/pod<uid>/<id>, io.kubernetes.cri.*
                annotations (container-type, container-name, sandbox-id,
                sandbox-name, sandbox-namespace, sandbox-uid, image-name)
  "crio"        CRI-O: --root /run/runc, 64 hex id, cgroup
                /kubepods/pod<uid>/crio-<id>.scope (the cgroupfs driver takes
                it as a plain path), io.kubernetes.container.name,
                io.kubernetes.pod.{name,namespace,uid},
                io.kubernetes.cri-o.{ContainerType,ImageName,ImageRef} and the
                pod's labels as JSON in io.kubernetes.cri-o.Labels

The identity the annotations give (container, pod, namespace, uid, image,
labels) is on the result as .identity, and what sowatch should report about
it as .expected (see Layout.expected). Parent cgroups and state roots a run
had to create are removed again afterwards.

Container (a context manager) is a long-running container: its init process
is `sleep` and commands are run in it with exec(), each a `runc exec` in the
container's namespaces and cgroup, until delete().

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
import uuid

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


def _pod_uid():
    return str(uuid.uuid4())


LAYOUTS = ("runc", "docker", "containerd", "crio")

# The runc state root of each layout (None: runc's default, /run/runc).
STATE_ROOTS = {
    None: "/run/runc",
    "runc": "/run/runc",
    "docker": "/run/docker/runtime-runc/moby",
    "containerd": "/run/containerd/runc/k8s.io",
    "crio": "/run/runc",
}


class Layout:
    """How one container manager lays a container out: its id, state root,
    cgroups path and annotations.

    identity: what the annotations say (keys container, pod, namespace,
    pod_uid, image, image_id, labels), empty for layouts without any.
    """

    def __init__(self, layout=None, cid=None, name=None):
        if layout not in STATE_ROOTS:
            raise ValueError("unknown layout %r (one of %s)" % (
                layout, ", ".join(LAYOUTS)))
        self.layout = layout
        self.root = STATE_ROOTS[layout]
        if layout == "runc":
            self.id = cid or "sowatch-%s" % secrets.token_hex(6)
        else:
            self.id = cid or new_container_id()
        self.identity = {}
        self.annotations = {"org.sowatch.test": "e2e"}
        suffix = secrets.token_hex(3)
        if layout is None:
            self.cgroups_path = "%s/%s" % (CGROUP_PARENT, self.id)
        elif layout == "runc":
            self.cgroups_path = "/%s" % self.id
        elif layout == "docker":
            self.cgroups_path = "/docker/%s" % self.id
        elif layout == "containerd":
            uid = _pod_uid()
            self.cgroups_path = "/kubepods/besteffort/pod%s/%s" % (uid, self.id)
            self.identity = {
                "container": name or "openssl",
                "pod": "sowatch-e2e-%s" % suffix,
                "namespace": "sowatch-e2e",
                "pod_uid": uid,
                "image": "docker.io/library/debian:12",
                "image_id": None,
                "labels": {},
            }
            self.annotations.update({
                "io.kubernetes.cri.container-type": "container",
                "io.kubernetes.cri.container-name": self.identity["container"],
                "io.kubernetes.cri.sandbox-id": new_container_id(),
                "io.kubernetes.cri.sandbox-name": self.identity["pod"],
                "io.kubernetes.cri.sandbox-namespace": self.identity["namespace"],
                "io.kubernetes.cri.sandbox-uid": uid,
                "io.kubernetes.cri.image-name": self.identity["image"],
            })
        elif layout == "crio":
            uid = _pod_uid()
            self.cgroups_path = "/kubepods/pod%s/crio-%s.scope" % (uid, self.id)
            pod_labels = {"app": "sowatch-e2e", "run": suffix}
            self.identity = {
                "container": name or "openssl",
                "pod": "sowatch-e2e-%s" % suffix,
                "namespace": "sowatch-e2e",
                "pod_uid": uid,
                "image": "docker.io/library/debian:12",
                "image_id": "sha256:" + secrets.token_hex(32),
                "labels": dict(pod_labels),
            }
            kube_labels = dict(pod_labels)
            kube_labels.update({
                "io.kubernetes.container.name": self.identity["container"],
                "io.kubernetes.pod.name": self.identity["pod"],
                "io.kubernetes.pod.namespace": self.identity["namespace"],
                "io.kubernetes.pod.uid": uid,
            })
            self.annotations.update({
                "io.kubernetes.container.name": self.identity["container"],
                "io.kubernetes.pod.name": self.identity["pod"],
                "io.kubernetes.pod.namespace": self.identity["namespace"],
                "io.kubernetes.pod.uid": uid,
                "io.kubernetes.cri-o.ContainerType": "container",
                "io.kubernetes.cri-o.ContainerID": self.id,
                "io.kubernetes.cri-o.ImageName": self.identity["image"],
                "io.kubernetes.cri-o.ImageRef": self.identity["image_id"],
                "io.kubernetes.cri-o.Labels": json.dumps(kube_labels),
            })

    def runc_args(self):
        """runc's global options for this layout (its state root)."""
        return ["--root", self.root]

    def expected_cgroup(self):
        """The path /proc/<pid>/cgroup shows for the container's processes
        (cgroup namespaces are not used, so it is the host's path)."""
        return self.cgroups_path


def _cgroup_mounts():
    """Mount points of every cgroup (v1) and cgroup2 hierarchy."""
    mounts = []
    try:
        with open("/proc/self/mountinfo") as f:
            for line in f:
                fields = line.split()
                sep = fields.index("-")
                if fields[sep + 1] in ("cgroup", "cgroup2"):
                    mounts.append(fields[4])
    except (OSError, ValueError):
        pass
    return mounts


def _missing_dirs(path):
    """The ancestors of path (itself included) that do not exist yet,
    deepest first: what to remove afterwards to leave the machine as it
    was."""
    missing = []
    while path not in ("", "/") and not os.path.isdir(path):
        missing.append(path)
        path = os.path.dirname(path)
    return missing


def _missing_cgroup_parents(cgroups_path):
    """Parent cgroups of cgroups_path, in every hierarchy, that runc will
    create (the container's own cgroup is removed by runc delete)."""
    parent = os.path.dirname(cgroups_path.rstrip("/"))
    out = []
    for m in _cgroup_mounts():
        out += _missing_dirs(m + parent) if parent not in ("", "/") else []
    return out


def _rmdirs(dirs):
    for d in dirs:
        try:
            os.rmdir(d)
        except OSError:
            pass


class ContainerResult:
    def __init__(self, container_id, cgroups_path, pid, returncode,
                 stdout, stderr, cgroup_lines, layout=None):
        self.id = container_id
        # The Layout the container was made with (state root, annotations,
        # the identity they give).
        self.layout = layout
        self.state_root = layout.root if layout else STATE_ROOTS[None]
        self.identity = layout.identity if layout else {}
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


def _runc(*args, timeout=30, check=True, root=None):
    glob = ["--root", root] if root else []
    proc = subprocess.run([RUNC] + glob + list(args), stdin=subprocess.DEVNULL,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          timeout=timeout)
    if check and proc.returncode != 0:
        raise ContainerError("runc %s failed (%d): %s%s" % (
            " ".join(args), proc.returncode,
            proc.stdout.decode(errors="replace"),
            proc.stderr.decode(errors="replace")))
    return proc


def make_bundle(bundle, args, workspace, env=None, cid=None, cwd=None,
                cgroups_path=None, annotations=None, image_files=None):
    """Write an OCI bundle (config.json + rootfs/) into the directory bundle.

    args: the container process argv (list of str).
    workspace: host dir bind-mounted read-write at the same path.
    env: dict of extra environment variables for the process.
    image_files: {path in the container: host file}. When given, the root
    is an overlay, as docker and containerd make it: the "image" is a lower
    layer holding these files, bundle/upper the writable layer (files put
    into the root at run time land there); the overlay is mounted on
    rootfs/ and must be unmounted with unmount_bundle().
    """
    os.makedirs(bundle, exist_ok=True)
    rootfs = os.path.join(bundle, "rootfs")
    os.makedirs(rootfs, exist_ok=True)
    if image_files is not None:
        lower = os.path.join(bundle, "lower")
        os.makedirs(lower)
        for inside, host in image_files.items():
            dst = lower + inside
            os.makedirs(os.path.dirname(dst), exist_ok=True)
            shutil.copy2(host, dst)
        for d in ("upper", "work"):
            os.makedirs(os.path.join(bundle, d))
        subprocess.run(
            ["mount", "-t", "overlay", "overlay", "-o",
             "lowerdir=%s,upperdir=%s/upper,workdir=%s/work" % (lower, bundle, bundle),
             rootfs], check=True)
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

    config["root"] = {"path": rootfs, "readonly": image_files is None}
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
    ann = config.setdefault("annotations", {})
    ann["org.sowatch.test"] = "e2e"
    ann.update(annotations or {})

    with open(os.path.join(bundle, "config.json"), "w") as f:
        json.dump(config, f, indent=2)
    return config


def unmount_bundle(bundle):
    """Undo make_bundle()'s overlay root, if it made one."""
    rootfs = os.path.join(bundle, "rootfs")
    if os.path.exists(os.path.join(bundle, "lower")):
        subprocess.run(["umount", "-l", rootfs], stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)


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


def _state(cid, root=None):
    proc = _runc("state", cid, check=False, timeout=10, root=root)
    if proc.returncode != 0:
        return None
    return json.loads(proc.stdout)


def run(args, workspace, env=None, timeout=60, cid=None, cwd=None,
        on_created=None, layout=None, name=None):
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

    layout: None, "runc", "docker", "containerd" or "crio" (see the module's
    docstring); name: the container name the Kubernetes layouts annotate.
    """
    reason = runc_available()
    if reason:
        raise ContainerError(reason)
    lay = Layout(layout, cid=cid, name=name)
    cid = lay.id
    cgroups_path = lay.cgroups_path
    root = lay.root
    created_dirs = _missing_dirs(root) + _missing_cgroup_parents(cgroups_path)
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
                    cgroups_path=cgroups_path, annotations=lay.annotations)
        with open(out_path, "wb") as out, open(err_path, "wb") as err:
            # The container process inherits these files as its stdio.
            p = subprocess.run(
                [RUNC, "--root", root, "create", "--bundle", bundle, cid],
                stdin=subprocess.DEVNULL, stdout=out, stderr=err,
                timeout=timeout)
        created = True  # even on failure runc may have left state behind
        if p.returncode != 0:
            raise ContainerError("runc create failed (%d): %s" % (
                p.returncode, _read(err_path) + _read(out_path)))
        st = _state(cid, root=root)
        if not st or not st.get("pid"):
            raise ContainerError("runc state gave no pid: %r" % (st,))
        pid = int(st["pid"])
        cgroup_lines = _cgroup_lines(pid)
        ours = _ppid(pid) == os.getpid()
        if on_created:
            on_created(cid, pid)
        _runc("start", cid, timeout=timeout, root=root)
        returncode = _wait(cid, pid, ours, timeout, root=root)
        return ContainerResult(cid, cgroups_path, pid, returncode,
                               _read(out_path), _read(err_path), cgroup_lines,
                               layout=lay)
    finally:
        if created:
            _runc("delete", "-f", cid, check=False, timeout=30, root=root)
        if not was_subreaper:
            _set_subreaper(False)
        shutil.rmtree(tmp, ignore_errors=True)
        _rmdirs(created_dirs)


def _cgroup_lines(pid):
    try:
        with open("/proc/%d/cgroup" % pid) as f:
            return f.read().splitlines()
    except OSError:
        return []


# Subreaper for as long as any long-running Container is alive.
_subreaper_users = 0
_subreaper_was = None


def _subreaper_acquire():
    global _subreaper_users, _subreaper_was
    if _subreaper_users == 0:
        _subreaper_was = _get_subreaper()
        if not _subreaper_was:
            _set_subreaper(True)
    _subreaper_users += 1


def _subreaper_release():
    global _subreaper_users
    _subreaper_users -= 1
    if _subreaper_users == 0 and not _subreaper_was:
        _set_subreaper(False)


class ExecResult:
    def __init__(self, pid, returncode, stdout, stderr, cgroup_lines):
        self.pid = pid  # host pid of the exec'd process (None if unknown)
        self.returncode = returncode
        self.stdout = stdout
        self.stderr = stderr
        # /proc/<pid>/cgroup of the exec'd process while it was running, if
        # it was still there when looked at (it often is not).
        self.cgroup_lines = cgroup_lines

    @property
    def output(self):
        return self.stdout + self.stderr

    def __repr__(self):
        return ("ExecResult(pid=%s, rc=%s, stdout=%r, stderr=%r)"
                % (self.pid, self.returncode, self.stdout[-2000:],
                   self.stderr[-2000:]))


class Container:
    """A long-running container in a chosen layout, for tests that run
    several commands in one container (say, load two modules):

        with container.Container(ws.dir, layout="containerd") as c:
            r1 = c.exec(["openssl", "engine", "-t", mod1], env={...})
            r2 = c.exec(["openssl", "engine", "-t", mod2])
            c.id, c.pid, c.cgroup_lines, c.identity, c.state_root

    The init process (c.pid, pid 1 inside) is `sleep` (init_args), created
    and started like run() does; each exec() is a `runc exec` that waits for
    the command and reports its host pid (runc's --pid-file), exit status
    and output. delete() (or leaving the with block) kills and removes the
    container and whatever cgroup parents and state root it had to create.
    """

    def __init__(self, workspace, layout=None, env=None, cid=None, name=None,
                 init_args=("sleep", "3600"), timeout=60, image_files=None):
        reason = runc_available()
        if reason:
            raise ContainerError(reason)
        self.workspace = workspace
        self.env = dict(env or {})
        self.timeout = timeout
        self.layout = Layout(layout, cid=cid, name=name)
        self.id = self.layout.id
        self.state_root = self.layout.root
        self.cgroups_path = self.layout.cgroups_path
        self.identity = self.layout.identity
        self.init_args = list(init_args)
        self.image_files = image_files
        self.bundle = None
        self.pid = None
        self.cgroup_lines = []
        self._tmp = None
        self._created = False
        self._subreaper = False
        self._created_dirs = []

    def __enter__(self):
        if not self._created:
            self.start()
        return self

    def __exit__(self, *exc):
        self.delete()
        return False

    def _runc(self, *args, **kw):
        return _runc(*args, root=self.state_root, **kw)

    def start(self):
        if self._created or self._tmp:
            raise ContainerError("container %s already started" % self.id)
        self._created_dirs = (_missing_dirs(self.state_root)
                              + _missing_cgroup_parents(self.cgroups_path))
        self._tmp = tempfile.mkdtemp(prefix="sowatch-e2e-bundle-")
        bundle = self.bundle = os.path.join(self._tmp, "bundle")
        log = os.path.join(self._tmp, "init.log")
        _subreaper_acquire()
        self._subreaper = True
        try:
            make_bundle(bundle, self.init_args, self.workspace, env=self.env,
                        cid=self.id, cgroups_path=self.cgroups_path,
                        annotations=self.layout.annotations,
                        image_files=self.image_files)
            with open(log, "wb") as out:
                p = subprocess.run(
                    [RUNC, "--root", self.state_root, "create", "--bundle",
                     bundle, self.id],
                    stdin=subprocess.DEVNULL, stdout=out, stderr=out,
                    timeout=self.timeout)
            self._created = True
            if p.returncode != 0:
                raise ContainerError("runc create failed (%d): %s" % (
                    p.returncode, _read(log)))
            st = _state(self.id, root=self.state_root)
            if not st or not st.get("pid"):
                raise ContainerError("runc state gave no pid: %r" % (st,))
            self.pid = int(st["pid"])
            self.cgroup_lines = _cgroup_lines(self.pid)
            self._runc("start", self.id, timeout=self.timeout)
        except BaseException:
            self.delete()
            raise
        return self

    def exec(self, args, env=None, cwd=None, timeout=None):
        """Run args in the container and wait for it; an ExecResult."""
        if not self._created:
            raise ContainerError("container %s is not running" % self.id)
        n = secrets.token_hex(4)
        pid_file = os.path.join(self._tmp, "exec-%s.pid" % n)
        out_path = os.path.join(self._tmp, "exec-%s.out" % n)
        err_path = os.path.join(self._tmp, "exec-%s.err" % n)
        cmd = [RUNC, "--root", self.state_root, "exec", "--pid-file", pid_file,
               "--cwd", cwd or os.path.realpath(self.workspace),
               "--env", "HOME=/root"]
        for k, v in dict(self.env, **(env or {})).items():
            cmd += ["--env", "%s=%s" % (k, v)]
        cmd += [self.id] + list(args)
        with open(out_path, "wb") as out, open(err_path, "wb") as err:
            p = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=out,
                               stderr=err, timeout=timeout or self.timeout)
        try:
            pid = int(_read(pid_file).strip())
        except ValueError:
            pid = None
        lines = _cgroup_lines(pid) if pid else []
        return ExecResult(pid, p.returncode, _read(out_path), _read(err_path),
                          lines)

    def state(self):
        return _state(self.id, root=self.state_root)

    def add_file(self, inside, host):
        """Copy a host file into the running container's root: with an
        overlay root, it lands in the writable (upper) layer."""
        dst = os.path.join(self.bundle, "rootfs") + inside
        os.makedirs(os.path.dirname(dst), exist_ok=True)
        shutil.copy2(host, dst)

    def delete(self):
        if self._created:
            self._runc("delete", "-f", self.id, check=False, timeout=30)
            self._created = False
            if self.pid:
                # Reap the init process, reparented to us (the subreaper).
                deadline = time.monotonic() + 5
                while time.monotonic() < deadline:
                    try:
                        wpid, _ = os.waitpid(self.pid, os.WNOHANG)
                    except ChildProcessError:
                        break
                    if wpid == self.pid:
                        break
                    time.sleep(0.02)
        if self._subreaper:
            _subreaper_release()
            self._subreaper = False
        if self._tmp:
            if self.bundle:
                unmount_bundle(self.bundle)
            shutil.rmtree(self._tmp, ignore_errors=True)
            self._tmp = None
        _rmdirs(self._created_dirs)
        self._created_dirs = []


def _wait(cid, pid, ours, timeout, root=None):
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
            st = _state(cid, root=root)
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


def _selfcheck_layouts(ws):
    """Every layout: openssl runs, the cgroup is the expected one, and the
    runtime's state is where the layout says."""
    ok = True
    for layout in (None,) + LAYOUTS:
        r = run(["openssl", "version"], ws, layout=layout)
        want = r.cgroups_path
        paths = {line.split(":", 2)[2] for line in r.cgroup_lines}
        good = (r.returncode == 0 and "OpenSSL" in r.stdout
                and paths == {want})
        ok &= good
        print("%-10s %s root=%s rc=%s %s cgroup=%s" % (
            layout, "OK " if good else "BAD", r.state_root, r.returncode,
            r.stdout.strip(), sorted(paths)))
    with Container(ws, layout="containerd") as c:
        state_json = os.path.join(c.state_root, c.id, "state.json")
        print("long-running", c.id[:12], "pid", c.pid, "state",
              os.path.exists(state_json))
        for i in range(2):
            e = c.exec(["openssl", "version"])
            ok &= e.returncode == 0
            print("  exec", i, e)
    return ok


if __name__ == "__main__":
    # Self-check: `/usr/bin/python3 tests/e2e/container.py [module.so]`.
    import sys
    ws = tempfile.mkdtemp(prefix="sowatch-e2e-ctr-")
    r = run(["openssl", "version"], ws)
    print(r)
    if not _selfcheck_layouts(ws):
        print("layout self-check FAILED")
        sys.exit(1)
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
