"""The fields of deploy/ that billingd depends on, checked against each other and against
config/default.toml (run by scripts/check-deploy, after kubernetes-validate has checked the
Kubernetes manifests against the API schemas).

Each failure names the file, the object and the field, what was found and what is needed; all
failures are printed, then the exit code is 1.

    python3 scripts/lib/check_deploy [REPO_ROOT]
"""
import os
import sys

import common
import compose_file
import kube_manifests
import systemd_unit


def main():
    if len(sys.argv) > 1:
        common.ROOT = os.path.abspath(sys.argv[1])
    grace = common.default_shutdown_grace()
    kube_manifests.check(grace)
    compose_file.check(grace)
    systemd_unit.check(grace)
    failures = common.failures
    for line in failures:
        print(f"check-deploy: FAIL {line}", file=sys.stderr)
    if failures:
        print(f"check-deploy: {len(failures)} problem(s) in deploy/", file=sys.stderr)
        return 1
    print(f"check-deploy: deploy/ fields OK (billing.shutdown_grace {grace:g}s from config/default.toml)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
