# SPDX-License-Identifier: Apache-2.0
"""deploy/kubernetes/sowatch.yaml, read by Debian's kubectl.

    /usr/bin/python3 tests/e2e/run.py --dir tests/install -p test_kubernetes.py

No cluster runs here. `kubectl create --dry-run=client -o json` must accept the manifest;
kubectl 1.20 asks an API server's discovery documents even then, so a loopback server of
the test's own answers those alone (tests/install/manifest.py says how), and the test checks
kubectl asked for nothing else. Then the objects kubectl printed are checked: the DaemonSet
is not privileged, drops every capability and adds only the listed ones, shares the host's
pids, mounts what sowatch reads, probes /healthz on the configured port, and has resources.
The image test (test_image.py) runs the container with the same list and mounts, read from
the same manifest.
"""

import os
import unittest

import manifest

# What the DaemonSet adds, and why (the manifest's comments say the same). This list is the
# test's check on the manifest, not a second source for the image test.
CAPABILITIES = ["BPF", "PERFMON", "SYS_ADMIN", "SYS_PTRACE", "DAC_READ_SEARCH"]

MOUNTS = {  # container path: read only
    "/sys/kernel/btf": True,
    "/sys/kernel/tracing": True,
    "/run/containerd": True,
    "/run/runc": True,
    "/var/log/pods": True,
    "/var/lib/sowatch": False,
}


class TestManifest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        if not os.access(manifest.KUBECTL, os.X_OK):
            raise AssertionError("%s is missing: scripts/install-deps.sh --test unpacks "
                                 "Debian's kubectl there" % manifest.KUBECTL)
        cls.rc, cls.out, cls.err, cls.requests = manifest.kubectl_create_dry_run()

    def test_kubectl_accepts_it(self):
        self.assertEqual(self.rc, 0, self.err)
        objs = manifest.parse_objects(self.out)
        self.assertEqual(sorted(o["kind"] for o in objs),
                         ["ConfigMap", "DaemonSet", "Namespace", "ServiceAccount"])
        # Discovery only: nothing was sent to be created
        for method, path in self.requests:
            self.assertEqual(method, "GET", self.requests)
            self.assertIn(path, ("/api", "/apis", "/api/v1", "/apis/apps/v1"), self.requests)

    def spec(self):
        self.assertEqual(self.rc, 0, self.err)
        return manifest.SensorSpec(manifest.parse_objects(self.out))

    def test_security_context(self):
        s = self.spec()
        self.assertIs(s.security.get("privileged"), False)
        self.assertIs(s.security.get("allowPrivilegeEscalation"), False)
        self.assertIs(s.read_only_root, True)
        self.assertEqual(s.cap_drop, ["ALL"])
        self.assertEqual(s.cap_add, CAPABILITIES)
        self.assertIs(s.pod.get("hostPID"), True)
        self.assertIs(s.pod.get("automountServiceAccountToken"), False)
        sa = manifest.find("ServiceAccount", manifest.parse_objects(self.out))
        self.assertIs(sa.get("automountServiceAccountToken"), False)
        self.assertEqual(s.pod.get("serviceAccountName"), sa["metadata"]["name"])

    def test_mounts(self):
        s = self.spec()
        got = {inside: ro for _, inside, ro, _ in s.host_mounts}
        self.assertEqual(got, MOUNTS)
        for host, inside, _, _ in s.host_mounts:
            self.assertEqual(host, inside)
        path, files = s.config_mount
        self.assertEqual(path, "/etc/sowatch")
        self.assertIn("sowatch.yaml", files)
        self.assertEqual(s.args, ["--config", "/etc/sowatch/sowatch.yaml"])

    def test_configuration(self):
        files = self.spec().config_mount[1]
        text = files["sowatch.yaml"]
        self.assertIn('jsonl: "-"', text)
        self.assertIn("path: /var/lib/sowatch/findings.db", text)
        self.assertIn("listen: 0.0.0.0:9464", text)

    def test_probe_and_resources(self):
        s = self.spec()
        self.assertEqual(s.probe, {"path": "/healthz", "port": 9464})
        res = s.container.get("resources") or {}
        for kind in ("requests", "limits"):
            self.assertIn("cpu", res.get(kind, {}))
            self.assertIn("memory", res.get(kind, {}))
        self.assertEqual(s.pod.get("priorityClassName"), "system-node-critical")
        self.assertEqual(s.pod.get("tolerations"), [{"operator": "Exists"}])
        self.assertGreaterEqual(s.pod.get("terminationGracePeriodSeconds", 0), 10)
        ds = manifest.find("DaemonSet", manifest.parse_objects(self.out))
        self.assertEqual(ds["spec"]["updateStrategy"]["type"], "RollingUpdate")
        with open(os.path.join(manifest.REPO_ROOT, "VERSION")) as f:
            version = f.read().strip()
        self.assertEqual(s.container["image"], "localhost/sowatch:" + version)


if __name__ == "__main__":
    unittest.main()
