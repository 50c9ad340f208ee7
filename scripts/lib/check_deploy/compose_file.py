"""deploy/compose.yaml: Postgres, migrate, two replicas, the simulator and the receiver, wired together."""
import os
import re

import yaml

import common
from common import fail, grace_from, seconds

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


def check(default_grace):
    rel = os.path.join("deploy", "compose.yaml")
    base = os.path.join(common.ROOT, "deploy")
    with open(os.path.join(common.ROOT, rel)) as f:
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
