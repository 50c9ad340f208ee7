#!/usr/bin/env python3
"""The fields of deploy/ that billingd depends on, checked against each other and against
config/default.toml (run by scripts/check-deploy, after kubernetes-validate has checked the
Kubernetes manifests against the API schemas).

Each failure names the file, the object and the field, what was found and what is needed; all
failures are printed, then the exit code is 1.

    python3 scripts/lib/check_deploy.py [REPO_ROOT]
"""
import glob
import os
import re
import sys
import tomllib

import yaml

ROOT = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", ".."))
failures = []


def fail(where, message):
    failures.append(f"{where}: {message}")


# --- durations -------------------------------------------------------------------------------
UNITS = {"ms": 0.001, "s": 1, "sec": 1, "m": 60, "min": 60, "h": 3600, "hr": 3600, "d": 86400}
PART = re.compile(r"(\d+(?:\.\d+)?)\s*(ms|sec|min|hr|s|m|h|d)?")
ISO = re.compile(r"P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?")


def seconds(text):
    """Seconds in a billingd, compose (Go) or systemd duration: "25s", "1m30s", "2min 5s", "40",
    "PT2M"; None when it is none of these."""
    text = str(text).strip()
    iso = ISO.fullmatch(text.upper())
    if iso and text.upper() != "P":
        d, h, m, s = (float(x) if x else 0 for x in iso.groups())
        return d * 86400 + h * 3600 + m * 60 + s
    total, pos = 0.0, 0
    for match in PART.finditer(text):
        if text[pos:match.start()].strip():
            return None
        total += float(match.group(1)) * UNITS[match.group(2) or "s"]
        pos = match.end()
    return total if pos and not text[pos:].strip() else None


# --- billingd's own configuration ------------------------------------------------------------
def default_shutdown_grace():
    path = os.path.join(ROOT, "config", "default.toml")
    with open(path, "rb") as f:
        value = tomllib.load(f)["billing"]["shutdown_grace"]
    grace = seconds(value)
    if grace is None:
        sys.exit(f"check-deploy: config/default.toml: billing.shutdown_grace {value!r} is not a duration")
    return grace


def grace_from(where, toml_text, env, fallback):
    """The effective billing.shutdown_grace: environment over a site file over the default."""
    grace = fallback
    if toml_text:
        value = tomllib.loads(toml_text).get("billing", {}).get("shutdown_grace")
        if value is not None:
            grace = seconds(value)
    value = env.get("BILLINGD_BILLING__SHUTDOWN_GRACE")
    if value is not None:
        grace = seconds(value)
    if grace is None:
        fail(where, "billing.shutdown_grace is not a duration")
        return fallback
    return grace


def secret_file_settings(toml_text, env):
    """{setting: path} for every *_file setting, from a TOML site file and BILLINGD_* variables."""
    found = {}
    if toml_text:
        for section, table in tomllib.loads(toml_text).items():
            for key, value in table.items() if isinstance(table, dict) else ():
                if key.endswith("_file"):
                    found[f"{section}.{key}"] = value
    for name, value in env.items():
        if name.startswith("BILLINGD_") and name.endswith("_FILE") and "__" in name:
            section, key = name[len("BILLINGD_"):].lower().split("__", 1)
            found[f"{section}.{key}"] = value
    return found


# --- Kubernetes ------------------------------------------------------------------------------
def load_kubernetes():
    objects = []
    for path in sorted(glob.glob(os.path.join(ROOT, "deploy", "kubernetes", "*.yaml"))):
        with open(path) as f:
            for doc in yaml.safe_load_all(f):
                if doc:
                    objects.append((os.path.relpath(path, ROOT), doc))
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


def check_kubernetes(default_grace):
    objects = load_kubernetes()
    for path, obj in objects:
        if "namespace" in obj.get("metadata", {}):
            fail(f"{path}: {obj['kind']} {obj['metadata'].get('name')}", "sets metadata.namespace; the manifests are namespace-agnostic")
    dep = check_deployment(objects, default_grace)
    image = pod_template(dep)["spec"]["containers"][0].get("image") if dep else None
    check_batch(objects, "Job", ["migrate"], image)
    check_batch(objects, "CronJob", ["prune", "--older-than"], image)
    check_service(objects, dep)


# --- docker compose --------------------------------------------------------------------------
def as_list(value):
    if value is None:
        return []
    return value.split() if isinstance(value, str) else list(value)


def as_env(value):
    if isinstance(value, dict):
        return {k: str(v) for k, v in value.items()}
    return dict(item.split("=", 1) for item in value or [] if "=" in item)


def dockerfile(svc):
    build = svc.get("build")
    if isinstance(build, dict):
        return build.get("dockerfile", "Dockerfile")
    return "Dockerfile" if build else None


def is_billingd(svc):
    return dockerfile(svc) == "Dockerfile" or str(svc.get("image", "")).startswith("billingd:")


def flag(command, name):
    """The value of --name=V or --name V in a command line."""
    for i, arg in enumerate(command):
        if arg.startswith(name + "="):
            return arg.split("=", 1)[1]
        if arg == name and i + 1 < len(command):
            return command[i + 1]
    return None


def host_of(url):
    match = re.match(r"\w+://([^/:]+)", url or "")
    return match.group(1) if match else None


def compose_services(doc, where):
    services = doc.get("services") or {}
    found = {
        "postgres": [n for n, s in services.items() if str(s.get("image", "")).startswith("postgres")],
        "migrate": [n for n, s in services.items() if is_billingd(s) and as_list(s.get("command"))[:1] == ["migrate"]],
        "billingd": [n for n, s in services.items() if is_billingd(s) and as_list(s.get("command"))[:1] == ["serve"]],
        "simulator": [n for n, s in services.items() if "gateway-sim" in f"{dockerfile(s)} {s.get('image', '')}"],
        "receiver": [n for n, s in services.items()
                     if any("demo-webhook-receiver" in str(v) for v in as_list(s.get("volumes")) + as_list(s.get("command")))],
    }
    for role, names in found.items():
        if not names:
            fail(where, f"no {role} service (services: {', '.join(services)})")
    count = sum((services[n].get("deploy") or {}).get("replicas", 1) for n in found["billingd"])
    if count != 2:
        fail(where, f"{count} billingd replica(s) running `serve` ({', '.join(found['billingd'])}), expected 2")
    return services, found


def check_compose_secret_files(where, name, svc, doc, base):
    """Every *_FILE setting names /run/secrets/<s> for a secret <s> the service has, from a file
    that exists. Returns {setting variable: file path on the host}."""
    granted = {s if isinstance(s, str) else s.get("source") for s in svc.get("secrets", [])}
    files = {}
    for var, path in as_env(svc.get("environment")).items():
        if not (var.startswith("BILLINGD_") and var.endswith("_FILE")):
            continue
        secret = path[len("/run/secrets/"):] if path.startswith("/run/secrets/") else None
        source = ((doc.get("secrets") or {}).get(secret) or {}).get("file")
        if secret not in granted or not source:
            fail(where, f"service {name}: {var}={path} is not a secret of the service (/run/secrets/<name>)")
        elif not os.path.isfile(os.path.join(base, source)):
            fail(where, f"secret {secret}: file {source} does not exist")
        else:
            files[var] = os.path.join(base, source)
    return files


def check_compose_replica(where, name, svc, found, default_grace):
    env = as_env(svc.get("environment"))
    deps = svc.get("depends_on") or {}
    migrate = found["migrate"][0] if found["migrate"] else "migrate"
    if not isinstance(deps, dict) or (deps.get(migrate) or {}).get("condition") != "service_completed_successfully":
        fail(where, f"service {name}: does not depend on {migrate} with condition service_completed_successfully")
    if env.get("BILLINGD_DATABASE__MIGRATE_ON_START", "true").lower() != "false":
        fail(where, f"service {name}: BILLINGD_DATABASE__MIGRATE_ON_START is not false (the {migrate} service migrates)")
    grace = grace_from(where, None, env, default_grace)
    stop = seconds(svc.get("stop_grace_period", "10s"))
    if stop is None or not stop > grace:
        fail(where, f"service {name}: stop_grace_period is {svc.get('stop_grace_period', '10s (default)')}, must exceed billing.shutdown_grace ({grace:g}s)")
    if host_of(env.get("BILLINGD_PAYROC__API_URL")) not in found["simulator"]:
        fail(where, f"service {name}: BILLINGD_PAYROC__API_URL={env.get('BILLINGD_PAYROC__API_URL')} does not point at the simulator {found['simulator']}")
    endpoints = yaml.safe_load(env.get("BILLINGD_WEBHOOKS__ENDPOINTS", "[]")) or []
    if env.get("BILLINGD_WEBHOOKS__ENABLED") != "true" or not any(host_of(e) in found["receiver"] for e in endpoints):
        fail(where, f"service {name}: webhooks are not enabled towards the receiver {found['receiver']}")


def check_compose_receiver(where, name, svc, base):
    """The receiver runs the script it mounts from this repository."""
    mounts = dict(v.split(":")[:2][::-1] for v in as_list(svc.get("volumes")) if isinstance(v, str) and ":" in v)
    command = " ".join(as_list(svc.get("command")))
    script = next((t for t in mounts if t in command and t.endswith("demo-webhook-receiver")), None)
    if script is None or not os.path.isfile(os.path.join(base, mounts[script])):
        fail(where, f"service {name}: does not run scripts/demo-webhook-receiver mounted from the repository")
    if as_env(svc.get("environment")).get("RECEIVER_HOST") != "0.0.0.0":
        fail(where, f"service {name}: RECEIVER_HOST is not 0.0.0.0: the replicas could not reach it")


def check_compose(default_grace):
    rel = os.path.join("deploy", "compose.yaml")
    base = os.path.join(ROOT, "deploy")
    with open(os.path.join(ROOT, rel)) as f:
        doc = yaml.safe_load(f)
    services, found = compose_services(doc, rel)
    for name, svc in services.items():
        build = svc.get("build")
        if isinstance(build, dict) and not os.path.isfile(os.path.join(base, build.get("context", "."), dockerfile(svc))):
            fail(rel, f"service {name}: build file {dockerfile(svc)} not found in context {build.get('context')}")
    key_files = {}
    for name in found["migrate"] + found["billingd"]:
        key_files.update(check_compose_secret_files(rel, name, services[name], doc, base))
    for name in found["billingd"]:
        check_compose_replica(rel, name, services[name], found, default_grace)
    for name in found["migrate"]:
        if ((services[name].get("depends_on") or {}).get(found["postgres"][0] if found["postgres"] else "") or {}).get("condition") != "service_healthy":
            fail(rel, f"service {name}: does not wait for Postgres to be healthy")
    for name in found["receiver"]:
        check_compose_receiver(rel, name, services[name], base)
    for name in found["simulator"]:
        command = as_list(services[name].get("command"))
        for var, option in (("BILLINGD_PAYROC__API_KEY_FILE", "--payroc-api-key"),
                            ("BILLINGD_CERTITRADE__API_KEY_FILE", "--certitrade-api-key")):
            if var in key_files:
                with open(key_files[var]) as f:
                    if flag(command, option) != f.read().strip():
                        fail(rel, f"service {name}: {option} differs from the key billingd reads ({var})")


# --- systemd ---------------------------------------------------------------------------------
def parse_unit(path):
    """[(section, key, value)] of a unit file; repeated keys are kept."""
    entries, section, pending = [], None, ""
    with open(path) as f:
        for raw in f:
            line = pending + raw.rstrip("\n")
            if line.endswith("\\"):
                pending = line[:-1] + " "
                continue
            pending = ""
            line = line.strip()
            if not line or line[0] in "#;":
                continue
            if line.startswith("["):
                section = line.strip("[]")
            elif "=" in line:
                key, value = line.split("=", 1)
                entries.append((section, key.strip(), value.strip()))
    return entries


def check_systemd(default_grace):
    rel = os.path.join("deploy", "systemd", "billingd.service")
    entries = parse_unit(os.path.join(ROOT, rel))
    service = {}
    for section, key, value in entries:
        if section == "Service":
            service.setdefault(key, []).append(value)
    last = {k: v[-1] for k, v in service.items()}
    if last.get("Restart") != "on-failure":
        fail(rel, f"Restart={last.get('Restart')}, expected on-failure")
    if not any(v.split()[-1:] == ["serve"] for v in service.get("ExecStart", [])):
        fail(rel, "ExecStart does not run `billingd serve`")
    if not any(" migrate" in v for v in service.get("ExecStartPre", [])):
        fail(rel, "ExecStartPre does not run `billingd migrate`")
    env_example = os.path.join(ROOT, "deploy", "systemd", "billingd.env.example")
    env = {}
    with open(env_example) as f:
        for line in f:
            if "=" in line and not line.lstrip().startswith("#"):
                key, value = line.strip().split("=", 1)
                env[key] = value
                if re.fullmatch(r"BILLINGD_\w+__(API_KEY|ADMIN_TOKEN|SECRET)", key):
                    fail(os.path.relpath(env_example, ROOT), f"{key} holds a secret inline; name a file with {key}_FILE")
    grace = grace_from(rel, None, env, default_grace)
    stop = seconds(last.get("TimeoutStopSec", last.get("TimeoutSec", "90s")))
    if stop is None or not stop > grace:
        fail(rel, f"TimeoutStopSec={last.get('TimeoutStopSec')} must exceed billing.shutdown_grace ({grace:g}s)")
    if last.get("User", "root") in ("root", "0"):
        fail(rel, "runs as root (set User=)")
    for key, allowed in (("NoNewPrivileges", {"yes", "true"}), ("ProtectSystem", {"strict", "full"}),
                         ("PrivateTmp", {"yes", "true"})):
        if last.get(key) not in allowed:
            fail(rel, f"hardening: {key}={last.get(key)}, expected one of {sorted(allowed)}")


def main():
    grace = default_shutdown_grace()
    check_kubernetes(grace)
    check_compose(grace)
    check_systemd(grace)
    for line in failures:
        print(f"check-deploy: FAIL {line}", file=sys.stderr)
    if failures:
        print(f"check-deploy: {len(failures)} problem(s) in deploy/", file=sys.stderr)
        return 1
    print(f"check-deploy: deploy/ fields OK (billing.shutdown_grace {grace:g}s from config/default.toml)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
