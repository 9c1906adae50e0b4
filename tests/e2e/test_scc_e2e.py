# SPDX-License-Identifier: Apache-2.0
"""The SCC output, end to end: the sensor upserts its findings into a stand-in
for Security Command Center's v2 API on loopback (sccserver.py), which checks
what the published contract checks: the JWT's signature, aud, scope and
expiry, the Bearer token, the URL form, the finding id and the body's fields.

* 10 module loads: exactly 10 findings under their organization/source names,
  each the sensor's finding; `findings set-state INACTIVE` and `mute` reach
  SCC through setState and setMute.
* A token SCC stops taking (401 once) is replaced, and nothing is lost.
* A 403 for one finding: failed, logged once; the others arrive.
* source: create makes one source named sowatch and remembers it.
* credentials: metadata, with the metadata server's token; and with no
  metadata server: one clear error, the other outputs keep working.
* Bad input (a key file without a PEM key, a wrong-typed organization): one
  line, and the sensor does not start.
* From `sowatch collect`: a node publishes to NATS JetStream, the collector
  (which alone holds the key) upserts into SCC.
"""

import json
import os
import signal
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness  # noqa: E402
from natscluster import NatsCluster, ids_of, nats_server_problem, uts_sensor  # noqa: E402
from sccserver import MetadataServer, SccServer, make_service_account_key  # noqa: E402

SKIP_REASON = None
ORG = "123456789012"
SOURCE = "5550001"
CATEGORY_FIELDS = ("category", "resourceName", "severity", "eventTime", "findingClass",
                   "mitreAttack", "processes", "description", "nextSteps")


def setUpModule():
    global SKIP_REASON
    SKIP_REASON = harness.require_environment()
    if SKIP_REASON:
        return
    harness.fixture_module()


def scc_config(ws, server, credentials, source=SOURCE, organization=ORG, extra=""):
    text = ("outputs:\n"
            "  scc:\n"
            "    organization: \"%s\"\n"
            "    source: \"%s\"\n"
            "    credentials: %s\n"
            "    endpoint: %s\n"
            "    ca_file: %s\n%s" % (organization, source, credentials, server.endpoint,
                                   server.ca_file, extra))
    path = ws.write("sowatch-%s.yaml" % harness.rand(), text)
    os.chmod(path, 0o600)
    return path


def engine_load(sensor, ws, stem="scc"):
    return harness.engine_load(sensor, ws, stem)


def scc_name(fid, source=SOURCE):
    return "organizations/%s/sources/%s/locations/global/findings/%s" % (ORG, source, fid)


def sensor_log(sensor):
    with open(sensor.log_path, encoding="utf-8", errors="replace") as f:
        return f.read()


class SccCase(unittest.TestCase):
    """A contract server, and sensors stopped at the end."""

    def setUp(self):
        if SKIP_REASON:
            self.skipTest(SKIP_REASON)
        self.ws = harness.Workspace(prefix="sowatch-e2e-scc-")
        self.addCleanup(self.ws.cleanup)
        self.server = None
        self.key = None

    def start_server(self, **kw):
        """A contract server that knows the service account's key."""
        self.key, _ = make_service_account_key(self.ws.dir, token_uri="https://placeholder/")
        self.server = SccServer(self.ws, organization=ORG, key_json=self.key, **kw)
        self.server.start()
        self.addCleanup(self.server.stop)
        # The key file names the token endpoint, as Google's do
        with open(self.key) as f:
            key = json.load(f)
        key["token_uri"] = self.server.token_uri
        with open(self.key, "w") as f:
            json.dump(key, f)
        return self.server

    def sensor(self, config, db=None):
        s = harness.Sensor(config=config, db=db)
        s.start()
        self.addCleanup(s.stop)
        return s

    def assert_no_refusals(self):
        self.assertEqual(self.server.unexpected_refusals(), [],
                         "the contract server refused what sowatch sent")


class SccDelivery(SccCase):

    def test_findings_upserted_and_responder_changes_reach_scc(self):
        server = self.start_server()
        server.add_source(SOURCE, "sowatch-e2e")
        config = scc_config(self.ws, server, self.key)
        sensor = self.sensor(config)
        found = [engine_load(sensor, self.ws) for _ in range(10)]
        ids = [f.finding_id() for f in found]
        self.assertEqual(len(set(ids)), 10)
        names = {scc_name(i) for i in ids}
        server.wait_for(lambda s: names <= set(s.findings), timeout=30)
        self.assert_no_refusals()
        self.assertEqual(set(server.findings), names, "exactly the 10, under these names")
        for f in found:
            body = dict(server.patches)[scc_name(f.finding_id())]
            sent = f["finding"]
            for field in CATEGORY_FIELDS:
                self.assertEqual(body.get(field), sent.get(field), field)
            self.assertEqual(body["sourceProperties"]["sowatchName"], sent["name"])
            self.assertEqual(body["sourceProperties"]["resource"], f["resource"])
            self.assertNotIn("state", body)
            stored = server.findings[scc_name(f.finding_id())]
            self.assertEqual((stored["state"], stored["mute"]), ("ACTIVE", "UNDEFINED"))
        self.assertGreaterEqual(server.tokens_issued, 1)
        self.assertLessEqual(server.tokens_issued, 2, "a token is kept while it is good")

        # The responder's steps, through the CLI, reach SCC's own methods
        first, second = ids[0], ids[1]
        p = subprocess.run([harness.sowatch_bin(), "findings", "set-state", first, "INACTIVE",
                            "--db", sensor.db, "--config", config],
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("in Security Command Center too", p.stdout)
        p = subprocess.run([harness.sowatch_bin(), "findings", "mute", second,
                            "--db", sensor.db, "--config", config],
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn((scc_name(first), "INACTIVE"), server.state_calls)
        self.assertIn((scc_name(second), "MUTED"), server.mute_calls)
        self.assertEqual(server.findings[scc_name(first)]["state"], "INACTIVE")
        self.assertEqual(server.findings[scc_name(second)]["mute"], "MUTED")
        row = harness.findings_cli(sensor.db, "show", first)[0]
        self.assertEqual(row["finding"]["state"], "INACTIVE")

        # Without the configuration, the store alone is not changed
        p = subprocess.run([harness.sowatch_bin(), "findings", "set-state", ids[2], "INACTIVE",
                            "--db", sensor.db], capture_output=True, text=True, timeout=60)
        self.assertEqual(p.returncode, 1)
        self.assertIn("is in Security Command Center", p.stderr)
        self.assertIn("nothing was changed", p.stderr)
        self.assertEqual(len(p.stderr.strip().splitlines()), 1, p.stderr)
        row = harness.findings_cli(sensor.db, "show", ids[2])[0]
        self.assertEqual(row["finding"]["state"], "ACTIVE")
        self.assert_no_refusals()

    def test_expired_token_is_replaced_and_nothing_lost(self):
        server = self.start_server()
        server.add_source(SOURCE, "sowatch-e2e")
        sensor = self.sensor(scc_config(self.ws, server, self.key))
        first = engine_load(sensor, self.ws).finding_id()
        server.wait_for(lambda s: scc_name(first) in s.findings, timeout=30)
        issued = server.tokens_issued
        server.expire_tokens_once()
        ids = [engine_load(sensor, self.ws).finding_id() for _ in range(5)]
        server.wait_for(lambda s: {scc_name(i) for i in ids} <= set(s.findings), timeout=30)
        self.assertEqual(len(server.findings), 6)
        self.assertEqual(server.tokens_issued, issued + 1, "one new token, fetched once")
        self.assertEqual(len([r for r in server.refusals if r[2] == 401]), 1,
                         "one 401, the injected one: the new token was taken")
        self.assert_no_refusals()
        log = sensor_log(sensor)
        self.assertIn("outputs.scc: SCC refused the access token (HTTP 401): getting a new "
                      "one", log)
        # Neither the tokens nor the key ever reach the log
        self.assertEqual(len(server.issued_tokens), issued + 1)
        for token in server.issued_tokens:
            self.assertNotIn(token, log)
        with open(self.key) as f:
            key_lines = json.load(f)["private_key"].splitlines()[1:-1]
        self.assertEqual([line for line in key_lines if line in log], [])

    def test_denied_finding_fails_once_and_others_arrive(self):
        server = self.start_server()
        server.add_source(SOURCE, "sowatch-e2e")
        denied_stem = "denied" + harness.rand(8)
        server.deny_when(lambda body: denied_stem.encode() in body)
        sensor = self.sensor(scc_config(self.ws, server, self.key))
        before = engine_load(sensor, self.ws).finding_id()
        denied = engine_load(sensor, self.ws, stem=denied_stem).finding_id()
        after = engine_load(sensor, self.ws).finding_id()
        server.wait_for(lambda s: {scc_name(before), scc_name(after)} <= set(s.findings),
                        timeout=30)
        self.assertNotIn(scc_name(denied), server.findings)
        patches = [r for r in server.requests if r[0] == "PATCH" and denied in r[1]]
        self.assertEqual([r[2] for r in patches], [403], "tried once, not again")
        log = sensor_log(sensor)
        lines = [line for line in log.splitlines() if denied in line]
        self.assertEqual(len(lines), 1, lines)
        self.assertIn("can never be delivered", lines[0])
        self.assertIn("HTTP 403: PERMISSION_DENIED", lines[0])
        self.assert_no_refusals()

    def test_source_create_is_made_once_and_remembered(self):
        server = self.start_server()
        for n in range(25):  # more than one page of someone else's sources
            server.add_source(str(9000000 + n), "other-%d" % n)
        db = self.ws.path("findings.db")
        config = scc_config(self.ws, server, self.key, source="create")
        sensor = harness.Sensor(config=config, db=db).start()
        try:
            fid = engine_load(sensor, self.ws).finding_id()
            made = server.wait_for(lambda s: [n for n, v in s.sources.items()
                                              if v["displayName"] == "sowatch"], timeout=30)
            self.assertEqual(len(made), 1)
            source = made[0].rsplit("/", 1)[1]
            server.wait_for(lambda s: scc_name(fid, source) in s.findings, timeout=30)
        finally:
            sensor.stop()
        lists = sum(1 for r in server.requests if r[0] == "GET" and r[1].startswith(
            "/v2/organizations/%s/sources" % ORG))
        second = self.sensor(config, db)
        fid2 = engine_load(second, self.ws).finding_id()
        server.wait_for(lambda s: scc_name(fid2, source) in s.findings, timeout=30)
        self.assertEqual(len([v for v in server.sources.values()
                              if v["displayName"] == "sowatch"]), 1)
        self.assertEqual(lists, sum(1 for r in server.requests if r[0] == "GET" and
                                    r[1].startswith("/v2/organizations/%s/sources" % ORG)),
                         "the second start looked nothing up: the store remembered")
        self.assert_no_refusals()

    def test_metadata_server_token(self):
        metadata = MetadataServer()
        metadata.start()
        self.addCleanup(metadata.stop)
        self.start_server(metadata=metadata)
        self.server.add_source(SOURCE, "sowatch-e2e")
        os.environ["GCE_METADATA_HOST"] = metadata.host
        try:
            sensor = self.sensor(scc_config(self.ws, self.server, "metadata"))
        finally:
            del os.environ["GCE_METADATA_HOST"]
        fid = engine_load(sensor, self.ws).finding_id()
        self.server.wait_for(lambda s: scc_name(fid) in s.findings, timeout=30)
        self.assertGreaterEqual(metadata.tokens_issued, 1)
        self.assertEqual(self.server.tokens_issued, 0)
        self.assert_no_refusals()


class SccFromCollector(SccCase):
    """Credentials on the collector only: what nodes publish reaches SCC."""

    def test_collector_upserts_what_nodes_publish(self):
        problem = nats_server_problem()
        if problem:
            raise AssertionError(problem)
        server = self.start_server()
        server.add_source(SOURCE, "sowatch-e2e")
        cluster = NatsCluster(self.ws, size=1).start()
        self.addCleanup(cluster.stop)
        p = subprocess.run([harness.sowatch_bin(), "nats-init", "--nats", cluster.url(0),
                            "--replicas", "1"], capture_output=True, text=True, timeout=60)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        collect_cfg = scc_config(self.ws, server, self.key,
                                 extra="collect:\n  servers: [%s]\n" % cluster.url(0))
        central = self.ws.path("central.db")
        log = open(self.ws.path("collect.log"), "wb")
        self.addCleanup(log.close)
        collector = subprocess.Popen([harness.sowatch_bin(), "collect", "--config", collect_cfg,
                                      "--db", central], stdin=subprocess.DEVNULL,
                                     stdout=log, stderr=log)
        self.addCleanup(lambda: collector.poll() is None and collector.kill())
        node_cfg = self.ws.write("node-%s.yaml" % harness.rand(),
                                 "outputs:\n  nats:\n    servers: [%s]\n" % cluster.url(0))
        os.chmod(node_cfg, 0o600)
        host = "scc-node-" + harness.rand(6)
        node = uts_sensor(self, self.ws, node_cfg, host=host)
        ids = [engine_load(node, self.ws).finding_id() for _ in range(3)]
        names = {scc_name(i) for i in ids}
        try:
            server.wait_for(lambda s: names <= set(s.findings), timeout=60)
        finally:
            collector.send_signal(signal.SIGTERM)
            self.assertEqual(collector.wait(30), 0)
            with open(self.ws.path("collect.log"), encoding="utf-8", errors="replace") as f:
                text = f.read()
        self.assertIn("collect: findings stored are sent on to output scc", text)
        self.assertEqual(set(ids), ids_of(central))
        for name in names:
            self.assertEqual(server.findings[name]["sourceProperties"]["host"], host)
        self.assertEqual(set(server.findings), names)
        self.assert_no_refusals()


class SccBadInput(unittest.TestCase):

    def setUp(self):
        if SKIP_REASON:
            self.skipTest(SKIP_REASON)
        self.ws = harness.Workspace(prefix="sowatch-e2e-scc-")
        self.addCleanup(self.ws.cleanup)
        self.server = SccServer(self.ws, organization=ORG)
        self.server.start()
        self.addCleanup(self.server.stop)

    def refused_at_start(self, config):
        p = subprocess.run([harness.sowatch_bin(), "run", "--config", config, "--jsonl",
                            self.ws.path("out.jsonl"), "--db", self.ws.path("f.db")],
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(p.returncode, 1, p.stderr)
        lines = p.stderr.strip().splitlines()
        self.assertEqual(len(lines), 1, p.stderr)
        return lines[0]

    def test_key_file_without_a_pem_key(self):
        key, _ = make_service_account_key(self.ws.dir)
        with open(key) as f:
            obj = json.load(f)
        lines = obj["private_key"].splitlines()
        secret_part = lines[5]
        # A damaged PEM: its key cut short, as a bad copy and paste leaves it
        obj["private_key"] = "\n".join(lines[:4] + lines[-1:]) + "\n"
        with open(key, "w") as f:
            json.dump(obj, f)
        line = self.refused_at_start(scc_config(self.ws, self.server, key))
        self.assertIn("private_key is not a PEM private key", line)
        self.assertIn(key, line)
        self.assertNotIn(secret_part, line)

    def test_wrong_typed_organization(self):
        key, _ = make_service_account_key(self.ws.dir)
        config = scc_config(self.ws, self.server, key, organization="acme-corp")
        line = self.refused_at_start(config)
        self.assertIn("not a number for 'outputs.scc.organization'", line)
        self.assertIn(config + ":3:", line)

    def test_no_metadata_server(self):
        """credentials: metadata where none answers: one clear error, repeated
        no more than once, and the other outputs keep working."""
        port = harness.free_port()
        os.environ["GCE_METADATA_HOST"] = "127.0.0.1:%d" % port
        try:
            sensor = harness.Sensor(config=scc_config(self.ws, self.server, "metadata"))
            sensor.start()
        finally:
            del os.environ["GCE_METADATA_HOST"]
        self.addCleanup(sensor.stop)
        self.server.add_source(SOURCE, "sowatch-e2e")
        found = [engine_load(sensor, self.ws) for _ in range(3)]
        self.assertEqual(len(found), 3, "the jsonl output still writes every finding")
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            errors = [line for line in sensor_log(sensor).splitlines()
                      if "output scc: cannot deliver now" in line]
            if errors:
                break
            time.sleep(0.2)
        self.assertEqual(len(errors), 1, sensor_log(sensor)[-3000:])
        self.assertIn("the metadata server http://127.0.0.1:%d/computeMetadata/v1/instance/"
                      "service-accounts/default/token" % port, errors[0])
        self.assertEqual(self.server.findings, {})


if __name__ == "__main__":
    unittest.main()
