# SPDX-License-Identifier: Apache-2.0
"""Helpers for sowatch's end-to-end tests (Python standard library only).

Run the tests with Debian's /usr/bin/python3, as root, on a kernel with BTF.

* environment_problem() / require_environment(): whether the e2e tests can
  run here; a reason to skip, or (when CI is set) a hard failure.
* Sensor: a context manager running `sowatch run --jsonl FILE`, waiting for
  `sowatch: ready`, reading the findings it writes (strictly), stopping it
  with SIGTERM and checking that it exits 0.
* Workspace: a unique directory per test with uniquely named module copies
  and marker paths.
* run_cmd(): run a command directly (no shell) and return (pid, returncode,
  output); the pid is the one a finding about the command carries.
* canary() / assert_no_findings(): for negative tests, prove the sensor was
  alive and caught up by producing a known-positive finding, then check that
  nothing before it names the benign command.

The machine running the tests is busy: other processes (and other tests) may
produce findings at any time. Everything here selects findings by pid and by
unique file names, never by "the next finding".
"""

import atexit
import hashlib
import json
import os
import pwd
import re
import secrets
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO_ROOT = os.path.dirname(os.path.dirname(HERE))
FIXTURE_SRC = os.path.join(REPO_ROOT, "tests", "fixtures", "module.c")
LOADER_SRC = os.path.join(REPO_ROOT, "tests", "fixtures", "loader.c")
WORKLOAD_SRC = os.path.join(REPO_ROOT, "bench", "workload.c")

OPENSSL = "/usr/bin/openssl"
CATEGORY = "Execution: Suspicious OpenSSL Shared Object Loaded"
READY_LINE = "sowatch: ready"
READY_TIMEOUT = 30.0
STOP_TIMEOUT = 20.0

# A deterministic environment for the commands the tests run: the system
# PATH (no pyenv shims, no /usr/local surprises) and nothing that changes
# how OpenSSL or the dynamic loader behave unless a test sets it itself.
SYSTEM_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
_SCRUBBED_ENV = ("SOWATCH_TEST_MARKER", "OPENSSL_CONF", "OPENSSL_CONF_INCLUDE",
                 "OPENSSL_ENGINES", "OPENSSL_MODULES", "LD_PRELOAD",
                 "LD_LIBRARY_PATH", "LD_AUDIT")

RFC3339_UTC = re.compile(
    r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?Z$")
FINDING_NAME = re.compile(
    r"^((?:projects|organizations|folders)/[^/]+/sources/[^/]+)"
    r"/findings/([^/]+)$")


SYSTEMD_UNIT = os.path.join(REPO_ROOT, "deploy", "systemd", "sowatch.service")

# The route tests run a second time with SOWATCH_E2E_ENFORCE=1 (tests/run does): their
# sensors then enforce, and every route must be stopped before the module's constructor
# runs, with exactly one finding telling of the kill (see route_ran() and route_enforced()).
ENFORCE = os.environ.get("SOWATCH_E2E_ENFORCE", "") == "1"
ENFORCE_CONFIG = "enforce:\n  mode: kill\n"
KILLED = re.compile(r"^killed: ")


def unit_settings():
    """Every Key=value of the systemd unit, values of repeated keys joined by spaces."""
    settings = {}
    with open(SYSTEMD_UNIT) as f:
        for line in f:
            m = re.match(r"^(\w+)=(.*)$", line.rstrip("\n"))
            if m:
                old = settings.get(m.group(1))
                settings[m.group(1)] = (old + " " if old else "") + m.group(2)
    return settings


def openssl_dir(flag):
    """ENGINESDIR (flag "-e") or MODULESDIR ("-m") of the system's openssl, as
    `openssl version` reports it."""
    out = subprocess.run([OPENSSL, "version", flag], stdout=subprocess.PIPE,
                         universal_newlines=True, check=True).stdout
    return out.split('"')[1]


def keep_artifacts():
    return os.environ.get("SOWATCH_E2E_KEEP", "") not in ("", "0")


# --------------------------------------------------------------------------
# Environment


def in_ci():
    return os.environ.get("CI", "") not in ("", "0", "false")


def sowatch_bin():
    """The sensor binary: $SOWATCH_BIN (relative to the repo root unless
    absolute), default build/sowatch."""
    path = os.environ.get("SOWATCH_BIN") or os.path.join("build", "sowatch")
    if not os.path.isabs(path):
        path = os.path.join(REPO_ROOT, path)
    return path


def environment_problem():
    """A reason the e2e tests cannot run here, or None.

    Only two things are reasons to skip: not being root, and a kernel
    without BPF/BTF. Everything else (a missing binary, a missing runc,
    openssl or compiler) is a failure, not a skip.
    """
    if os.geteuid() != 0:
        return "e2e tests need root (euid %d)" % os.geteuid()
    if not os.path.exists("/sys/kernel/btf/vmlinux"):
        return "BPF unavailable: /sys/kernel/btf/vmlinux is missing"
    return None


def require_environment():
    """Return a skip reason (or None). With CI set, never skip: raise."""
    reason = environment_problem()
    if reason and in_ci():
        raise RuntimeError("CI is set, refusing to skip: " + reason)
    return reason


# --------------------------------------------------------------------------
# Files


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def rand(n=8):
    """n random lowercase hex digits."""
    return secrets.token_hex((n + 1) // 2)[:n]


_fixture_lock = threading.Lock()
_fixtures = {}


def _build_fixture(src, out_name, cc_args):
    """Compile a fixture once per test process into a private temporary dir
    (once per source and output name)."""
    with _fixture_lock:
        if (src, out_name) in _fixtures:
            return _fixtures[src, out_name]
        outdir = tempfile.mkdtemp(prefix="sowatch-e2e-fixture-")
        atexit.register(shutil.rmtree, outdir, True)
        out = os.path.join(outdir, out_name)
        cc = os.environ.get("CC", "cc")
        proc = subprocess.run(
            shlex.split(cc) + cc_args(out, src),
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        if proc.returncode != 0:
            raise RuntimeError("building %s failed:\n%s" % (
                src, proc.stdout.decode(errors="replace")))
        _fixtures[src, out_name] = out
        return out


def fixture_module():
    """Path of the test module, built once from tests/fixtures/module.c
    (or $SOWATCH_TEST_MODULE if set)."""
    given = os.environ.get("SOWATCH_TEST_MODULE")
    if given:
        return os.path.abspath(given)
    return _build_fixture(FIXTURE_SRC, "m.so",
                          lambda out, src: ["-shared", "-fPIC", "-o", out, src])


def fixture_module32():
    """The test module built for 32-bit (ia32) processes (-m32)."""
    return _build_fixture(FIXTURE_SRC, "m32.so",
                          lambda out, src: ["-m32", "-shared", "-fPIC", "-o", out, src])


def fixture_loader():
    """Path of tests/fixtures/loader.c built once: a program (not openssl)
    that loads a module through libcrypto's DSO_load() from a path, a
    deleted file or a memfd, or from a thread that outlives main."""
    return _build_fixture(LOADER_SRC, "loader",
                          lambda out, src: ["-o", out, src, "-lcrypto", "-lpthread", "-ldl"])


def fixture_workload():
    """Path of bench/workload.c (make bench's) built once: fork+exec or
    dlopen in a loop, as fast as one process can."""
    return _build_fixture(WORKLOAD_SRC, "workload",
                          lambda out, src: ["-O2", "-o", out, src, "-ldl"])


def interest_pids():
    """The pids in the kernel's `interest` map of every loaded sowatch (bpftool)."""
    out = subprocess.run(["bpftool", "-j", "map", "show"], stdout=subprocess.PIPE,
                         check=True).stdout
    pids = set()
    for m in json.loads(out):
        if m.get("name") != "interest":
            continue
        dump = subprocess.run(["bpftool", "-j", "map", "dump", "id", str(m["id"])],
                              stdout=subprocess.PIPE, check=True).stdout
        for entry in json.loads(dump):
            key = entry.get("key")
            if isinstance(key, list):  # raw bytes, no BTF: little-endian u32
                key = int.from_bytes(bytes(int(b, 16) for b in key), "little")
            pids.add(int(key))
    return pids


class Workspace:
    """A unique directory for one test; removed by cleanup() unless
    SOWATCH_E2E_KEEP is set."""

    def __init__(self, prefix="sowatch-e2e-"):
        self.dir = os.path.realpath(tempfile.mkdtemp(prefix=prefix))
        os.chmod(self.dir, 0o755)

    def path(self, name):
        return os.path.join(self.dir, name)

    def module(self, stem="m", name=None):
        """Copy the fixture module to <ws>/<stem>-<rand>.so (or <ws>/name)
        and return its absolute path."""
        dst = self.path(name or "%s-%s.so" % (stem, rand()))
        shutil.copyfile(fixture_module(), dst)
        os.chmod(dst, 0o755)
        return dst

    def marker(self, stem="marker"):
        """A unique path (not created) for SOWATCH_TEST_MARKER."""
        return self.path("%s-%s" % (stem, rand()))

    def write(self, name, text):
        p = self.path(name)
        with open(p, "w") as f:
            f.write(text)
        return p

    def cleanup(self):
        if keep_artifacts():
            sys.stderr.write("keeping workspace %s\n" % self.dir)
            return
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.cleanup()


def engine_conf(ws, mod, name="inc", init=False):
    """A configuration file in workspace ws whose engines section loads mod
    (dynamic_path): the configuration route to a module. init: the section
    also says `init = 1`."""
    return ws.write("%s-%s.cnf" % (name, rand()), (
        "openssl_conf = init\n"
        "[init]\n"
        "engines = eng\n"
        "[eng]\n"
        "e = esec\n"
        "[esec]\n"
        "dynamic_path = %s\n"
        "%s") % (mod, "init = 1\n" if init else ""))


def read_marker(path):
    """The pid the module's constructor wrote, or None if no marker."""
    try:
        with open(path) as f:
            text = f.read().strip()
    except FileNotFoundError:
        return None
    return int(text) if text.isdigit() else text


class TemporaryUser:
    """A system user of the test's own (no home, no login, its own group),
    removed with its processes by remove()."""

    def __init__(self, prefix="swtest"):
        self.name = "%s%s" % (prefix, rand(6))
        subprocess.run(["useradd", "--system", "--no-create-home", "--shell",
                        "/usr/sbin/nologin", self.name], check=True,
                       stdout=subprocess.DEVNULL)
        pw = pwd.getpwnam(self.name)
        self.uid, self.gid = pw.pw_uid, pw.pw_gid

    def popen(self, argv, env=None, **kw):
        """Start argv as the user (no supplementary groups, no privileges)."""
        kw.setdefault("stdin", subprocess.DEVNULL)
        return subprocess.Popen(argv, env=env, user=self.uid, group=self.gid,
                                extra_groups=[], **kw)

    def run(self, *argv):
        """Run argv as the user; fail if it fails."""
        p = self.popen(list(argv))
        if p.wait(60) != 0:
            raise AssertionError("%r as %s: exit %d" % (argv, self.name, p.returncode))

    def remove(self):
        subprocess.run(["pkill", "-KILL", "-u", str(self.uid)])
        for _ in range(50):
            if subprocess.run(["pgrep", "-u", str(self.uid)],
                              stdout=subprocess.DEVNULL).returncode != 0:
                break
            time.sleep(0.1)
        subprocess.run(["userdel", self.name], stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)


# --------------------------------------------------------------------------
# Commands


class RunResult(tuple):
    """(pid, returncode, output) with names."""

    def __new__(cls, pid, returncode, output):
        return super().__new__(cls, (pid, returncode, output))

    pid = property(lambda self: self[0])
    returncode = property(lambda self: self[1])
    output = property(lambda self: self[2])


def base_env(extra=None, marker=None):
    env = {k: v for k, v in os.environ.items() if k not in _SCRUBBED_ENV}
    env["PATH"] = SYSTEM_PATH
    env["LC_ALL"] = "C"
    if marker:
        env["SOWATCH_TEST_MARKER"] = marker
    env.update(extra or {})
    return env


def run_cmd(argv, env=None, marker=None, cwd=None, timeout=60,
            executable=None):
    """Run argv directly (no shell) and wait for it.

    argv: list of str or of bytes (bytes pass arbitrary argv bytes).
    env: extra environment variables (on top of a scrubbed copy of ours).
    marker: value for SOWATCH_TEST_MARKER.
    Returns RunResult(pid, returncode, output) with stdout+stderr decoded
    leniently. The pid is that of the exec'd command (Popen forks and execs
    argv in the child, so the pid stays the same).
    """
    p = subprocess.Popen(argv, executable=executable, cwd=cwd,
                         env=base_env(env, marker),
                         stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT)
    try:
        out, _ = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        p.kill()
        out, _ = p.communicate()
        raise AssertionError("command timed out after %ss: %r\n%s" % (
            timeout, argv[:8], out.decode(errors="replace")[-4000:]))
    return RunResult(p.pid, p.returncode, out.decode("utf-8", "replace"))


# --------------------------------------------------------------------------
# Findings


class FindingFormatError(AssertionError):
    pass


def _reject_constant(name):
    raise ValueError("non-JSON constant %s" % name)


def _reject_duplicates(pairs):
    obj = {}
    for k, v in pairs:
        if k in obj:
            raise ValueError("duplicate key %r" % k)
        obj[k] = v
    return obj


def parse_line(raw):
    """Parse one JSONL line (bytes, without the newline) strictly: strict
    UTF-8, no NaN/Infinity, no duplicate keys, an object with "finding"."""
    try:
        text = raw.decode("utf-8", "strict")
        obj = json.loads(text, parse_constant=_reject_constant,
                         object_pairs_hook=_reject_duplicates)
    except (UnicodeDecodeError, ValueError) as e:
        raise FindingFormatError("invalid finding line (%s): %r" % (
            e, raw[:2000]))
    if not isinstance(obj, dict) or not isinstance(obj.get("finding"), dict):
        raise FindingFormatError("line is not {\"finding\": {...}}: %r"
                                 % raw[:2000])
    return obj


class Finding(dict):
    """A parsed finding line (the whole {"finding":..., "resource":...}
    object) plus .raw (the line's bytes) and .index (its line number)."""

    raw = b""
    index = -1

    @property
    def f(self):
        return self["finding"]

    @property
    def processes(self):
        return self.f.get("processes") or []

    @property
    def process(self):
        procs = self.processes
        return procs[0] if procs else {}

    @property
    def props(self):
        return self.f.get("sourceProperties") or {}

    @property
    def pid(self):
        pid = self.process.get("pid")
        return None if pid is None else str(pid)

    def library_paths(self):
        return [lib.get("path") for lib in self.process.get("libraries") or []]

    def finding_id(self):
        m = FINDING_NAME.match(self.f.get("name", ""))
        return m.group(2) if m else None

    def short(self):
        p = self.process
        return "#%d pid=%s bin=%s libs=%s sev=%s loaded=%s" % (
            self.index, p.get("pid"), (p.get("binary") or {}).get("path"),
            self.library_paths(), self.f.get("severity"),
            self.props.get("loaded"))


def for_process(pid, module=None):
    """Predicate: processes[0] has this pid (and, if given, loaded module
    path among its libraries)."""
    pid = str(pid)

    def pred(fd):
        if fd.pid != pid:
            return False
        return module is None or module in fd.library_paths()
    pred.description = "pid %s module %s" % (pid, module)
    return pred


def for_module(module):
    """Predicate: the module path is among processes[0]'s libraries."""

    def pred(fd):
        return module in fd.library_paths()
    pred.description = "module %s" % module
    return pred


class Sensor:
    """`sowatch run --jsonl FILE` as a subprocess.

    with Sensor() as s:
        ...
        f = s.wait_for(for_process(pid, module))

    Extra arguments can be given with $SOWATCH_E2E_SENSOR_ARGS.
    """

    def __init__(self, binary=None, args=(), ready_timeout=READY_TIMEOUT,
                 db=None, config=None, env=None, wrapper=(), workdir=None):
        self.binary = binary or sowatch_bin()
        self.env = env        # variables added to the sensor's environment
        self.wrapper = list(wrapper)  # a command that runs the sensor (setpriv ...)
        self.workdir = workdir  # where its files go (default: the system's temporary dir)
        self.db = db          # the store; by default a fresh one in self.dir
        self.config = config  # a configuration file, or none
        self.extra_args = list(args) + shlex.split(
            os.environ.get("SOWATCH_E2E_SENSOR_ARGS", ""))
        self.ready_timeout = ready_timeout
        self.dir = None
        self.jsonl = None
        self.log_path = None
        self.proc = None
        self.returncode = None
        self._ready = threading.Event()
        self._drain = None
        self._buf = b""
        self._offset = 0
        self._findings = []
        self.bad_lines = []  # lines that failed strict parsing
        self._lock = threading.Lock()

    # -- lifecycle

    # What a subclass that runs the sensor another way (installed, in a container) changes
    name = "sensor"
    findings_on_stdout = False  # else --jsonl FILE, and stdout joins the log
    cwd = REPO_ROOT

    def command(self):
        """The argv that runs the sensor, its findings going to self.jsonl."""
        argv = [self.binary, "run", "--jsonl", self.jsonl, "--db", self.db]
        if self.config:
            argv += ["--config", self.config]
        return self.wrapper + argv + self.extra_args

    def popen_env(self):
        return dict(os.environ, **self.env) if self.env else None

    def start(self):
        if not os.access(self.binary, os.X_OK):
            raise RuntimeError(
                "sensor binary %s not found or not executable (build it, "
                "or set SOWATCH_BIN)" % self.binary)
        self.dir = tempfile.mkdtemp(prefix="sowatch-e2e-sensor-", dir=self.workdir)
        self.jsonl = os.path.join(self.dir, "findings.jsonl")
        self.log_path = os.path.join(self.dir, "sensor.log")
        if self.db is None:
            self.db = os.path.join(self.dir, "findings.db")
        if ENFORCE and self.config is None:
            self.config = os.path.join(self.dir, "enforce.yaml")
            with open(self.config, "w") as f:
                f.write(ENFORCE_CONFIG)
        argv = self.command()
        log = open(self.log_path, "wb")
        log.write(("$ %s\n" % " ".join(map(shlex.quote, argv))).encode())
        log.flush()
        out = open(self.jsonl, "wb") if self.findings_on_stdout else log
        try:
            self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL,
                                         stdout=out, stderr=subprocess.PIPE,
                                         cwd=self.cwd, env=self.popen_env())
        finally:
            if out is not log:
                out.close()
        self._drain = threading.Thread(target=self._drain_stderr, args=(log,),
                                       name="sowatch-stderr", daemon=True)
        self._drain.start()
        deadline = time.monotonic() + self.ready_timeout
        while not self._ready.wait(0.1):
            if self.proc.poll() is not None:
                self._drain.join(5)
                raise RuntimeError("%s exited with %s before ready:\n%s"
                                   % (self.name, self.proc.returncode, self.log_tail()))
            if time.monotonic() > deadline:
                self._kill()
                raise RuntimeError("%s not ready after %ss:\n%s"
                                   % (self.name, self.ready_timeout, self.log_tail()))
        return self

    def _drain_stderr(self, log):
        # Read stderr for the whole life of the sensor so it never blocks
        # on a full pipe; everything goes to the log file.
        try:
            for line in iter(self.proc.stderr.readline, b""):
                log.write(line)
                log.flush()
                if line.rstrip(b"\r\n").decode("utf-8", "replace") \
                        == READY_LINE:
                    self._ready.set()
        finally:
            log.close()

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self):
        """SIGTERM, wait, and assert the sensor exited 0."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self._kill()
                raise AssertionError("sensor ignored SIGTERM for %ss:\n%s"
                                     % (STOP_TIMEOUT, self.log_tail()))
        self.returncode = self.proc.returncode
        if self._drain:
            self._drain.join(5)
        if self.returncode != 0:
            raise AssertionError("sensor exited with %s (expected 0):\n%s"
                                 % (self.returncode, self.log_tail()))
        with open(self.log_path, "rb") as f:
            self.final_log = f.read().decode("utf-8", "replace")
        # Every sensor of every test also checks its own heartbeat: no false alarm.
        if "NO EVENTS FROM THE KERNEL" in self.final_log:
            raise AssertionError("the sensor lost its kernel events:\n%s"
                                 % self.log_tail())
        if not keep_artifacts():
            shutil.rmtree(self.dir, ignore_errors=True)
        else:
            sys.stderr.write("keeping sensor output in %s\n" % self.dir)

    def crash(self):
        """SIGKILL, as a crash or an OOM kill would: nothing gets to clean up."""
        if self.proc is None:
            return
        self.proc.kill()
        self.proc.wait(STOP_TIMEOUT)
        self.returncode = self.proc.returncode
        if self._drain:
            self._drain.join(5)

    def _kill(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def __enter__(self):
        return self.start()

    def __exit__(self, exc_type, exc, tb):
        if exc_type is not None:
            # Do not hide the original error behind a stop failure.
            try:
                self.stop()
            except AssertionError as e:
                sys.stderr.write("%s\n" % e)
            return False
        self.stop()
        return False

    def log_tail(self, n=60):
        try:
            with open(self.log_path, "rb") as f:
                lines = f.read().decode("utf-8", "replace").splitlines()
        except (OSError, TypeError):
            return "(no sensor log)"
        return "--- sensor log (%s) ---\n%s" % (self.log_path,
                                                 "\n".join(lines[-n:]))

    # -- findings

    def findings(self):
        """All findings written so far, in order (a copy of the list). Every
        complete line is parsed strictly; a bad line fails the test."""
        with self._lock:
            try:
                with open(self.jsonl, "rb") as f:
                    f.seek(self._offset)
                    data = f.read()
            except FileNotFoundError:
                data = b""
            self._offset += len(data)
            self._buf += data
            *lines, self._buf = self._buf.split(b"\n")
            errors = []
            for raw in lines:
                if not raw.strip():
                    continue
                try:
                    fd = Finding(parse_line(raw))
                except FindingFormatError as e:
                    # Keep going so that later lines are not lost, and
                    # report the bad line once, to the caller now.
                    self.bad_lines.append(raw)
                    errors.append(str(e))
                    continue
                fd.raw = raw
                fd.index = len(self._findings)
                self._findings.append(fd)
            if errors:
                raise FindingFormatError("\n".join(errors))
            return list(self._findings)

    def wait_for(self, predicate, timeout=10.0, after=-1):
        """Return the first finding (with index > after) matching predicate;
        fail after timeout seconds or as soon as the sensor dies."""
        deadline = time.monotonic() + timeout
        while True:
            for fd in self.findings():
                if fd.index > after and predicate(fd):
                    return fd
            if not self.alive():
                raise AssertionError(
                    "sensor died (rc %s) while waiting for a finding (%s)\n%s"
                    % (self.proc.poll(), getattr(predicate, "description", ""),
                       self.log_tail()))
            if time.monotonic() > deadline:
                seen = self.findings()
                raise AssertionError(
                    "no finding matching %s within %ss; %d findings seen:\n%s"
                    "\n%s" % (getattr(predicate, "description", predicate),
                              timeout, len(seen),
                              "\n".join(f.short() for f in seen[-20:]),
                              self.log_tail(20)))
            time.sleep(0.05)


    def wait_for_log(self, text, timeout=10.0):
        """Wait until the sensor's log has a line containing text."""
        deadline = time.monotonic() + timeout
        while True:
            with open(self.log_path, "rb") as f:
                for line in f.read().decode("utf-8", "replace").splitlines():
                    if text in line:
                        return line
            if not self.alive() or time.monotonic() > deadline:
                raise AssertionError("no log line with %r within %ss\n%s"
                                     % (text, timeout, self.log_tail(20)))
            time.sleep(0.05)


# --------------------------------------------------------------------------
# Negative tests


def canary(sensor, ws, timeout=10.0):
    """Make a known-positive load (`openssl engine -t /ABS/canary-<r>.so`)
    and wait for its finding. Returns the canary's Finding. Under ENFORCE
    the canary is killed before its constructor runs."""
    mod = ws.module("canary")
    marker = ws.marker("canary-marker")
    r = run_cmd(["openssl", "engine", "-t", mod], marker=marker)
    expected = None if ENFORCE else r.pid
    if read_marker(marker) != expected:
        raise AssertionError("canary module %s (marker %r, pid %d):\n%s" % (
            "ran in enforce mode" if ENFORCE else "did not run",
            read_marker(marker), r.pid, r.output))
    return sensor.wait_for(for_process(r.pid, mod), timeout=timeout)


def route_ran(test, marker, r, anywhere=False):
    """A route test's module was loaded: its constructor ran in the process r
    ran (in some process, with `anywhere`: a container numbers its pids
    itself). Under ENFORCE the opposite must hold: the constructor never ran,
    anywhere, and the command was killed (SIGKILL, or 137 from a runtime that
    reports its process's death as a shell would)."""
    got = read_marker(marker)
    if ENFORCE:
        test.assertIsNone(got, "enforce mode let the module's constructor run "
                          "(in pid %r):\n%s" % (got, r.output))
        test.assertIn(r.returncode, (-signal.SIGKILL, 128 + signal.SIGKILL), r.output)
    elif anywhere:
        test.assertIsInstance(got, int, "the module's constructor did not run:\n"
                              + r.output)
    else:
        test.assertEqual(got, r.pid, "the module's constructor did not run:\n"
                         + r.output)


def route_enforced(test, sensor, fd):
    """Under ENFORCE: the route's finding fd tells of the kill, with the
    kernel's judgement, and is the only finding of its process that does."""
    if not ENFORCE:
        return
    test.assertRegex(fd.props.get("enforcement", ""), KILLED, fd.raw[:3000])
    test.assertTrue(fd.props.get("enforcementJudgement", {}).get("reason"),
                    fd.raw[:3000])
    pid = fd.process.get("pid")
    told = [g for g in sensor.findings()
            if g.process.get("pid") == pid and KILLED.match(g.props.get("enforcement", ""))]
    test.assertEqual(len(told), 1, "\n".join(g.short() for g in told))


def assert_no_findings(sensor, ws, pids=(), names=(), timeout=10.0):
    """Negative check. Findings arrive in order, so once the canary's
    finding (made after the benign commands finished) is seen, any finding
    about the benign commands would already be there: none of the findings
    up to the canary may name one of pids (in any process entry) or contain
    one of the unique names (file names) anywhere in its line."""
    c = canary(sensor, ws, timeout=timeout)
    pids = {str(p) for p in pids}
    bad = []
    for fd in sensor.findings()[:c.index + 1]:
        if fd is c or fd.index == c.index:
            continue
        fpids = {str(p.get("pid")) for p in fd.processes}
        hit = pids & fpids
        text = fd.raw.decode("utf-8", "replace")
        hit |= {n for n in names if n in text}
        if hit:
            bad.append("%s (matched %s)\n%s" % (fd.short(), sorted(hit),
                                                text[:3000]))
    if bad:
        raise AssertionError("unexpected findings for benign commands:\n"
                             + "\n".join(bad))
    return c


# -- helpers shared by the delivery, outbox, reload, retention and metrics tests

STOP_DROPS = re.compile(r"stopping: .*; (\d+) events dropped$", re.M)


def free_port():
    """A loopback TCP port nobody listens on now (bound, read, closed): for a
    server the test starts itself. Servers of the tests listen on port 0."""
    import socket
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def percentile(values, q):
    """The nearest-rank percentile, as bench/run.py computes it."""
    s = sorted(values)
    return s[max(0, min(len(s) - 1, -(-q * len(s) // 100) - 1))]


def parse_rfc3339(text):
    """'2025-11-27T19:45:01.123456Z' -> seconds since the epoch (float)."""
    import datetime
    m = re.match(r"^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?Z$", text)
    base = datetime.datetime.strptime(m.group(1), "%Y-%m-%dT%H:%M:%S").replace(
        tzinfo=datetime.timezone.utc).timestamp()
    frac = m.group(2) or "0"
    return base + int(frac) / 10 ** len(frac)


def dropped_at_stop(log):
    """The kernel events the stop summary says were dropped (one summary)."""
    m = STOP_DROPS.findall(log)
    if len(m) != 1:
        raise AssertionError("expected one stop summary line in the log:\n%s" % log[-4000:])
    return int(m[0])


def engine_load(sensor, ws, stem="m"):
    """`openssl engine -t MODULE` for a fresh copy of the fixture module: the
    module runs (its marker says so); returns sensor's finding of it."""
    mod = ws.module(stem)
    marker = ws.marker()
    r = run_cmd([OPENSSL, "engine", "-t", mod], marker=marker)
    if read_marker(marker) != r.pid:
        raise AssertionError("the module did not run:\n" + r.output)
    return sensor.wait_for(for_process(r.pid, mod), timeout=30)


def findings_cli(db, *args):
    """The objects `sowatch findings ARGS --json --db DB` prints, strictly parsed."""
    p = subprocess.run([sowatch_bin(), "findings"] + list(args) + ["--json", "--db", db],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
    if p.returncode != 0:
        raise AssertionError("sowatch findings %s: exit %d\n%s" % (
            " ".join(args), p.returncode, p.stderr.decode(errors="replace")))
    return [parse_line(line) for line in p.stdout.splitlines() if line]
