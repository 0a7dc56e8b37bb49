#!/usr/bin/env bash
# deploy.sh — deploy a Spring Boot jar to the idle color and switch nginx to it, without a failed request.
set -Eeuo pipefail

# shellcheck source=scripts/lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

usage() {
  cat >&2 <<'USAGE'
usage: deploy.sh JAR

Starts JAR as the idle color, waits until it is ready, switches nginx to it, drains and stops the old
color. Settings come from the environment or deploy.env (see README, "Configuration").
Exit codes: 0 deployed · 1 failed, traffic still on the old color · 2 bad input, nothing changed ·
3 another deploy is running.
USAGE
}

main() {
  [[ $# -eq 1 && "$1" != -* ]] || { usage; exit "${EXIT_USAGE}"; }
  local jar
  jar="$(absolute_path "$1")"
  require_tools curl flock setsid ss unzip sha256sum
  load_config
  ensure_dirs
  take_lock
  reconcile
  validate_jar "${jar}"
  validate_nginx
  run_deploy "${jar}"
}

main "$@"
