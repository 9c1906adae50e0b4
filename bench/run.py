#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""`make bench`: what sowatch costs a workload, side by side with no sensor,
auditd with an execve rule, and a bpftrace script (Python standard library only).

Run as root, from the repository, with Debian's /usr/bin/python3:

    bench/run.py                 # the full run (about ten minutes on 2 cores)
    bench/run.py --quick         # a smoke run (about two minutes)
    bench/run.py --rounds 5 --workloads spawn,openssl --configs none,sowatch

What it measures, on this machine:

* four workloads, each the same amount of work in every configuration:
  spawn (posix_spawn + wait of /bin/true), dlopen (dlopen + dlclose of libz),
  openssl (`openssl dgst -sha256` of a small file, sequentially) and build
  (a generated C project of a few dozen files, `make -jNPROC`, cleaned between
  rounds);
* four configurations: none; sowatch (`sowatch run --jsonl F --db F`);
  auditd with `-a always,exit -F arch=b64 -S execve`; bpftrace tracing execs
  with their arguments and executable mmaps into a file. Every round runs every
  configuration, in a new random order, and each configuration its workloads in
  a random order: the machine's drift falls on all of them alike. A workload's
  slowdown is, per round, its time in a configuration over its time with no
  sensor in the same round; the figure is the median over the rounds, with min
  and max;
* sowatch's CPU time (utime + stime of its process, /proc/PID/stat) per
  thousand events the workloads made (forks + execs + exits + executable
  mmaps, counted from the workloads' own numbers), and its peak RSS (VmHWM);
* detection latency: a test module loaded N times with `openssl engine -t`
  while sowatch runs; for each, the finding's eventTime (the kernel's mapping
  event) against its createTime, and against the moment its JSONL line is
  seen here; the wall-clock time from starting openssl to seeing the line is
  a cross-check;
* the highest exec rate with zero drops: the spawn storm with 1, 2, 4, 8
  workers while sowatch runs, drops read from sowatch's log (and its kernel
  counters);
* delivery: findings per second through the webhook output to a local HTTPS
  receiver answering 200 (N module loads made at once, first eventTime to
  the last request received), and detection latency (eventTime -> JSONL
  line) while the webhook receiver accepts and never answers.

Output: a table on the terminal with a PASS/FAIL line per budget, every figure
in build/bench.json, and a PNG of the slowdown ratios (docs/bench.png; a
--quick run writes build/bench-quick.png and build/bench-quick.json instead).

Exit status: 0 when the bench ran, whatever the budgets say (they are printed);
1 when the bench itself broke (a sensor died, a workload failed, a tool is
missing); 3 with --strict when a budget failed.

The machine may be busy with other processes: figures are medians over
interleaved rounds, sensors are told apart by their own pids, and other
sensors found running (another sowatch, auditd, bpftrace) are reported, since
every configuration then pays for them.
"""

import argparse
import datetime
import json
import os
import random
import re
import resource
import shlex
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO_ROOT = os.path.dirname(HERE)
BUILD = os.path.join(REPO_ROOT, "build")
WORKLOAD_SRC = os.path.join(HERE, "workload.c")
MODULE_SRC = os.path.join(REPO_ROOT, "tests", "fixtures", "module.c")
PLOT_SCRIPT = os.path.join(HERE, "plot.gp")
INSTALL_DEPS = os.path.join(REPO_ROOT, "scripts", "install-deps.sh")

OPENSSL = "/usr/bin/openssl"
TRUE = "/bin/true"
UNRELATED_LIBRARY = "libz.so.1"
SYSTEM_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
READY_LINE = "sowatch: ready"
CLK_TCK = os.sysconf("SC_CLK_TCK")
NPROC = os.cpu_count() or 1

# "baseline" (last, so the plot's columns stay put) is sowatch from another build, run only
# with --baseline: a change's cost, before and after, side by side in one run.
CONFIGS = ("none", "sowatch", "auditd", "bpftrace", "baseline")
SENSORS = CONFIGS[1:]
WORKLOADS = ("spawn", "dlopen", "openssl", "build")

# Budgets of issue 6, on a 2-core machine: ratio to no sensor in the same run.
SLOWDOWN_BUDGET = {"spawn": 1.03, "dlopen": 1.02, "openssl": 1.10, "build": 1.02}
LATENCY_P99_BUDGET_MS = 50.0
RSS_BUDGET_MIB = 32.0

# Amount of work per workload, full run and --quick. Sized so that each takes
# one to three seconds here: long enough for a 1% difference to show above the
# clock, short enough for twelve interleaved rounds of 4 x 4 in ten minutes.
SIZES = {
    "full": {"rounds": 12, "spawn": 4000, "dlopen": 40000, "openssl": 800,
             "build_files": 48, "latency_loads": 200,
             "delivery_loads": 200, "delivery_rounds": 3, "delivery_hang_loads": 100,
             "fleet_loads": 1000,
             "ramp_workers": (1, 2, 4, 8), "ramp_seconds": 4.0},
    "quick": {"rounds": 3, "spawn": 1500, "dlopen": 15000, "openssl": 300,
              "build_files": 24, "latency_loads": 60,
              "delivery_loads": 60, "delivery_rounds": 2, "delivery_hang_loads": 40,
              "fleet_loads": 100,
              "ramp_workers": (1, 2, 4, 8), "ramp_seconds": 1.5},
}

BPFTRACE_SCRIPT = r"""
BEGIN { printf("bench: ready\n"); }
tracepoint:syscalls:sys_enter_execve
{
	printf("exec pid=%d comm=%s file=%s argv=", pid, comm, str(args->filename));
	join(args->argv);
}
tracepoint:syscalls:sys_enter_mmap /args->prot & 4/
{
	printf("mmap pid=%d comm=%s fd=%d len=%d\n", pid, comm, args->fd, args->len);
}
"""

AUDIT_RULE = ["-F", "arch=b64", "-S", "execve", "-k", "sowatch-bench"]


def log(msg):
    sys.stderr.write("bench: %s\n" % msg)
    sys.stderr.flush()


class BenchError(Exception):
    """The bench itself broke: not a budget, a failure to measure."""


# --------------------------------------------------------------------------
# Small helpers


def run_quiet(argv, check=True, timeout=120, **kw):
    p = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, timeout=timeout, **kw)
    out = p.stdout.decode("utf-8", "replace")
    if check and p.returncode != 0:
        raise BenchError("%s failed (exit %d):\n%s" % (
            " ".join(map(shlex.quote, argv)), p.returncode, out[-3000:]))
    return out


def workload_env():
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("OPENSSL_", "LD_", "SOWATCH_", "MAKE"))
           and k not in ("MFLAGS", "GNUMAKEFLAGS")}
    env["PATH"] = SYSTEM_PATH
    env["LC_ALL"] = "C"
    return env


def proc_cpu_ticks(pid):
    """utime + stime of a process in clock ticks, or None if it is gone."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return None
    return int(fields[11]) + int(fields[12])  # fields 14 and 15 of stat


def proc_cpu_seconds(pid):
    """CPU time of a process, all its threads, in seconds: the scheduler's own
    runtime (/proc/PID/task/TID/schedstat, nanoseconds) where there is one,
    else utime + stime (clock ticks). None if the process is gone."""
    total = 0
    try:
        tids = os.listdir("/proc/%d/task" % pid)
    except OSError:
        return None
    for tid in tids:
        try:
            with open("/proc/%d/task/%s/schedstat" % (pid, tid)) as f:
                total += int(f.read().split()[0])
        except (OSError, IndexError, ValueError):
            ticks = proc_cpu_ticks(pid)
            return None if ticks is None else ticks / CLK_TCK
    return total / 1e9


def stop_process(proc, sig, timeout):
    """Ask proc to stop with sig; kill it after timeout seconds. True when it obeyed."""
    proc.send_signal(sig)
    try:
        proc.wait(timeout)
        return True
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        return False


def proc_status_kib(pid, key):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except FileNotFoundError:
        pass
    return None


def rss_breakdown(pid):
    """VmRSS split: anonymous memory, BPF maps mapped into the process (a ring
    buffer's data pages are mapped twice, and are kernel memory the process
    only sees), and the rest (program and library text, files)."""
    bpf = 0
    name = ""
    try:
        with open("/proc/%d/smaps" % pid) as f:
            for line in f:
                if re.match(r"^[0-9a-f]+-[0-9a-f]+ ", line):
                    parts = line.split(None, 5)
                    name = parts[5].strip() if len(parts) > 5 else ""
                elif line.startswith("Rss:") and name.startswith("anon_inode:bpf"):
                    bpf += int(line.split()[1])
    except OSError:
        return None
    rss = proc_status_kib(pid, "VmRSS") or 0
    anon = proc_status_kib(pid, "RssAnon") or 0
    return {"rss_kib": rss, "anon_kib": anon, "bpf_maps_kib": bpf,
            "other_kib": rss - anon - bpf}


def machine_busy_seconds():
    """CPU time every CPU spent not idle since boot (/proc/stat), in seconds."""
    with open("/proc/stat") as f:
        fields = [int(x) for x in f.readline().split()[1:]]
    # user nice system idle iowait irq softirq steal (guest time is inside user)
    return (sum(fields[:8]) - fields[3] - fields[4]) / CLK_TCK


def forks_since_boot():
    with open("/proc/stat") as f:
        for line in f:
            if line.startswith("processes "):
                return int(line.split()[1])
    return 0


def settle(pids, quiet_polls=3, poll=0.05, limit=10.0):
    """Wait until none of pids uses more than 2% of a CPU for quiet_polls
    polls in a row (a sensor catching up with what a workload left it), at
    most limit seconds."""
    if not pids:
        time.sleep(poll * quiet_polls)
        return
    deadline = time.monotonic() + limit
    last = [proc_cpu_seconds(p) or 0 for p in pids]
    quiet = 0
    while quiet < quiet_polls and time.monotonic() < deadline:
        time.sleep(poll)
        cur = [proc_cpu_seconds(p) or 0 for p in pids]
        busy = any(c - l > 0.02 * poll for c, l in zip(cur, last))
        quiet = 0 if busy else quiet + 1
        last = cur


def percentile(values, q):
    """Nearest-rank percentile (q in 0..100) of a non-empty list."""
    s = sorted(values)
    k = max(0, min(len(s) - 1, int(-(-q * len(s) // 100)) - 1))
    return s[k]


def parse_rfc3339(text):
    """'2025-11-27T19:45:01.123456Z' -> seconds since the epoch (float)."""
    m = re.match(r"^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?Z$", text)
    if not m:
        raise BenchError("not an RFC 3339 UTC time: %r" % text)
    base = datetime.datetime.strptime(m.group(1), "%Y-%m-%dT%H:%M:%S").replace(
        tzinfo=datetime.timezone.utc).timestamp()
    frac = m.group(2) or "0"
    return base + int(frac) / 10 ** len(frac)


def shared_libraries(path):
    """How many shared libraries the dynamic loader maps for a program: each is
    one executable mmap (the program and ld.so are mapped by exec itself)."""
    out = run_quiet(["ldd", path], check=False)
    return sum(1 for line in out.splitlines() if "=> /" in line)


def which(name):
    return shutil.which(name, path=SYSTEM_PATH)


def pids_named(comm):
    """Pids whose /proc/PID/comm is comm (other sensors already running)."""
    found = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/comm" % d) as f:
                if f.read().strip() == comm:
                    found.append(int(d))
        except OSError:
            pass
    return sorted(found)


def cmdline(pid):
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as f:
            return f.read().replace(b"\0", b" ").decode("utf-8", "replace").strip()
    except OSError:
        return "?"


# --------------------------------------------------------------------------
# The machine


def machine_description():
    model = "unknown CPU"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    debian = "?"
    try:
        with open("/etc/debian_version") as f:
            debian = f.read().strip()
    except OSError:
        pass
    with open("/proc/meminfo") as f:
        mem_kib = int(f.readline().split()[1])
    hypervisor = False
    with open("/proc/cpuinfo") as f:
        hypervisor = " hypervisor" in f.read()
    return {
        "nproc": NPROC,
        "cpu_model": model,
        "kernel": os.uname().release,
        "debian": debian,
        "memory_mib": mem_kib // 1024,
        "virtual_machine": hypervisor,
        "hostname": os.uname().nodename,
        "loadavg_at_start": os.getloadavg(),
    }


def machine_caption(m):
    return "%d x %s, %d MiB, Linux %s, Debian %s%s" % (
        m["nproc"], m["cpu_model"], m["memory_mib"], m["kernel"], m["debian"],
        " (virtual machine)" if m["virtual_machine"] else "")


def other_sensors(own_pids=()):
    """Sensors running that the bench did not start: every configuration pays
    for them, the no-sensor baseline too."""
    found = []
    for comm in ("sowatch", "sowatch-asan", "auditd", "bpftrace"):
        for pid in pids_named(comm):
            if pid not in own_pids:
                found.append({"pid": pid, "comm": comm, "cmdline": cmdline(pid)[:200]})
    return found


# --------------------------------------------------------------------------
# Tools and fixtures


def ensure_tools(configs, install):
    """auditd, bpftrace and gnuplot: installed from Debian when missing
    (scripts/install-deps.sh --bench), unless --no-install."""
    wanted = {"gnuplot": ["gnuplot"]}
    if "auditd" in configs:
        wanted["auditd"] = ["auditd", "auditctl"]
    if "bpftrace" in configs:
        wanted["bpftrace"] = ["bpftrace"]
    missing = [k for k, progs in wanted.items() if not all(which(p) for p in progs)]
    if missing and install:
        log("installing what the bench needs (%s): scripts/install-deps.sh --bench"
            % ", ".join(missing))
        p = subprocess.run([INSTALL_DEPS, "--bench"], stdin=subprocess.DEVNULL)
        if p.returncode != 0:
            raise BenchError("scripts/install-deps.sh --bench failed (exit %d)"
                             % p.returncode)
        if "auditd" in missing and which("systemctl"):
            # Debian starts auditd's service when the package is installed: the bench
            # installed it for itself, and starts its own auditd in its configuration.
            if subprocess.run(["systemctl", "-q", "is-active", "auditd"]).returncode == 0:
                log("stopping the auditd service the package installation started "
                    "(systemctl stop auditd); it starts again at boot")
                subprocess.run(["systemctl", "stop", "auditd"])
                subprocess.run(["auditctl", "-e", "0"], stdout=subprocess.DEVNULL)
        missing = [k for k, progs in wanted.items() if not all(which(p) for p in progs)]
    if missing:
        raise BenchError("missing: %s (run scripts/install-deps.sh --bench, or drop "
                         "the configuration with --configs)" % ", ".join(missing))


def build_fixtures(outdir):
    """The workload driver and the test module, into build/bench/ (make bench
    builds them too; rebuilt here when older than their sources)."""
    os.makedirs(outdir, exist_ok=True)
    cc = shlex.split(os.environ.get("CC", "cc"))
    made = {}
    for src, name, args in (
            (WORKLOAD_SRC, "workload", ["-O2", "-Wall", "-Wextra"]),
            (MODULE_SRC, "module.so", ["-shared", "-fPIC"])):
        out = os.path.join(outdir, name)
        if not os.path.exists(out) or os.path.getmtime(out) < os.path.getmtime(src):
            run_quiet(cc + args + ["-o", out, src] + (["-ldl"] if name == "workload" else []))
        made[name] = out
    return made


BUILD_FILE = r"""/* generated by bench/run.py: unit %(i)d of a small C project */
#include <stdint.h>
#include <string.h>
#include "project.h"

struct item%(i)d { uint32_t key; double weight; char name[24]; };

static int cmp%(i)d(const struct item%(i)d *a, const struct item%(i)d *b)
{
	if (a->key != b->key)
		return a->key < b->key ? -1 : 1;
	return strcmp(a->name, b->name);
}

static void sort%(i)d(struct item%(i)d *v, int n)
{
	for (int i = 1; i < n; i++) {
		struct item%(i)d x = v[i];
		int j = i - 1;
		while (j >= 0 && cmp%(i)d(&v[j], &x) > 0) {
			v[j + 1] = v[j];
			j--;
		}
		v[j + 1] = x;
	}
}

static uint64_t mix%(i)d(uint64_t h, uint64_t v)
{
	h ^= v + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2);
	return h * 0xff51afd7ed558ccdull;
}

uint64_t unit%(i)d(uint64_t seed)
{
	struct item%(i)d v[64];
	uint64_t h = seed;
	double acc = 0;

	for (int i = 0; i < 64; i++) {
		h = mix%(i)d(h, (uint64_t)i * %(i)d);
		v[i].key = (uint32_t)(h >> 40);
		v[i].weight = (double)(h & 0xffff) / 65536.0;
		for (int k = 0; k < 23; k++)
			v[i].name[k] = 'a' + (char)((h >> (k %% 60)) %% 26);
		v[i].name[23] = 0;
	}
	sort%(i)d(v, 64);
	for (int i = 0; i < 64; i++) {
		switch (v[i].key %% 7) {
		case 0: acc += v[i].weight * 3; break;
		case 1: acc -= v[i].weight / 2; break;
		case 2: acc *= 1.0001; break;
		case 3: acc += (double)strlen(v[i].name); break;
		case 4: acc = acc > 1e6 ? acc / 3 : acc + 1; break;
		default: acc += (double)(v[i].key & 0xff); break;
		}
		h = mix%(i)d(h, (uint64_t)acc);
	}
	return h ^ (uint64_t)acc;
}
"""


def generate_project(dirpath, files):
    """A C project of `files` units plus main, with a Makefile."""
    os.makedirs(dirpath, exist_ok=True)
    with open(os.path.join(dirpath, "project.h"), "w") as f:
        f.write("#include <stdint.h>\n")
        for i in range(files):
            f.write("uint64_t unit%d(uint64_t seed);\n" % i)
    for i in range(files):
        with open(os.path.join(dirpath, "unit%d.c" % i), "w") as f:
            f.write(BUILD_FILE % {"i": i})
    with open(os.path.join(dirpath, "main.c"), "w") as f:
        f.write('#include <stdio.h>\n#include "project.h"\n'
                "int main(void)\n{\n\tuint64_t h = 1;\n")
        for i in range(files):
            f.write("\th = unit%d(h);\n" % i)
        f.write('\tprintf("%llx\\n", (unsigned long long)h);\n\treturn 0;\n}\n')
    objs = " ".join(["main.o"] + ["unit%d.o" % i for i in range(files)])
    with open(os.path.join(dirpath, "Makefile"), "w") as f:
        f.write("CC = cc\nCFLAGS = -O2 -g -Wall\nOBJS = %s\n\n"
                "prog: $(OBJS)\n\t$(CC) -o $@ $(OBJS)\n\n"
                "%%.o: %%.c project.h\n\t$(CC) $(CFLAGS) -c -o $@ $<\n\n"
                "clean:\n\trm -f prog $(OBJS)\n" % objs)
    return files + 1  # compilation units


# --------------------------------------------------------------------------
# Workloads


class Workloads:
    """Each workload: the same amount of work in every configuration, and how
    many forks, execs, exits and executable mmaps it makes."""

    def __init__(self, sizes, fixtures, tmpdir, pin=None):
        self.sizes = sizes
        self.pin = pin  # a CPU to run every workload on (taskset), or None
        self.driver = fixtures["workload"]
        self.tmpdir = tmpdir
        self.env = workload_env()
        self.input = os.path.join(tmpdir, "input.bin")
        with open(self.input, "wb") as f:
            f.write(os.urandom(4096))
        self.project = os.path.join(tmpdir, "project")
        self.units = generate_project(self.project, sizes["build_files"])
        # Executable mmaps per process: one per shared library the loader maps.
        self.libs = {
            "true": shared_libraries(TRUE),
            "openssl": shared_libraries(OPENSSL),
            "driver": shared_libraries(self.driver),
        }
        gcc = which("cc")
        tools = {}
        for name in ("cc1", "collect2", "as", "ld"):
            prog = run_quiet([gcc, "-print-prog-name=" + name]).strip()
            tools[name] = prog if os.path.isabs(prog) else (which(prog) or prog)
        self.libs.update({k: shared_libraries(v) for k, v in tools.items()})
        self.libs["gcc"] = shared_libraries(gcc)
        self.libs["make"] = shared_libraries(which("make"))
        self.describe = {
            "spawn": "posix_spawn + wait of %s, %d times" % (TRUE, sizes["spawn"]),
            "dlopen": "dlopen + dlclose of %s, %d times" % (UNRELATED_LIBRARY,
                                                            sizes["dlopen"]),
            "openssl": "%s dgst -sha256 of 4 KiB, %d times, one after the other"
                       % (OPENSSL, sizes["openssl"]),
            "build": "make -j%d of a C project of %d units (cc -O2 -g), then link"
                     % (NPROC, self.units),
        }

    def _process_events(self, libs):
        """fork + exec + exit + the loader's executable mmaps of one process."""
        return 3 + libs

    def events(self, name, iterations):
        """(total, breakdown) of what the workload made, from its own numbers."""
        drv = self._process_events(self.libs["driver"])
        if name == "spawn":
            per = {"forks": 1, "execs": 1, "exits": 1, "maps": self.libs["true"]}
            n = iterations
        elif name == "dlopen":
            per = {"forks": 0, "execs": 0, "exits": 0, "maps": 1}
            n = iterations
        elif name == "openssl":
            per = {"forks": 1, "execs": 1, "exits": 1, "maps": self.libs["openssl"]}
            n = iterations
        else:
            # per unit: cc (the driver), cc1, as; the link: cc, collect2, ld; make.
            procs = self.units * 3 + 3 + 1
            maps = (self.units * (self.libs["gcc"] + self.libs["cc1"] + self.libs["as"])
                    + self.libs["gcc"] + self.libs["collect2"] + self.libs["ld"]
                    + self.libs["make"])
            per = {"forks": procs, "execs": procs, "exits": procs, "maps": maps}
            n = 1
            drv = 0
        breakdown = {k: v * n for k, v in per.items()}
        if drv:
            # the driver process itself
            for k in ("forks", "execs", "exits"):
                breakdown[k] += 1
            breakdown["maps"] += self.libs["driver"]
        return sum(breakdown.values()), breakdown

    def prepare(self, name):
        """Untimed preparation before a run (the build starts from clean)."""
        if name == "build":
            run_quiet(["make", "-s", "-C", self.project, "clean"], env=self.env)

    def _pinned(self, argv):
        return argv if self.pin is None else ["taskset", "-c", str(self.pin)] + argv

    def run(self, name):
        """Run one workload; returns its figures."""
        self.prepare(name)
        forks0 = forks_since_boot()
        ru0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        t0 = time.monotonic()
        if name == "build":
            out = run_quiet(self._pinned(["make", "-s", "-j%d" % NPROC, "-C", self.project]),
                            env=self.env, timeout=600)
            seconds = time.monotonic() - t0
            iterations = 1
        else:
            if name == "spawn":
                argv = [self.driver, "exec", "-n", str(self.sizes["spawn"]), TRUE]
            elif name == "dlopen":
                argv = [self.driver, "dlopen", "-n", str(self.sizes["dlopen"]),
                        UNRELATED_LIBRARY]
            else:
                argv = [self.driver, "exec", "-n", str(self.sizes["openssl"]),
                        OPENSSL, "dgst", "-sha256", self.input]
            out = run_quiet(self._pinned(argv), env=self.env, timeout=600).split()
            iterations, seconds = int(out[0]), float(out[1])
        wall = time.monotonic() - t0
        ru1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        events, breakdown = self.events(name, iterations)
        return {
            "seconds": seconds,
            "wall_seconds": wall,
            "iterations": iterations,
            "cpu_user_seconds": ru1.ru_utime - ru0.ru_utime,
            "cpu_system_seconds": ru1.ru_stime - ru0.ru_stime,
            "events": events,
            "events_breakdown": breakdown,
            "forks_machine_wide": forks_since_boot() - forks0,
        }


# --------------------------------------------------------------------------
# Configurations


class NoSensor:
    name = "none"

    def __init__(self, ctx):
        self.ctx = ctx

    def start(self):
        return self

    def pids(self):
        return []

    def cpu_seconds(self):
        return None

    def stop(self):
        return {}


class Sowatch:
    """`sowatch run --jsonl FILE --db FILE`, ready when it says so on stderr."""

    name = "sowatch"
    READY_TIMEOUT = 60.0
    STOP_TIMEOUT = 30.0

    def __init__(self, ctx, tag="session", config=None):
        self.ctx = ctx
        self.binary = ctx.sowatch
        self.config = config  # a configuration file (the delivery phase's webhook)
        self.dir = tempfile.mkdtemp(prefix="sowatch-%s-" % tag, dir=ctx.tmpdir)
        self.jsonl = os.path.join(self.dir, "findings.jsonl")
        self.db = os.path.join(self.dir, "findings.db")
        self.log_path = os.path.join(self.dir, "sensor.log")
        self.proc = None
        self._ready = threading.Event()
        self._drain = None
        self.ready_seconds = None
        self.cpu_at_ready = None
        self.counters_map = None

    def start(self):
        argv = [self.binary, "run", "--jsonl", self.jsonl, "--db", self.db]
        if self.config:
            argv += ["--config", self.config]
        logf = open(self.log_path, "wb")
        logf.write(("$ %s\n" % " ".join(map(shlex.quote, argv))).encode())
        logf.flush()
        t0 = time.monotonic()
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=logf,
                                     stderr=subprocess.PIPE, cwd=REPO_ROOT,
                                     env=workload_env())
        self.ctx.own_pids.add(self.proc.pid)
        self._drain = threading.Thread(target=self._drain_stderr, args=(logf,),
                                       daemon=True)
        self._drain.start()
        deadline = t0 + self.READY_TIMEOUT
        while not self._ready.wait(0.02):
            if self.proc.poll() is not None:
                self._drain.join(5)
                raise BenchError("sowatch exited with %s before ready:\n%s"
                                 % (self.proc.returncode, self.log_tail()))
            if time.monotonic() > deadline:
                self.proc.kill()
                self.proc.wait()
                raise BenchError("sowatch not ready after %ss:\n%s"
                                 % (self.READY_TIMEOUT, self.log_tail()))
        self.ready_seconds = time.monotonic() - t0
        self.cpu_at_ready = proc_cpu_seconds(self.proc.pid)
        self.ticks_at_ready = proc_cpu_ticks(self.proc.pid)
        self.counters_map = self._find_counters_map()
        return self

    def _drain_stderr(self, logf):
        try:
            for line in iter(self.proc.stderr.readline, b""):
                logf.write(line)
                logf.flush()
                if line.rstrip(b"\r\n").decode("utf-8", "replace") == READY_LINE:
                    self._ready.set()
        finally:
            logf.close()

    def log_text(self):
        with open(self.log_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def log_tail(self, n=40):
        return "\n".join(self.log_text().splitlines()[-n:])

    def pids(self):
        return [self.proc.pid] if self.proc and self.proc.poll() is None else []

    def cpu_seconds(self):
        return proc_cpu_seconds(self.proc.pid)

    def alive(self):
        return self.proc.poll() is None

    def check_alive(self):
        if not self.alive():
            raise BenchError("sowatch died (exit %s):\n%s"
                             % (self.proc.returncode, self.log_tail()))

    # The kernel's own counters (bpftool), as a cross-check of the log:
    # the `counters` map among the maps this process holds open.
    def _find_counters_map(self):
        if not which("bpftool"):
            return None
        fddir = "/proc/%d/fdinfo" % self.proc.pid
        ids = set()
        try:
            for fd in os.listdir(fddir):
                try:
                    with open(os.path.join(fddir, fd)) as f:
                        m = re.search(r"^map_id:\s*(\d+)", f.read(), re.M)
                except OSError:
                    continue
                if m:
                    ids.add(int(m.group(1)))
        except OSError:
            return None
        for map_id in sorted(ids):
            try:
                info = json.loads(run_quiet(["bpftool", "-j", "map", "show", "id",
                                             str(map_id)]))
            except (BenchError, ValueError):
                continue
            if info.get("name") == "counters":
                return map_id
        return None

    def kernel_counters(self):
        """{'seen','sent','dropped'} summed over kinds and CPUs, or None."""
        if self.counters_map is None:
            return None
        try:
            dump = json.loads(run_quiet(["bpftool", "-j", "map", "dump", "id",
                                         str(self.counters_map)]))
        except (BenchError, ValueError):
            return None
        total = {"seen": 0, "sent": 0, "dropped": 0}
        for entry in dump:
            if "formatted" in entry:
                entry = entry["formatted"]
            for v in entry.get("values", []):
                val = v.get("value", {})
                if isinstance(val, dict):
                    for k in total:
                        total[k] += int(val.get(k, 0))
        return total

    def drops_logged(self):
        found = re.findall(r"dropped (\d+) events so far", self.log_text())
        return int(found[-1]) if found else 0

    def stop(self):
        """Figures at stop: CPU since ready, peak RSS, drops; SIGTERM, exit 0."""
        self.check_alive()
        pid = self.proc.pid
        figures = {
            "ready_seconds": self.ready_seconds,
            "cpu_seconds": proc_cpu_seconds(pid) - self.cpu_at_ready,
            # the same from utime + stime (/proc/PID/stat), in clock ticks
            "cpu_seconds_stat": (proc_cpu_ticks(pid) - self.ticks_at_ready) / CLK_TCK,
            "peak_rss_kib": proc_status_kib(pid, "VmHWM"),
            "rss_at_stop": rss_breakdown(pid),
            "kernel_counters": self.kernel_counters(),
        }
        if not stop_process(self.proc, signal.SIGTERM, self.STOP_TIMEOUT):
            raise BenchError("sowatch ignored SIGTERM for %ss:\n%s"
                             % (self.STOP_TIMEOUT, self.log_tail()))
        self._drain.join(5)
        self.ctx.own_pids.discard(pid)
        text = self.log_text()
        if self.proc.returncode != 0:
            raise BenchError("sowatch exited with %s:\n%s"
                             % (self.proc.returncode, self.log_tail()))
        m = re.search(r"stopping: .*?(\d+) events dropped", text)
        figures["drops_at_stop"] = int(m.group(1)) if m else None
        figures["drops_logged"] = self.drops_logged()
        figures["lost_kernel_events"] = "NO EVENTS FROM THE KERNEL" in text
        if figures["lost_kernel_events"]:
            raise BenchError("sowatch lost its kernel events:\n%s" % self.log_tail())
        return figures


def audit_status():
    out = run_quiet(["auditctl", "-s"])
    st = {}
    for line in out.splitlines():
        parts = line.split()
        if len(parts) >= 2 and parts[1].lstrip("-").isdigit():
            st[parts[0]] = int(parts[1])
    return st


class Auditd:
    """auditd (started here, in the foreground, with Debian's auditd.conf but
    its log in the bench's directory) with Debian's default backlog settings
    (-b 8192 --backlog_wait_time 60000) and one rule: every 64-bit execve.
    An auditd already running is used as it is; only the rule is added."""

    name = "auditd"

    def __init__(self, ctx):
        self.ctx = ctx
        self.proc = None
        self.saved = None
        self.rule_added = False
        self.auditd_pid = None

    def _config_dir(self):
        d = os.path.join(self.ctx.tmpdir, "audit")
        if not os.path.isdir(d):
            os.makedirs(d, mode=0o750)
            with open("/etc/audit/auditd.conf") as f:
                conf = f.read()
            conf = re.sub(r"(?m)^\s*log_file\s*=.*$",
                          "log_file = %s" % os.path.join(d, "audit.log"), conf)
            # The bench's log only: a full disk must not suspend the machine's audit.
            for key in ("space_left_action", "admin_space_left_action",
                        "disk_full_action", "disk_error_action"):
                conf = re.sub(r"(?m)^\s*%s\s*=.*$" % key, "%s = IGNORE" % key, conf)
            path = os.path.join(d, "auditd.conf")
            with open(path, "w") as f:
                f.write(conf)
            os.chmod(path, 0o640)
        return d

    def start(self):
        self.saved = audit_status()
        if self.saved.get("pid", 0) and os.path.exists("/proc/%d" % self.saved["pid"]):
            self.auditd_pid = self.saved["pid"]  # somebody's auditd: leave it be
        else:
            conf = self._config_dir()
            self.proc = subprocess.Popen([which("auditd"), "-n", "-c", conf],
                                         stdin=subprocess.DEVNULL,
                                         stdout=subprocess.DEVNULL,
                                         stderr=subprocess.DEVNULL)
            self.auditd_pid = self.proc.pid
            self.ctx.own_pids.add(self.proc.pid)
            deadline = time.monotonic() + 15
            while audit_status().get("pid") != self.proc.pid:
                if self.proc.poll() is not None:
                    raise BenchError("auditd exited with %s at start"
                                     % self.proc.returncode)
                if time.monotonic() > deadline:
                    raise BenchError("auditd did not register with the kernel")
                time.sleep(0.02)
        run_quiet(["auditctl", "-b", "8192", "--backlog_wait_time", "60000"])
        run_quiet(["auditctl", "-a", "always,exit"] + AUDIT_RULE)
        self.rule_added = True
        self.cpu0 = self.cpu_seconds()
        return self

    def pids(self):
        p = [self.auditd_pid] if self.auditd_pid else []
        return p + pids_named("kauditd")

    def cpu_seconds(self):
        return sum(proc_cpu_seconds(p) or 0 for p in self.pids())

    def stop(self):
        figures = {"cpu_seconds": self.cpu_seconds() - self.cpu0,
                   "lost": audit_status().get("lost", 0) - self.saved.get("lost", 0)}
        self.restore()
        return figures

    def restore(self):
        if self.rule_added:
            run_quiet(["auditctl", "-d", "always,exit"] + AUDIT_RULE, check=False)
            self.rule_added = False
        if self.proc is not None:
            stop_process(self.proc, signal.SIGTERM, 20)
            self.ctx.own_pids.discard(self.proc.pid)
            self.proc = None
        if self.saved:
            run_quiet(["auditctl", "-b", str(self.saved.get("backlog_limit", 64)),
                       "--backlog_wait_time",
                       str(self.saved.get("backlog_wait_time", 15000))], check=False)
            run_quiet(["auditctl", "-e", str(self.saved.get("enabled", 0))], check=False)
            self.saved = None


class Bpftrace:
    """bpftrace printing every execve (pid, comm, file, argv) and every
    executable mmap (pid, comm, fd, length) to a file. (The parent's pid,
    through curtask, would make bpftrace 0.17 parse the kernel's BTF: a minute
    at every start here.)"""

    name = "bpftrace"
    READY_TIMEOUT = 120.0

    def __init__(self, ctx):
        self.ctx = ctx
        self.proc = None
        self.ready_seconds = None
        self.dir = tempfile.mkdtemp(prefix="bpftrace-", dir=ctx.tmpdir)
        self.script = os.path.join(self.dir, "trace.bt")
        self.out = os.path.join(self.dir, "trace.out")
        with open(self.script, "w") as f:
            f.write(BPFTRACE_SCRIPT)

    def start(self):
        t0 = time.monotonic()
        self.errf = open(os.path.join(self.dir, "stderr"), "wb")
        self.proc = subprocess.Popen([which("bpftrace"), "-o", self.out, self.script],
                                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=self.errf)
        self.ctx.own_pids.add(self.proc.pid)
        deadline = t0 + self.READY_TIMEOUT
        while True:
            try:
                with open(self.out, "rb") as f:
                    if b"bench: ready" in f.read(4096):
                        break
            except FileNotFoundError:
                pass
            if self.proc.poll() is not None:
                raise BenchError("bpftrace exited with %s at start:\n%s" % (
                    self.proc.returncode, self._stderr()))
            if time.monotonic() > deadline:
                raise BenchError("bpftrace not ready after %ss" % self.READY_TIMEOUT)
            # BEGIN's line waits in the perf buffer until more output comes: an exec.
            subprocess.run([TRUE])
            time.sleep(0.05)
        self.ready_seconds = time.monotonic() - t0
        self.cpu0 = self.cpu_seconds()
        return self

    def _stderr(self):
        with open(os.path.join(self.dir, "stderr"), "rb") as f:
            return f.read().decode("utf-8", "replace")[-3000:]

    def pids(self):
        return [self.proc.pid] if self.proc and self.proc.poll() is None else []

    def cpu_seconds(self):
        return proc_cpu_seconds(self.proc.pid) or 0

    def stop(self):
        if self.proc.poll() is not None:
            raise BenchError("bpftrace died (exit %s):\n%s"
                             % (self.proc.returncode, self._stderr()))
        figures = {"ready_seconds": self.ready_seconds,
                   "cpu_seconds": self.cpu_seconds() - self.cpu0,
                   "peak_rss_kib": proc_status_kib(self.proc.pid, "VmHWM")}
        stop_process(self.proc, signal.SIGINT, 30)
        self.errf.close()
        self.ctx.own_pids.discard(self.proc.pid)
        lost = re.findall(r"Lost (\d+) events", self._stderr())
        figures["lost"] = sum(map(int, lost))
        figures["output_bytes"] = os.path.getsize(self.out)
        os.unlink(self.out)  # can be large; what matters is that it was written
        return figures


class SowatchBaseline(Sowatch):
    """The same sensor from another build (--baseline BIN)."""

    name = "baseline"

    def __init__(self, ctx, tag="baseline"):
        super().__init__(ctx, tag)
        self.binary = ctx.args.baseline


CONFIG_CLASSES = {"none": NoSensor, "sowatch": Sowatch, "auditd": Auditd,
                  "bpftrace": Bpftrace, "baseline": SowatchBaseline}


# --------------------------------------------------------------------------
# Phases


class Context:
    def __init__(self, args, tmpdir):
        self.args = args
        self.tmpdir = tmpdir
        self.sowatch = args.sowatch
        self.own_pids = set()
        self.active = []  # configurations started and not stopped (cleanup)


def session_start(ctx, cfg):
    """Start cfg's sensor (known to the cleanup from then on) and let it settle."""
    ctx.active.append(cfg)
    cfg.start()
    settle(cfg.pids())
    return cfg


def session_stop(ctx, cfg):
    """Stop cfg's sensor; its figures at stop."""
    figures = cfg.stop()
    ctx.active.remove(cfg)
    return figures


def run_group(ctx, workloads, name, configs, rnd, rng):
    """One workload under every configuration, in a random order, a sensor
    started just before the run and stopped just after it."""
    runs, sessions = [], []
    order = list(configs)
    rng.shuffle(order)
    for cfg_name in order:
        cfg = session_start(ctx, CONFIG_CLASSES[cfg_name](ctx))
        c0 = cfg.cpu_seconds()
        k0 = cfg.kernel_counters() if cfg_name == "sowatch" else None
        m0 = machine_busy_seconds()
        r = workloads.run(name)
        m1 = machine_busy_seconds()
        settle(cfg.pids())
        c1 = cfg.cpu_seconds()
        if c0 is not None and c1 is not None:
            r["sensor_cpu_seconds"] = c1 - c0
        # CPU the whole machine used during the run, less the workload's and the
        # sensor's own: what other processes took (the machine is shared).
        r["others_cpu_seconds"] = max(0.0, (m1 - m0) - r["cpu_user_seconds"]
                                      - r["cpu_system_seconds"]
                                      - (r.get("sensor_cpu_seconds") or 0))
        if k0 is not None:
            k1 = cfg.kernel_counters()
            if k1 is not None:
                r["sowatch_kernel_counters"] = {k: k1[k] - k0[k] for k in k0}
        session = {"round": rnd, "config": cfg_name, "workload": name,
                   "events": r["events"]}
        session.update(session_stop(ctx, cfg))
        r.update({"round": rnd, "config": cfg_name, "workload": name})
        runs.append(r)
        sessions.append(session)
    return runs, sessions


def run_rounds(ctx, workloads, configs, names, rounds, rng, busy_limit, retries):
    """Every round: every workload, in a random order, under every configuration
    (run_group). Runs of one workload in a round are then seconds apart: this
    machine's speed changes over tens of seconds, more than the budgets. A group
    during which other processes took more than busy_limit of a CPU (another
    test suite starting, say) is run again, up to `retries` times; the last
    attempt counts. Returns the runs, the sensor sessions and the discarded runs."""
    runs, sessions, discarded = [], [], []
    # Warm-up, not counted: page cache, the dynamic loader's caches, the project.
    log("warm-up: one run of each workload with no sensor")
    for name in names:
        workloads.run(name)
    for rnd in range(1, rounds + 1):
        wl_order = list(names)
        rng.shuffle(wl_order)
        t_round = time.monotonic()
        for name in wl_order:
            for attempt in range(retries + 1):
                g_runs, g_sessions = run_group(ctx, workloads, name, configs, rnd, rng)
                busy = max(r["others_cpu_seconds"] / r["seconds"] for r in g_runs)
                if busy <= busy_limit or attempt == retries:
                    break
                log("round %d, %s: other processes took %.0f%% of a CPU during a run; "
                    "running the group again" % (rnd, name, 100 * busy))
                for r in g_runs:
                    r["discarded"] = "others took %.0f%% of a CPU" % (100 * busy)
                discarded += g_runs
            runs += g_runs
            sessions += g_sessions
        log("round %d/%d done in %.0f s" % (rnd, rounds, time.monotonic() - t_round))
    return runs, sessions, discarded


def module_copies(fixtures, wsdir, loads):
    """`loads` copies of the test module, each its own file: each load is a new finding."""
    modules = []
    for i in range(loads):
        dst = os.path.join(wsdir, "m-%04d.so" % i)
        shutil.copyfile(fixtures["module.so"], dst)
        os.chmod(dst, 0o755)
        modules.append(dst)
    return modules


def load_all(modules, env, parallel=8):
    """`openssl engine -t` of every module, `parallel` at a time."""
    running = []
    for mod in modules:
        running.append(subprocess.Popen([OPENSSL, "engine", "-t", mod], env=env,
                                        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                        stderr=subprocess.DEVNULL))
        if len(running) >= parallel:
            running.pop(0).wait(60)
    for p in running:
        p.wait(60)


def latency_phase(ctx, fixtures, loads, config=None, tag="latency"):
    """A module loaded `loads` times through `openssl engine -t` while sowatch
    runs: per load, eventTime -> createTime (sowatch's own stamps), eventTime ->
    the line seen here, and openssl's start -> the line seen here. config: a
    configuration file for sowatch (the delivery phase's hanging webhook)."""
    wsdir = tempfile.mkdtemp(prefix=tag + "-", dir=ctx.tmpdir)
    os.chmod(wsdir, 0o755)
    modules = module_copies(fixtures, wsdir, loads)
    s = session_start(ctx, Sowatch(ctx, tag, config))
    env = workload_env()
    samples = []
    offset = 0
    buf = b""
    pending = {}
    t_phase = time.monotonic()
    try:
        for mod in modules:
            t0 = time.time()
            p = subprocess.Popen([OPENSSL, "engine", "-t", mod], env=env,
                                 stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                 stderr=subprocess.DEVNULL)
            pending[str(p.pid)] = (mod, t0)
            p.wait(60)
            deadline = time.monotonic() + 10
            while str(p.pid) in pending:
                try:
                    with open(s.jsonl, "rb") as f:
                        f.seek(offset)
                        chunk = f.read()
                except FileNotFoundError:
                    chunk = b""
                seen = time.time()
                offset += len(chunk)
                buf += chunk
                while b"\n" in buf:
                    line, buf = buf.split(b"\n", 1)
                    try:
                        fd = json.loads(line)["finding"]
                    except (ValueError, KeyError):
                        raise BenchError("sowatch wrote a line that is not a finding: %r"
                                         % line[:300])
                    procs = fd.get("processes") or [{}]
                    pid = str(procs[0].get("pid"))
                    libs = [lib.get("path") for lib in procs[0].get("libraries") or []]
                    if pid not in pending or pending[pid][0] not in libs:
                        continue  # somebody else's (the machine is busy)
                    _, started = pending.pop(pid)
                    ev = parse_rfc3339(fd["eventTime"])
                    cr = parse_rfc3339(fd["createTime"])
                    samples.append({
                        "pid": int(pid),
                        "severity": fd.get("severity"),
                        "event_to_create_ms": (cr - ev) * 1000,
                        "event_to_seen_ms": (seen - ev) * 1000,
                        "start_to_seen_ms": (seen - started) * 1000,
                    })
                if str(p.pid) not in pending:
                    break
                if time.monotonic() > deadline:
                    raise BenchError("no finding within 10 s for openssl engine -t %s "
                                     "(pid %d):\n%s" % (mod, p.pid, s.log_tail()))
                time.sleep(0.001)
    finally:
        figures = session_stop(ctx, s)
    res = {"loads": loads, "seconds": time.monotonic() - t_phase, "session": figures,
           "severities": sorted({x["severity"] for x in samples})}
    for key in ("event_to_create_ms", "event_to_seen_ms", "start_to_seen_ms"):
        vals = [x[key] for x in samples]
        res[key] = {"p50": percentile(vals, 50), "p99": percentile(vals, 99),
                    "max": max(vals), "min": min(vals)}
    res["samples"] = samples
    return res


def webhook_config(dirpath, receiver, timeout_ms=2000):
    """A sowatch configuration sending to receiver, with a token of its own."""
    token = os.path.join(dirpath, "token")
    fd = os.open(token, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write("bench-%s\n" % os.urandom(16).hex())
    path = os.path.join(dirpath, "sowatch.yaml")
    with open(path, "w") as f:
        f.write("outputs:\n  webhook:\n    url: %s\n    ca_file: %s\n"
                "    bearer_token_file: %s\n    timeout_ms: %d\n"
                % (receiver.url("/ingest"), receiver.ca_file, token, timeout_ms))
    os.chmod(path, 0o600)
    return path


def delivery_throughput(ctx, fixtures, receiver, loads):
    """One round: `loads` module loads made at once (8 at a time) while sowatch
    sends to receiver (answering 200). Findings per second from the first
    finding's eventTime to the last of them received."""
    wsdir = tempfile.mkdtemp(prefix="delivery-", dir=ctx.tmpdir)
    os.chmod(wsdir, 0o755)
    modules = module_copies(fixtures, wsdir, loads)
    receiver.set_mode("ok")
    s = session_start(ctx, Sowatch(ctx, "delivery", webhook_config(wsdir, receiver)))
    env = workload_env()
    ours = set(modules)
    got = {}  # module -> (eventTime, time received)
    try:
        load_all(modules, env)
        deadline = time.monotonic() + 60
        seen = 0
        while len(got) < loads:
            reqs = receiver.requests()
            for r in reqs[seen:]:
                try:
                    fd = json.loads(r.body)["finding"]
                except (ValueError, KeyError):
                    raise BenchError("the receiver got a body that is not a finding: %r"
                                     % r.body[:300])
                procs = fd.get("processes") or [{}]
                for lib in procs[0].get("libraries") or []:
                    if lib.get("path") in ours and lib["path"] not in got:
                        got[lib["path"]] = (parse_rfc3339(fd["eventTime"]), r.time)
            seen = len(reqs)
            if time.monotonic() > deadline:
                raise BenchError("delivery: %d of %d findings received within 60 s:\n%s"
                                 % (len(got), loads, s.log_tail()))
            time.sleep(0.01)
    finally:
        figures = session_stop(ctx, s)
    first = min(ev for ev, _ in got.values())
    last = max(rcv for _, rcv in got.values())
    return {"loads": loads, "seconds": last - first, "findings_per_second":
            loads / max(last - first, 1e-6), "session": figures}


def delivery_phase(ctx, fixtures, loads, rounds, hang_loads):
    """The webhook output: findings/s to a receiver answering 200 (median over
    rounds), then detection latency while the receiver hangs."""
    sys.path.insert(0, os.path.join(REPO_ROOT, "tests", "e2e"))
    from receiver import Receiver
    res = {"loads": loads, "rounds": []}
    with Receiver() as receiver:
        for i in range(rounds):
            res["rounds"].append(delivery_throughput(ctx, fixtures, receiver, loads))
        rates = [r["findings_per_second"] for r in res["rounds"]]
        res["findings_per_second"] = {"median": statistics.median(rates),
                                      "min": min(rates), "max": max(rates)}
        receiver.set_mode("hang")
        hdir = tempfile.mkdtemp(prefix="delivery-hang-", dir=ctx.tmpdir)
        res["hanging_receiver"] = latency_phase(
            ctx, fixtures, hang_loads, webhook_config(hdir, receiver), tag="delivery-hang")
        res["hanging_receiver"]["requests_received"] = len(receiver.requests())
    return res


def fleet_phase(ctx, fixtures, loads):
    """The fleet path: `loads` module loads on a node whose outputs.nats is a
    real 3-server JetStream cluster on loopback (an R3 stream made by sowatch
    nats-init), with `sowatch collect` writing a central store. Findings per
    second from the first finding's eventTime until the central store holds
    them all, and the sensor's drops."""
    import sqlite3
    sys.path.insert(0, os.path.join(REPO_ROOT, "tests", "e2e"))
    import harness
    from natscluster import NatsCluster
    ws = harness.Workspace()
    cluster = NatsCluster(ws).start()
    collector = None
    try:
        urls = ",".join(cluster.urls())
        subprocess.run([ctx.sowatch, "nats-init", "--nats", urls, "--replicas", "3"], check=True,
                       stdout=subprocess.DEVNULL, timeout=60)
        central = os.path.join(ws.dir, "central.db")
        clog = open(os.path.join(ws.dir, "collect.log"), "wb")
        collector = subprocess.Popen([ctx.sowatch, "collect", "--nats", urls, "--db", central],
                                     stdin=subprocess.DEVNULL, stdout=clog, stderr=clog)
        wsdir = tempfile.mkdtemp(prefix="fleet-", dir=ctx.tmpdir)
        os.chmod(wsdir, 0o755)
        config = os.path.join(wsdir, "sowatch.yaml")
        with open(config, "w") as f:
            f.write("outputs:\n  nats:\n    servers: [%s]\n" % ", ".join(cluster.urls()))
        os.chmod(config, 0o600)
        modules = module_copies(fixtures, wsdir, loads)
        s = session_start(ctx, Sowatch(ctx, "fleet", config))
        env = workload_env()
        try:
            load_all(modules, env)
            deadline = time.monotonic() + 120
            count, first = 0, None
            while count < loads:
                if os.path.exists(central):
                    con = sqlite3.connect("file:%s?mode=ro" % central, uri=True, timeout=10)
                    try:
                        count, first = con.execute(
                            "SELECT count(*), min(event_time_ns) FROM findings WHERE "
                            "module_path LIKE ?", (wsdir + "/%",)).fetchone()
                    except sqlite3.OperationalError:
                        pass  # not made yet
                    finally:
                        con.close()
                if time.monotonic() > deadline:
                    raise BenchError("fleet: %d of %d findings in the central store "
                                     "within 120 s" % (count, loads))
                time.sleep(0.05)
            done = time.time()
        finally:
            figures = session_stop(ctx, s)
        seconds = done - first / 1e9
        return {"loads": loads, "seconds": seconds,
                "findings_per_second": loads / max(seconds, 1e-6), "session": figures}
    finally:
        if collector:
            collector.terminate()
            collector.wait(30)
        cluster.stop()
        ws.cleanup()


def prog_ids(pid):
    """Ids of the BPF programs a process holds (prog and link fds)."""
    ids = set()
    fddir = "/proc/%d/fdinfo" % pid
    for fd in os.listdir(fddir):
        try:
            with open(os.path.join(fddir, fd)) as f:
                ids.update(int(x) for x in re.findall(r"^prog_id:\s*(\d+)", f.read(), re.M))
        except OSError:
            pass
    return ids


def prog_stats(ids):
    """{id: (name, run_cnt, run_time_ns)} from bpftool (kernel.bpf_stats_enabled)."""
    out = {}
    for p in json.loads(run_quiet(["bpftool", "-j", "prog", "show"])):
        if p.get("id") in ids:
            out[p["id"]] = (p.get("name", "?"), p.get("run_cnt", 0), p.get("run_time_ns", 0))
    return out


def profile_phase(ctx, workloads, names):
    """Where sowatch's kernel time goes: with kernel.bpf_stats_enabled, each
    workload once while sowatch runs, and the run count and run time of each of
    sowatch's BPF programs (bpftool prog show). The workload's time is not a
    figure here: the statistics cost a little themselves."""
    with open("/proc/sys/kernel/bpf_stats_enabled") as f:
        saved = f.read().strip()
    s = Sowatch(ctx, "profile")
    ctx.active.append(s)
    res = {}
    try:
        with open("/proc/sys/kernel/bpf_stats_enabled", "w") as f:
            f.write("1")
        s.start()
        settle(s.pids())
        ids = prog_ids(s.proc.pid)
        for name in names:
            before = prog_stats(ids)
            c0 = s.cpu_seconds()
            r = workloads.run(name)
            settle(s.pids())
            after = prog_stats(ids)
            progs = {}
            total_ns = 0
            for pid_, (pname, cnt, ns) in after.items():
                _, cnt0, ns0 = before.get(pid_, (pname, 0, 0))
                if cnt - cnt0 <= 0:
                    continue
                progs[pname] = {"runs": cnt - cnt0, "ns_per_run": (ns - ns0) / (cnt - cnt0),
                                "ms_total": (ns - ns0) / 1e6}
                total_ns += ns - ns0
            unit = "%s" % ("execs" if name in ("spawn", "openssl") else
                           "dlopens" if name == "dlopen" else "builds")
            res[name] = {
                "iterations": r["iterations"],
                "unit": unit,
                "kernel_ms_total": total_ns / 1e6,
                "kernel_us_per_iteration": total_ns / 1e3 / r["iterations"],
                "kernel_share_of_workload": total_ns / 1e9 / r["seconds"],
                "user_ms_total": (s.cpu_seconds() - c0) * 1000,
                "user_us_per_iteration": (s.cpu_seconds() - c0) * 1e6 / r["iterations"],
                "programs": progs,
            }
    finally:
        with open("/proc/sys/kernel/bpf_stats_enabled", "w") as f:
            f.write(saved)
        res_session = s.stop() if s.proc is not None and s.alive() else {}
        ctx.active.remove(s)
    return {"workloads": res, "session": res_session}


def ramp_phase(ctx, fixtures, workers_list, seconds):
    """The spawn storm with more and more workers while sowatch runs: the exec
    rate reached, and the kernel's drops at each step."""
    s = session_start(ctx, Sowatch(ctx, "ramp"))
    env = workload_env()
    steps = []
    try:
        for n in workers_list:
            before_log = s.drops_logged()
            before_k = s.kernel_counters()
            c0 = s.cpu_seconds()
            procs = [subprocess.Popen([fixtures["workload"], "exec", "-t", str(seconds), TRUE],
                                      env=env, stdin=subprocess.DEVNULL,
                                      stdout=subprocess.PIPE) for _ in range(n)]
            outs = [p.communicate(timeout=seconds + 120)[0].split() for p in procs]
            if any(p.returncode for p in procs):
                raise BenchError("a spawn worker failed at %d workers" % n)
            execs = sum(int(o[0]) for o in outs)
            span = max(float(o[1]) for o in outs)
            settle(s.pids())
            time.sleep(1.2)  # sowatch checks its counters every second
            s.check_alive()
            after_k = s.kernel_counters()
            step = {
                "workers": n,
                "execs": execs,
                "seconds": span,
                "exec_rate": execs / span,
                "drops_logged": s.drops_logged() - before_log,
                "sowatch_cpu_seconds": s.cpu_seconds() - c0,
            }
            if before_k and after_k:
                step["drops_kernel"] = after_k["dropped"] - before_k["dropped"]
                step["events_sent_kernel"] = after_k["sent"] - before_k["sent"]
            steps.append(step)
            log("ramp: %d workers, %.0f execs/s, %d drops" % (
                n, step["exec_rate"], step["drops_logged"]))
    finally:
        figures = session_stop(ctx, s)
    clean = [st for st in steps if st["drops_logged"] == 0 and st.get("drops_kernel", 0) == 0]
    best_clean = max(clean, key=lambda st: st["exec_rate"]) if clean else None
    fastest = max(steps, key=lambda st: st["exec_rate"])
    above = [{"workers": st["workers"], "exec_rate": st["exec_rate"],
              "drops": max(st["drops_logged"], st.get("drops_kernel", 0))}
             for st in steps
             if best_clean is None or st["exec_rate"] > best_clean["exec_rate"]]
    return {
        "seconds_per_step": seconds,
        "steps": steps,
        "session": figures,
        "highest_rate_zero_drops": best_clean["exec_rate"] if best_clean else None,
        "fastest_rate": fastest["exec_rate"],
        "drops_at_fastest": max(fastest["drops_logged"], fastest.get("drops_kernel", 0)),
        "above_zero_drop_rate": above,
    }


# --------------------------------------------------------------------------
# Figures


def median_ci(values, seed=1, n=2000):
    """95% bootstrap confidence interval of the median: how far the figure
    could move with other rounds on this machine."""
    if len(values) < 3:
        return (min(values), max(values))
    rng = random.Random(seed)
    meds = sorted(statistics.median(rng.choices(values, k=len(values))) for _ in range(n))
    return (meds[int(0.025 * n)], meds[int(0.975 * n) - 1])


def summarize(runs, configs, names):
    """Per workload and sensor: per-round ratios to none, median/min/max."""
    by = {}
    for r in runs:
        by.setdefault((r["round"], r["config"], r["workload"]), r)
    rounds = sorted({r["round"] for r in runs})
    out = {}
    for name in names:
        w = {}
        base = [by[(rnd, "none", name)]["seconds"] for rnd in rounds
                if (rnd, "none", name) in by]
        w["none_seconds"] = {"median": statistics.median(base), "min": min(base),
                             "max": max(base)} if base else None
        for cfg in configs:
            if cfg == "none":
                continue
            ratios = [by[(rnd, cfg, name)]["seconds"] / by[(rnd, "none", name)]["seconds"]
                      for rnd in rounds
                      if (rnd, cfg, name) in by and (rnd, "none", name) in by]
            secs = [by[(rnd, cfg, name)]["seconds"] for rnd in rounds
                    if (rnd, cfg, name) in by]
            cpu = [by[(rnd, cfg, name)].get("sensor_cpu_seconds") for rnd in rounds
                   if (rnd, cfg, name) in by]
            cpu = [c for c in cpu if c is not None]
            w[cfg] = {
                "ratio": {"median": statistics.median(ratios), "min": min(ratios),
                          "max": max(ratios), "ci95": median_ci(ratios),
                          "per_round": ratios} if ratios else None,
                "seconds_median": statistics.median(secs) if secs else None,
                "sensor_cpu_seconds_median": statistics.median(cpu) if cpu else None,
            }
        out[name] = w
    return out


def sowatch_cpu(runs, sessions, names):
    """sowatch's CPU per thousand events the workload made: per session (one
    workload under sowatch), CPU at stop against at ready, from the scheduler
    (ns) and from utime + stime (/proc/PID/stat, clock ticks)."""
    per = {}
    all_cpu = all_events = 0.0
    for name in names:
        ss = [s for s in sessions if s["config"] == "sowatch" and s["workload"] == name]
        rs = [r for r in runs if r["config"] == "sowatch" and r["workload"] == name]
        if not ss:
            continue
        vals = [s["cpu_seconds"] * 1e6 / s["events"] for s in ss]
        vals_stat = [s["cpu_seconds_stat"] * 1e6 / s["events"] for s in ss]
        recv = [r["sowatch_kernel_counters"]["sent"] for r in rs
                if r.get("sowatch_kernel_counters")]
        all_cpu += sum(s["cpu_seconds"] for s in ss)
        all_events += sum(s["events"] for s in ss)
        per[name] = {
            "ms_per_1k_events_median": statistics.median(vals),
            "ms_per_1k_events_max": max(vals),
            "ms_per_1k_events_stat_median": statistics.median(vals_stat),
            "cpu_seconds_median": statistics.median(s["cpu_seconds"] for s in ss),
            "events": rs[0]["events"],
            "events_breakdown": rs[0]["events_breakdown"],
            "events_sent_by_kernel_median": statistics.median(recv) if recv else None,
        }
    return {
        "per_workload": per,
        "all_ms_per_1k_events": all_cpu * 1e6 / all_events if all_events else None,
    }


def rss_parts(p, b):
    """What a session's RSS at stop is made of (rss_breakdown), if it was read."""
    if b:
        p("  its RSS at stop: %.1f MiB = %.1f anonymous + %.1f BPF maps mapped in (the "
          "ring buffer's pages twice) + %.1f text and files" % (
              b["rss_kib"] / 1024, b["anon_kib"] / 1024, b["bpf_maps_kib"] / 1024,
              b["other_kib"] / 1024))


def budgets(summary, configs, names, cpu, latency, ramp, peak_rss_kib, delivery=None,
            fleet=None):
    rows = []

    def add(name, value, limit, ok, shown):
        rows.append({"budget": name, "value": value, "limit": limit,
                     "pass": bool(ok), "shown": shown})

    def ci(r):
        return "(95%% CI %.3f-%.3f)" % tuple(r["ci95"])

    if "sowatch" in configs:
        for name in names:
            r = summary[name]["sowatch"]["ratio"]
            lim = SLOWDOWN_BUDGET[name]
            noise = " within noise" if r["ci95"][0] <= lim < r["ci95"][1] else ""
            add("%s slowdown" % name, r["median"], lim, r["median"] <= lim,
                "%.3f <= %.2f %s%s" % (r["median"], lim, ci(r), noise))
        others = [c for c in ("auditd", "bpftrace") if c in configs]
        for name in names:
            for c in others:
                mine = summary[name]["sowatch"]["ratio"]
                theirs = summary[name][c]["ratio"]
                overlap = mine["ci95"][0] <= theirs["ci95"][1] and \
                    theirs["ci95"][0] <= mine["ci95"][1]
                add("%s: sowatch below %s" % (name, c), mine["median"], theirs["median"],
                    mine["median"] < theirs["median"],
                    "%.3f < %.3f%s" % (mine["median"], theirs["median"],
                                       " (95% CIs overlap: within noise)" if overlap else ""))
        if "baseline" in configs:
            # A change must not cost more than the build before it, beyond noise.
            for name in names:
                mine = summary[name]["sowatch"]["ratio"]
                before = summary[name]["baseline"]["ratio"]
                overlap = mine["ci95"][0] <= before["ci95"][1] and \
                    before["ci95"][0] <= mine["ci95"][1]
                add("%s: sowatch not above baseline" % name, mine["median"], before["median"],
                    mine["median"] <= before["median"] or overlap,
                    "%.3f vs %.3f before%s" % (mine["median"], before["median"],
                                               " (95% CIs overlap: within noise)"
                                               if overlap else ""))
    if latency:
        for key, what in (("event_to_create_ms", "eventTime -> createTime"),
                          ("event_to_seen_ms", "eventTime -> line seen")):
            v = latency[key]["p99"]
            add("p99 latency, %s" % what, v, LATENCY_P99_BUDGET_MS,
                v <= LATENCY_P99_BUDGET_MS, "%.1f ms <= %.0f ms" % (v, LATENCY_P99_BUDGET_MS))
    if delivery:
        v = delivery["hanging_receiver"]["event_to_seen_ms"]["p99"]
        add("p99 latency, eventTime -> line seen, webhook hanging", v, LATENCY_P99_BUDGET_MS,
            v <= LATENCY_P99_BUDGET_MS, "%.1f ms <= %.0f ms" % (v, LATENCY_P99_BUDGET_MS))
    if fleet:
        d = fleet["session"].get("drops_at_stop")
        add("zero drops, %d findings through the fleet path" % fleet["loads"], d, 0, d == 0,
            "%s drops" % d)
    if peak_rss_kib:
        mib = peak_rss_kib / 1024
        add("peak RSS, default configuration", mib, RSS_BUDGET_MIB, mib <= RSS_BUDGET_MIB,
            "%.1f MiB <= %.0f MiB" % (mib, RSS_BUDGET_MIB))
    if ramp:
        d = ramp["drops_at_fastest"]
        add("zero drops at the fastest spawn rate", d, 0, d == 0,
            "%d drops at %.0f execs/s" % (d, ramp["fastest_rate"]))
    return rows


def print_table(result):
    out = []
    p = out.append
    m = result["machine"]
    p("")
    p("sowatch %s bench, %s" % (result["sowatch_version"], result["date"]))
    p("machine: %s" % machine_caption(m))
    p("rounds: %d, configurations interleaved in random order (seed %d)%s" % (
        result["options"]["rounds"], result["options"]["seed"],
        ", workloads pinned to CPU %d" % result["options"]["pin"]
        if result["options"]["pin"] is not None else ""))
    if result.get("others_cpu_share"):
        p("other processes' CPU during a run: median %.0f%%, max %.0f%% of one CPU" % (
            100 * result["others_cpu_share"]["median"], 100 * result["others_cpu_share"]["max"]))
    if result["other_sensors"]:
        p("other sensors running (every configuration pays for them): %s" % ", ".join(
            "%s[%d]" % (o["comm"], o["pid"]) for o in result["other_sensors"]))
    p("")
    configs = result["options"]["configs"]
    sensors = [c for c in configs if c != "none"]
    hdr = "%-8s %9s" % ("workload", "none (s)")
    for c in sensors:
        hdr += "  %-22s" % (c + " ratio [min-max]")
    p(hdr)
    for name in result["options"]["workloads"]:
        w = result["slowdown"][name]
        line = "%-8s %9.3f" % (name, w["none_seconds"]["median"])
        for c in sensors:
            r = w[c]["ratio"]
            line += "  %-22s" % ("%.3f [%.3f-%.3f]" % (r["median"], r["min"], r["max"]))
        p(line)
    p("")
    p("sensor CPU per workload run (median seconds):")
    p("%-8s" % "workload" + "".join("  %12s" % c for c in sensors))
    for name in result["options"]["workloads"]:
        w = result["slowdown"][name]
        p("%-8s" % name + "".join(
            "  %12s" % ("%.3f" % w[c]["sensor_cpu_seconds_median"]
                        if w[c]["sensor_cpu_seconds_median"] is not None else "-")
            for c in sensors))
    sw = result.get("sowatch")
    if sw:
        p("")
        p("sowatch CPU per 1000 workload events (forks+execs+exits+exec mmaps), median of the "
          "rounds, CPU at stop minus at ready:")
        for name, v in sw["cpu"]["per_workload"].items():
            b = v["events_breakdown"]
            p("  %-8s %7.2f ms  (%d events: %d forks, %d execs, %d exits, %d maps; "
              "kernel sent %s)" % (
                  name, v["ms_per_1k_events_median"], v["events"], b["forks"], b["execs"],
                  b["exits"], b["maps"],
                  "%d" % v["events_sent_by_kernel_median"]
                  if v["events_sent_by_kernel_median"] is not None else "?"))
        if sw["cpu"]["all_ms_per_1k_events"] is not None:
            p("  %-8s %7.2f ms  (every session's CPU over every session's events)" % (
                "all", sw["cpu"]["all_ms_per_1k_events"]))
        p("sowatch peak RSS (VmHWM), default configuration: %.1f MiB (max over %d sessions); "
          "ready in %.2f s (median of all %d)" % (
              sw["peak_rss_kib"] / 1024, sw.get("peak_sessions", sw["sessions"]),
              sw["ready_seconds_median"], sw["sessions"]))
        rss_parts(p, sw.get("rss_at_stop_of_peak_session"))
        if sw.get("peak_rss_kib_with_webhook"):
            p("sowatch peak RSS (VmHWM) with a webhook or NATS output (libcurl or libnats "
              "loaded): %.1f MiB "
              "(max over %d sessions)" % (sw["peak_rss_kib_with_webhook"] / 1024,
                                          sw["webhook_sessions"]))
            rss_parts(p, sw.get("rss_at_stop_of_peak_webhook_session"))
    lat = result.get("latency")
    if lat:
        p("")
        p("detection latency, %d module loads (openssl engine -t), severities %s:" % (
            lat["loads"], "/".join(lat["severities"])))
        for key, what in (("event_to_create_ms", "eventTime -> createTime"),
                          ("event_to_seen_ms", "eventTime -> JSONL line seen"),
                          ("start_to_seen_ms", "openssl start -> line seen")):
            v = lat[key]
            p("  %-30s p50 %6.2f ms  p99 %6.2f ms  max %6.2f ms" % (
                what, v["p50"], v["p99"], v["max"]))
    dl = result.get("delivery")
    if dl:
        fps = dl["findings_per_second"]
        p("")
        p("delivery through the webhook output (HTTPS, local receiver):")
        p("  %d findings at once, answered 200: %6.0f findings/s (median of %d rounds, "
          "min %.0f, max %.0f)" % (dl["loads"], fps["median"], len(dl["rounds"]), fps["min"],
                                   fps["max"]))
        h = dl["hanging_receiver"]
        for key, what in (("event_to_create_ms", "eventTime -> createTime"),
                          ("event_to_seen_ms", "eventTime -> JSONL line seen")):
            v = h[key]
            p("  receiver hanging, %-26s p50 %6.2f ms  p99 %6.2f ms  max %6.2f ms" % (
                what, v["p50"], v["p99"], v["max"]))
        p("  receiver hanging: %d loads, %d requests received (none answered), %s events "
          "dropped (stop line)" % (h["loads"], h["requests_received"],
                                   h["session"].get("drops_at_stop", "?")))
    fl = result.get("fleet")
    if fl:
        p("")
        p("fleet: a node's outbox -> 3-server NATS JetStream cluster (R3) -> sowatch collect:")
        p("  %d findings at once: %6.0f findings/s (first eventTime to all in the central "
          "store, %.2f s); %s events dropped (stop line)" % (
              fl["loads"], fl["findings_per_second"], fl["seconds"],
              fl["session"].get("drops_at_stop", "?")))
    ramp = result.get("ramp")
    if ramp:
        p("")
        p("spawn ramp with sowatch running (%.1f s per step):" % ramp["seconds_per_step"])
        for st in ramp["steps"]:
            p("  %d workers: %7.0f execs/s, drops %d (log) %s (kernel)" % (
                st["workers"], st["exec_rate"], st["drops_logged"],
                st.get("drops_kernel", "?")))
        hz = ramp["highest_rate_zero_drops"]
        p("  highest exec rate with zero drops: %s" % (
            "%.0f execs/s" % hz if hz is not None else "none"))
        if ramp["above_zero_drop_rate"]:
            p("  above it: " + ", ".join("%.0f execs/s: %d drops" % (a["exec_rate"], a["drops"])
                                         for a in ramp["above_zero_drop_rate"]))
    prof = result.get("profile")
    if prof:
        p("")
        p("where sowatch's time goes (one run each, kernel.bpf_stats_enabled):")
        for name, v in prof["workloads"].items():
            top = sorted(v["programs"].items(), key=lambda kv: -kv[1]["ms_total"])[:3]
            p("  %-8s kernel %6.2f us + user space %6.2f us per %s (kernel %.1f%% of the "
              "workload's time); %s" % (
                  name, v["kernel_us_per_iteration"], v["user_us_per_iteration"],
                  v["unit"][:-1], 100 * v["kernel_share_of_workload"],
                  ", ".join("%s %.0f ns x %d" % (k, x["ns_per_run"], x["runs"])
                            for k, x in top)))
    p("")
    p("budgets:")
    for b in result["budgets"]:
        p("  %-4s %-42s %s" % ("PASS" if b["pass"] else "FAIL", b["budget"], b["shown"]))
    n_fail = sum(1 for b in result["budgets"] if not b["pass"])
    p("%d of %d budgets hold" % (len(result["budgets"]) - n_fail, len(result["budgets"])))
    for w in result["warnings"]:
        p("warning: %s" % w)
    p("")
    p("figures: %s" % result["json_path"])
    if result.get("png_path"):
        p("plot:    %s" % result["png_path"])
    p("took %.0f s" % result["duration_seconds"])
    print("\n".join(out))
    sys.stdout.flush()


def gp_string(s):
    return '"%s"' % s.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def plot(result, png, tmpdir):
    configs = [c for c in result["options"]["configs"] if c in SENSORS]
    names = result["options"]["workloads"]
    data = os.path.join(tmpdir, "slowdown.dat")
    ymax, ymin = 1.0, 0.95
    with open(data, "w") as f:
        f.write("# workload budget " + " ".join(
            "%s_median %s_min %s_max" % (c, c, c) for c in SENSORS) + "\n")
        for name in names:
            row = ['"%s"' % name, "%.4f" % SLOWDOWN_BUDGET[name]]
            for c in SENSORS:
                r = result["slowdown"][name].get(c, {}).get("ratio") if c in configs else None
                if r:
                    row += ["%.6f" % r["median"], "%.6f" % r["min"], "%.6f" % r["max"]]
                    ymax = max(ymax, r["max"])
                    ymin = min(ymin, r["min"] - 0.02)
                else:
                    row += ["NaN", "NaN", "NaN"]
            f.write(" ".join(row) + "\n")
    m = result["machine"]
    title = ("sowatch %s: workload time with a sensor / without, median of %d interleaved "
             "rounds (bars: min-max)\n%s, %s" % (
                 result["sowatch_version"], result["options"]["rounds"],
                 machine_caption(m), result["date"][:10]))
    params = os.path.join(tmpdir, "params.gp")
    with open(params, "w") as f:
        f.write("datafile = %s\noutfile = %s\ntitle_text = %s\nnrows = %d\n"
                "ymin = %.4f\nymax = %.4f\n" % (
                    gp_string(data), gp_string(png), gp_string(title), len(names),
                    ymin, 1 + (ymax - 1) * 1.25 + 0.02))
    os.makedirs(os.path.dirname(os.path.abspath(png)), exist_ok=True)
    run_quiet(["gnuplot", params, PLOT_SCRIPT])


# --------------------------------------------------------------------------
# Main


def git_commit():
    try:
        return run_quiet(["git", "-C", REPO_ROOT, "rev-parse", "HEAD"], check=False).strip()
    except (OSError, subprocess.SubprocessError):
        return None


def parse_args(argv):
    ap = argparse.ArgumentParser(
        description="What sowatch costs a workload, against no sensor, auditd and "
                    "bpftrace (see the top of bench/run.py).")
    ap.add_argument("--quick", action="store_true",
                    help="a smoke run: 3 rounds of smaller workloads (about 2 minutes)")
    ap.add_argument("--rounds", type=int, help="rounds (default 12, 3 with --quick)")
    ap.add_argument("--configs", default=",".join(CONFIGS[:-1]),
                    help="comma-separated, from %s (none is always run)" % ",".join(CONFIGS))
    ap.add_argument("--workloads", default=",".join(WORKLOADS),
                    help="comma-separated, from %s" % ",".join(WORKLOADS))
    ap.add_argument("--no-latency", action="store_true", help="skip the latency phase")
    ap.add_argument("--no-ramp", action="store_true", help="skip the drop ramp")
    ap.add_argument("--no-fleet", action="store_true",
                    help="skip the fleet phase (NATS JetStream cluster and sowatch collect)")
    ap.add_argument("--no-delivery", action="store_true",
                    help="skip the webhook delivery phase")
    ap.add_argument("--no-profile", action="store_true",
                    help="skip the BPF program profile (kernel.bpf_stats_enabled)")
    ap.add_argument("--pin", type=int, metavar="CPU",
                    help="run every workload on this CPU only (taskset): the cost without "
                         "the scheduler moving work to an idle CPU")
    ap.add_argument("--busy-limit", type=float, default=0.3, metavar="CPUS",
                    help="run a workload's group again when other processes took more "
                         "than this share of a CPU during one of its runs (default 0.3)")
    ap.add_argument("--retries", type=int, default=2,
                    help="how many times a disturbed group is run again (default 2)")
    ap.add_argument("--seed", type=int, help="random order of configurations and workloads")
    ap.add_argument("--sowatch", default=os.path.join(BUILD, "sowatch"),
                    help="the sensor binary (default build/sowatch)")
    ap.add_argument("--baseline", metavar="BIN",
                    help="also run this sowatch binary (configuration 'baseline'), for a "
                         "before/after comparison in one run")
    ap.add_argument("--json", help="where the figures go (default build/bench.json, "
                                   "build/bench-quick.json with --quick)")
    ap.add_argument("--png", help="where the plot goes (default docs/bench.png, "
                                  "build/bench-quick.png with --quick)")
    ap.add_argument("--no-install", action="store_true",
                    help="do not install missing tools (auditd, bpftrace, gnuplot)")
    ap.add_argument("--strict", action="store_true",
                    help="exit 3 when a budget fails (default: print it, exit 0)")
    ap.add_argument("--keep", action="store_true", help="keep the scratch directory")
    args = ap.parse_args(argv)
    args.configs = [c for c in args.configs.split(",") if c]
    args.workloads = [w for w in args.workloads.split(",") if w]
    for c in args.configs:
        if c not in CONFIGS:
            ap.error("unknown configuration %r" % c)
    for w in args.workloads:
        if w not in WORKLOADS:
            ap.error("unknown workload %r" % w)
    if "none" not in args.configs:
        args.configs.insert(0, "none")
    if args.baseline and "baseline" not in args.configs:
        args.configs.append("baseline")
    if "baseline" in args.configs and not args.baseline:
        ap.error("the baseline configuration needs --baseline BIN")
    args.configs = [c for c in CONFIGS if c in args.configs]
    args.workloads = [w for w in WORKLOADS if w in args.workloads]
    sizes = dict(SIZES["quick" if args.quick else "full"])
    args.rounds = args.rounds or sizes["rounds"]
    if args.rounds < 1:
        ap.error("--rounds must be at least 1")
    args.sizes = sizes
    if args.seed is None:
        args.seed = int(time.time()) % 100000
    if args.json is None:
        args.json = os.path.join(BUILD, "bench-quick.json" if args.quick else "bench.json")
    if args.png is None:
        args.png = (os.path.join(BUILD, "bench-quick.png") if args.quick
                    else os.path.join(REPO_ROOT, "docs", "bench.png"))
    return args


def main(argv):
    args = parse_args(argv)
    if os.geteuid() != 0:
        log("run as root: sowatch, auditd and bpftrace load into the kernel")
        return 1
    if not os.path.exists("/sys/kernel/btf/vmlinux"):
        log("BPF unavailable: /sys/kernel/btf/vmlinux is missing")
        return 1
    if "sowatch" in args.configs and not os.access(args.sowatch, os.X_OK):
        log("%s is missing: run make first (make bench does)" % args.sowatch)
        return 1
    t_start = time.monotonic()
    tmpdir = tempfile.mkdtemp(prefix="sowatch-bench-")
    os.chmod(tmpdir, 0o755)
    ctx = Context(args, tmpdir)
    warnings = []
    try:
        ensure_tools(args.configs, not args.no_install)
        machine = machine_description()
        others = other_sensors()
        for o in others:
            warnings.append("%s (pid %d) was already running: every configuration, "
                            "the baseline too, paid for it" % (o["comm"], o["pid"]))
        fixtures = build_fixtures(os.path.join(BUILD, "bench"))
        workloads = Workloads(args.sizes, fixtures, tmpdir, args.pin)
        rng = random.Random(args.seed)
        log("%d rounds of %s x %s (seed %d); scratch %s" % (
            args.rounds, ",".join(args.configs), ",".join(args.workloads), args.seed, tmpdir))
        runs, sessions, discarded = run_rounds(ctx, workloads, args.configs, args.workloads,
                                               args.rounds, rng, args.busy_limit, args.retries)
        if discarded:
            warnings.append("%d groups of runs were run again: other processes were busy"
                            % len({(r["round"], r["workload"]) for r in discarded}))
        latency = ramp = None
        sow_sessions = [s for s in sessions if s["config"] == "sowatch"]
        if "sowatch" in args.configs and not args.no_latency:
            log("latency: %d module loads with sowatch running"
                % args.sizes["latency_loads"])
            latency = latency_phase(ctx, fixtures, args.sizes["latency_loads"])
            sow_sessions.append(dict(latency["session"], phase="latency"))
        delivery = None
        if "sowatch" in args.configs and not args.no_delivery:
            log("delivery: %d findings through the webhook output, %d rounds; then %d "
                "loads with the receiver hanging" % (
                    args.sizes["delivery_loads"], args.sizes["delivery_rounds"],
                    args.sizes["delivery_hang_loads"]))
            delivery = delivery_phase(ctx, fixtures, args.sizes["delivery_loads"],
                                      args.sizes["delivery_rounds"],
                                      args.sizes["delivery_hang_loads"])
            for r in delivery["rounds"]:
                sow_sessions.append(dict(r["session"], phase="delivery"))
            sow_sessions.append(dict(delivery["hanging_receiver"]["session"],
                                     phase="delivery-hang"))
        fleet = None
        if "sowatch" in args.configs and not args.no_fleet:
            log("fleet: %d findings through a 3-server NATS JetStream cluster to sowatch "
                "collect" % args.sizes["fleet_loads"])
            fleet = fleet_phase(ctx, fixtures, args.sizes["fleet_loads"])
            sow_sessions.append(dict(fleet["session"], phase="fleet"))
        if "sowatch" in args.configs and not args.no_ramp:
            log("ramp: spawn storm with %s workers" % ",".join(
                map(str, args.sizes["ramp_workers"])))
            ramp = ramp_phase(ctx, fixtures, args.sizes["ramp_workers"],
                              args.sizes["ramp_seconds"])
            sow_sessions.append(dict(ramp["session"], phase="ramp"))
            at_stop = ramp["session"].get("drops_at_stop")
            in_steps = sum(st["drops_logged"] for st in ramp["steps"])
            if at_stop is not None and at_stop != in_steps:
                warnings.append("ramp: sowatch's stop line says %d events dropped, its log "
                                "during the steps %d" % (at_stop, in_steps))

        profile = None
        if "sowatch" in args.configs and not args.no_profile:
            log("profile: sowatch's BPF programs, one run of each workload")
            profile = profile_phase(ctx, workloads, args.workloads)

        summary = summarize(runs, args.configs, args.workloads)
        result = {
            "version": 1,
            "date": datetime.datetime.now(datetime.timezone.utc).strftime(
                "%Y-%m-%dT%H:%M:%SZ"),
            "sowatch_version": open(os.path.join(REPO_ROOT, "VERSION")).read().strip(),
            "git_commit": git_commit(),
            "machine": machine,
            "other_sensors": others,
            "options": {"rounds": args.rounds, "quick": args.quick, "seed": args.seed,
                        "pin": args.pin, "busy_limit": args.busy_limit,
                        "retries": args.retries,
                        "configs": args.configs, "workloads": args.workloads,
                        "sizes": args.sizes},
            "workloads": {n: {"description": workloads.describe[n]}
                          for n in args.workloads},
            "shared_libraries": workloads.libs,
            "slowdown": summary,
            "latency": latency,
            "ramp": ramp,
            "delivery": delivery,
            "fleet": fleet,
            "profile": profile,
            "runs": runs,
            "discarded_runs": discarded,
            "sessions": sessions,
            "warnings": warnings,
            "json_path": os.path.relpath(args.json, os.getcwd()),
            "png_path": os.path.relpath(args.png, os.getcwd()),
        }
        peak = None
        if sow_sessions:
            # The memory budget is the default configuration's. A webhook or NATS output
            # loads libcurl or libnats and their dependencies (only then): reported apart.
            default = [s for s in sow_sessions if s.get("peak_rss_kib")
                       and not s.get("phase", "").startswith(("delivery", "fleet"))]
            webhook = [s for s in sow_sessions if s.get("peak_rss_kib")
                       and s.get("phase", "").startswith(("delivery", "fleet"))]
            top = max(default or webhook, key=lambda s: s["peak_rss_kib"])
            peak = top["peak_rss_kib"]
            top_webhook = max(webhook, key=lambda s: s["peak_rss_kib"]) if webhook else None
            cpu = sowatch_cpu(runs, sessions, args.workloads)
            result["sowatch"] = {
                "cpu": cpu,
                "peak_rss_kib": peak,
                "rss_at_stop_of_peak_session": top.get("rss_at_stop"),
                "peak_sessions": len(default or webhook),
                "peak_rss_kib_with_webhook":
                    top_webhook["peak_rss_kib"] if top_webhook else None,
                "rss_at_stop_of_peak_webhook_session":
                    top_webhook.get("rss_at_stop") if top_webhook else None,
                "webhook_sessions": len(webhook),
                "sessions": len(sow_sessions),
                "ready_seconds_median": statistics.median(
                    s["ready_seconds"] for s in sow_sessions),
                "drops_in_rounds": sum((s.get("drops_at_stop") or 0)
                                       for s in sessions if s["config"] == "sowatch"),
            }
            if result["sowatch"]["drops_in_rounds"]:
                warnings.append("sowatch dropped %d events during the rounds"
                                % result["sowatch"]["drops_in_rounds"])
        else:
            cpu = None
        others = [r["others_cpu_seconds"] / r["seconds"] for r in runs]
        result["others_cpu_share"] = {"median": statistics.median(others),
                                      "max": max(others)}
        if statistics.median(others) > 0.25:
            warnings.append("other processes used %.0f%% of a CPU during the median run: "
                            "the machine was busy" % (100 * statistics.median(others)))
        for s in sessions:
            if s["config"] in ("auditd", "bpftrace") and s.get("lost"):
                warnings.append("%s lost %d events in round %d" % (
                    s["config"], s["lost"], s["round"]))
        result["budgets"] = budgets(summary, args.configs, args.workloads, cpu, latency,
                                    ramp, peak, delivery, fleet)
        result["machine"]["loadavg_at_end"] = os.getloadavg()
        result["duration_seconds"] = time.monotonic() - t_start
        if len(args.configs) > 1:
            plot(result, args.png, tmpdir)
        else:
            result["png_path"] = None
        os.makedirs(os.path.dirname(os.path.abspath(args.json)), exist_ok=True)
        with open(args.json + ".tmp", "w") as f:
            json.dump(result, f, indent=1, sort_keys=True)
            f.write("\n")
        os.replace(args.json + ".tmp", args.json)
        print_table(result)
        failed = [b for b in result["budgets"] if not b["pass"]]
        return 3 if failed and args.strict else 0
    except BenchError as e:
        log("the bench broke: %s" % e)
        return 1
    finally:
        for cfg in list(reversed(ctx.active)):
            try:
                if isinstance(cfg, Auditd):
                    cfg.restore()
                elif getattr(cfg, "proc", None) is not None and cfg.proc.poll() is None:
                    cfg.proc.kill()
                    cfg.proc.wait()
            except Exception as e:  # cleanup must go on
                log("cleanup of %s: %s" % (cfg.name, e))
        if args.keep:
            log("keeping %s" % tmpdir)
        else:
            shutil.rmtree(tmpdir, ignore_errors=True)


def on_sigterm(signum, frame):
    raise KeyboardInterrupt


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, on_sigterm)
    try:
        sys.exit(main(sys.argv[1:]))
    except KeyboardInterrupt:
        log("interrupted")
        sys.exit(130)
