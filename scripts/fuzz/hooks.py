"""schemathesis hooks for `make fuzz` (loaded through SCHEMATHESIS_HOOKS).

The OpenAPI document describes each kind's own schema (read off its Swift type), but a body generated from a schema
still rarely passes semantic validation (names, selectors that match template labels, ranges), so it stops at the
first 422 and never reaches the code behind it: quantities, ports, durations, CIDRs, probes, the scheduler, IPAM.
So for object writes (POST a collection, PUT/PATCH an object) a share of the cases get a *valid* object of the
path's kind instead, with one or two of its fields replaced by a
hostile value drawn by Hypothesis (huge and negative numbers, 1e300, long or odd strings, wrong types, null). The
rest keep the body schemathesis generated. The values are drawn from Hypothesis strategies, so runs replay with
--seed and failures shrink.

The same for the two other writes whose bodies the document cannot describe well: a blob upload gets, in a share of
the cases, the digest of the bytes it sends (else every upload is the digest-mismatch 422), and a tag a manifest of
the seeded blobs, mutated.

This only shapes requests. Every answer is still judged by the same checks against the server's own document.
"""

import copy
import hashlib
import json
import os

import schemathesis
from hypothesis import strategies as st

DIGEST = "sha256:" + "ab" * 32

# A valid spec of each kind (plural as in the path), rich enough that mutations reach most validators.
SPECS = {
    "nodes": {
        "spec": {"unschedulable": False, "taints": [{"key": "fz", "value": "x", "effect": "NoSchedule"}]},
        "status": {"capacity": {"cpu": "2", "memory": "4Gi", "pods": 20}, "addresses": ["127.0.0.20"]},
    },
    "projects": {"spec": {"description": "fuzz", "quota": {"cpu": "8", "memory": "16Gi", "pods": 40}}},
    "images": {"spec": {"tags": {"latest": DIGEST, "v1": DIGEST}}},
    "workloads": {
        "spec": {
            "replicas": 2,
            "selector": {"app": "fzw"},
            "revisionHistoryLimit": 5,
            "progressDeadlineSeconds": 600,
            "strategy": {"maxSurge": "25%", "maxUnavailable": 1},
            "autoscale": {"min": 1, "max": 4, "metric": "requestsPerSecond", "target": 50, "windowSeconds": 60},
            "template": {
                "labels": {"app": "fzw"},
                "spec": {
                    "image": "fz:latest",
                    "command": ["sh", "-c", "sleep 1"],
                    "env": [{"name": "A", "value": "b"}],
                    "resources": {"cpu": "100m", "memory": "32Mi"},
                    "ports": [{"name": "http", "containerPort": 8080, "protocol": "TCP"}],
                    "restartPolicy": "Always",
                    "readinessProbe": {"httpGet": {"path": "/", "port": 8080}, "periodSeconds": 1,
                                       "timeoutSeconds": 1, "failureThreshold": 3},
                    "terminationGracePeriodSeconds": 5,
                },
            },
        }
    },
    "replicas": {
        "spec": {
            "image": "fz:latest",
            "args": ["-v"],
            "env": [{"name": "PASSWORD", "secretRef": {"name": "fz", "key": "password"}}],
            "resources": {"cpu": "250m", "memory": "64Mi"},
            "ports": [{"containerPort": 80}],
            "nodeSelector": {"fuzz": "seed"},
            "tolerations": [{"key": "fz", "operator": "Equal", "value": "x", "effect": "NoSchedule"}],
            "restartPolicy": "OnFailure",
            "livenessProbe": {"tcpSocket": {"port": 80}, "periodSeconds": 2},
            "secrets": [{"name": "fz", "mountPath": "/run/secrets/fz"}],
        }
    },
    "instances": {
        "spec": {
            "image": "fz:latest", "vcpus": 1, "memory": "256Mi", "diskSize": "1Gi", "running": True,
            "ports": [{"containerPort": 22}], "userData": "aGVsbG8=", "sshAuthorizedKeys": ["ssh-ed25519 AAAA fz"],
        }
    },
    "services": {
        "spec": {
            "selector": {"app": "fzw"},
            "ports": [{"name": "http", "port": 80, "targetPort": 8080, "protocol": "HTTP"}],
            "external": {"port": 30123},
            "healthCheck": {"enabled": True, "path": "/", "intervalSeconds": 2, "rise": 2, "fall": 3},
            "balance": "leastconn",
            "maxConnectionsPerReplica": 100,
        }
    },
    "secrets": {"spec": {"type": "opaque", "data": {"password": "aHVudGVyMg==", "user": "YWRtaW4="}}},
    "events": {
        "spec": {
            "regarding": {"kind": "Node", "name": "fz-node-1"}, "reason": "FuzzEvent", "message": "from make fuzz",
            "type": "Normal", "source": "fuzz", "count": 1,
        }
    },
}
KINDS = {plural: plural[:-1].capitalize() for plural in SPECS}

# Values a client may send where a number, a quantity, a name or an address is expected.
HOSTILE = st.one_of(
    st.integers(),
    st.sampled_from([0, -1, 2**31, -(2**31) - 1, 2**53 + 1, 2**63 - 1, 2**63, 2**64, -(2**63), 10**30, 65536]),
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from([1e300, -1e300, 0.5, -0.0, 5e-324, 1.7976931348623157e308]),
    st.text(max_size=12),
    st.sampled_from([
        "", "-1", "1e400", "1e-400", "0x10", "99999999999999999999Ti", "-5Gi", "0.0000001m", "1.5.5", "9" * 40,
        "100%", "-50%", "1000000000000%", "10.96.0.0/1", "10.244.0.0/33", "256.1.1.1", "::1", "a" * 300,
        "sha256:" + "g" * 64, "Always", "fz:latest", "../../etc/passwd", "\u0000", "é", "${x}",
    ]),
    st.booleans(),
    st.none(),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=4), st.integers(), max_size=2),
)


def leaves(value, path=()):
    """Every position in a JSON value (objects' keys and arrays' items, leaves and inner nodes)."""
    if isinstance(value, dict):
        for k, v in value.items():
            yield path + (k,)
            yield from leaves(v, path + (k,))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield path + (i,)
            yield from leaves(v, path + (i,))


def set_at(value, path, new):
    for p in path[:-1]:
        value = value[p]
    value[path[-1]] = new


def object_kind(case):
    """The plural of an object write's path (each kind has its own paths), or None for any other operation."""
    method = case.method.upper()
    segments = case.operation.path.strip("/").split("/")
    if method == "POST" and segments[-1] in SPECS:
        return segments[-1]
    if method in ("PUT", "PATCH") and segments[-1] == "{name}" and len(segments) >= 2 and segments[-2] in SPECS:
        return segments[-2]
    return None


def seeded():
    """What scripts/fuzz/seed.py made (FUZZ_SEEDED names its JSON file)."""
    path = os.environ.get("FUZZ_SEEDED")
    if not path:
        return {}
    with open(path) as f:
        return json.load(f)


SEEDED = seeded()


def mutate(draw, body):
    """Replace up to two positions of `body` (in place) with hostile values, never its apiVersion or kind."""
    for _ in range(draw(st.integers(min_value=0, max_value=2))):
        at = draw(st.sampled_from(list(leaves(body))))
        if at[0] not in ("apiVersion", "kind"):
            set_at(body, at, draw(HOSTILE))
    return body


@st.composite
def mutated(draw, case, kind):
    body = copy.deepcopy(SPECS[kind])
    meta = {"name": (case.path_parameters or {}).get("name")
            or draw(st.sampled_from(["fz-gen", "fz-gen-2"]) | st.from_regex(r"fz-[a-z0-9]{1,8}", fullmatch=True)),
            "labels": {"fuzz": "gen"}}
    body = {"apiVersion": "kumo/v1", "kind": KINDS[kind], "metadata": meta, **body}
    if case.method.upper() == "PATCH" and (case.media_type or "").startswith("application/merge-patch"):
        body.pop("kind")
        body.pop("apiVersion")
        body["metadata"] = {"labels": {"fuzz": "patched"}}
    new = case.derive(keep_auth=True)
    new.body = mutate(draw, body)
    if new.media_type is None or "json" not in new.media_type:
        new.media_type = "application/json"
    return new


@st.composite
def manifest(draw, case):
    """A manifest of the seeded blobs (config + one layer), mutated."""
    body = copy.deepcopy(SEEDED["manifest"])
    new = case.derive(keep_auth=True)
    new.body = mutate(draw, body)
    return new


def blob_with_its_digest(case):
    """The upload's bytes under their own digest."""
    body = case.body
    if isinstance(body, str):
        body = body.encode()
    if not isinstance(body, (bytes, bytearray)):
        return case
    new = case.derive(keep_auth=True)
    new.body = bytes(body)
    new.path_parameters["digest"] = "sha256:" + hashlib.sha256(body).hexdigest()
    return new


def is_op(case, method, template):
    return case.method.upper() == method and case.operation.path == template


@schemathesis.hook
def filter_case(context, case):
    # the fuzzer keeps the join token POST /api/v1/join runs with: once revoked, every join is a 401, and 401s
    # fill the per-address failure limiter, so everything after them gets 429
    return not (is_op(case, "DELETE", "/api/v1/tokens/{name}") and case.path_parameters.get("name") == SEEDED.get("joinToken"))


@schemathesis.hook
def flatmap_case(context, case):
    kind = object_kind(case)
    if kind is not None:
        return st.one_of(st.just(case), mutated(case, kind), mutated(case, kind))
    if is_op(case, "PUT", "/api/v1/images/{name}/tags/{tag}") and "manifest" in SEEDED:
        return st.one_of(st.just(case), manifest(case))
    if is_op(case, "PUT", "/api/v1/blobs/{digest}"):
        return st.one_of(st.just(case), st.just(blob_with_its_digest(case)))
    return st.just(case)
