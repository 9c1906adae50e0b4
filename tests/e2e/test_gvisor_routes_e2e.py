# SPDX-License-Identifier: Apache-2.0
"""End-to-end tests: the load routes of test_routes_e2e.py and
test_openssl_e2e.py (design §2), each run inside a real gVisor sandbox and
seen by the gVisor source.

Run as root with Debian's Python:
    /usr/bin/python3 tests/e2e/run.py -p test_gvisor_routes_e2e.py
    tests/run -k GVisorRoutes

The sensor and the sandboxes are those of test_gvisor_e2e.py (one sensor
`sowatch run --source gvisor`, every sandbox started with its
--pod-init-config): this module starts and stops that module's sensor and
reuses its helpers. Each test proves with the module's marker that the
module's code ran in the sandbox, and picks out its findings by the unique
module path and the sandbox's container id.

What gVisor shows is not what eBPF shows:
  * no library layer: gVisor has no uprobes, nothing sees libcrypto's
    DSO_load(). A finding is made of the intent layer (the exec's argv and
    environment, and the configuration files they name) and the effect
    layer (gVisor's mmap of a file it saw opened).
  * files are named by the path they were opened with, and hashed through
    that path on the host (the sandboxes here share the host's root): a
    deleted file or a memfd cannot be hashed.
  * argv is sent whole, not cut at 8 KB; but a point bigger than the
    socket's buffer is dropped by the sandbox (counted, not sent).

Skipped only when runsc is not installed or when not root (like every e2e
test); never when CI is set (then the module fails instead).
"""

import json
import os
import shlex
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness  # noqa: E402
import sandbox  # noqa: E402
import test_gvisor_e2e as gv  # noqa: E402
from harness import OPENSSL, read_marker, sha256_file  # noqa: E402
from harness import engine_conf  # noqa: E402

PYTHON = "/usr/bin/python3"
CURL = "/usr/bin/curl"
ARG_CHUNK = 100 * 1024  # under Linux's 128 KB limit for one argument


def setUpModule():
    gv.setUpModule()


def tearDownModule():
    gv.tearDownModule()



def in_container(container_id):
    """Predicate: a finding naming the container (a sandbox runs only the
    test's own commands)."""

    def pred(fd):
        return container_id in gv.container_ids(fd)
    pred.description = "container %s" % container_id
    return pred


def socket_buffer():
    """The default send buffer of a socket: a gVisor point bigger than this
    cannot be sent to the sensor."""
    try:
        with open("/proc/sys/net/core/wmem_default") as f:
            return int(f.read())
    except (OSError, ValueError):
        return 212992


class GVisorRoutes(gv.GVisorTest):
    """One test per load route, inside a sandbox."""

    # -- helpers

    def finding(self, r, module=None):
        """The finding about module (or any) in the sandbox r. In enforce mode
        (harness.ENFORCE) the module was loaded all the same, and a finding
        from its mapping says why it could not be stopped."""
        pred = gv.for_sandbox(r.container_id, module) if module \
            else in_container(r.container_id)
        fd = gv.SENSOR.wait_for(pred, timeout=gv.FINDING_TIMEOUT)
        if harness.ENFORCE and "effect" in (fd.props.get("detectionLayers") or []):
            self.assertRegex(fd.props.get("enforcement", ""),
                             r"^not possible: a gVisor sandbox", fd.raw[:3000])
        return fd

    def container_findings(self, r):
        """Every finding about the sandbox r: a canary in a later sandbox
        proves that the sensor has handled all of r's points."""
        c, _ = gv.sandbox_canary(self.ws)
        return [fd for fd in gv.SENSOR.findings()[:c.index]
                if r.container_id in gv.container_ids(fd)]

    def assertLayers(self, fd, layers, optional=()):
        """The layers gVisor can see fired (and maybe optional ones): never
        the library."""
        got = fd.props.get("detectionLayers") or []
        self.assertEqual(sorted(set(got) - set(optional)),
                         sorted(set(layers) - set(optional)), fd.raw[:3000])
        self.assertNotIn("library", got)

    def assertModuleFile(self, fd, mod, path=None):
        lib = (fd.process.get("libraries") or [{}])[0]
        self.assertEqual(lib.get("path"), path or mod)
        self.assertEqual(lib.get("sha256"), sha256_file(mod))
        self.assertEqual(lib.get("size"), str(os.path.getsize(mod)))

    def assertOnlyLoads(self, r, mods):
        """The module was loaded: no finding about the sandbox may say it
        was not, and no file the findings name may have another module's
        (or another file's) content."""
        sums = {sha256_file(m) for m in mods}
        bad = []
        for fd in self.container_findings(r):
            libs = fd.process.get("libraries") or []
            other = [lib for lib in libs
                     if lib.get("sha256") not in (None,) + tuple(sums)]
            if fd.props.get("loaded") is not True or other:
                bad.append("%s layers=%s libraries=%s\n%s" % (
                    fd.short(), fd.props.get("detectionLayers"),
                    json.dumps(libs), fd.raw[:2000]))
        if bad:
            self.fail("findings that contradict the load:\n"
                      + "\n".join(bad))

    def loads(self, argv, mod, env=None, cwd=None, layers=("intent", "effect"),
              optional=(), binary=OPENSSL, run_argv=None):
        """Run argv (or run_argv, which execs argv) in a sandbox: the
        module's code must run there, and the finding must say so."""
        marker = self.ws.marker()
        r, pid = self.run_sandboxed(run_argv or argv, marker, env=env, cwd=cwd)
        self.assertRegex(r.container_id, sandbox.DO_CID)
        fd = self.finding(r, module=mod)
        self.assertSandboxFinding(fd, r, mod, argv, pid=pid, binary=binary)
        self.assertIs(fd.props.get("loaded"), True)
        self.assertModuleFile(fd, mod)
        self.assertEqual(fd.props.get("modulePath"), mod)
        self.assertIs(fd.process.get("argumentsTruncated"), False)
        self.assertLayers(fd, layers, optional)
        self.assertOnlyLoads(r, [mod])
        return fd, r, pid

    def not_seen(self, r, mod):
        """For routes the gVisor source cannot tell from a program's own
        libraries: the sensor is alive and caught up (a canary), and has
        nothing about the sandbox."""
        self.assertNoSandboxFindings([r], names=[os.path.basename(mod)])

    # -- engine routes

    def test_engine_dynamic_pre_so_path(self):
        """No .so after -engine: the path hides in a ctrl of the dynamic
        engine; the intent layer reads it from argv."""
        mod = self.ws.module()
        fd, _, _ = self.loads(["openssl", "engine", "dynamic",
                               "-pre", "SO_PATH:" + mod, "-pre", "LOAD"], mod)
        self.assertEqual(fd.props.get("requestOrigin"), "-pre SO_PATH")

    def test_engine_name_through_openssl_engines(self):
        """A bare engine id, resolved in OPENSSL_ENGINES (sent by gVisor with
        the container's environment): no path in argv at all."""
        mod = self.ws.module()
        name = os.path.basename(mod)[:-3]
        fd, _, _ = self.loads(["openssl", "engine", "-t", name], mod,
                              env={"OPENSSL_ENGINES": self.ws.dir})
        self.assertEqual(fd.props.get("requestedModule"), name)
        self.assertIn({"name": "OPENSSL_ENGINES", "val": self.ws.dir},
                      fd.process.get("envVariables") or [])

    def test_engine_dynamic_dir_add_id_load(self):
        """-pre DIR_ADD + ID + DIR_LOAD + LOAD: a directory and a name, no
        file. The effect layer (the mapping) must see it; the intent layer
        may, where it resolves the dynamic engine's directory and id."""
        mod = self.ws.module()
        name = os.path.basename(mod)[:-3]
        self.loads(["openssl", "engine", "dynamic",
                    "-pre", "DIR_ADD:" + self.ws.dir, "-pre", "ID:" + name,
                    "-pre", "DIR_LOAD:2", "-pre", "LOAD"], mod,
                   layers=("effect",), optional=("intent",))

    def test_symlink_named_engine(self):
        """A symlink called `engine` is the sandbox's first process: comm and
        argv[0] say neither openssl nor -engine. gVisor's container/start
        names the binary by the path it was started with (not resolved);
        the binary is known by its content."""
        mod = self.ws.module()
        link = self.ws.path("engine")
        os.symlink(OPENSSL, link)
        fd, _, _ = self.loads([link, "-t", mod], mod, binary=link)
        self.assertEqual(fd.process.get("name"), "engine")
        self.assertEqual(fd.process["binary"].get("sha256"),
                         sha256_file(OPENSSL))

    def test_symlink_named_engine_exec_by_a_shell(self):
        """The same link exec'd inside the sandbox: gVisor's sentry/execve
        names the file the link resolves to."""
        mod = self.ws.module()
        link = self.ws.path("engine")
        os.symlink(OPENSSL, link)
        argv = [link, "-t", mod]
        fd, _, pid = self.loads(
            argv, mod,
            run_argv=["/bin/sh", "-c", "%s; exit 0" % shlex.join(argv)])
        self.assertNotEqual(pid, 1, "openssl should not be the first process")
        self.assertEqual(fd.process.get("parentPid"), "1")
        self.assertEqual(fd.process["binary"].get("sha256"),
                         sha256_file(OPENSSL))

    def test_engine_key_uri(self):
        """org.openssl.engine:<engine>:<key> in a key argument."""
        mod = self.ws.module()
        self.loads(["openssl", "pkey", "-in",
                    "org.openssl.engine:%s:k" % mod], mod)

    def test_engine_uri_in_storeutl(self):
        mod = self.ws.module()
        self.loads(["openssl", "storeutl", "org.openssl.engine:%s:k" % mod],
                   mod)

    def test_module_without_so_suffix(self):
        mod = self.ws.module(name="plainname-%s" % harness.rand())
        self.loads(["openssl", "engine", "-t", mod], mod)

    # -- provider routes

    def test_provider_path(self):
        """-provider-path DIR -provider NAME."""
        mod = self.ws.module()
        name = os.path.basename(mod)[:-len(".so")]
        fd, _, _ = self.loads(["openssl", "list", "-providers",
                               "-provider-path", self.ws.dir,
                               "-provider", name], mod)
        self.assertEqual(fd.props.get("moduleKind"), "provider")

    def test_provider_through_openssl_modules(self):
        """A bare provider name, resolved in OPENSSL_MODULES."""
        mod = self.ws.module()
        name = os.path.basename(mod)[:-3]
        fd, _, _ = self.loads(["openssl", "list", "-provider", name,
                               "-providers"], mod,
                              env={"OPENSSL_MODULES": self.ws.dir})
        self.assertEqual(fd.props.get("moduleKind"), "provider")

    # -- configuration routes

    def test_config_include(self):
        """OPENSSL_CONF names a harmless file that .includes the engine
        section: the intent layer follows the include (read through the
        sandbox's root as the host sees it)."""
        mod = self.ws.module()
        inc = engine_conf(self.ws, mod)
        main = self.ws.write("main-%s.cnf" % harness.rand(),
                             ".include %s\n" % inc)
        fd, _, _ = self.loads(["openssl", "version"], mod,
                              env={"OPENSSL_CONF": main})
        self.assertEqual(fd.props.get("requestOrigin"),
                         "config dynamic_path")

    def test_config_option(self):
        """-config on the command line."""
        mod = self.ws.module()
        cnf = engine_conf(self.ws, mod)
        self.loads(["openssl", "req", "-config", cnf, "-new", "-x509",
                    "-nodes", "-subj", "/CN=x",
                    "-keyout", self.ws.path("k"), "-out", self.ws.path("c")],
                   mod)

    def test_edited_system_openssl_cnf(self):
        """The system openssl.cnf, replaced inside the sandbox (a bind mount
        over it, in the sandbox's own mount table): argv is only `openssl
        version`. The effect layer sees the module mapped; the intent layer
        reads configuration files where the host sees them, so it may not."""
        mod = self.ws.module()
        real = os.path.realpath("/etc/ssl/openssl.cnf")
        with open(real) as f:
            text = f.read()
        edited = self.ws.write("system-%s.cnf" % harness.rand(), text.replace(
            "[openssl_init]\n",
            "[openssl_init]\nengines = eng_sect\n", 1) + (
            "\n[eng_sect]\ne = esec\n[esec]\ndynamic_path = %s\n" % mod))
        argv = ["openssl", "version"]
        run_argv = ["/bin/sh", "-c", 'mount --bind "$1" "$2" && exec openssl version',
                    "sh", edited, real]
        self.loads(argv, mod, run_argv=run_argv, layers=("effect",),
                   optional=("intent",))

    def test_engine_option_spellings(self):
        """-keygen_engine, --engine=VALUE, -ssl_client_engine."""
        for stem, argv in (
                ("kg", ["openssl", "req", "-new", "-newkey", "rsa:1024",
                        "-keygen_engine", "./M", "-nodes", "-subj", "/CN=x",
                        "-keyout", "k", "-out", "r"]),
                ("eq", ["openssl", "req", "--engine=./M", "-new", "-x509",
                        "-nodes", "-subj", "/CN=x", "-keyout", "k", "-out", "c"]),
                ("sc", ["openssl", "s_client", "-ssl_client_engine", "./M",
                        "-connect", "127.0.0.1:1"])):
            with self.subTest(stem):
                mod = self.ws.module(stem=stem)
                name = "./" + os.path.basename(mod)
                self.loads([a.replace("./M", name) for a in argv], mod,
                           cwd=self.ws.dir)

    def test_config_include_dir_from_openssl_conf_include(self):
        """OPENSSL_CONF_INCLUDE names where a relative .include is found."""
        mod = self.ws.module()
        inc = self.ws.path("inc-%s" % harness.rand())
        os.makedirs(inc)
        part = engine_conf(self.ws, mod, name="part")
        os.rename(part, os.path.join(inc, os.path.basename(part)))
        main = self.ws.write("main-%s.cnf" % harness.rand(),
                             ".include %s\n" % os.path.basename(part))
        self.loads(["openssl", "version"], mod,
                   env={"OPENSSL_CONF": main, "OPENSSL_CONF_INCLUDE": inc})

    def test_fipsinstall_loads_fips_so_beside_module(self):
        """`fipsinstall -module FILE` reads FILE and loads fips.so from FILE's
        directory."""
        mod = self.ws.module(name="fips.so")
        data = self.ws.write("anything-%s" % harness.rand(), "not a module\n")
        fd, _, _ = self.loads(
            ["openssl", "fipsinstall", "-module", data,
             "-out", self.ws.path("fips-%s.cnf" % harness.rand())], mod)
        self.assertEqual(fd.props.get("requestOrigin"), "fipsinstall -module")

    def test_engine_option_name_through_ld_library_path(self):
        """-engine NAME, found as libNAME.so through LD_LIBRARY_PATH: the
        effect layer sees it (the intent layer does not search
        LD_LIBRARY_PATH)."""
        name = "e%s" % harness.rand()
        mod = self.ws.module(name="lib%s.so" % name)
        self.loads(["openssl", "req", "-engine", name, "-new", "-x509",
                    "-nodes", "-subj", "/CN=x", "-keyout", self.ws.path("k"),
                    "-out", self.ws.path("c")], mod,
                   env={"LD_LIBRARY_PATH": self.ws.dir}, layers=("effect",))

    def test_run_through_the_dynamic_loader(self):
        """`ld.so /usr/bin/openssl ...`: the program is the loader; the
        intent layer reads openssl's own arguments."""
        mod = self.ws.module()
        ldso = os.path.realpath("/lib64/ld-linux-x86-64.so.2")
        argv = [ldso, OPENSSL, "engine", "-t", mod]
        fd, _, _ = self.loads(argv, mod, binary=ldso)
        self.assertEqual(fd.props.get("requestedModule"), mod)

    # -- many modules, long command lines

    def test_two_modules_in_one_process(self):
        mod1, mod2 = self.ws.module(stem="one"), self.ws.module(stem="two")
        argv = ["openssl", "engine", "-t", mod1, mod2]
        marker = self.ws.marker()
        r, pid = self.run_sandboxed(argv, marker)
        ids = set()
        for mod in (mod1, mod2):
            fd = self.finding(r, module=mod)
            self.assertSandboxFinding(fd, r, mod, argv, pid=pid)
            self.assertIs(fd.props.get("loaded"), True)
            self.assertModuleFile(fd, mod)
            self.assertLayers(fd, ("intent", "effect"))
            ids.add(fd.f["name"])
        self.assertEqual(len(ids), 2)
        self.assertOnlyLoads(r, [mod1, mod2])

    def test_argv_padded_past_the_ebpf_capture_limit(self):
        """The padding that pushes the module's path past the eBPF source's
        8 KB of argv (test_routes_e2e) does not hide it here: gVisor sends
        the whole argv, so the arguments are not cut and the intent layer
        reads the path."""
        mod = self.ws.module()
        padding = ["pad%04d" % i for i in range(1500)]  # ~12 KB
        argv = ["openssl", "engine", "-t"] + padding + [mod]
        fd, _, _ = self.loads(argv, mod)
        self.assertEqual(fd.process["args"][-1], mod)

    def test_argv_padded_past_the_socket_buffer(self):
        """gVisor's own capture limit: a point bigger than the send buffer of
        the sink's socket (net.core.wmem_default) is not sent, only counted
        in the next message's header. Padding argv past it drops the
        container/start point of the sandbox's openssl. The sensor then
        knows nothing of the process and watches it as it would OpenSSL:
        the module's mapping is reported (effect layer; no binary, no args),
        and the finding carries the drop in eventDrops."""
        mod = self.ws.module()
        chunks = socket_buffer() // ARG_CHUNK + 1
        padding = [c * ARG_CHUNK for c in "XYZWVUTSRQPONMLK"[:chunks]]
        argv = ["openssl", "engine", "-t"] + padding + [mod]
        marker = self.ws.marker()
        r, _ = self.run_sandboxed(argv, marker)
        self.assertIsNotNone(read_marker(marker), r.output)
        fd = self.finding(r, module=mod)
        self.assertIs(fd.props.get("loaded"), True)
        self.assertModuleFile(fd, mod)
        self.assertEqual(fd.props.get("detectionLayers"), ["effect"])
        self.assertGreater(int(fd.props.get("eventDrops", "0")), 0,
                           gv.SENSOR.log_tail())

    # -- programs that are not openssl

    def test_python_ssl_no_openssl_process(self):
        """Python's ssl loads the configuration: no openssl process at all.
        gVisor sends everything needed: OPENSSL_CONF in the environment
        (intent: the configuration names the module), and the open and the
        executable mmap of the module (effect)."""
        mod = self.ws.module()
        cnf = engine_conf(self.ws, mod)
        marker = self.ws.marker()
        argv = [PYTHON, "-c", "import ssl; ssl.create_default_context()"]
        r, pid = self.run_sandboxed(argv, marker, env={"OPENSSL_CONF": cnf})
        self.assertEqual(r.returncode, 0, r.output)
        self.assertEffectFinding(r, pid, mod, argv, PYTHON)

    def test_curl_no_openssl_process(self):
        self.assertTrue(os.path.exists(CURL), "curl is not installed")
        mod = self.ws.module()
        cnf = engine_conf(self.ws, mod)
        marker = self.ws.marker()
        argv = [CURL, "--version"]
        r, pid = self.run_sandboxed(argv, marker, env={"OPENSSL_CONF": cnf})
        self.assertEqual(r.returncode, 0, r.output)
        self.assertEffectFinding(r, pid, mod, argv, CURL)

    def assertEffectFinding(self, r, pid, mod, argv, binary):
        fd = self.finding(r, module=mod)
        self.assertSandboxFinding(fd, r, mod, argv, pid=pid, binary=binary)
        self.assertIs(fd.props.get("loaded"), True)
        self.assertModuleFile(fd, mod)
        self.assertLayers(fd, ("intent", "effect"))
        self.assertOnlyLoads(r, [mod])

    def test_child_after_fork(self):
        """A child of a process that never exec'd loads the module through
        libcrypto's DSO_load() (the loader fixture's fork form).

        Not seen by the gVisor source: the loader is not openssl and names
        no module in argv or environment; without the library layer (no
        uprobe on DSO_load() in gVisor) the child's open + mmap of the
        module cannot be told from any program dlopen()ing a library of
        its own (the loader's `dlopen` form, which must not be a finding).
        Asserted: the module ran in the child, and nothing is reported."""
        mod = self.ws.module()
        marker = self.ws.marker()
        r = sandbox.run_in_sandbox([harness.fixture_loader(), "fork", mod,
                                    "200"], gv.POD_CONFIG, marker=marker,
                                   files=[self.ws.dir])
        self.assertEqual(r.returncode, 0, r.output)
        child = read_marker(marker)
        self.assertIsNotNone(child, "the module's constructor did not run:"
                             "\n" + r.output)
        self.assertNotEqual(child, 1, "the module ran in the parent")
        self.not_seen(r, mod)

    # -- module path forms

    def run_loader(self, form):
        """The loader fixture (not openssl) loads the module through
        libcrypto's DSO_load() from a plain path, a deleted file or a
        memfd (/proc/self/fd/N). Not seen by the gVisor source, for the
        reason given in test_child_after_fork; see the openssl_* tests
        below for the same file forms loaded by openssl."""
        mod = self.ws.module()
        marker = self.ws.marker()
        r, pid = self.run_sandboxed([harness.fixture_loader(), form, mod,
                                     "300"], marker)
        self.assertEqual(r.returncode, 0, r.output)
        self.assertEqual(pid, 1)
        self.not_seen(r, mod)

    def test_loader_plain_path(self):
        """Not seen by the gVisor source: see run_loader()."""
        self.run_loader("path")

    def test_loader_deleted_file(self):
        """Not seen by the gVisor source: see run_loader()."""
        self.run_loader("deleted")

    def test_loader_memfd(self):
        """Not seen by the gVisor source: see run_loader()."""
        self.run_loader("memfd")

    def openssl_through_fd(self, script, mod, *args):
        """A shell or python script opens the module (or a copy) on an fd
        that survives exec, then execs `openssl engine -t /proc/self/fd/N`:
        gVisor's open and mmap points name the file."""
        marker = self.ws.marker()
        r, pid = self.run_sandboxed(list(script) + list(args), marker)
        fd = self.finding(r)
        p = fd.process
        self.assertEqual(fd.f.get("category"), gv.CATEGORY)
        self.assertEqual(fd.f.get("severity"), "CRITICAL", fd.raw[:3000])
        self.assertEqual(fd.props.get("sensor"), "gvisor")
        self.assertIn(r.container_id, gv.container_ids(fd))
        self.assertEqual(p.get("pid"), str(pid))
        self.assertEqual(p.get("args")[:3], ["openssl", "engine", "-t"])
        self.assertRegex(p["args"][3], r"^/proc/self/fd/\d+$")
        self.assertEqual(len(p["args"]), 4)
        self.assertEqual((p.get("binary") or {}).get("path"), OPENSSL)
        self.assertIs(fd.props.get("loaded"), True)
        layers = fd.props.get("detectionLayers") or []
        self.assertIn("effect", layers)
        self.assertNotIn("library", layers)
        lib = (p.get("libraries") or [{}])[0]
        # Hashed only while the file can still be read on the host.
        self.assertIn(lib.get("sha256"), (None, sha256_file(mod)))
        self.assertOnlyLoads(r, [mod])
        return fd, lib

    def test_openssl_proc_self_fd(self):
        """/proc/self/fd/N of a file the shell opened: the module, named by
        the path it was opened with, and hashed."""
        mod = self.ws.module()
        fd, lib = self.openssl_through_fd(
            ["/bin/sh", "-c",
             'exec 7<"$1" && exec openssl engine -t /proc/self/fd/7', "sh"],
            mod, mod)
        self.assertModuleFile(fd, mod)

    def test_openssl_deleted_file(self):
        """A copy, opened and deleted before openssl loads it through
        /proc/self/fd/N: named by the path it had (gVisor's points do not
        say it was deleted: no unlink point is enabled); gone, it cannot be
        hashed on the host."""
        mod = self.ws.module()
        copy = self.ws.path("gone-%s.so" % harness.rand())
        fd, lib = self.openssl_through_fd(
            ["/bin/sh", "-c",
             'cp "$1" "$2" && exec 7<"$2" && rm -f "$2" && '
             'exec openssl engine -t /proc/self/fd/7', "sh"],
            mod, mod, copy)
        self.assertFalse(os.path.exists(copy))
        self.assertEqual(lib.get("path"), copy)

    def test_openssl_memfd(self):
        """A memfd (made by python, inherited across exec): gVisor sends the
        memfd_create() but not its name (raw syscall arguments only), and
        the host cannot read it."""
        mod = self.ws.module()
        script = (
            "import os, sys\n"
            "fd = os.memfd_create('sowatch-gv', 0)\n"
            "os.write(fd, open(sys.argv[1], 'rb').read())\n"
            "os.execv('%s', ['openssl', 'engine', '-t',"
            " '/proc/self/fd/%%d' %% fd])\n" % OPENSSL)
        fd, lib = self.openssl_through_fd([PYTHON, "-c", script], mod, mod)
        self.assertIs(fd.props.get("moduleMemfd"), True)
        self.assertTrue(lib.get("path", "").startswith("/memfd:"), lib)


if __name__ == "__main__":
    unittest.main()
