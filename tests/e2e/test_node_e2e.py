# SPDX-License-Identifier: Apache-2.0
"""End-to-end tests of OpenSSL linked into a program: Node.js.

The node on these machines (the official build, as nodesource ships it)
carries OpenSSL 3 in its own executable and exports DSO_load from it. There
is no libcrypto file to probe: the sensor finds DSO_load among the
executable's symbols (the host's bin directories at start, any other
program the first time it runs) and probes it there. Each test proves that
the module's constructor ran (its marker holds node's pid) and that the
finding came, naming node and the module.
"""

import hashlib
import os
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import container  # noqa: E402
import harness  # noqa: E402
from harness import engine_conf, for_process, run_cmd  # noqa: E402

NODE = "/usr/bin/node"
SENSOR = None
SKIP_REASON = None

# crypto.setEngine(path) loads the file through OpenSSL's dynamic engine.
# The fixture is no engine, so the call throws once the constructor has run.
SET_ENGINE = ("try { require('crypto').setEngine(process.argv[1]); }"
              " catch (e) { console.log('setEngine: ' + e.message); }")


def node_provider_conf(ws, mod, stem):
    """A configuration in workspace ws whose nodejs_conf section (node's own,
    not openssl_conf) activates mod as a provider."""
    return ws.write("%s-%s.cnf" % (stem, harness.rand()), (
        "nodejs_conf = node_init\n"
        "[node_init]\n"
        "providers = provs\n"
        "[provs]\n"
        "evil = evil_sect\n"
        "[evil_sect]\n"
        "module = %s\n"
        "activate = 1\n") % mod)


def setUpModule():
    global SENSOR, SKIP_REASON
    SKIP_REASON = harness.require_environment() or container.runc_available()
    if SKIP_REASON and harness.in_ci():
        raise RuntimeError("CI must run these tests: " + SKIP_REASON)
    if SKIP_REASON:
        return
    if not os.path.exists(NODE):
        # Not a reason to skip: the machines this runs on have node.
        raise RuntimeError("%s is missing: install nodejs" % NODE)
    syms = subprocess.run(["nm", "-D", "--defined-only", NODE], stdout=subprocess.PIPE,
                          check=True).stdout.decode()
    if " DSO_load" not in syms:
        raise RuntimeError("%s does not carry OpenSSL (no DSO_load among its symbols): these "
                           "tests want a node built with OpenSSL linked in, such as the "
                           "official builds" % NODE)
    harness.fixture_module()
    SENSOR = harness.Sensor().start()


def tearDownModule():
    global SENSOR
    if SENSOR is not None:
        s, SENSOR = SENSOR, None
        s.stop()


class NodeLinkedOpenSSL(unittest.TestCase):

    def setUp(self):
        if SKIP_REASON:
            self.skipTest(SKIP_REASON)
        self.ws = harness.Workspace()
        self.addCleanup(self.ws.cleanup)

    def assertBinaryHash(self, b):
        """node is bigger than the sensor hashes (64 MiB): the File says so,
        and its sha256 is that of the part hashed."""
        size = os.path.getsize(NODE)
        self.assertEqual(int(b["size"]), size)
        hashed = int(b["hashedSize"])
        self.assertEqual(b["partiallyHashed"], hashed < size)
        h = hashlib.sha256()
        with open(NODE, "rb") as f:
            h.update(f.read(hashed))
        self.assertEqual(b["sha256"], h.hexdigest())

    def assertNodeFinding(self, fd, mod, binary=NODE, layers=("library", "effect")):
        harness.route_enforced(self, SENSOR, fd)
        self.assertEqual(fd.f["severity"], "CRITICAL", fd.raw)
        self.assertIs(fd.props.get("loaded"), True)
        for layer in layers:
            self.assertIn(layer, fd.props.get("detectionLayers") or [], fd.raw)
        self.assertEqual(fd.process["binary"]["path"], binary)
        if harness.ENFORCE and "sha256" not in fd.process["binary"]:
            # Killed at the mapping: a binary only its container's root holds is
            # gone with the process before it can be read, and the finding says so.
            self.assertIn("processes[0].binary",
                          [m.get("file") for m in fd.props.get("hashesMissing", [])])
        else:
            self.assertBinaryHash(fd.process["binary"])
        lib = fd.process["libraries"][0]
        self.assertEqual(lib["path"], mod)
        self.assertEqual(lib["sha256"], harness.sha256_file(mod))

    def test_set_engine_on_the_host(self):
        """crypto.setEngine() with an absolute path: no openssl process, no
        libcrypto file, only node's own DSO_load."""
        mod = self.ws.module()
        marker = self.ws.marker()
        r = run_cmd([NODE, "-e", SET_ENGINE, mod], marker=marker)
        harness.route_ran(self, marker, r)
        fd = SENSOR.wait_for(for_process(r.pid, mod))
        self.assertNodeFinding(fd, mod)
        self.assertEqual(fd.props.get("requestOrigin"), "DSO_load")

    def test_set_engine_in_a_container(self):
        """The same inside a runc container (the host's /usr, node among it,
        bind-mounted read-only): the probe put on node at start covers the
        container's processes from their first instruction."""
        mod = self.ws.module()
        marker = self.ws.marker()
        with container.Container(self.ws.dir, layout="containerd") as c:
            r = c.exec([NODE, "-e", SET_ENGINE, mod], env={"SOWATCH_TEST_MARKER": marker})
            harness.route_ran(self, marker, r, anywhere=True)
            fd = SENSOR.wait_for(for_process(r.pid, mod))
        self.assertNodeFinding(fd, mod)
        self.assertEqual(fd.props.get("containerId"), c.id)

    def test_set_engine_in_a_container_with_its_own_node(self):
        """A container image with its own copy of node (a file of the
        overlay's lower layer, unknown at start): the sensor reads its
        symbols when it first runs and probes it. (The probe goes on a few
        milliseconds after that first start: a load made sooner by the very
        first run is a documented limitation, so the test runs it once
        first.)"""
        inside = "/opt/node-%s/bin/node" % harness.rand()
        mod = self.ws.module()
        marker = self.ws.marker()
        with container.Container(self.ws.dir, layout="docker",
                                 image_files={inside: NODE}) as c:
            # Long enough to be there when the sensor opens it, whatever its speed.
            warm = c.exec([inside, "-e", "setTimeout(() => {}, 1000)"])
            self.assertEqual(warm.returncode, 0, warm.output)
            SENSOR.wait_for_log("library-layer probe on %s (Node.js)" % inside)
            r = c.exec([inside, "-e", SET_ENGINE, mod],
                       env={"SOWATCH_TEST_MARKER": marker})
            # The constructor writes node's pid as the container numbers it.
            harness.route_ran(self, marker, r, anywhere=True)
            fd = SENSOR.wait_for(for_process(r.pid, mod))
        self.assertNodeFinding(fd, mod, binary=inside)
        self.assertEqual(fd.props.get("containerId"), c.id)

    def test_provider_from_openssl_config(self):
        """--openssl-config names a file whose nodejs_conf section (node's
        own, not openssl_conf) activates a provider module: loaded while
        node starts, before any script runs."""
        mod = self.ws.module()
        marker = self.ws.marker()
        conf = node_provider_conf(self.ws, mod, "node")
        r = run_cmd([NODE, "--openssl-config=" + conf, "-e", "1"], marker=marker)
        # node aborts when the provider does not initialise: the code ran first.
        harness.route_ran(self, marker, r)
        fd = SENSOR.wait_for(for_process(r.pid, mod))
        self.assertNodeFinding(fd, mod, layers=("intent", "library", "effect"))
        self.assertEqual(fd.props.get("moduleKind"), "provider")

    def test_provider_from_node_options(self):
        """The same option in NODE_OPTIONS (quoted, as a shell would pass a
        path with a space): nothing about OpenSSL in argv at all."""
        mod = self.ws.module()
        marker = self.ws.marker()
        conf = node_provider_conf(self.ws, mod, "node opts")
        env = {"NODE_OPTIONS": '--openssl-config="%s"' % conf}
        r = run_cmd([NODE, "-e", "1"], env=env, marker=marker)
        harness.route_ran(self, marker, r)
        fd = SENSOR.wait_for(for_process(r.pid, mod))
        self.assertNodeFinding(fd, mod, layers=("intent", "library", "effect"))
        self.assertEqual(fd.props.get("requestOrigin"), "config module")

    def test_engine_from_shared_openssl_conf(self):
        """OPENSSL_CONF with --openssl-shared-config: node reads the
        standard openssl_conf section, whose engine has a dynamic_path."""
        mod = self.ws.module()
        marker = self.ws.marker()
        env = {"OPENSSL_CONF": engine_conf(self.ws, mod, "shared", init=True)}
        r = run_cmd([NODE, "--openssl-shared-config", "-e", "1"], env=env,
                    marker=marker)
        harness.route_ran(self, marker, r)
        fd = SENSOR.wait_for(for_process(r.pid, mod))
        self.assertNodeFinding(fd, mod, layers=("intent", "library", "effect"))

    def test_ordinary_crypto_and_tls_give_nothing(self):
        """node hashing, signing and talking TLS to itself over loopback
        (with a key and certificate made by openssl): no finding."""
        key, cert = self.ws.path("key.pem"), self.ws.path("cert.pem")
        made = run_cmd(["openssl", "req", "-x509", "-newkey", "rsa:2048",
                        "-nodes", "-keyout", key, "-out", cert, "-days", "1",
                        "-subj", "/CN=localhost"])
        self.assertEqual(made.returncode, 0, made.output)
        script = self.ws.write("tls-%s.js" % harness.rand(), r"""
const crypto = require('crypto'), tls = require('tls'), fs = require('fs');
const [key, cert] = process.argv.slice(2).map((f) => fs.readFileSync(f));
crypto.createHash('sha256').update('x').digest('hex');
crypto.createSign('SHA256').update('x').sign(key);
crypto.randomBytes(32);
const server = tls.createServer({ key, cert }, (s) => s.end('hello\n'));
server.listen(0, '127.0.0.1', () => {
  const c = tls.connect({ port: server.address().port, host: '127.0.0.1', ca: cert,
                          servername: 'localhost' }, () => {
    c.on('data', (d) => { console.log('got ' + d.toString().trim()); c.end(); server.close(); });
  });
});
""")
        r = run_cmd([NODE, script, key, cert])
        self.assertEqual(r.returncode, 0, r.output)
        self.assertIn("got hello", r.output)
        harness.assert_no_findings(SENSOR, self.ws, pids=[r.pid],
                                   names=[os.path.basename(script)])


if __name__ == "__main__":
    unittest.main()
