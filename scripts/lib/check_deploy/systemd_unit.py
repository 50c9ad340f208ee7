"""deploy/systemd: the unit's restart, migrate, stop timeout and hardening, and its environment file."""
import os
import re

import common
from common import fail, grace_from, seconds

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


def check(default_grace):
    rel = os.path.join("deploy", "systemd", "billingd.service")
    entries = parse_unit(os.path.join(common.ROOT, rel))
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
    env_example = os.path.join(common.ROOT, "deploy", "systemd", "billingd.env.example")
    env = {}
    with open(env_example) as f:
        for line in f:
            if "=" in line and not line.lstrip().startswith("#"):
                key, value = line.strip().split("=", 1)
                env[key] = value
                if re.fullmatch(r"BILLINGD_\w+__(API_KEY|ADMIN_TOKEN|SECRET)", key):
                    fail(os.path.relpath(env_example, common.ROOT), f"{key} holds a secret inline; name a file with {key}_FILE")
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
