# SPDX-License-Identifier: Apache-2.0
"""The fleet's credentials, end to end, with a real nats-server that checks
user and password.

* A node whose password the servers refuse keeps its finding pending, and its
  delivery state says why. Once the password file is corrected, the finding
  goes out without a reload: the output connects again, and reads the file
  again, after libnats gave up on the refused credentials.
* A password is never sent in clear over the network: user and
  password_file with a nats:// server that is not on loopback are refused at
  start, by the sensor and by `sowatch collect`.
"""

import os
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness  # noqa: E402
from natscluster import NatsCluster, fleet_module_setup, ids_of, load, store_rows  # noqa: E402

SKIP_REASON = None

# One JetStream account; "node" publishes, "collect" reads
ACCOUNTS = """accounts {
  FLEET {
    jetstream: enabled
    users: [
      { user: node, password: "right-%(tag)s" }
      { user: collect, password: "collect-%(tag)s" }
    ]
  }
}
"""


def setUpModule():
    global SKIP_REASON
    SKIP_REASON = fleet_module_setup()


def sensor_log(s):
    with open(s.log_path, "rb") as f:
        return f.read().decode("utf-8", "replace")


def secret(ws, name, text):
    path = ws.write(name, text)
    os.chmod(path, 0o600)
    return path


class FleetPassword(unittest.TestCase):

    def setUp(self):
        if SKIP_REASON:
            self.skipTest(SKIP_REASON)
        self.ws = harness.Workspace()
        self.addCleanup(self.ws.cleanup)
        self.tag = harness.rand()
        self.cluster = NatsCluster(self.ws, size=1, auth=ACCOUNTS % {"tag": self.tag})
        self.cluster.start()
        self.addCleanup(self.cluster.stop)
        self.url = self.cluster.url(0)

    def test_refused_password_then_corrected(self):
        collect_pw = secret(self.ws, "collect.pw", "collect-%s\n" % self.tag)
        collect_cfg = secret(self.ws, "collect.yaml",
                             "collect:\n  servers: [%s]\n  user: collect\n"
                             "  password_file: %s\n" % (self.url, collect_pw))
        p = subprocess.run([harness.sowatch_bin(), "nats-init", "--config", collect_cfg],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=60)
        self.assertEqual(p.returncode, 0, p.stdout.decode("utf-8", "replace"))

        node_pw = secret(self.ws, "node.pw", "wrong-%s\n" % self.tag)
        node_cfg = secret(self.ws, "node.yaml",
                          "outputs:\n  nats:\n    servers: [%s]\n    user: node\n"
                          "    password_file: %s\n" % (self.url, node_pw))
        s = harness.Sensor(config=node_cfg)
        s.start()
        self.addCleanup(s.stop)
        fid = load(self.ws, [s], "wrong-password")[0]

        # Refused: pending, and the delivery state names the reason
        deadline = time.monotonic() + 30
        while True:
            rows = store_rows(s.db, "SELECT state, last_error FROM deliveries WHERE "
                              "output = 'nats' AND finding_id = ?", (fid,))
            if rows and rows[0][1] and "uthorization" in rows[0][1]:
                break
            self.assertLess(time.monotonic(), deadline, "no authorization error: %r" % rows)
            time.sleep(0.3)
        self.assertEqual(rows[0][0], "pending")

        # Corrected on disk, no SIGHUP: it goes out
        with open(node_pw, "w") as f:
            f.write("right-%s\n" % self.tag)
        central = self.ws.path("central.db")
        log = open(self.ws.path("collect.log"), "wb")
        self.addCleanup(log.close)
        collector = subprocess.Popen([harness.sowatch_bin(), "collect", "--config",
                                      collect_cfg, "--db", central],
                                     stdin=subprocess.DEVNULL, stdout=log, stderr=log)
        self.addCleanup(collector.wait, 30)
        self.addCleanup(collector.terminate)
        deadline = time.monotonic() + 90
        while fid not in ids_of(central):
            self.assertLess(time.monotonic(), deadline,
                            "not delivered after the password was corrected:\n" +
                            sensor_log(s)[-3000:])
            time.sleep(0.5)
        self.assertIn("outputs.nats: the connection was closed", sensor_log(s))


class FleetPasswordInClear(unittest.TestCase):
    """Refused before any connection: no server is needed."""

    def setUp(self):
        if SKIP_REASON:
            self.skipTest(SKIP_REASON)
        self.ws = harness.Workspace()
        self.addCleanup(self.ws.cleanup)
        self.pw = secret(self.ws, "pw", "secret\n")

    def run_sowatch(self, args):
        p = subprocess.run([harness.sowatch_bin()] + args, stdin=subprocess.DEVNULL,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=60)
        return p.returncode, p.stdout.decode("utf-8", "replace")

    def test_sensor_refuses_password_over_nats_url(self):
        # 192.0.2.1: TEST-NET-1, never this machine
        cfg = secret(self.ws, "node.yaml",
                     "outputs:\n  nats:\n    servers: [nats://192.0.2.1:4222]\n"
                     "    user: node\n    password_file: %s\n" % self.pw)
        code, out = self.run_sowatch(["run", "--config", cfg, "--db", self.ws.path("n.db")])
        self.assertEqual(code, 1, out)
        self.assertIn("a password would cross the network in clear to "
                      "nats://192.0.2.1:4222", out)

    def test_collect_refuses_password_over_nats_url(self):
        cfg = secret(self.ws, "collect.yaml",
                     "collect:\n  servers: [nats://192.0.2.1:4222]\n  user: c\n"
                     "  password_file: %s\n" % self.pw)
        code, out = self.run_sowatch(["collect", "--config", cfg, "--db",
                                      self.ws.path("c.db")])
        self.assertEqual(code, 1, out)
        self.assertIn("a password would cross the network in clear", out)
        # Over tls:// it is taken (and then fails to connect: nothing listens there)
        code, out = self.run_sowatch(["nats-init", "--config", cfg, "--nats",
                                      "tls://192.0.2.1:4222"])
        self.assertNotIn("in clear", out)


if __name__ == "__main__":
    unittest.main()
