# SPDX-License-Identifier: Apache-2.0
"""gVisor (runsc) sandboxes for sowatch's end-to-end tests.

    r = sandbox.run_in_sandbox(["openssl", "engine", "-t", mod], pod_json,
                               env={"SOWATCH_TEST_MARKER": marker},
                               files=[ws.dir])
    r.returncode, r.output, r.container_id

Every sandbox is started with `--network=none --platform=ptrace` (the ptrace
platform is the one that works on these machines) and
`--pod-init-config=POD_JSON`, the file `sowatch gvisor-config` prints, so that
its trace points go to the sensor's socket. runsc connects to that socket and
does gVisor's handshake *before* the sandbox starts, and refuses to start the
sandbox when nothing listens: start the sensor first.

Two ways to start a sandbox (mode=):

  "do"   `runsc ... do --force-overlay=false --cwd CWD ARGV...` (the default).
         The sandbox's root file system is the host's "/", so every host path
         is reachable inside at the same path. runsc do normally puts an
         in-memory overlay over it (writes vanish with the sandbox);
         --force-overlay=false turns that off so that a marker file written
         inside shows up on the host (the command then has write access to
         the host: only for tests). The sandbox's environment is runsc's own
         environment. runsc picks the container id itself
         ("runsc-" + 6 random digits); it is read back from runsc's debug
         log (`--debug --debug-log=DIR/%COMMAND%.log --debug-command=do`,
         line "Create container, cid: runsc-NNNNNN"), so r.container_id is
         known for every run.
  "run"  an OCI bundle + `runsc --root STATE run --bundle B ID`, for when the
         container id or annotations must be chosen. Root is the host's "/",
         read-only; every path in files= (and cwd, and the marker's
         directory) is bind-mounted read-write at the same path, so module
         paths are the same inside and out and markers reach the host.
         With root=DIR instead, the sandbox's root is DIR (written in the
         spec relative to the bundle, as containerd writes "rootfs"),
         read-write and without bind mounts: paths inside are DIR's, and a
         marker written inside lands in DIR (make_rootfs() builds one).

A bare `runsc --network=none --platform=ptrace --pod-init-config=P do ARGV`
(run_plain_do()) keeps runsc's overlay: reads work, writes (markers) are lost,
and the container id is not known to the caller.

Only the Python standard library is used (run with /usr/bin/python3).
"""

import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import tempfile
import threading

import harness

RUNSC = os.environ.get("SOWATCH_RUNSC") or shutil.which("runsc") or "/usr/bin/runsc"
RUNSC_FLAGS = ("--network=none", "--platform=ptrace")
DEFAULT_TIMEOUT = 120

_CID_LINE = re.compile(r"Create container, cid: (\S+?),")
DO_CID = re.compile(r"^runsc-\d{6}$")


class SandboxError(Exception):
    pass


def runsc_available():
    """None when runsc can run sandboxes here, else a reason."""
    if not os.path.exists(RUNSC):
        return "runsc not found (%s)" % RUNSC
    if os.geteuid() != 0:
        return "runsc sandboxes need root (euid %d)" % os.geteuid()
    return None


class SandboxResult:
    """What run_in_sandbox() returns.

    returncode   the exit status of the sandboxed command (runsc passes it on)
    output       runsc's stdout+stderr (the command's output, and runsc's
                 own messages), decoded leniently
    container_id the sandbox's container id as gVisor reports it in trace
                 points (ContextData.container_id, Start.id); None only for
                 run_plain_do()
    mode         "do", "run" or "plain-do"
    argv         the sandboxed command
    runsc_argv   the full runsc command line
    """

    def __init__(self, returncode, output, container_id, mode, argv,
                 runsc_argv):
        self.returncode = returncode
        self.output = output
        self.container_id = container_id
        self.mode = mode
        self.argv = list(argv)
        self.runsc_argv = list(runsc_argv)

    def __repr__(self):
        return "SandboxResult(rc=%r, cid=%r, mode=%r, argv=%r)" % (
            self.returncode, self.container_id, self.mode, self.argv[:6])


def _communicate(p, argv, timeout):
    try:
        out, _ = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        # runsc forks a sandbox and a gofer: kill the whole session.
        try:
            os.killpg(p.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        out, _ = p.communicate()
        raise AssertionError("sandbox timed out after %ss: %r\n%s" % (
            timeout, argv[:8], out.decode(errors="replace")[-4000:]))
    return out.decode("utf-8", "replace")


def _env_list(env):
    return ["%s=%s" % kv for kv in sorted(env.items())]


def _bind_dirs(paths):
    """Distinct existing directories for paths (a file gives its directory),
    without any that is inside another."""
    dirs = set()
    for p in paths:
        p = os.path.realpath(p)
        if not os.path.isdir(p):
            p = os.path.dirname(p)
        if os.path.isdir(p) and p != "/":
            dirs.add(p)
    out = []
    for d in sorted(dirs):
        if not any(d == o or d.startswith(o + "/") for o in out):
            out.append(d)
    return out


def make_bundle(bundle, args, env, cwd="/", binds=(), annotations=None,
                hostname="sowatch-e2e", root=None):
    """Write an OCI config.json in bundle: the host's "/" read-only as root,
    each directory in binds bind-mounted read-write at the same path; or,
    with root, that directory as a writable root of its own (named relative
    to the bundle)."""
    mounts = [
        {"destination": "/proc", "type": "proc", "source": "proc"},
        {"destination": "/dev", "type": "tmpfs", "source": "tmpfs"},
        {"destination": "/sys", "type": "sysfs", "source": "sysfs",
         "options": ["nosuid", "noexec", "nodev", "ro"]},
    ]
    for d in binds:
        mounts.append({"destination": d, "type": "bind", "source": d,
                       "options": ["rbind", "rw"]})
    spec = {
        "ociVersion": "1.0.2",
        "process": {
            "terminal": False,
            "user": {"uid": 0, "gid": 0},
            "args": list(args),
            "env": _env_list(env),
            "cwd": cwd or "/",
        },
        "root": ({"path": os.path.relpath(root, bundle), "readonly": False}
                 if root else {"path": "/", "readonly": True}),
        "hostname": hostname,
        "mounts": mounts,
        "linux": {
            "namespaces": [{"type": t} for t in
                           ("pid", "network", "ipc", "uts", "mount")],
        },
        "annotations": dict(annotations or {}),
    }
    with open(os.path.join(bundle, "config.json"), "w") as f:
        json.dump(spec, f, indent=1)
    return spec


def _run_do(args, pod_config_path, env, cwd, timeout):
    tmp = tempfile.mkdtemp(prefix="sowatch-e2e-runsc-")
    try:
        log = os.path.join(tmp, "do.log")
        argv = [RUNSC] + list(RUNSC_FLAGS) + [
            "--pod-init-config=%s" % pod_config_path,
            "--debug", "--debug-log=%s" % os.path.join(tmp, "%COMMAND%.log"),
            "--debug-command=do",
            "do", "--force-overlay=false", "--cwd", cwd or "/", "--"] + list(args)
        p = subprocess.Popen(argv, env=env, stdin=subprocess.DEVNULL,
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                             start_new_session=True)
        out = _communicate(p, args, timeout)
        cid = None
        try:
            with open(log, errors="replace") as f:
                for line in f:
                    m = _CID_LINE.search(line)
                    if m:
                        cid = m.group(1)
                        break
        except FileNotFoundError:
            pass
        if cid is None:
            raise SandboxError("no container id in runsc's debug log (rc %s):"
                               "\n%s" % (p.returncode, out[-4000:]))
        return SandboxResult(p.returncode, out, cid, "do", args, argv)
    finally:
        if harness.keep_artifacts():
            print("keeping runsc logs in %s" % tmp)
        else:
            shutil.rmtree(tmp, ignore_errors=True)


def _run_oci(args, pod_config_path, env, cwd, binds, container_id,
             annotations, timeout, state_root=None, root=None):
    cid = container_id or "sowatch-gv-%s" % secrets.token_hex(6)
    tmp = tempfile.mkdtemp(prefix="sowatch-e2e-runsc-")
    state = state_root or os.path.join(tmp, "state")
    bundle = os.path.join(tmp, "bundle")
    os.makedirs(state, 0o700, exist_ok=True)
    os.mkdir(bundle, 0o755)
    glob = [RUNSC, "--root", state] + list(RUNSC_FLAGS)
    try:
        make_bundle(bundle, args, env, cwd=cwd, binds=binds,
                    annotations=annotations, root=root)
        argv = glob + ["--pod-init-config=%s" % pod_config_path,
                       "run", "--bundle", bundle, cid]
        p = subprocess.Popen(argv, stdin=subprocess.DEVNULL,
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                             start_new_session=True)
        out = _communicate(p, args, timeout)
        return SandboxResult(p.returncode, out, cid, "run", args, argv)
    finally:
        subprocess.run(glob + ["delete", "-force", cid],
                       stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL, timeout=60)
        if harness.keep_artifacts():
            print("keeping runsc bundle and state in %s" % tmp)
        else:
            shutil.rmtree(tmp, ignore_errors=True)


def run_in_sandbox(args, pod_config_path, env=None, cwd=None, files=(),
                   marker=None, mode="do", container_id=None,
                   annotations=None, timeout=DEFAULT_TIMEOUT, state_root=None,
                   root=None):
    """Run args (a list of str; args[0] looked up in PATH inside) in a new
    gVisor sandbox whose trace points go where pod_config_path says, wait for
    it and return a SandboxResult.

    env: extra environment variables on top of the scrubbed test environment
         (harness.base_env: system PATH, LC_ALL=C, no OPENSSL_*/LD_* vars).
    marker: value for SOWATCH_TEST_MARKER (its directory is made reachable
         and writable).
    cwd: the working directory inside (default "/").
    files: host paths (files or directories) that the command needs; with
         mode="run" their directories are bind-mounted read-write at the
         same path (mode="do" reaches every host path anyway).
    mode: "do" or "run" (see the module's documentation).
    container_id, annotations: only with mode="run" (default id
         "sowatch-gv-<12 hex>").
    root: only with mode="run": a directory (see make_rootfs()) that is the
         sandbox's root instead of the host's "/"; files= and the marker are
         then paths inside it, and nothing is bind-mounted.
    """
    environ = harness.base_env(env, marker)
    if mode == "do":
        if container_id or annotations or root:
            raise ValueError("container_id/annotations/root need mode='run'")
        return _run_do(args, pod_config_path, environ, cwd, timeout)
    if mode == "run":
        paths = list(files)
        if cwd:
            paths.append(cwd)
        if marker:
            paths.append(os.path.dirname(os.path.abspath(marker)))
        binds = [] if root else _bind_dirs(paths)
        return _run_oci(args, pod_config_path, environ, cwd, binds,
                        container_id, annotations, timeout,
                        state_root=state_root, root=root)
    raise ValueError("mode must be 'do' or 'run', not %r" % (mode,))


def _copy_into_root(path, root):
    """Make path, a host file, resolve inside root to a copy of it, with the
    same symbolic links on the way (absolute ones included, as an image has
    them), the host's top-level links (/lib -> usr/lib) made beforehand."""
    for _ in range(16):
        parent = os.path.realpath(os.path.dirname(path))
        here = os.path.join(parent, os.path.basename(path))
        os.makedirs(root + parent, exist_ok=True)
        if not os.path.islink(here):
            if not os.path.exists(root + here):
                shutil.copy2(here, root + here)
            return
        target = os.readlink(here)
        if not os.path.lexists(root + here):
            os.symlink(target, root + here)
        path = target if target.startswith("/") else os.path.join(parent, target)
    raise SandboxError("too many links from %s" % path)


def make_rootfs(root, programs=(("/usr/bin/openssl", "/usr/bin/openssl"),)):
    """Build in the (new or empty) directory root a root file system for a
    sandbox, the way an image is unpacked: each program copied from the host
    path to the path inside given as (host, inside) pairs, with the shared
    libraries and dynamic loader ldd names for it (copies, never hard links:
    a file inside must be able to differ from the host's), the host's
    top-level symlinks (/lib, /lib64, /bin ...) and empty /proc, /dev, /sys,
    /tmp. Returns root."""
    os.makedirs(root, 0o755, exist_ok=True)
    for d in ("proc", "dev", "sys", "tmp", "etc"):
        os.makedirs(os.path.join(root, d), exist_ok=True)
    os.chmod(os.path.join(root, "tmp"), 0o1777)
    for top in os.listdir("/"):
        if os.path.islink("/" + top) and not os.path.lexists(os.path.join(root, top)):
            os.symlink(os.readlink("/" + top), os.path.join(root, top))
    for host, inside in programs:
        dst = root + inside
        os.makedirs(os.path.dirname(dst), exist_ok=True)
        shutil.copy2(host, dst)
        out = subprocess.run(["ldd", host], stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, check=True).stdout.decode()
        for lib in re.findall(r"(/\S+) \(0x", out):
            _copy_into_root(lib, root)
    return root


def run_plain_do(args, pod_config_path, env=None, cwd=None,
                 timeout=DEFAULT_TIMEOUT):
    """Exactly `runsc --network=none --platform=ptrace
    --pod-init-config=P do ARGV...`, as a user would type it: runsc's
    overlay stays on (nothing written inside reaches the host) and the
    container id is not known (None)."""
    argv = [RUNSC] + list(RUNSC_FLAGS) + [
        "--pod-init-config=%s" % pod_config_path, "do"] + list(args)
    p = subprocess.Popen(argv, env=harness.base_env(env), cwd=cwd,
                         stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, start_new_session=True)
    out = _communicate(p, args, timeout)
    return SandboxResult(p.returncode, out, None, "plain-do", args, argv)


def run_many(calls):
    """Run several sandboxes at the same time, one thread each.

    calls: a list of dicts of run_in_sandbox() keyword arguments (args and
    pod_config_path included). Returns the SandboxResults in the same order;
    re-raises the first exception a thread hit, after all have finished.
    """
    results = [None] * len(calls)
    errors = [None] * len(calls)
    start = threading.Barrier(len(calls))

    def one(i):
        try:
            start.wait(30)
            results[i] = run_in_sandbox(**calls[i])
        except BaseException as e:  # noqa: B902 - re-raised below
            errors[i] = e

    threads = [threading.Thread(target=one, args=(i,), daemon=True,
                                name="sandbox-%d" % i)
               for i in range(len(calls))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for e in errors:
        if e is not None:
            raise e
    return results
