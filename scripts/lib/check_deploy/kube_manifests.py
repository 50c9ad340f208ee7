"""deploy/kubernetes: the fields billingd depends on (kubernetes-validate checks the schemas)."""
import glob
import os
import tomllib

import yaml

import common
from common import fail, grace_from, seconds, secret_file_settings

def load_kubernetes():
    objects = []
    for path in sorted(glob.glob(os.path.join(common.ROOT, "deploy", "kubernetes", "*.yaml"))):
        with open(path) as f:
            for doc in yaml.safe_load_all(f):
                if doc:
                    objects.append((os.path.relpath(path, common.ROOT), doc))
    return objects


def one(objects, kind, where="deploy/kubernetes"):
    found = [(p, o) for p, o in objects if o.get("kind") == kind]
    if len(found) != 1:
        fail(where, f"expected exactly one {kind}, found {len(found)}")
        return None, {}
    return found[0]


def container_env(container):
    return {e["name"]: e.get("value") for e in container.get("env", []) if "value" in e}


def pod_template(obj):
    kind = obj["kind"]
    if kind == "CronJob":
        return obj["spec"]["jobTemplate"]["spec"]["template"]
    return obj["spec"]["template"]


def check_pod_files(where, pod, objects):
    """The ConfigMap named by BILLINGD_CONFIG and every *_file setting are mounted where billingd
    looks for them, from objects that hold those keys."""
    spec = pod["spec"]
    volumes = {v["name"]: v for v in spec.get("volumes", [])}
    for container in spec["containers"]:
        env = container_env(container)
        mounts = {m["mountPath"].rstrip("/"): volumes.get(m["name"], {}) for m in container.get("volumeMounts", [])}
        config_path = env.get("BILLINGD_CONFIG")
        toml_text = None
        if config_path:
            volume = mounts.get(os.path.dirname(config_path), {})
            cm_name = volume.get("configMap", {}).get("name")
            cm = next((o for _, o in objects if o["kind"] == "ConfigMap" and o["metadata"]["name"] == cm_name), None)
            toml_text = (cm or {}).get("data", {}).get(os.path.basename(config_path))
            if toml_text is None:
                fail(where, f"container {container['name']}: BILLINGD_CONFIG={config_path} is not a key of a mounted ConfigMap")
        for setting, path in secret_file_settings(toml_text, env).items():
            check_secret_path(where, container["name"], setting, path, mounts, objects)
        yield container, env, toml_text


def check_secret_path(where, container, setting, path, mounts, objects):
    volume = mounts.get(os.path.dirname(path))
    secret = (volume or {}).get("secret")
    if secret is None:
        fail(where, f"container {container}: {setting} = {path}, but no Secret volume is mounted at {os.path.dirname(path)}")
        return
    items = {i["path"]: i["key"] for i in secret.get("items", [])} or None
    key = os.path.basename(path) if items is None else items.get(os.path.basename(path))
    obj = next((o for _, o in objects if o["kind"] == "Secret" and o["metadata"]["name"] == secret["secretName"]), None)
    keys = set((obj or {}).get("data", {})) | set((obj or {}).get("stringData", {}))
    if key is None or key not in keys:
        fail(where, f"container {container}: {setting} = {path} is not a key of Secret {secret['secretName']} mounted there")


def check_probe(where, container, probe, path):
    got = (container.get(probe) or {}).get("httpGet", {})
    if got.get("path") != path:
        fail(where, f"container {container['name']}: {probe}.httpGet.path is {got.get('path')!r}, expected {path!r}")
    return got.get("port")


def check_deployment(objects, default_grace):
    path, dep = one(objects, "Deployment")
    if not dep:
        return None
    where = f"{path}: Deployment {dep['metadata']['name']}"
    if dep["spec"].get("replicas") != 3:
        fail(where, f"spec.replicas is {dep['spec'].get('replicas', 'missing')}, expected 3")
    pod = pod_template(dep)
    spec = pod["spec"]
    for container, env, toml_text in check_pod_files(where, pod, objects):
        if "serve" not in container.get("args", []) + container.get("command", []):
            fail(where, f"container {container['name']}: does not run `billingd serve`")
        ports = {p.get("name"): p["containerPort"] for p in container.get("ports", [])}
        for probe, probe_path in (("readinessProbe", "/readyz"), ("livenessProbe", "/healthz")):
            port = check_probe(where, container, probe, probe_path)
            number = ports.get(port, port)
            listen = env.get("BILLINGD_API__LISTEN", "0.0.0.0:8080")
            if str(number) != listen.rsplit(":", 1)[-1]:
                fail(where, f"container {container['name']}: {probe} port {port!r} is not the API port of {listen}")
        grace = grace_from(where, toml_text, env, default_grace)
        pause = pre_stop_pause(container)
        limit = spec.get("terminationGracePeriodSeconds", 30)
        if not limit > grace + pause:
            fail(where, f"spec.template.spec.terminationGracePeriodSeconds is {limit}, must exceed billing.shutdown_grace ({grace:g}s) + the preStop pause ({pause:g}s)")
        check_non_root(where, spec, container)
        check_prometheus(where, pod, ports, env)
        if toml_text and tomllib.loads(toml_text).get("database", {}).get("migrate_on_start", True):
            fail(where, "the site config leaves database.migrate_on_start true: replicas would migrate during a rollout; the migrate Job does")
    return dep


def pre_stop_pause(container):
    command = ((container.get("lifecycle") or {}).get("preStop") or {}).get("exec", {}).get("command", [])
    if len(command) == 2 and os.path.basename(command[0]) == "sleep":
        return seconds(command[1]) or 0
    return 0


def check_non_root(where, spec, container):
    pod_sc, sc = spec.get("securityContext", {}), container.get("securityContext", {})
    if not sc.get("runAsNonRoot", pod_sc.get("runAsNonRoot")):
        fail(where, f"container {container['name']}: securityContext.runAsNonRoot is not true")
    if sc.get("runAsUser", pod_sc.get("runAsUser")) == 0:
        fail(where, f"container {container['name']}: runs as uid 0")


def check_prometheus(where, pod, ports, env):
    notes = pod["metadata"].get("annotations", {})
    if notes.get("prometheus.io/scrape") != "true":
        fail(where, f"pod annotation prometheus.io/scrape is {notes.get('prometheus.io/scrape')!r}, expected \"true\"")
    if notes.get("prometheus.io/path", "/metrics") != "/metrics":
        fail(where, f"pod annotation prometheus.io/path is {notes.get('prometheus.io/path')!r}, expected /metrics")
    api_port = env.get("BILLINGD_API__LISTEN", "0.0.0.0:8080").rsplit(":", 1)[-1]
    if notes.get("prometheus.io/port") != api_port:
        fail(where, f"pod annotation prometheus.io/port is {notes.get('prometheus.io/port')!r}, expected \"{api_port}\" (the API port)")


def check_batch(objects, kind, command, image):
    path, obj = one(objects, kind)
    if not obj:
        return
    where = f"{path}: {kind} {obj['metadata']['name']}"
    pod = pod_template(obj)
    for container, _env, _toml in check_pod_files(where, pod, objects):
        args = container.get("command", [])[1:] + container.get("args", [])
        if args[: len(command)] != command:
            fail(where, f"container {container['name']}: runs {args!r}, expected billingd {' '.join(command)} …")
        if image and container.get("image") != image:
            fail(where, f"container {container['name']}: image {container.get('image')!r} differs from the Deployment's {image!r}")
        check_non_root(where, pod["spec"], container)


def check_service(objects, dep):
    path, svc = one(objects, "Service")
    if not svc or not dep:
        return
    labels = pod_template(dep)["metadata"].get("labels", {})
    selector = svc["spec"].get("selector", {})
    if not selector or any(labels.get(k) != v for k, v in selector.items()):
        fail(f"{path}: Service {svc['metadata']['name']}", f"selector {selector} does not select the Deployment's pods {labels}")


def check(default_grace):
    objects = load_kubernetes()
    for path, obj in objects:
        if "namespace" in obj.get("metadata", {}):
            fail(f"{path}: {obj['kind']} {obj['metadata'].get('name')}", "sets metadata.namespace; the manifests are namespace-agnostic")
    dep = check_deployment(objects, default_grace)
    image = pod_template(dep)["spec"]["containers"][0].get("image") if dep else None
    check_batch(objects, "Job", ["migrate"], image)
    check_batch(objects, "CronJob", ["prune", "--older-than"], image)
    check_service(objects, dep)
