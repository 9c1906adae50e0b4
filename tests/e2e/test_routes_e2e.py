# SPDX-License-Identifier: Apache-2.0
"""End-to-end tests, one per route by which OpenSSL can be made to load code
(design §2), beyond the basic ones of test_openssl_e2e.py: each proves with
the module's marker that code ran, and asserts the finding a SIEM receives.
"""

import os
import re
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness  # noqa: E402
from harness import OPENSSL, for_process, read_marker, run_cmd  # noqa: E402
from harness import engine_conf  # noqa: E402

SENSOR = None
SKIP_REASON = None
CATEGORY = "Execution: Suspicious OpenSSL Shared Object Loaded"


def setUpModule():
    global SENSOR, SKIP_REASON
    SKIP_REASON = harness.require_environment()
    if SKIP_REASON:
        return
    harness.fixture_module()
    SENSOR = harness.Sensor().start()


def tearDownModule():
    global SENSOR
    if SENSOR is not None:
        s, SENSOR = SENSOR, None
        s.stop()



class Routes(unittest.TestCase):
    maxDiff = None

    def setUp(self):
        if SKIP_REASON:
            self.skipTest(SKIP_REASON)
        self.ws = harness.Workspace()
        self.addCleanup(self.ws.cleanup)

    def loads(self, argv, mod, env=None, cwd=None, layers=("effect",), binary=None):
        """Run argv; the module's code must run (or, in enforce mode, be stopped
        before it could), and the finding must say so."""
        marker = self.ws.marker()
        r = run_cmd(argv, env=env, marker=marker, cwd=cwd)
        harness.route_ran(self, marker, r)
        fd = SENSOR.wait_for(for_process(r.pid, mod))
        harness.route_enforced(self, SENSOR, fd)
        f = fd.f
        self.assertEqual(f.get("category"), CATEGORY)
        self.assertEqual(f.get("severity"), "CRITICAL")
        self.assertIs(fd.props.get("loaded"), True)
        self.assertEqual(fd.process.get("args"), list(argv))
        self.assertEqual(fd.process["libraries"][0]["path"], mod)
        self.assertEqual(fd.process["libraries"][0]["sha256"], harness.sha256_file(mod))
        for layer in layers:
            self.assertIn(layer, fd.props.get("detectionLayers") or [])
        if binary:
            self.assertEqual(fd.process["binary"]["path"], binary)
        return fd

    def test_engine_dynamic_pre_so_path(self):
        """No .so after -engine: the path hides in a ctrl of the dynamic engine."""
        mod = self.ws.module()
        fd = self.loads([OPENSSL, "engine", "dynamic", "-pre", "SO_PATH:" + mod,
                         "-pre", "LOAD"], mod, layers=("intent", "library", "effect"))
        self.assertEqual(fd.props.get("requestOrigin"), "-pre SO_PATH")

    def test_engine_name_through_openssl_engines(self):
        """A bare engine id, resolved in OPENSSL_ENGINES: no path in argv at all."""
        mod = self.ws.module()
        name = os.path.basename(mod)[:-3]
        fd = self.loads([OPENSSL, "engine", "-t", name], mod,
                        env={"OPENSSL_ENGINES": self.ws.dir},
                        layers=("intent", "library", "effect"))
        self.assertEqual(fd.props.get("requestedModule"), name)

    def test_engine_dynamic_dir_add_id_load(self):
        """-pre DIR_ADD + ID + DIR_LOAD + LOAD: a directory and a name, no file. The
        intent layer names the file the dynamic engine opens: <dir>/<ID>.so."""
        mod = self.ws.module()
        name = os.path.basename(mod)[:-3]
        fd = self.loads([OPENSSL, "engine", "dynamic", "-pre", "DIR_ADD:" + self.ws.dir,
                         "-pre", "ID:" + name, "-pre", "DIR_LOAD:2", "-pre", "LOAD"], mod,
                        layers=("intent", "library", "effect"))
        self.assertEqual(fd.props.get("requestOrigin"), "-pre DIR_ADD + ID")

    def test_symlink_named_engine(self):
        """A symlink called `engine`: comm and argv[0] say neither openssl nor -engine."""
        mod = self.ws.module()
        link = self.ws.path("engine")
        os.symlink(OPENSSL, link)
        self.loads([link, "-t", mod], mod, layers=("intent", "library", "effect"))

    def test_engine_key_uri(self):
        """org.openssl.engine:<engine>:<key> in a key argument."""
        mod = self.ws.module()
        self.loads([OPENSSL, "pkey", "-in", "org.openssl.engine:%s:k" % mod], mod,
                   layers=("intent", "library", "effect"))

    def test_engine_uri_in_storeutl(self):
        mod = self.ws.module()
        self.loads([OPENSSL, "storeutl", "org.openssl.engine:%s:k" % mod], mod,
                   layers=("intent", "library", "effect"))

    def test_provider_through_openssl_modules(self):
        """A bare provider name, resolved in OPENSSL_MODULES."""
        mod = self.ws.module()
        name = os.path.basename(mod)[:-3]
        fd = self.loads([OPENSSL, "list", "-provider", name, "-providers"], mod,
                        env={"OPENSSL_MODULES": self.ws.dir},
                        layers=("intent", "library", "effect"))
        self.assertEqual(fd.props.get("moduleKind"), "provider")

    def test_config_include(self):
        """OPENSSL_CONF names a harmless file that .includes the engine section."""
        mod = self.ws.module()
        inc = engine_conf(self.ws, mod)
        main = self.ws.write("main-%s.cnf" % harness.rand(), ".include %s\n" % inc)
        fd = self.loads([OPENSSL, "version"], mod, env={"OPENSSL_CONF": main},
                        layers=("intent", "library", "effect"))
        self.assertEqual(fd.props.get("requestOrigin"), "config dynamic_path")

    def test_config_option(self):
        """-config on the command line."""
        mod = self.ws.module()
        cnf = engine_conf(self.ws, mod)
        self.loads([OPENSSL, "req", "-config", cnf, "-new", "-x509", "-nodes",
                    "-subj", "/CN=x", "-keyout", self.ws.path("k"),
                    "-out", self.ws.path("c")], mod,
                   layers=("intent", "library", "effect"))

    def test_preloaded_into_openssl(self):
        """LD_PRELOAD: the dynamic loader maps the file into a known OpenSSL
        binary at start, outside any OpenSSL call. Every executable mapping of
        an OpenSSL binary counts (effect layer), and enforce mode judges it."""
        mod = self.ws.module()
        fd = self.loads([OPENSSL, "version"], mod, env={"LD_PRELOAD": mod})
        self.assertIn("effect", fd.props.get("detectionLayers"))

    def test_module_without_so_suffix(self):
        mod = self.ws.module(name="plainname-%s" % harness.rand())
        self.loads([OPENSSL, "engine", "-t", mod], mod,
                   layers=("intent", "library", "effect"))

    def test_child_after_fork(self):
        """A child of a process that never exec'd loads the module."""
        mod = self.ws.module()
        marker = self.ws.marker()
        r = run_cmd([harness.fixture_loader(), "fork", mod, "200"], marker=marker)
        if harness.ENFORCE:
            # The child was killed; its parent exits 1 for it.
            self.assertIsNone(read_marker(marker), "the module's constructor ran")
            fd = SENSOR.wait_for(lambda fd: fd.process.get("parentPid") == str(r.pid) and
                                 mod in fd.library_paths())
        else:
            self.assertEqual(r.returncode, 0, r.output)
            child = read_marker(marker)
            self.assertIsNotNone(child, "the module's constructor did not run")
            self.assertNotEqual(child, r.pid)
            fd = SENSOR.wait_for(for_process(child, mod))
        harness.route_enforced(self, SENSOR, fd)
        self.assertEqual(fd.process.get("parentPid"), str(r.pid))
        self.assertIn("effect", fd.props.get("detectionLayers") or [])

    def test_two_modules_in_one_process(self):
        mod1, mod2 = self.ws.module(stem="one"), self.ws.module(stem="two")
        r = run_cmd([OPENSSL, "engine", "-t", mod1, mod2])
        for mod in (mod1, mod2):
            fd = SENSOR.wait_for(for_process(r.pid, mod))
            if harness.ENFORCE and mod == mod2:
                # Killed at the first: the second was asked for, never loaded.
                self.assertIs(fd.props.get("loaded"), False, fd.raw[:3000])
                continue
            self.assertEqual(fd.f.get("severity"), "CRITICAL")
            harness.route_enforced(self, SENSOR, fd)
        ids = {fd.f["name"] for fd in SENSOR.findings() if fd.process.get("pid") == str(r.pid)}
        self.assertEqual(len(ids), 2)

    def test_argv_padded_past_the_capture_limit(self):
        """The module's path hides beyond the argv that is kept: library and effect
        still catch it, and the finding says the arguments were cut."""
        mod = self.ws.module()
        padding = ["pad%04d" % i for i in range(1500)]  # ~12 KB
        argv = [OPENSSL, "engine", "-t"] + padding + [mod]
        marker = self.ws.marker()
        r = run_cmd(argv, marker=marker)
        harness.route_ran(self, marker, r)
        fd = SENSOR.wait_for(for_process(r.pid, mod))
        harness.route_enforced(self, SENSOR, fd)
        self.assertIs(fd.process.get("argumentsTruncated"), True)
        self.assertNotIn(mod, fd.process.get("args"))
        for layer in ("library", "effect"):
            self.assertIn(layer, fd.props.get("detectionLayers") or [])

    def test_python_ssl_no_openssl_process(self):
        """Python's ssl loads the configuration: no openssl process at all. The
        environment names the configuration (intent); the library and effect
        layers see the load in any program."""
        mod = self.ws.module()
        cnf = engine_conf(self.ws, mod)
        self.loads(["/usr/bin/python3", "-c", "import ssl; ssl.create_default_context()"],
                   mod, env={"OPENSSL_CONF": cnf}, layers=("intent", "library", "effect"),
                   binary=os.path.realpath("/usr/bin/python3"))

    def test_curl_no_openssl_process(self):
        curl = "/usr/bin/curl"
        if not os.path.exists(curl):
            self.skipTest("curl is not installed")
        mod = self.ws.module()
        cnf = engine_conf(self.ws, mod)
        self.loads([curl, "--version"], mod, env={"OPENSSL_CONF": cnf},
                   layers=("intent", "library", "effect"), binary=curl)

    def test_other_program_not_loading_its_config(self):
        """OPENSSL_CONF in the environment of programs that never load
        OpenSSL's configuration (a shell, ls): nothing was loaded, so no
        finding, not even an attempt."""
        mod = self.ws.module()
        cnf = engine_conf(self.ws, mod)
        marker = self.ws.marker()
        pids = [run_cmd(argv, env={"OPENSSL_CONF": cnf}, marker=marker).pid
                for argv in (["/bin/ls", self.ws.dir], ["/bin/sh", "-c", "true"])]
        self.assertIsNone(read_marker(marker))
        harness.assert_no_findings(SENSOR, self.ws, pids=pids)

    def test_config_dynamic_dir_add_id_load(self):
        """The same ctrls in a configuration's engine section: DIR_ADD, ID, DIR_LOAD,
        LOAD = EMPTY. The intent layer follows them to <dir>/<ID>.so."""
        mod = self.ws.module()
        name = os.path.basename(mod)[:-3]
        cnf = self.ws.write("dyn-%s.cnf" % harness.rand(), (
            "openssl_conf = init\n"
            "[init]\n"
            "engines = eng\n"
            "[eng]\n"
            "e = esec\n"
            "[esec]\n"
            "engine_id = dynamic\n"
            "DIR_ADD = %s/\n"
            "ID = %s\n"
            "DIR_LOAD = 2\n"
            "LIST_ADD = 1\n"
            "LOAD = EMPTY\n") % (self.ws.dir, name))
        fd = self.loads([OPENSSL, "version"], mod, env={"OPENSSL_CONF": cnf},
                        layers=("intent", "library", "effect"))
        self.assertEqual(fd.props.get("requestOrigin"), "config DIR_ADD + ID")

    def test_edited_system_openssl_cnf(self):
        """The system's own openssl.cnf, edited: no OPENSSL_CONF, no -config, nothing
        in argv or the environment. The edit is a bind mount over the real file in a
        private mount namespace (the machine's file is never written). The sensor reads
        the configuration through /proc/PID/root, in the process's own mount namespace,
        so the intent layer sees the edited file, not the host's."""
        out = subprocess.run([OPENSSL, "version", "-d"], capture_output=True,
                             text=True, check=True).stdout
        confdir = out.split('"')[1]  # OPENSSLDIR: "/usr/lib/ssl"
        # On Debian /usr/lib/ssl/openssl.cnf is a symlink to /etc/ssl/openssl.cnf.
        real = os.path.realpath(os.path.join(confdir, "openssl.cnf"))
        before = harness.sha256_file(real)
        with open(real) as f:
            text = f.read()
        mod = self.ws.module()
        # Add an engines line to the section openssl_conf names, as an edit would.
        m = re.search(r"^\s*openssl_conf\s*=\s*(\S+)", text, re.M)
        if m:
            init = m.group(1)
        else:
            init = "sowatch_init"
            text = "openssl_conf = %s\n%s" % (init, text)
        edited = self.ws.write("openssl-%s.cnf" % harness.rand(), text + (
            "\n[%s]\n"
            "engines = sowatch_test_engines\n"
            "[sowatch_test_engines]\n"
            "e = sowatch_test_engine\n"
            "[sowatch_test_engine]\n"
            "dynamic_path = %s\n") % (init, mod))

        marker = self.ws.marker()
        # unshare execs sh, which execs openssl: one pid throughout. openssl gives up at
        # start (the module is no engine), so the module holds the process for a second:
        # its mount namespace must still be there when the sensor reads its configuration
        # (a process gone by then is seen by the library and effect layers only).
        r = run_cmd(["unshare", "-m", "--propagation", "private", "sh", "-c",
                     'mount --bind "$1" "$2" && exec "$3" dgst -sha256',
                     "sh", edited, real, OPENSSL], marker=marker,
                    env={"SOWATCH_TEST_HOLD_MS": "1000"})
        self.assertEqual(harness.sha256_file(real), before, "the real %s changed" % real)
        harness.route_ran(self, marker, r)
        fd = SENSOR.wait_for(for_process(r.pid, mod))
        harness.route_enforced(self, SENSOR, fd)
        self.assertEqual(fd.f.get("category"), CATEGORY)
        self.assertEqual(fd.f.get("severity"), "CRITICAL")
        self.assertIs(fd.props.get("loaded"), True)
        self.assertEqual(fd.process.get("args"), [OPENSSL, "dgst", "-sha256"])
        self.assertEqual(fd.process["libraries"][0]["path"], mod)
        self.assertEqual(fd.process["libraries"][0]["sha256"], harness.sha256_file(mod))
        for layer in ("intent", "library", "effect"):
            self.assertIn(layer, fd.props.get("detectionLayers") or [])
        self.assertEqual(fd.props.get("requestOrigin"), "config dynamic_path")

    def test_fipsinstall_loads_fips_so_beside_module(self):
        """`fipsinstall -module FILE` only reads FILE (to MAC it): what it loads is the
        provider "fips" from FILE's directory, <dir>/fips.so, named nowhere."""
        mod = self.ws.module(name="fips.so")
        data = self.ws.write("anything-%s" % harness.rand(), "not a module\n")
        fd = self.loads([OPENSSL, "fipsinstall", "-module", data,
                         "-out", self.ws.path("fips-%s.cnf" % harness.rand())], mod,
                        layers=("intent", "library", "effect"))
        self.assertEqual(fd.props.get("requestOrigin"), "fipsinstall -module")
        self.assertEqual(fd.props.get("moduleKind"), "provider")

    def test_engine_option_spellings(self):
        """-keygen_engine, --engine=VALUE, -ssl_client_engine: each loads the
        module as -engine does."""
        for stem, argv in (
                ("kg", ["req", "-new", "-newkey", "rsa:1024", "-keygen_engine", "./M",
                        "-nodes", "-subj", "/CN=x", "-keyout", "k", "-out", "r"]),
                ("eq", ["req", "--engine=./M", "-new", "-x509", "-nodes",
                        "-subj", "/CN=x", "-keyout", "k", "-out", "c"]),
                ("sc", ["s_client", "-ssl_client_engine", "./M",
                        "-connect", "127.0.0.1:1"])):
            with self.subTest(stem):
                mod = self.ws.module(stem=stem)
                name = os.path.basename(mod)
                full = [OPENSSL] + [a.replace("./M", "./" + name)
                                    if "./M" in a else a for a in argv]
                self.loads(full, mod, cwd=self.ws.dir,
                           layers=("intent", "library", "effect"))

    def test_config_include_dir_from_openssl_conf_include(self):
        """OPENSSL_CONF_INCLUDE: a relative .include is found in that
        directory, not beside the configuration."""
        mod = self.ws.module()
        inc = self.ws.path("inc-%s" % harness.rand())
        os.makedirs(inc)
        part = engine_conf(self.ws, mod, name="part")
        os.rename(part, os.path.join(inc, os.path.basename(part)))
        main = self.ws.write("main-%s.cnf" % harness.rand(),
                             ".include %s\n" % os.path.basename(part))
        self.loads([OPENSSL, "version"], mod,
                   env={"OPENSSL_CONF": main, "OPENSSL_CONF_INCLUDE": inc},
                   layers=("intent", "library", "effect"))

    def test_engine_option_name_through_ld_library_path(self):
        """-engine NAME that ENGINE_by_id does not find: the apps then try the dynamic
        engine's SO_PATH:NAME, i.e. dlopen("libNAME.so"), through LD_LIBRARY_PATH.
        (The `engine` command has no such fallback.)"""
        name = "e%s" % harness.rand()
        mod = self.ws.module(name="lib%s.so" % name)
        self.loads([OPENSSL, "req", "-engine", name, "-new", "-x509", "-nodes",
                    "-subj", "/CN=x", "-keyout", self.ws.path("k"),
                    "-out", self.ws.path("c")], mod,
                   env={"LD_LIBRARY_PATH": self.ws.dir}, layers=("library", "effect"))



def make_deep_dir(top, depth=70, name_len=60):
    """depth directories of name_len bytes below top: deeper than the kernel-side
    path walk goes (64 components) and longer than it keeps (about 4000 bytes),
    so also past PATH_MAX, hence made through directory fds. Returns the
    components, grouped so that each group is a relative path a shell can cd."""
    names = ["%02d" % i + "d" * (name_len - 2) for i in range(depth)]
    fd = os.open(top, os.O_RDONLY | os.O_DIRECTORY)
    try:
        for name in names:
            os.mkdir(name, 0o755, dir_fd=fd)
            sub = os.open(name, os.O_RDONLY | os.O_DIRECTORY, dir_fd=fd)
            os.close(fd)
            fd = sub
    finally:
        os.close(fd)
    return ["/".join(names[i:i + 10]) for i in range(0, depth, 10)]


def copy_into_deep(top, groups, src, name):
    """Copy src as `name` into the deepest directory of make_deep_dir()."""
    fd = os.open(top, os.O_RDONLY | os.O_DIRECTORY)
    try:
        for group in groups:
            sub = os.open(group, os.O_RDONLY | os.O_DIRECTORY, dir_fd=fd)
            os.close(fd)
            fd = sub
        with open(src, "rb") as f:
            data = f.read()
        out = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o755, dir_fd=fd)
        try:
            os.write(out, data)
        finally:
            os.close(out)
    finally:
        os.close(fd)


class TruncatedPaths(unittest.TestCase):
    """A path too deep or too long for the kernel-side walk loses its root-most
    part: the finding says so and shows it marked (README, Reading a finding)."""

    def setUp(self):
        if SKIP_REASON:
            self.skipTest(SKIP_REASON)
        self.ws = harness.Workspace()
        self.addCleanup(self.ws.cleanup)
        self.groups = make_deep_dir(self.ws.dir)

    def run_deep(self, program, module_name):
        """`program engine -t /proc/self/cwd/module_name` with the deepest
        directory as cwd, reached by steps: no single path to it fits in
        PATH_MAX, and `openssl engine` wants an absolute path (a relative one
        is looked for in ENGINESDIR)."""
        marker = self.ws.marker()
        # chdir() to each relative group in turn (a shell's cd may rebuild an
        # absolute path), then exec: the pid stays the same.
        script = ("import os, sys\n"
                  "for d in sys.argv[3:]:\n"
                  "    os.chdir(d)\n"
                  "os.execv(sys.argv[1], [sys.argv[1], 'engine', '-t',\n"
                  "                       '/proc/self/cwd/' + sys.argv[2]])\n")
        r = run_cmd([sys.executable, "-c", script, program, module_name] + self.groups,
                    marker=marker, cwd=self.ws.dir)
        harness.route_ran(self, marker, r)
        return r

    def assert_marked(self, path, name):
        self.assertTrue(path.startswith(".../"), path)
        self.assertTrue(path.endswith("/" + name), path)
        self.assertIn("/" + self.groups[-1].split("/")[-1] + "/", path)

    def test_module_path_truncated(self):
        name = "m-%s.so" % harness.rand()
        copy_into_deep(self.ws.dir, self.groups, harness.fixture_module(), name)
        r = self.run_deep(OPENSSL, name)
        fd = SENSOR.wait_for(
            lambda fd: fd.pid == str(r.pid) and
            any(p.endswith("/" + name) for p in fd.library_paths()))
        harness.route_enforced(self, SENSOR, fd)
        self.assertEqual(fd.f.get("severity"), "CRITICAL")
        self.assertIs(fd.props.get("loaded"), True)
        self.assertIs(fd.props.get("modulePathTruncated"), True)
        self.assert_marked(fd.props["modulePath"], name)
        self.assertEqual(fd.process["libraries"][0]["path"], fd.props["modulePath"])
        self.assertEqual(fd.process["binary"]["path"], OPENSSL)

    def test_binary_path_truncated(self):
        name = "m-%s.so" % harness.rand()
        copy_into_deep(self.ws.dir, self.groups, harness.fixture_module(), name)
        copy_into_deep(self.ws.dir, self.groups, OPENSSL, "openssl")
        r = self.run_deep("./openssl", name)
        fd = SENSOR.wait_for(
            lambda fd: fd.pid == str(r.pid) and
            any(p.endswith("/" + name) for p in fd.library_paths()))
        harness.route_enforced(self, SENSOR, fd)
        self.assertIs(fd.props.get("modulePathTruncated"), True)
        self.assert_marked(fd.process["binary"]["path"], "openssl")


if __name__ == "__main__":
    unittest.main()
