#!/usr/bin/env bash
# test.sh — the whole test suite, as CI runs it: scripts/setup.sh (the tools of scripts/lib/tools.tsv,
# Redis, RabbitMQ), then ./mvnw verify, booted-host tests included (they need root; without it add
# -Dbooted-hosts.skip=true).
set -Eeuo pipefail

REPO_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
readonly REPO_DIR

main() {
  local setup_args=() maven_args=()
  while (($#)); do
    case "$1" in
      --yes) setup_args+=(--yes) ;;
      *) maven_args+=("$1") ;;
    esac
    shift
  done
  "${REPO_DIR}/scripts/setup.sh" ${setup_args[@]+"${setup_args[@]}"}
  cd "${REPO_DIR}"
  exec ./mvnw -B verify ${maven_args[@]+"${maven_args[@]}"}
}

main "$@"
