"""What the checks share: the repository root, the list of failures, durations and billingd's
own configuration."""
import os
import re
import sys
import tomllib

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
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
