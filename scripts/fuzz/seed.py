#!/usr/bin/env python3
"""Seed a fresh Kumo server with a small cloud for `make fuzz`, then write the schemathesis config that points the
fuzzer at what was made.

A fuzzer that only ever sends random names gets 404 for every object path and never reaches the handlers behind
them (the lease path that crashed the server was one). So this makes real objects of every kind — a project, nodes
with a lease renewed by a real node token, a workload and its replicas, a replica bound to a node, a service, a
secret, an instance, an image with real blobs — and hands their names to schemathesis as dictionaries: a share of
the generated path parameters are these names, the rest stay random.

Standard library only. Usage: seed.py BASE_URL DATA_DIR CONFIG_OUT HOOKS_FILE SEEDED_OUT (JSON for the hooks)
"""

import hashlib
import io
import json
import ssl
import sys
import tarfile
import urllib.error
import urllib.request

PROJECT = "fz"
NODES = ["fz-node-1", "fz-node-2"]


class Client:
    def __init__(self, base, ca, token):
        self.base = base
        self.ctx = ssl.create_default_context(cafile=ca)
        self.token = token

    def call(self, method, path, body=None, content_type="application/json", token=None, ok=(200, 201)):
        data = None
        if body is not None:
            data = body if isinstance(body, bytes) else json.dumps(body).encode()
        req = urllib.request.Request(self.base + path, data=data, method=method)
        req.add_header("Authorization", "Bearer " + (token or self.token))
        if data is not None:
            req.add_header("Content-Type", content_type)
        try:
            with urllib.request.urlopen(req, context=self.ctx, timeout=30) as resp:
                raw = resp.read()
                status = resp.status
        except urllib.error.HTTPError as e:
            raw, status = e.read(), e.code
        if status not in ok:
            raise SystemExit(f"seed: {method} {path} answered {status}: {raw[:500]!r}")
        try:
            return json.loads(raw) if raw else None
        except ValueError:
            return raw


def obj(kind, name, spec, status=None):
    o = {"apiVersion": "kumo/v1", "kind": kind, "metadata": {"name": name, "labels": {"fuzz": "seed"}}, "spec": spec}
    if status is not None:
        o["status"] = status
    return o


def tar_with(files):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.USTAR_FORMAT) as t:
        for name, content in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(content)
            info.mode = 0o755
            t.addfile(info, io.BytesIO(content))
    return buf.getvalue()


def put_blob(c, content):
    digest = "sha256:" + hashlib.sha256(content).hexdigest()
    c.call("PUT", f"/api/v1/blobs/{digest}", content, content_type="application/octet-stream")
    return digest, len(content)


def main():
    base, data_dir, config_out, hooks_path, seeded_out = sys.argv[1:6]
    with open(f"{data_dir}/admin.token") as f:
        admin = f.read().strip()
    c = Client(base, f"{data_dir}/ca.crt", admin)
    p = f"/api/v1/projects/{PROJECT}"

    c.call("POST", "/api/v1/projects", obj("Project", PROJECT, {"description": "make fuzz"}))
    c.call("POST", "/api/v1/projects", obj("Project", "fz-empty", {"description": "make fuzz: no objects"}))

    # nodes as an agent registers them (capacity, addresses), and a lease renewed with a real node token
    for i, node in enumerate(NODES, start=1):
        c.call("POST", "/api/v1/nodes", obj("Node", node, {"unschedulable": False}, {
            "addresses": [f"127.0.0.{10 + i}"],
            "capacity": {"cpu": "4", "memory": "8Gi", "pods": 50},
            "allocatable": {"cpu": "4", "memory": "8Gi", "pods": 50},
        }))
    join = c.call("POST", "/api/v1/tokens", {"role": "join", "name": "fz-join", "ttlSeconds": 3600})
    node_token = c.call("POST", "/api/v1/join", {"node": NODES[0], "addresses": ["127.0.0.11"]}, token=join["token"])
    c.call("PUT", f"/api/v1/nodes/{NODES[0]}/lease", {"durationSeconds": 3600}, token=node_token["token"])
    c.call("PUT", f"/api/v1/nodes/{NODES[1]}/lease", {"durationSeconds": 60})
    # the fuzzer's own join token for POST /api/v1/join (admin may not join); not in the names below, so the
    # fuzzer does not revoke it half-way
    fuzz_join = c.call("POST", "/api/v1/tokens", {"role": "join", "name": "fz-join-fuzzer", "ttlSeconds": 7200})
    c.call("POST", "/api/v1/tokens", {"role": "view", "project": PROJECT, "name": "fz-view"})
    c.call("POST", "/api/v1/tokens", {"role": "edit", "project": PROJECT, "name": "fz-edit"})

    # an image with real content: a config blob, a one-file layer, a manifest tagged `latest`
    config_blob = json.dumps({"architecture": "amd64", "os": "linux", "config": {"Cmd": ["/bin/sh"]},
                              "rootfs": {"type": "layers", "diff_ids": []}}).encode()
    config_digest, config_size = put_blob(c, config_blob)
    layer_digest, layer_size = put_blob(c, tar_with({"hello.txt": b"hello from make fuzz\n"}))
    manifest = {
        "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config_digest, "size": config_size},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": layer_digest, "size": layer_size}],
    }
    c.call("PUT", "/api/v1/images/fz/tags/latest", manifest, content_type="application/vnd.oci.image.manifest.v1+json")

    c.call("POST", f"{p}/secrets", obj("Secret", "fz", {"data": {"password": "aHVudGVyMg=="}}))
    c.call("POST", f"{p}/workloads", obj("Workload", "fz", {
        "replicas": 2,
        "template": {"labels": {"app": "fz"}, "spec": {
            "image": "fz:latest", "resources": {"cpu": "100m", "memory": "32Mi"},
            "ports": [{"name": "http", "containerPort": 8080}],
            "secrets": [{"name": "fz"}],
        }},
    }))
    c.call("POST", f"{p}/replicas", obj("Replica", "fz", {"image": "fz:latest", "nodeName": NODES[0]}))
    c.call("POST", f"{p}/services", obj("Service", "fz", {
        "selector": {"app": "fz"}, "ports": [{"name": "http", "port": 80, "targetPort": 8080, "protocol": "HTTP"}],
    }))
    c.call("POST", f"{p}/instances", obj("Instance", "fz", {"image": "fz:latest", "vcpus": 1, "memory": "256Mi"}))

    # every name that exists now, so path parameters hit real objects (replicas' generated names included)
    names = {"fz", PROJECT, "fz-empty", *NODES, "fz-join", "fz-view", "fz-edit"}
    for plural in ("replicas", "events"):
        for item in c.call("GET", f"{p}/{plural}")["items"]:
            names.add(item["metadata"]["name"])
    for item in c.call("GET", "/api/v1/events")["items"]:
        names.add(item["metadata"]["name"])
    digests = [config_digest, layer_digest]
    with open(seeded_out, "w") as f:
        json.dump({"manifest": manifest, "joinToken": "fz-join-fuzzer"}, f)

    def toml_list(values):
        return "[" + ", ".join(json.dumps(v) for v in sorted(values)) + "]"

    with open(config_out, "w") as f:
        f.write(f"""# Written by scripts/fuzz/seed.py for this run: tokens, and the names of the seeded objects.
hooks = {json.dumps(hooks_path)}
headers = {{ Authorization = "Bearer {admin}" }}

[[operations]]
include-path = "/api/v1/join"
headers = {{ Authorization = "Bearer {fuzz_join['token']}" }}

[dictionaries.names]
values = {toml_list(names)}

[dictionaries.projects]
values = {toml_list([PROJECT, "fz-empty"])}

[dictionaries.digests]
values = {toml_list(digests)}

[dictionaries.managers]
values = ["admin", "admin/fuzz"]

[dictionaries.tags]
values = ["latest"]

# a share of the generated values are names that exist (and bodies that name them), the rest stay random
[parameters]
"path.name" = {{ dictionary = "names", probability = 0.6 }}
"path.project" = {{ dictionary = "projects", probability = 0.8 }}
"path.digest" = {{ dictionary = "digests", probability = 0.6 }}
"path.tag" = {{ dictionary = "tags", probability = 0.6 }}
"body.metadata.name" = {{ dictionary = "names", probability = 0.5 }}
"query.manager" = {{ dictionary = "managers", probability = 0.8 }}
# A watch (and a log or console follow) is a stream that ends only when the client hangs up: a request/response
# fuzzer can only time out on it. Streams have their own tests (WatchTests, the logs/console E2E tests).
"query.watch" = "false"
"query.follow" = "false"

# Only the document's own links (create → read/replace/patch/delete/history, token create → revoke), not
# schemathesis's guesses from response fields (it read /api/v1/audit's `path` as a source of path values and sent
# paths that are not in the document at all).
[phases.stateful.inference]
algorithms = ["location-headers"]
""")
    print(f"seeded: project {PROJECT}, nodes {', '.join(NODES)}, image fz:latest ({len(digests)} blobs), "
          f"{len(names)} names")


if __name__ == "__main__":
    main()
