# SPDX-License-Identifier: Apache-2.0
"""A local stand-in for Google Security Command Center's v2 REST API, Google's
OAuth token endpoint and the GCE metadata server, for the e2e tests (Python
standard library only, plus the `openssl` command line).

    key_json, pub = make_service_account_key(ws.dir, token_uri=None)
    with SccServer(ws, key_json=key_json) as scc:   # HTTPS on 127.0.0.1
        scc.endpoint, scc.token_uri, scc.ca_file
        scc.add_source("1234", "sowatch")
        ... scc.findings, scc.patches, scc.state_calls, scc.refusals ...
        scc.expire_tokens_once(); scc.deny_finding(fid); scc.fail_next(2, 503)

SCC cannot be reached from the tests, so this server speaks the published
contract and refuses what the real one would refuse (the project's SCC
research brief, its "Contract-server checklist"). Main sources:
  https://github.com/googleapis/googleapis/tree/master/google/cloud/securitycenter/v2
    (securitycenter_service.proto, finding.proto, process.proto, file.proto,
     container.proto, kubernetes.proto, mitre_attack.proto, indicator.proto)
  https://cloud.google.com/security-command-center/docs/reference/rest/v2/organizations.sources.findings/patch
  https://developers.google.com/identity/protocols/oauth2/service-account
  https://cloud.google.com/apis/design/errors  (google.rpc.Status, code.proto)

Choices where the contract is silent (marked [I] in the brief):
  * a missing source answers 404 NOT_FOUND; an organization other than the
    server's answers 403 PERMISSION_DENIED; a location outside `locations`
    answers 400 INVALID_ARGUMENT;
  * `name` in a PATCH body is ignored: the URL's name wins, as HTTP/JSON
    transcoding sets path fields over the body;
  * a JWT without `kid` is accepted (a present one must match the key id).
Every answer of 400 or more goes to .refusals; those caused by fault
injection also go to .injected (unexpected_refusals() is the difference).
"""

import base64
import datetime
import http.server
import json
import os
import re
import secrets
import ssl
import string
import subprocess
import tempfile
import threading
import time
import urllib.parse

from receiver import _openssl_env, _Server, make_certificates

GRANT_TYPE = "urn:ietf:params:oauth:grant-type:jwt-bearer"
CLOUD_PLATFORM = "https://www.googleapis.com/auth/cloud-platform"
GOOGLE_TOKEN_URI = "https://oauth2.googleapis.com/token"
DEFAULT_EMAIL = "sowatch-test@proj.iam.gserviceaccount.com"
SKEW_S = 60
METADATA_TOKEN_PATH = "/computeMetadata/v1/instance/service-accounts/default/token"

# google/rpc/code.proto: HTTP status -> canonical code name
STATUS_NAMES = {400: "INVALID_ARGUMENT", 401: "UNAUTHENTICATED",
                403: "PERMISSION_DENIED", 404: "NOT_FOUND",
                409: "ALREADY_EXISTS", 429: "RESOURCE_EXHAUSTED",
                499: "CANCELLED", 500: "INTERNAL", 501: "UNIMPLEMENTED",
                503: "UNAVAILABLE", 504: "DEADLINE_EXCEEDED"}


def _run_openssl(*argv, check=True):
    r = subprocess.run(["openssl"] + list(argv), stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, env=_openssl_env())
    if check and r.returncode != 0:
        raise RuntimeError("openssl %s failed:\n%s" % (
            argv[0], r.stdout.decode(errors="replace")))
    return r


def make_service_account_key(dirpath, client_email=DEFAULT_EMAIL,
                             token_uri=None):
    """A Google service-account key file (AIP-4112, https://google.aip.dev/auth/4112)
    with a fresh RSA 2048 key, mode 0600, and the public half as PEM.
    Returns (key_json_path, public_pem_path)."""
    stem = os.path.join(dirpath, "sa-" + secrets.token_hex(4))
    pem = stem + ".key.pem"
    _run_openssl("genpkey", "-algorithm", "RSA", "-pkeyopt",
                 "rsa_keygen_bits:2048", "-out", pem)
    _run_openssl("pkey", "-in", pem, "-pubout", "-out", stem + ".pub.pem")
    with open(pem) as f:
        private_key = f.read()  # PKCS#8: -----BEGIN PRIVATE KEY-----
    os.unlink(pem)
    project = client_email.split("@", 1)[-1].split(".", 1)[0]
    key = {
        "type": "service_account", "project_id": project,
        "private_key_id": secrets.token_hex(20), "private_key": private_key,
        "client_email": client_email,
        "client_id": str(secrets.randbelow(9 * 10 ** 20) + 10 ** 20),
        "auth_uri": "https://accounts.google.com/o/oauth2/auth",
        "token_uri": token_uri or GOOGLE_TOKEN_URI,
        "auth_provider_x509_cert_url": "https://www.googleapis.com/oauth2/v1/certs",
        "client_x509_cert_url": "https://www.googleapis.com/robot/v1/metadata/x509/"
                                + urllib.parse.quote(client_email),
        "universe_domain": "googleapis.com"}
    path = stem + ".json"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump(key, f, indent=2)
    return path, stem + ".pub.pem"


def _opaque_token():
    alphabet = string.ascii_letters + string.digits
    return "ya29.test-" + "".join(secrets.choice(alphabet) for _ in range(40))


# --------------------------------------------------------------------------
# The Finding resource as far as the contract names it (finding.proto at
# googleapis 44245d16). Type specs: "string", "bool", "int64", "timestamp",
# "value" (google.protobuf.Value: any JSON), "object" (a message this server
# does not model: any JSON object), ("enum", NAME, {name: number}),
# ("msg", NAME, {field: spec}), ("list", spec), ("map", spec).

def _enum(name, names_numbers):
    """("enum", NAME, {name: number}) from "NAME=1 OTHER=2 ..."."""
    pairs = (item.split("=") for item in names_numbers.split())
    return ("enum", name, {k: int(v) for k, v in pairs})


V2 = "google.cloud.securitycenter.v2."
SEVERITY = _enum(V2 + "Finding.Severity", (
    "SEVERITY_UNSPECIFIED=0 CRITICAL=1 HIGH=2 MEDIUM=3 LOW=4"))
STATE = _enum(V2 + "Finding.State", (
    "STATE_UNSPECIFIED=0 ACTIVE=1 INACTIVE=2"))
MUTE = _enum(V2 + "Finding.Mute", (
    "MUTE_UNSPECIFIED=0 MUTED=1 UNMUTED=2 UNDEFINED=3"))
FINDING_CLASS = _enum(V2 + "Finding.FindingClass", (
    "FINDING_CLASS_UNSPECIFIED=0 THREAT=1 VULNERABILITY=2 "
    "MISCONFIGURATION=3 OBSERVATION=4 SCC_ERROR=5 POSTURE_VIOLATION=6 "
    "TOXIC_COMBINATION=7 SENSITIVE_DATA_RISK=8"))
# mitre_attack.proto (googleapis 44245d16), complete: a closed list.
TACTIC = _enum(V2 + "MitreAttack.Tactic", (
    "TACTIC_UNSPECIFIED=0 RECONNAISSANCE=1 RESOURCE_DEVELOPMENT=2 "
    "INITIAL_ACCESS=5 EXECUTION=3 PERSISTENCE=6 PRIVILEGE_ESCALATION=8 "
    "DEFENSE_EVASION=7 CREDENTIAL_ACCESS=9 DISCOVERY=10 "
    "LATERAL_MOVEMENT=11 COLLECTION=12 COMMAND_AND_CONTROL=4 "
    "EXFILTRATION=13 IMPACT=14"))
TECHNIQUE = _enum(V2 + "MitreAttack.Technique", (
    "TECHNIQUE_UNSPECIFIED=0 MASQUERADING=49 "
    "MATCH_LEGITIMATE_NAME_OR_LOCATION=50 "
    "BOOT_OR_LOGON_INITIALIZATION_SCRIPTS=37 STARTUP_ITEMS=38 "
    "NETWORK_SERVICE_DISCOVERY=32 PROCESS_DISCOVERY=56 "
    "COMMAND_AND_SCRIPTING_INTERPRETER=6 UNIX_SHELL=7 PYTHON=59 "
    "EXPLOITATION_FOR_PRIVILEGE_ESCALATION=63 "
    "PERMISSION_GROUPS_DISCOVERY=18 CLOUD_GROUPS=19 "
    "INDICATOR_REMOVAL_FILE_DELETION=64 APPLICATION_LAYER_PROTOCOL=45 "
    "DNS=46 SOFTWARE_DEPLOYMENT_TOOLS=47 VALID_ACCOUNTS=14 "
    "DEFAULT_ACCOUNTS=35 LOCAL_ACCOUNTS=15 CLOUD_ACCOUNTS=16 PROXY=9 "
    "EXTERNAL_PROXY=10 MULTI_HOP_PROXY=11 ACCOUNT_MANIPULATION=22 "
    "ADDITIONAL_CLOUD_CREDENTIALS=40 SSH_AUTHORIZED_KEYS=23 "
    "ADDITIONAL_CONTAINER_CLUSTER_ROLES=58 INGRESS_TOOL_TRANSFER=3 "
    "NATIVE_API=4 BRUTE_FORCE=44 SHARED_MODULES=5 "
    "ACCESS_TOKEN_MANIPULATION=33 TOKEN_IMPERSONATION_OR_THEFT=39 "
    "EXPLOIT_PUBLIC_FACING_APPLICATION=27 DOMAIN_POLICY_MODIFICATION=30 "
    "DATA_DESTRUCTION=29 SERVICE_STOP=52 INHIBIT_SYSTEM_RECOVERY=36 "
    "RESOURCE_HIJACKING=8 NETWORK_DENIAL_OF_SERVICE=17 "
    "CLOUD_SERVICE_DISCOVERY=48 STEAL_APPLICATION_ACCESS_TOKEN=42 "
    "ACCOUNT_ACCESS_REMOVAL=51 STEAL_WEB_SESSION_COOKIE=25 "
    "CREATE_OR_MODIFY_SYSTEM_PROCESS=24 EVENT_TRIGGERED_EXECUTION=65 "
    "ABUSE_ELEVATION_CONTROL_MECHANISM=34 UNSECURED_CREDENTIALS=13 "
    "MODIFY_AUTHENTICATION_PROCESS=28 IMPAIR_DEFENSES=31 "
    "DISABLE_OR_MODIFY_TOOLS=55 EXFILTRATION_OVER_WEB_SERVICE=20 "
    "EXFILTRATION_TO_CLOUD_STORAGE=21 DYNAMIC_RESOLUTION=12 "
    "LATERAL_TOOL_TRANSFER=41 MODIFY_CLOUD_COMPUTE_INFRASTRUCTURE=26 "
    "CREATE_SNAPSHOT=54 CLOUD_INFRASTRUCTURE_DISCOVERY=53 "
    "OBTAIN_CAPABILITIES=43 ACTIVE_SCANNING=1 SCANNING_IP_BLOCKS=2 "
    "CONTAINER_ADMINISTRATION_COMMAND=60 DEPLOY_CONTAINER=66 "
    "ESCAPE_TO_HOST=61 CONTAINER_AND_RESOURCE_DISCOVERY=57 "
    "STEAL_OR_FORGE_AUTHENTICATION_CERTIFICATES=62"))

LABEL = ("msg", V2 + "Label", {"name": "string", "value": "string"})
FILE = ("msg", V2 + "File", {  # file.proto
    "path": "string", "size": "int64", "sha256": "string",
    "hashedSize": "int64", "partiallyHashed": "bool", "contents": "string",
    "diskPath": ("msg", V2 + "File.DiskPath", {
        "partitionUuid": "string", "relativePath": "string"})})
PROCESS = ("msg", V2 + "Process", {  # process.proto; note `val`, not `value`
    "name": "string", "binary": FILE, "libraries": ("list", FILE),
    "script": FILE, "args": ("list", "string"), "argumentsTruncated": "bool",
    "envVariables": ("list", ("msg", V2 + "EnvironmentVariable",
                              {"name": "string", "val": "string"})),
    "envVariablesTruncated": "bool", "pid": "int64", "parentPid": "int64",
    "userId": "int64"})
CONTAINER = ("msg", V2 + "Container", {  # container.proto
    "name": "string", "uri": "string", "imageId": "string",
    "labels": ("list", LABEL), "createTime": "timestamp"})
KUBERNETES = ("msg", V2 + "Kubernetes", {  # kubernetes.proto; pods strictly
    "pods": ("list", ("msg", V2 + "Kubernetes.Pod", {
        "ns": "string", "name": "string", "labels": ("list", LABEL),
        "containers": ("list", CONTAINER)})),
    "nodes": ("list", "object"), "nodePools": ("list", "object"),
    "roles": ("list", "object"), "bindings": ("list", "object"),
    "accessReviews": ("list", "object"), "objects": ("list", "object")})
MITRE = ("msg", V2 + "MitreAttack", {
    "primaryTactic": TACTIC, "primaryTechniques": ("list", TECHNIQUE),
    "additionalTactics": ("list", TACTIC),
    "additionalTechniques": ("list", TECHNIQUE), "version": "string"})
INDICATOR = ("msg", V2 + "Indicator", {
    "ipAddresses": ("list", "string"), "domains": ("list", "string"),
    "signatures": ("list", "object"), "uris": ("list", "string")})

FINDING_FIELDS = {
    "name": "string", "canonicalName": "string", "parent": "string",
    "resourceName": "string", "state": STATE, "category": "string",
    "externalUri": "string", "sourceProperties": ("map", "value"),
    "securityMarks": "object", "eventTime": "timestamp",
    "createTime": "timestamp", "severity": SEVERITY, "mute": MUTE,
    "muteInfo": "object", "findingClass": FINDING_CLASS,
    "indicator": INDICATOR, "vulnerability": "object",
    "muteUpdateTime": "timestamp", "externalSystems": ("map", "object"),
    "mitreAttack": MITRE, "access": "object", "connections": ("list", "object"),
    "muteInitiator": "string", "processes": ("list", PROCESS),
    "contacts": ("map", "object"), "compliances": ("list", "object"),
    "parentDisplayName": "string", "description": "string",
    "exfiltration": "object", "iamBindings": ("list", "object"),
    "nextSteps": "string", "moduleName": "string",
    "containers": ("list", CONTAINER), "kubernetes": KUBERNETES,
    "database": "object", "attackExposure": "object", "files": ("list", FILE),
    "cloudDlpInspection": "object", "cloudDlpDataProfile": "object",
    "kernelRootkit": "object", "orgPolicies": ("list", "object"),
    "application": "object", "backupDisasterRecovery": "object",
    "securityPosture": "object", "logEntries": ("list", "object"),
    "loadBalancers": ("list", "object"), "cloudArmor": "object",
    "notebook": "object", "toxicCombination": "object",
    "groupMemberships": ("list", "object"), "disk": "object",
    "dataAccessEvents": ("list", "object"),
    "dataFlowEvents": ("list", "object"),
    "dataRetentionDeletionEvents": ("list", "object")}
FINDING = ("msg", V2 + "Finding", FINDING_FIELDS)
# OUTPUT_ONLY, or "ignored in all update requests": accepted, never stored as
# sent (AIP-203, https://google.aip.dev/203). `parent` is ignored on update.
IGNORED_FIELDS = {"state", "createTime", "canonicalName", "securityMarks",
                  "muteInfo", "muteUpdateTime", "externalSystems", "contacts",
                  "parentDisplayName", "toxicCombination", "groupMemberships",
                  "parent", "name"}
SOURCE = ("msg", V2 + "Source", {"name": "string", "displayName": "string",
                                 "description": "string",
                                 "canonicalName": "string"})

# RFC 3339 as protobuf's JSON mapping takes it: Z or an offset, 0-9 fraction
# digits (https://protobuf.dev/programming-guides/proto3/#json)
TIMESTAMP = re.compile(r"(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?"
                       r"(Z|[+-]\d{2}:\d{2})\Z", re.ASCII)
# finding.proto: sourceProperties keys
# (\Z, not $: $ also matches before a final newline)
PROPERTY_KEY = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,254}\Z")
FINDING_ID = re.compile(r"[A-Za-z0-9]{1,32}\Z")  # UpdateFindingRequest
NUMERIC = re.compile(r"[0-9]+\Z")
INT64 = re.compile(r"-?[0-9]+\Z")
B64URL = re.compile(r"[A-Za-z0-9_-]+\Z")


class ApiError(Exception):
    """An answer of `status` with a google.rpc.Status body; injected: caused
    by fault injection, not by the request."""

    def __init__(self, status, message, field=None, injected=False):
        super().__init__(message)
        self.status, self.message, self.field = status, message, field
        self.injected = injected


def _bad(message, field=None):
    return ApiError(400, message, field)


def _snake(name):
    return re.sub(r"([A-Z])", r"_\1", name).lower()


def parse_timestamp(text, where):
    """An RFC 3339 timestamp -> seconds since the epoch (float)."""
    m = TIMESTAMP.match(text) if isinstance(text, str) else None
    try:
        if not m:
            raise ValueError
        t = datetime.datetime.strptime(m.group(1) + "T" + m.group(2),
                                       "%Y-%m-%dT%H:%M:%S")
        off = 0
        if m.group(4) != "Z":
            sign = -1 if m.group(4)[0] == "-" else 1
            hh, mm = int(m.group(4)[1:3]), int(m.group(4)[4:6])
            if hh > 23 or mm > 59:
                raise ValueError
            off = sign * (hh * 3600 + mm * 60)
    except ValueError:
        raise _bad("Invalid value at '%s' (type.googleapis.com/google.protobuf."
                   "Timestamp), Field '%s', Invalid time format: %s"
                   % (where, where, json.dumps(text)), where) from None
    frac = m.group(3) or "0"
    return (t.replace(tzinfo=datetime.timezone.utc).timestamp() - off
            + int(frac) / 10 ** len(frac))


def _check_strings(value, where):
    """Every string (and object key) valid UTF-8: no lone surrogates."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise _bad("Invalid value at '%s': invalid UTF-8 in a string"
                       % where, where) from None
    elif isinstance(value, list):
        for i, v in enumerate(value):
            _check_strings(v, "%s[%d]" % (where, i))
    elif isinstance(value, dict):
        for k, v in value.items():
            _check_strings(k, where)
            _check_strings(v, "%s.%s" % (where, k))


def validate(value, spec, where):
    """Check a proto3-JSON value against a type spec (see FINDING_FIELDS);
    raise ApiError(400) on the first problem. null means the default."""
    if value is None:
        return

    def mismatch(type_name):
        return _bad("Invalid value at '%s' (%s), %s"
                    % (where, type_name, json.dumps(value)[:100]), where)

    if spec == "string":
        if not isinstance(value, str):
            raise mismatch("TYPE_STRING")
    elif spec == "bool":
        if not isinstance(value, bool):
            raise mismatch("TYPE_BOOL")
    elif spec == "int64":  # a JSON number or a decimal string
        ok = (isinstance(value, int) and not isinstance(value, bool)) or (
            isinstance(value, float) and value.is_integer()) or (
            isinstance(value, str) and INT64.match(value))
        if not ok or not -2 ** 63 <= int(value) < 2 ** 63:
            raise mismatch("TYPE_INT64")
    elif spec == "timestamp":
        parse_timestamp(value, where)
    elif spec == "value":
        pass  # google.protobuf.Value: any JSON
    elif spec == "object":
        if not isinstance(value, dict):
            raise mismatch("TYPE_MESSAGE")
    elif spec[0] == "enum":
        _, type_name, names = spec
        if isinstance(value, bool) or not (
                value in names if isinstance(value, str) else
                isinstance(value, int) and value in names.values()):
            raise mismatch("type.googleapis.com/" + type_name)
    elif spec[0] == "list":
        if not isinstance(value, list):
            raise mismatch("repeated")
        for i, item in enumerate(value):
            if item is None:
                raise _bad("Invalid value at '%s[%d]': null in a repeated "
                           "field" % (where, i), where)
            validate(item, spec[1], "%s[%d]" % (where, i))
    elif spec[0] == "map":
        if not isinstance(value, dict):
            raise mismatch("map")
        for k, v in value.items():
            validate(v, spec[1], "%s[%s]" % (where, json.dumps(k)))
    elif spec[0] == "msg":
        _, type_name, fields = spec
        if not isinstance(value, dict):
            raise mismatch("type.googleapis.com/" + type_name)
        seen = set()
        for key, v in value.items():
            field = key if key in fields else {_snake(f): f for f in fields}.get(key)
            if field is None:
                raise _bad("Invalid JSON payload received. Unknown name %s%s: "
                           "Cannot find field." % (json.dumps(key), " at '%s'"
                                                   % where if where else ""),
                           where)
            if field in seen:
                raise _bad("Invalid JSON payload received. Duplicate field %s "
                           "at '%s'." % (json.dumps(key), where), where)
            seen.add(field)
            validate(v, fields[field], (where + "." if where else "") + _snake(field))


def _camel_keys(body):
    """The top-level fields of a validated message under their JSON names."""
    return {(k if k in FINDING_FIELDS else
             re.sub(r"_([a-z0-9])", lambda m: m.group(1).upper(), k)): v
            for k, v in body.items()}


def _loads_strict(raw, where="finding"):
    """The request body as JSON: UTF-8 (\\ud800 escapes too), no duplicate
    keys, no NaN."""
    def pairs(items):
        out = {}
        for k, v in items:
            if k in out:
                raise _bad("Invalid JSON payload received. Duplicate field %s."
                           % json.dumps(k), where)
            out[k] = v
        return out

    def constant(name):
        raise ValueError(name)

    if not raw.strip():
        return {}  # no body: every field unset
    try:
        doc = json.loads(raw.decode("utf-8"), object_pairs_hook=pairs,
                         parse_constant=constant)
    except (UnicodeDecodeError, ValueError) as e:
        raise _bad("Invalid JSON payload received. %s" % e, where) from None
    _check_strings(doc, where)
    return doc


def _now_rfc3339():
    return datetime.datetime.now(datetime.timezone.utc).strftime(
        "%Y-%m-%dT%H:%M:%S.%fZ")


# --------------------------------------------------------------------------
# HTTP plumbing shared by both servers


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "sowatch-test-scc"

    def log_message(self, fmt, *args):
        pass

    def _body(self):
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            out = b""
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip(), 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return out
                out += self.rfile.read(size)
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def _serve(self):
        body = self._body()
        status, headers, payload = self.server.receiver._handle(
            self.command, self.path, self.headers, body)
        data = payload if isinstance(payload, bytes) else json.dumps(
            payload, indent=2).encode()
        self.send_response(status)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _serve


class _Base:
    """Lifecycle shared by SccServer and MetadataServer (receiver.py's)."""

    def __init__(self):
        self._lock = threading.RLock()
        self._socks = []
        self._stopped = threading.Event()
        self._server = None
        self.port = None

    def _serve_with(self, context):
        self._server = _Server(self, context)
        self._server.RequestHandlerClass = _Handler
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        kwargs={"poll_interval": 0.1},
                                        daemon=True)
        self._thread.start()
        return self

    def _track(self, sock):
        with self._lock:
            self._socks.append(sock)

    def stop(self):
        if self._server is None:
            return
        self._stopped.set()
        self._server.shutdown()
        with self._lock:
            socks, self._socks = self._socks, []
        for s in socks:
            try:
                s.close()
            except OSError:
                pass
        self._server.server_close()
        self._thread.join(10)
        self._server = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
        return False


# --------------------------------------------------------------------------


class MetadataServer(_Base):
    """The GCE metadata server's token endpoint, plain HTTP on 127.0.0.1
    (https://cloud.google.com/compute/docs/metadata; google-auth's
    compute_engine/_metadata.py). .host is the value for GCE_METADATA_HOST.
    Requests need `Metadata-Flavor: Google` (else 403) and carry no
    X-Forwarded-For; answers carry `Metadata-Flavor: Google`."""

    def __init__(self, token_lifetime_s=3600, client_email=DEFAULT_EMAIL):
        super().__init__()
        self.token_lifetime_s = token_lifetime_s
        self.client_email = client_email
        self._tokens = {}  # token -> expiry (time.time())
        self.requests = 0
        self.tokens_issued = 0

    def start(self):
        return self._serve_with(None)

    @property
    def host(self):
        return "127.0.0.1:%d" % self.port

    def token_valid(self, token):
        with self._lock:
            return self._tokens.get(token, 0) > time.time()

    def invalidate_tokens(self):
        with self._lock:
            self._tokens.clear()

    def _handle(self, method, path, headers, body):
        hdrs = [("Metadata-Flavor", "Google")]
        text = [("Content-Type", "application/text")]
        with self._lock:
            self.requests += 1
            if headers.get("Metadata-Flavor") != "Google" or \
                    headers.get("X-Forwarded-For"):
                return 403, text, b"Missing Metadata-Flavor:Google header.\n"
            route = urllib.parse.urlsplit(path).path
            if method != "GET":
                return 405, text, b"Method not allowed\n"
            if route == "/":
                return 200, hdrs + text, b"computeMetadata/\n"
            if route == "/computeMetadata/v1/instance/service-accounts/default/email":
                return 200, hdrs + text, self.client_email.encode()
            if route != METADATA_TOKEN_PATH:
                return 404, hdrs + text, b"Not Found\n"
            token = _opaque_token()
            self._tokens[token] = time.time() + self.token_lifetime_s
            self.tokens_issued += 1
        return 200, hdrs + [("Content-Type", "application/json")], {
            "access_token": token, "expires_in": self.token_lifetime_s,
            "token_type": "Bearer"}


class SccServer(_Base):
    """SCC v2 + the OAuth token endpoint, on https://127.0.0.1:PORT.

    ws: a harness.Workspace (the TLS and key files go in a directory of it,
      left for the workspace's cleanup: ca_file stays readable after stop()).
    key_json: a service-account key file: its client_email and private_key_id
      are the ones /token expects, its public key verifies the JWTs.
    public_key_pem: instead (or besides), the public key: a path or PEM text.
    metadata: a MetadataServer whose tokens are accepted too.
    locations: the locations finding names may use (no data residency: global).
    refuse_older_event_time: refuse an update whose eventTime is older than
      the stored one (the brief's optional [I] check; off by default).
    """

    def __init__(self, ws, organization="123456789012", public_key_pem=None,
                 client_email=DEFAULT_EMAIL, tls=True, token_lifetime_s=3600,
                 key_json=None, key_id=None, metadata=None,
                 locations=("global",), refuse_older_event_time=False):
        super().__init__()
        self.ws, self.organization, self.tls = ws, str(organization), tls
        self.token_lifetime_s = token_lifetime_s
        self.client_email, self.key_id = client_email, key_id
        self.metadata, self.locations = metadata, tuple(locations)
        self.refuse_older_event_time = refuse_older_event_time
        self.dir = ws.path("scc-" + secrets.token_hex(4))
        os.mkdir(self.dir)
        os.chmod(self.dir, 0o755)
        self.public_key_file = None
        if key_json:
            with open(key_json) as f:
                key = json.load(f)
            self.client_email = key["client_email"]
            self.key_id = key_id or key["private_key_id"]
            priv = os.path.join(self.dir, "sa-private.pem")
            fd = os.open(priv, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as f:
                f.write(key["private_key"])
            self.public_key_file = os.path.join(self.dir, "sa-public.pem")
            _run_openssl("pkey", "-in", priv, "-pubout", "-out",
                         self.public_key_file)
            os.unlink(priv)
        if public_key_pem:
            if public_key_pem.lstrip().startswith("-----BEGIN"):
                self.public_key_file = os.path.join(self.dir, "given-public.pem")
                with open(self.public_key_file, "w") as f:
                    f.write(public_key_pem)
            else:
                self.public_key_file = public_key_pem
        self.ca_file = None
        # state the tests read (under self._lock while the server runs)
        self.findings = {}
        self.patches = []
        self.state_calls = []
        self.mute_calls = []
        self.sources = {}
        self.refusals = []
        self.injected = []  # the refusals fault injection caused
        self._injected_at = set()  # their indexes in self.refusals
        self.requests = []  # (method, path, status) of every request
        self.tokens_issued = 0
        self.issued_tokens = []  # every token /token gave, for a test to look for in logs
        self._tokens = {}  # token -> expiry (time.time())
        self._names = {}   # normalised finding key -> name in self.findings
        self._event_times = {}
        self._expire_once = False
        self._denied = set()
        self._deny_when = []  # predicates on a PATCH's raw body
        self._fail = []  # statuses still to inject

    # -- lifecycle and addresses

    def start(self):
        context = None
        if self.tls:
            self.ca_file, cert, key = make_certificates(self.dir)
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(cert, key)
        return self._serve_with(context)

    @property
    def endpoint(self):
        return "%s://127.0.0.1:%d" % ("https" if self.tls else "http", self.port)

    @property
    def token_uri(self):
        return self.endpoint + "/token"

    # -- set-up and fault injection

    def add_source(self, source_id, display_name, description=""):
        """A pre-existing source organizations/{org}/sources/{source_id}."""
        name = "organizations/%s/sources/%s" % (self.organization, source_id)
        with self._lock:
            self.sources[name] = {"name": name, "displayName": display_name,
                                  "description": description}
        return name

    def expire_tokens_once(self):
        """The next API request bearing a valid token answers 401 and every
        token issued so far (here and by the metadata server) stops working."""
        with self._lock:
            self._expire_once = True

    def deny_finding(self, finding_id):
        """PATCHes of a finding with this id answer 403 PERMISSION_DENIED."""
        with self._lock:
            self._denied.add(finding_id)

    def deny_when(self, predicate):
        """PATCHes whose raw body (bytes) predicate(body) is true for answer
        403 PERMISSION_DENIED: for a finding whose id is not known yet."""
        with self._lock:
            self._deny_when.append(predicate)

    def fail_next(self, n, status=503):
        """The next n /v2 requests answer `status` (503, 429, 500, ...)."""
        with self._lock:
            self._fail.extend([status] * n)

    def unexpected_refusals(self):
        """Refusals not caused by fault injection."""
        with self._lock:
            return [r for i, r in enumerate(self.refusals)
                    if i not in self._injected_at]

    def wait_for(self, predicate, timeout=10.0):
        """predicate(self)'s value once it is true; fails after timeout s."""
        deadline = time.monotonic() + timeout
        while True:
            with self._lock:
                value = predicate(self)
            if value:
                return value
            if time.monotonic() > deadline:
                with self._lock:
                    raise AssertionError(
                        "scc server: condition not met within %ss; findings %r, "
                        "refusals %r, last requests %r" % (
                            timeout, list(self.findings), self.refusals[-5:],
                            self.requests[-10:]))
            time.sleep(0.05)

    # -- dispatch

    def _handle(self, method, path, headers, body):
        route = urllib.parse.unquote(urllib.parse.urlsplit(path).path)
        query = urllib.parse.parse_qs(urllib.parse.urlsplit(path).query,
                                      keep_blank_values=True)
        if route == "/token" and method == "POST":
            status, payload = self._token(headers, body)
            if status != 200:
                with self._lock:
                    self.refusals.append((method, path, status,
                                          payload["error_description"]))
        else:
            try:
                try:
                    status, payload = 200, self._api(method, route, query,
                                                     headers, body)
                except ApiError:
                    raise
                except Exception as e:  # a bug here: say so, loudly
                    raise ApiError(500, "sccserver bug: %r" % e) from e
            except ApiError as e:
                status = e.status
                payload = {"error": {"code": e.status, "message": e.message,
                                     "status": STATUS_NAMES.get(e.status, "UNKNOWN")}}
                if e.field is not None:
                    payload["error"]["details"] = [{
                        "@type": "type.googleapis.com/google.rpc.BadRequest",
                        "fieldViolations": [{"field": e.field,
                                             "description": e.message}]}]
                with self._lock:
                    entry = (method, path, status, e.message)
                    self.refusals.append(entry)
                    if e.injected:
                        self.injected.append(entry)
                        self._injected_at.add(len(self.refusals) - 1)
        with self._lock:
            self.requests.append((method, path, status))
        return status, [("Content-Type", "application/json; charset=UTF-8")], payload

    # -- OAuth 2.0 JWT bearer (https://developers.google.com/identity/protocols/oauth2/service-account)

    def _token(self, headers, body):
        def refuse(description, error="invalid_grant"):
            return 400, {"error": error, "error_description": description}

        ctype = (headers.get("Content-Type") or "").split(";")[0].strip().lower()
        if ctype != "application/x-www-form-urlencoded":
            return refuse("Content-Type must be application/x-www-form-urlencoded",
                          "invalid_request")
        try:
            form = urllib.parse.parse_qs(body.decode("ascii"),
                                         keep_blank_values=True,
                                         strict_parsing=True)
        except (UnicodeDecodeError, ValueError):
            return refuse("Malformed form body.", "invalid_request")
        if any(len(v) != 1 for v in form.values()):
            return refuse("Repeated form parameter.", "invalid_request")
        if form.get("grant_type") != [GRANT_TYPE]:
            return refuse("Invalid grant_type: %s" % form.get("grant_type", [""])[0],
                          "unsupported_grant_type")
        parts = form.get("assertion", [""])[0].split(".")
        if len(parts) != 3 or not all(B64URL.match(p) and len(p) % 4 != 1
                                      for p in parts):
            return refuse("Invalid JWT: not three unpadded base64url segments.")
        try:
            dec = [base64.urlsafe_b64decode(p + "=" * (-len(p) % 4)) for p in parts]
            header, claims = (_loads_strict(d) for d in dec[:2])
        except (ApiError, ValueError):
            return refuse("Invalid JWT: the header or claims are not JSON.")
        if not isinstance(header, dict) or not isinstance(claims, dict):
            return refuse("Invalid JWT: the header or claims are not objects.")
        if header.get("alg") != "RS256" or header.get("typ", "JWT") != "JWT":
            return refuse("Invalid JWT: alg must be RS256 and typ JWT.")
        if "kid" in header and self.key_id and header["kid"] != self.key_id:
            return refuse("Invalid JWT Signature.")  # an unknown (rotated) key
        if not self._signature_ok((parts[0] + "." + parts[1]).encode(), dec[2]):
            return refuse("Invalid JWT Signature.")
        if claims.get("iss") != self.client_email:
            return refuse("Invalid email or User ID")
        if claims.get("aud") != self.token_uri:
            return refuse("Invalid JWT: Failed audience check. The right audience "
                          "is %s" % self.token_uri)
        scopes = claims.get("scope")
        if not isinstance(scopes, str) or CLOUD_PLATFORM not in scopes.split(" "):
            return refuse("Invalid OAuth scope or ID token audience provided.",
                          "invalid_scope")
        iat, exp, now = claims.get("iat"), claims.get("exp"), time.time()
        if not all(isinstance(v, int) and not isinstance(v, bool) for v in (iat, exp)) \
                or iat > now + SKEW_S or exp <= now or exp <= iat or exp - iat > 3600:
            return refuse("Invalid JWT: Token must be a short-lived token (60 "
                          "minutes) and in a reasonable timeframe. Check your "
                          "iat and exp values in the JWT claim.")
        token = _opaque_token()
        with self._lock:
            self._tokens[token] = now + self.token_lifetime_s
            self.issued_tokens.append(token)
            self.tokens_issued += 1
        return 200, {"access_token": token, "expires_in": self.token_lifetime_s,
                     "token_type": "Bearer"}

    def _signature_ok(self, data, signature):
        """RSASSA-PKCS1-v1_5 SHA-256, checked by the openssl binary."""
        if not self.public_key_file:
            return False
        with tempfile.TemporaryDirectory(prefix="scc-jwt-") as d:
            with open(os.path.join(d, "data"), "wb") as f:
                f.write(data)
            with open(os.path.join(d, "sig"), "wb") as f:
                f.write(signature)
            r = _run_openssl("dgst", "-sha256", "-verify", self.public_key_file,
                             "-signature", os.path.join(d, "sig"),
                             os.path.join(d, "data"), check=False)
        return r.returncode == 0

    # -- the v2 API

    FINDING_PATH = re.compile(
        r"^/v2/((organizations|folders|projects)/([^/]+)/sources/([^/]+)"
        r"(?:/locations/([^/]+))?/findings/([^/:]+))(?::(setState|setMute))?\Z")
    SOURCES_PATH = re.compile(
        r"^/v2/((organizations|folders|projects)/([^/]+))/sources(?:/([^/:]+))?\Z")

    def _api(self, method, route, query, headers, body):
        fm, sm = self.FINDING_PATH.match(route), self.SOURCES_PATH.match(route)
        verb = fm and fm.group(7)
        known = (fm and (method == "PATCH" and not verb or method == "POST" and verb)) \
            or (sm and (method == "GET" or (method == "POST" and not sm.group(4))))
        if not known:
            raise ApiError(404, "The requested URL %s was not found on this "
                           "server. (%s)" % (route, method))
        with self._lock:
            if self._fail:
                status = self._fail.pop(0)
                raise ApiError(status, "Injected failure: %d" % status,
                               injected=True)
            self._authenticate(headers)
        if sm:
            return self._sources(method, sm, query, body)
        return self._finding(method, fm, query, body)

    def _authenticate(self, headers):
        """A Bearer token this server or the metadata server issued and that
        has not expired (401 UNAUTHENTICATED otherwise). Under the lock."""
        auth = headers.get("Authorization") or ""
        token = auth[7:].strip() if auth[:7].lower() == "bearer " else None
        valid = token and (self._tokens.get(token, 0) > time.time() or (
            self.metadata is not None and self.metadata.token_valid(token)))
        msg = ("Request had invalid authentication credentials. Expected OAuth 2 "
               "access token, login cookie or other valid authentication "
               "credential. See https://developers.google.com/identity/sign-in/"
               "web/devconsole-project.")
        if valid and self._expire_once:
            self._expire_once = False
            self._tokens.clear()
            if self.metadata is not None:
                self.metadata.invalidate_tokens()
            raise ApiError(401, msg, injected=True)
        if not valid:
            raise ApiError(401, msg)

    def _sources(self, method, m, query, body):
        kind, parent_id, source_id = m.group(2), m.group(3), m.group(4)
        if kind == "organizations" and parent_id != self.organization:
            raise ApiError(403, "The caller does not have permission")
        if method == "POST":  # CreateSource: organizations/* only
            if kind != "organizations":
                raise ApiError(404, "The requested URL was not found on this "
                               "server: CreateSource exists only under "
                               "organizations/.")
            src = _loads_strict(body, "source")
            validate(src, SOURCE, "source")
            name, desc = src.get("displayName") or "", src.get("description") or ""
            if not 1 <= len(name) <= 64:  # source.proto
                raise _bad("display_name must be 1-64 characters", "source.display_name")
            if len(desc) > 1024:
                raise _bad("description must be at most 1024 characters",
                           "source.description")
            with self._lock:
                if any(s["displayName"] == name for s in self.sources.values()):
                    raise ApiError(409, "A source with display name %s already "
                                   "exists" % json.dumps(name))
                sid = str(secrets.randbelow(9 * 10 ** 18) + 10 ** 18)
                full = "organizations/%s/sources/%s" % (self.organization, sid)
                self.sources[full] = {"name": full, "displayName": name,
                                      "description": desc}
                return dict(self.sources[full], canonicalName=full)
        with self._lock:
            listing = [dict(s, name=m.group(1) + "/sources/" + s["name"].rsplit("/", 1)[1])
                       for s in self.sources.values()]
        for s in listing:
            s["canonicalName"] = s["name"]
        if source_id is not None:  # GetSource
            found = [s for s in listing if s["name"].endswith("/" + source_id)]
            if not found:
                raise ApiError(404, "Requested entity was not found.")
            return found[0]
        try:  # ListSources: pageSize default 10, max 1000 (coerced)
            size = int(query.get("pageSize", ["0"])[-1] or 0)
            token = query.get("pageToken", [""])[-1]
            start = int(base64.urlsafe_b64decode(token.encode()).decode()
                        .split(":")[1]) if token else 0
            if size < 0 or start < 0:
                raise ValueError
        except (ValueError, IndexError, UnicodeDecodeError):
            raise _bad("Invalid pageSize or pageToken") from None
        size = min(size or 10, 1000)
        out = {"sources": listing[start:start + size]}
        if start + size < len(listing):
            out["nextPageToken"] = base64.urlsafe_b64encode(
                ("offset:%d" % (start + size)).encode()).decode()
        return out

    def _finding(self, method, m, query, body):
        name, kind, parent_id, source_id, location, fid, verb = m.groups()
        location = location or "global"  # "assumed to be in global"
        if kind in ("organizations", "folders") and not NUMERIC.match(parent_id) \
                or not NUMERIC.match(source_id):
            raise _bad("Invalid resource name %s" % json.dumps(name), "name")
        if kind == "organizations" and parent_id != self.organization:
            raise ApiError(403, "The caller does not have permission")
        if location not in self.locations:
            raise _bad("Location %s is not supported" % json.dumps(location), "name")
        source = "organizations/%s/sources/%s" % (self.organization, source_id)
        key = (kind, parent_id, source_id, location, fid)
        with self._lock:
            if source not in self.sources:
                raise ApiError(404, "Requested entity was not found. (source %s)"
                               % source)
        if verb:
            return self._set(verb, key, body)
        with self._lock:
            if fid in self._denied or any(p(body) for p in self._deny_when):
                raise ApiError(403, "Permission 'securitycenter.findings.update' "
                               "denied on resource '%s' (or it may not exist)."
                               % name, injected=True)
        if not FINDING_ID.match(fid):  # UpdateFindingRequest: alphanumeric, 1-32
            raise _bad("Finding id %s must be 1-32 alphanumeric characters"
                       % json.dumps(fid), "finding.name")
        finding = _loads_strict(body)
        if isinstance(finding, dict) and ("finding" in finding or "resource" in finding):
            bad = "finding" if "finding" in finding else "resource"
            raise _bad("Invalid JSON payload received. Unknown name \"%s\" at "
                       "'finding': Cannot find field." % bad, "finding")
        validate(finding, FINDING, "finding")
        finding = _camel_keys(finding)
        for k, v in (finding.get("sourceProperties") or {}).items():
            if not PROPERTY_KEY.match(k):
                raise _bad("Invalid source property key %s: 1-255 characters, "
                           "a letter then letters, digits or _" % json.dumps(k),
                           "finding.source_properties")
        uri = urllib.parse.urlsplit(finding.get("externalUri") or "http://x")
        if not (uri.scheme and uri.netloc):  # "empty or a well formed URL"
            raise _bad("external_uri must be empty or a well formed URL",
                       "finding.external_uri")
        event = finding.get("eventTime")
        if event is not None and parse_timestamp(event, "finding.event_time") \
                > time.time() + SKEW_S:
            raise _bad("event_time must not be in the future", "finding.event_time")
        mask = query.get("updateMask", [""])[-1] or None  # empty = unset
        with self._lock:
            stored_name = self._names.get(key)
            old = self.findings.get(stored_name)
            if old is None:
                if mask is not None:
                    raise _bad("update_mask must not be set when creating a "
                               "finding", "update_mask")
                if event is None:
                    raise _bad("event_time is required", "finding.event_time")
                if not finding.get("category"):
                    raise _bad("category is required", "finding.category")
                new = self._kept(finding, name, "ACTIVE", "UNDEFINED", _now_rfc3339())
            else:
                for f in ("category", "resourceName"):  # IMMUTABLE
                    if finding.get(f) is not None and finding[f] != old.get(f):
                        raise _bad("%s is immutable: %s cannot change to %s" % (
                            f, json.dumps(old.get(f)), json.dumps(finding[f])),
                            "finding." + _snake(f))
                if event is not None and self.refuse_older_event_time and \
                        parse_timestamp(event, "e") < self._event_times[stored_name]:
                    raise _bad("event_time must not be older than the stored one",
                               "finding.event_time")
                name = stored_name
                merged = self._masked(old, finding, mask) if mask else dict(
                    finding, category=old["category"],
                    resourceName=old.get("resourceName"))
                if merged.get("resourceName") is None:
                    merged.pop("resourceName", None)
                new = self._kept(merged, name, old["state"], old["mute"],
                                 old["createTime"])
            self.findings[name] = new
            self._names[key] = name
            if new.get("eventTime"):
                self._event_times[name] = parse_timestamp(new["eventTime"], "e")
            self.patches.append((name, finding))
            return dict(new)

    @staticmethod
    def _kept(finding, name, state, mute, create_time):
        """The stored finding: the body without ignored fields, plus what the
        server keeps itself."""
        out = {k: v for k, v in finding.items() if k not in IGNORED_FIELDS}
        out.update(name=name, canonicalName=name, state=state, mute=mute,
                   createTime=create_time)
        return out

    @staticmethod
    def _masked(old, finding, mask):
        """Apply an updateMask: field paths, or sourceProperties.<key>."""
        out = dict(old)
        for path in mask.split(","):
            path = path.strip()
            head, _, sub = path.partition(".")
            field = head if head in FINDING_FIELDS else {
                _snake(f): f for f in FINDING_FIELDS}.get(head)
            if field is None or field in IGNORED_FIELDS or \
                    (sub and field != "sourceProperties"):
                raise _bad("Invalid update_mask path %s" % json.dumps(path),
                           "update_mask")
            if field in ("category", "resourceName"):
                continue  # checked for change above
            if sub:
                props = dict(out.get("sourceProperties") or {})
                if sub in (finding.get("sourceProperties") or {}):
                    props[sub] = finding["sourceProperties"][sub]
                else:
                    props.pop(sub, None)
                out["sourceProperties"] = props
            elif field in finding:
                out[field] = finding[field]
            else:
                out.pop(field, None)
        return out

    def _set(self, verb, key, body):
        """:setState {"state": ACTIVE|INACTIVE} and :setMute {"mute":
        MUTED|UNMUTED|UNDEFINED}; `name` may repeat the path's and is ignored."""
        field, spec = ("state", STATE) if verb == "setState" else ("mute", MUTE)
        request = _loads_strict(body, "")
        validate(request, ("msg", V2 + verb + "Request",
                           {"name": "string", field: spec}), "")
        value = request.get(field)
        names = {v: k for k, v in spec[2].items()}
        value = names.get(value, value)
        if value is None or value.endswith("_UNSPECIFIED"):
            raise _bad("%s is required" % field, field)
        with self._lock:
            stored_name = self._names.get(key)
            if stored_name is None:
                raise ApiError(404, "Requested entity was not found.")
            finding = self.findings[stored_name]
            finding[field] = value
            if verb == "setMute":
                finding["muteUpdateTime"] = _now_rfc3339()
                self.mute_calls.append((stored_name, value))
            else:
                self.state_calls.append((stored_name, value))
            return dict(finding)
