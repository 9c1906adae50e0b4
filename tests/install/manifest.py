# SPDX-License-Identifier: Apache-2.0
"""deploy/kubernetes/sowatch.yaml as Debian's kubectl reads it, for the install tests.

load() runs `kubectl create --dry-run=client -f deploy/kubernetes/sowatch.yaml -o json`
with Debian's kubectl (1.20, unpacked by scripts/install-deps.sh --test) and returns the
objects it printed. kubectl 1.20 maps each object's kind to a resource through the API
server's discovery documents even in a client dry run, so a tiny server on a loopback port
answers those and nothing else: GET /api, /apis, /api/v1 and /apis/apps/v1, with the
documents Kubernetes publishes for the four kinds the manifest uses (APIVersions,
APIGroupList, APIResourceList). Any other request gets 404 and is recorded; the caller checks
that kubectl asked for nothing but discovery (no object is sent anywhere). --validate=false:
schema validation would need the server's OpenAPI document, which this server does not
pretend to have; the tests check the fields that matter themselves.

sensor_spec() is what the image test runs the container with: the DaemonSet's capabilities,
mounts, configuration and probe, so the manifest is their one source.
"""

import http.server
import json
import os
import subprocess
import tempfile
import threading

HERE = os.path.dirname(os.path.abspath(__file__))
REPO_ROOT = os.path.dirname(os.path.dirname(HERE))
MANIFEST = os.path.join(REPO_ROOT, "deploy", "kubernetes", "sowatch.yaml")
KUBECTL = os.environ.get(
    "SOWATCH_KUBECTL",
    "/var/cache/sowatch-tests/kubernetes-client/usr/bin/kubectl")


def _resources(group_version, items):
    return {
        "kind": "APIResourceList", "apiVersion": "v1", "groupVersion": group_version,
        "resources": [{
            "name": name, "singularName": singular, "namespaced": namespaced,
            "kind": kind, "verbs": ["create", "delete", "get", "list", "patch",
                                    "update", "watch"],
        } for name, singular, namespaced, kind in items],
    }


def _documents(address):
    return {
        "/api": {"kind": "APIVersions", "versions": ["v1"],
                 "serverAddressByClientCIDRs": [
                     {"clientCIDR": "0.0.0.0/0", "serverAddress": address}]},
        "/apis": {"kind": "APIGroupList", "apiVersion": "v1", "groups": [{
            "name": "apps",
            "versions": [{"groupVersion": "apps/v1", "version": "v1"}],
            "preferredVersion": {"groupVersion": "apps/v1", "version": "v1"},
        }]},
        "/api/v1": _resources("v1", [
            ("namespaces", "namespace", False, "Namespace"),
            ("serviceaccounts", "serviceaccount", True, "ServiceAccount"),
            ("configmaps", "configmap", True, "ConfigMap"),
        ]),
        "/apis/apps/v1": _resources("apps/v1", [
            ("daemonsets", "daemonset", True, "DaemonSet"),
        ]),
    }


class DiscoveryServer:
    """Answers Kubernetes' discovery GETs on 127.0.0.1:<free port>; records every request."""

    def __init__(self):
        self.requests = []
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def _answer(self):
                path = self.path.split("?", 1)[0]
                server.requests.append((self.command, path))
                doc = server.documents.get(path) if self.command == "GET" else None
                body = json.dumps(doc if doc is not None else {
                    "kind": "Status", "apiVersion": "v1", "status": "Failure",
                    "reason": "NotFound", "code": 404}).encode()
                self.send_response(200 if doc is not None else 404)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _answer

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = "http://127.0.0.1:%d" % self.httpd.server_port
        self.documents = _documents("127.0.0.1:%d" % self.httpd.server_port)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()


def kubectl_create_dry_run(manifest=MANIFEST):
    """(returncode, stdout, stderr, requests) of kubectl create --dry-run=client -o json
    against the discovery server, with a kubeconfig of its own and a fresh cache."""
    with tempfile.TemporaryDirectory(prefix="sowatch-itest-kube-") as tmp, \
            DiscoveryServer() as srv:
        kubeconfig = os.path.join(tmp, "kubeconfig")
        with open(kubeconfig, "w") as f:
            f.write("apiVersion: v1\nkind: Config\n"
                    "clusters:\n- name: discovery-only\n  cluster:\n    server: %s\n"
                    "contexts:\n- name: discovery-only\n  context:\n"
                    "    cluster: discovery-only\n    user: nobody\n"
                    "users:\n- name: nobody\n  user: {}\n"
                    "current-context: discovery-only\n" % srv.url)
        env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "HOME": tmp,
               "KUBECONFIG": kubeconfig, "LC_ALL": "C"}
        p = subprocess.run(
            [KUBECTL, "create", "--dry-run=client", "--validate=false",
             "--cache-dir", os.path.join(tmp, "cache"), "-f", manifest, "-o", "json"],
            env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, timeout=120)
        return (p.returncode, p.stdout.decode("utf-8", "replace"),
                p.stderr.decode("utf-8", "replace"), list(srv.requests))


_loaded = None


def load():
    """The manifest's objects, as kubectl printed them (a list of dicts); raises
    AssertionError if kubectl fails."""
    global _loaded
    if _loaded is None:
        rc, out, err, _ = kubectl_create_dry_run()
        if rc != 0:
            raise AssertionError("kubectl create --dry-run=client failed (%d):\n%s"
                                 % (rc, err))
        _loaded = parse_objects(out)
    return _loaded


def parse_objects(text):
    """kubectl -o json prints one JSON document per object, one after another."""
    dec, objs, i = json.JSONDecoder(), [], 0
    while True:
        while i < len(text) and text[i].isspace():
            i += 1
        if i == len(text):
            return objs
        doc, i = dec.raw_decode(text, i)
        objs.extend(doc["items"] if doc.get("kind") == "List" else [doc])


def find(kind, objects=None):
    found = [o for o in (objects or load()) if o.get("kind") == kind]
    if len(found) != 1:
        raise AssertionError("expected one %s in the manifest, found %d" % (kind, len(found)))
    return found[0]


class SensorSpec:
    """What the DaemonSet runs the sensor with."""

    def __init__(self, objects=None):
        ds = find("DaemonSet", objects)
        self.pod = ds["spec"]["template"]["spec"]
        [self.container] = self.pod["containers"]
        sc = self.container.get("securityContext") or {}
        self.security = sc
        self.cap_add = list(sc.get("capabilities", {}).get("add") or [])
        self.cap_drop = list(sc.get("capabilities", {}).get("drop") or [])
        self.read_only_root = bool(sc.get("readOnlyRootFilesystem"))
        self.args = list(self.container.get("args") or [])
        volumes = {v["name"]: v for v in self.pod.get("volumes") or []}
        self.host_mounts = []    # (host path, container path, read only)
        self.config_mount = None  # (container path, {file name: text})
        for m in self.container.get("volumeMounts") or []:
            v = volumes[m["name"]]
            ro = bool(m.get("readOnly"))
            if "hostPath" in v:
                self.host_mounts.append((v["hostPath"]["path"], m["mountPath"], ro,
                                         v["hostPath"].get("type", "")))
            elif "configMap" in v:
                cm = find("ConfigMap", objects)
                if cm["metadata"]["name"] != v["configMap"]["name"]:
                    raise AssertionError("volume %s names ConfigMap %s, not in the manifest"
                                         % (m["name"], v["configMap"]["name"]))
                self.config_mount = (m["mountPath"], dict(cm["data"]))
            else:
                raise AssertionError("volume %s: neither hostPath nor configMap" % m["name"])
        probe = self.container.get("livenessProbe") or {}
        self.probe = probe.get("httpGet") or {}


def sensor_spec():
    return SensorSpec()
