# SPDX-License-Identifier: Apache-2.0
"""End-to-end tests of a module that a trusted module loads: Debian's pkcs11
engine (libp11) loading a PKCS#11 module.

The engine itself is a trusted file in ENGINESDIR. The PKCS#11 module it
dlopen()s later, outside DSO_load (libp11 0.4.12 loads it when a key or
certificate is first looked up), is named by PKCS11_MODULE_PATH or by the
MODULE_PATH ctrl of a configuration's engine section, else it is p11-kit's
proxy. sowatch reads both names as intent, and a mapping of the file so
named counts in any program. Each attack proves that the module's
constructor ran (its marker holds the pid) and that the CRITICAL finding
came; p11-kit's proxy, the Debian default, gives nothing.
"""

import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness  # noqa: E402
from harness import OPENSSL, for_process, run_cmd  # noqa: E402

PYTHON = "/usr/bin/python3"
PKCS11_ENGINE = "/usr/lib/x86_64-linux-gnu/engines-3/pkcs11.so"
KEY_URI = "pkcs11:object=sowatch-test"
SENSOR = None
SKIP_REASON = None

# A Python program that uses libcrypto's engine API in its own process (as
# M2Crypto and other bindings do): no openssl process anywhere. It loads
# OpenSSL's configuration, takes the pkcs11 engine and asks it for a key,
# which is when libp11 loads its PKCS#11 module.
PY_ENGINE_KEY = r"""
import ctypes, sys
c = ctypes.CDLL("libcrypto.so.3")
c.OPENSSL_init_crypto(ctypes.c_uint64(0x40), None)  # OPENSSL_INIT_LOAD_CONFIG
c.ENGINE_by_id.restype = ctypes.c_void_p
c.ENGINE_init.argtypes = [ctypes.c_void_p]
c.ENGINE_load_private_key.restype = ctypes.c_void_p
c.ENGINE_load_private_key.argtypes = [ctypes.c_void_p, ctypes.c_char_p,
                                      ctypes.c_void_p, ctypes.c_void_p]
e = c.ENGINE_by_id(b"pkcs11")
if not e or c.ENGINE_init(e) != 1:
    sys.exit("no pkcs11 engine")
c.ENGINE_load_private_key(e, sys.argv[1].encode(), None, None)
print("asked the pkcs11 engine for a key")
"""


# The same, with the module named by the program itself through the engine's
# MODULE_PATH ctrl: nothing sowatch reads names it. What counts is that the
# engine mapped it inside one of OpenSSL's engine calls.
PY_ENGINE_CTRL = r"""
import ctypes, sys
c = ctypes.CDLL("libcrypto.so.3")
c.ENGINE_by_id.restype = ctypes.c_void_p
c.ENGINE_init.argtypes = [ctypes.c_void_p]
c.ENGINE_ctrl_cmd_string.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_char_p,
                                     ctypes.c_int]
c.ENGINE_load_private_key.restype = ctypes.c_void_p
c.ENGINE_load_private_key.argtypes = [ctypes.c_void_p, ctypes.c_char_p,
                                      ctypes.c_void_p, ctypes.c_void_p]
e = c.ENGINE_by_id(b"pkcs11")
if not e or c.ENGINE_ctrl_cmd_string(e, b"MODULE_PATH", sys.argv[2].encode(), 0) != 1 \
        or c.ENGINE_init(e) != 1:
    sys.exit("no pkcs11 engine")
c.ENGINE_load_private_key(e, sys.argv[1].encode(), None, None)
print("asked the pkcs11 engine for a key")
"""


def setUpModule():
    global SENSOR, SKIP_REASON
    SKIP_REASON = harness.require_environment()
    if SKIP_REASON:
        return
    if not os.path.exists(PKCS11_ENGINE):
        # Not a reason to skip: install-deps --test installs it.
        raise RuntimeError("%s is missing: install libengine-pkcs11-openssl" % PKCS11_ENGINE)
    harness.fixture_module()
    SENSOR = harness.Sensor().start()


def tearDownModule():
    global SENSOR
    if SENSOR is not None:
        s, SENSOR = SENSOR, None
        s.stop()


def pkcs11_conf(ws, module=None):
    """A configuration whose engine section loads the pkcs11 engine from
    ENGINESDIR (trusted) and, if given, names module as its MODULE_PATH."""
    return ws.write("p11-%s.cnf" % harness.rand(), (
        "openssl_conf = init\n"
        "[init]\n"
        "engines = eng\n"
        "[eng]\n"
        "pkcs11 = p11\n"
        "[p11]\n"
        "engine_id = pkcs11\n"
        "dynamic_path = %s\n"
        "%s"
        "init = 1\n") % (PKCS11_ENGINE, "MODULE_PATH = %s\n" % module if module else ""))


class Pkcs11Module(unittest.TestCase):

    def setUp(self):
        if SKIP_REASON:
            self.skipTest(SKIP_REASON)
        self.ws = harness.Workspace()
        self.addCleanup(self.ws.cleanup)

    def assertPkcs11Finding(self, fd, mod, origin):
        self.assertEqual(fd.f["severity"], "CRITICAL", fd.raw)
        self.assertIs(fd.props.get("loaded"), True)
        self.assertEqual(sorted(fd.props.get("detectionLayers") or []), ["effect", "intent"])
        self.assertEqual(fd.props.get("moduleKind"), "pkcs11-module")
        self.assertEqual(fd.props.get("requestOrigin"), origin)
        lib = fd.process["libraries"][0]
        self.assertEqual(lib["path"], mod)
        self.assertEqual(lib["sha256"], harness.sha256_file(mod))

    def test_openssl_with_pkcs11_module_path(self):
        """`openssl pkey -engine pkcs11` reading a key from the token, with
        PKCS11_MODULE_PATH naming the attacker's file."""
        mod = self.ws.module("p11")
        marker = self.ws.marker()
        r = run_cmd([OPENSSL, "pkey", "-engine", "pkcs11", "-inform", "engine",
                     "-in", KEY_URI], env={"PKCS11_MODULE_PATH": mod}, marker=marker)
        harness.route_ran(self, marker, r)
        fd = SENSOR.wait_for(for_process(r.pid, mod))
        harness.route_enforced(self, SENSOR, fd)
        self.assertPkcs11Finding(fd, mod, "PKCS11_MODULE_PATH")
        self.assertEqual(fd.process["binary"]["path"], OPENSSL)

    def test_python_with_module_path_in_config(self):
        """Python, no openssl process: OPENSSL_CONF loads the pkcs11 engine
        with MODULE_PATH naming the attacker's file, and the program asks the
        engine for a key."""
        mod = self.ws.module("p11")
        marker = self.ws.marker()
        env = {"OPENSSL_CONF": pkcs11_conf(self.ws, mod)}
        r = run_cmd([PYTHON, "-c", PY_ENGINE_KEY, KEY_URI], env=env, marker=marker)
        harness.route_ran(self, marker, r)
        fd = SENSOR.wait_for(for_process(r.pid, mod))
        harness.route_enforced(self, SENSOR, fd)
        self.assertPkcs11Finding(fd, mod, "config MODULE_PATH")
        self.assertTrue(fd.process["binary"]["path"].startswith("/usr/bin/python3"),
                        fd.process["binary"])

    def test_python_with_module_path_from_a_ctrl(self):
        """Python sets MODULE_PATH with ENGINE_ctrl_cmd_string: no argv,
        environment or configuration names the file. The engine maps it
        inside ENGINE_load_private_key, one of the OpenSSL calls the library
        layer watches: the effect layer reports it, saying why it counted."""
        mod = self.ws.module("p11")
        marker = self.ws.marker()
        r = run_cmd([PYTHON, "-c", PY_ENGINE_CTRL, KEY_URI, mod], marker=marker)
        harness.route_ran(self, marker, r)
        fd = SENSOR.wait_for(for_process(r.pid, mod))
        harness.route_enforced(self, SENSOR, fd)
        self.assertEqual(fd.f["severity"], "CRITICAL", fd.raw)
        self.assertIs(fd.props.get("loaded"), True)
        self.assertEqual(fd.props.get("detectionLayers"), ["effect"])
        self.assertEqual(fd.props.get("requestOrigin"), "engine or provider call")
        lib = fd.process["libraries"][0]
        self.assertEqual(lib["path"], mod)
        self.assertEqual(lib["sha256"], harness.sha256_file(mod))

    def test_p11_kit_proxy_gives_nothing(self):
        """The same two programs with no module named: libp11 loads p11-kit's
        proxy (Debian's default), which loads p11-kit's own modules. None of
        it is reported."""
        py = run_cmd([PYTHON, "-c", PY_ENGINE_KEY, KEY_URI],
                     env={"OPENSSL_CONF": pkcs11_conf(self.ws)})
        self.assertIn("asked the pkcs11 engine for a key", py.output)
        ossl = run_cmd([OPENSSL, "pkey", "-engine", "pkcs11", "-inform", "engine",
                        "-in", KEY_URI])
        self.assertIn('Engine "pkcs11" set', ossl.output)
        harness.assert_no_findings(SENSOR, self.ws, pids=[py.pid, ossl.pid])


if __name__ == "__main__":
    unittest.main()
