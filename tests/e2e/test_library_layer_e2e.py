# SPDX-License-Identifier: Apache-2.0
"""End-to-end tests of the library layer on libcrypto files the sensor did
not know at start: a copy used through LD_LIBRARY_PATH on the host, and a
container image's own libcrypto. The kernel reports such a file when it is
first mapped; the sensor then puts its uprobes on DSO_load() in that file,
so later loads through it name the requested module in any program.
"""

import os
import shutil
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import container  # noqa: E402
import harness  # noqa: E402
from harness import for_process, run_cmd  # noqa: E402
from harness import engine_conf  # noqa: E402

SENSOR = None
SKIP_REASON = None
HOST_LIBCRYPTO = "/usr/lib/x86_64-linux-gnu/libcrypto.so.3"
PROBED = "library-layer probe on "


def setUpModule():
    global SENSOR, SKIP_REASON
    SKIP_REASON = harness.require_environment() or container.runc_available()
    if SKIP_REASON and harness.in_ci():
        raise RuntimeError("CI must run these tests: " + SKIP_REASON)
    if SKIP_REASON:
        return
    if not os.path.exists(HOST_LIBCRYPTO):
        SKIP_REASON = "no %s on this machine" % HOST_LIBCRYPTO
        return
    harness.fixture_module()
    SENSOR = harness.Sensor().start()


def tearDownModule():
    global SENSOR
    if SENSOR is not None:
        s, SENSOR = SENSOR, None
        s.stop()



PYTHON_SSL = ["/usr/bin/python3", "-c",
              "import ssl; ssl.create_default_context()"]


class LibraryLayer(unittest.TestCase):

    def setUp(self):
        if SKIP_REASON:
            self.skipTest(SKIP_REASON)
        self.ws = harness.Workspace()
        self.addCleanup(self.ws.cleanup)

    def assertLibraryLayerFinding(self, fd, mod):
        harness.route_enforced(self, SENSOR, fd)
        self.assertEqual(fd.f["severity"], "CRITICAL")
        self.assertIs(fd.props.get("loaded"), True)
        self.assertIn("library", fd.props.get("detectionLayers") or [])
        self.assertEqual(fd.process["libraries"][0]["path"], mod)
        self.assertEqual(fd.process["libraries"][0]["sha256"],
                         harness.sha256_file(mod))

    def test_libcrypto_copy_on_the_host(self):
        """A program run with its own copy of libcrypto (LD_LIBRARY_PATH):
        the copy is probed when first mapped, and a module it loads later is
        seen by the library layer. The directory's name carries a newline
        and an escape: the log line names it without breaking in two. (No
        colon: LD_LIBRARY_PATH would split there.)"""
        libdir = self.ws.path("lib-%s\nforged \x1b[2J" % harness.rand())
        os.makedirs(libdir)
        copy = os.path.join(libdir, "libcrypto.so.3")
        shutil.copy2(HOST_LIBCRYPTO, copy)
        env = {"LD_LIBRARY_PATH": libdir}
        # python, not openssl: enforce mode (harness.ENFORCE) kills an openssl binary
        # that maps a libcrypto from outside the trusted directories.
        warm = run_cmd(PYTHON_SSL, env=env)
        self.assertEqual(warm.returncode, 0, warm.output)
        shown = copy.replace("\n", "\\x0a").replace("\x1b", "\\x1b")
        SENSOR.wait_for_log(PROBED + shown)

        mod = self.ws.module()
        marker = self.ws.marker()
        env["OPENSSL_CONF"] = engine_conf(self.ws, mod, "lib")
        r = run_cmd(PYTHON_SSL, env=env, marker=marker)
        harness.route_ran(self, marker, r)
        fd = SENSOR.wait_for(for_process(r.pid, mod))
        self.assertLibraryLayerFinding(fd, mod)

    def test_container_image_libcrypto(self):
        """A container whose image carries its own libcrypto (a file of the
        overlay's lower layer, not the host's): probed when the container
        first maps it; python's ssl then loads a module through it. The
        first process lingers a second: the sensor opens the file through
        it, and one gone sooner (on a loaded machine, the ASan build) leaves
        the probe to the next process that maps the file, a documented
        limitation."""
        inside = "/opt/ssl-%s/lib/libcrypto.so.3" % harness.rand()
        env = {"LD_LIBRARY_PATH": os.path.dirname(inside)}
        with container.Container(self.ws.dir, layout="docker",
                                 image_files={inside: HOST_LIBCRYPTO}) as c:
            warm = c.exec(["/usr/bin/python3", "-c", "import ssl, time; time.sleep(1)"],
                          env=env)
            self.assertEqual(warm.returncode, 0, warm.output)
            SENSOR.wait_for_log(PROBED + inside)

            mod = self.ws.module()
            marker = self.ws.marker()
            env["OPENSSL_CONF"] = engine_conf(self.ws, mod, "lib")
            env["SOWATCH_TEST_MARKER"] = marker
            r = c.exec(PYTHON_SSL, env=env)
            # The constructor writes its pid as the container numbers it.
            harness.route_ran(self, marker, r, anywhere=True)
            fd = SENSOR.wait_for(for_process(r.pid, mod))
        self.assertLibraryLayerFinding(fd, mod)
        self.assertEqual(fd.props.get("containerId"), c.id)


if __name__ == "__main__":
    unittest.main()
