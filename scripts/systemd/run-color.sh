#!/usr/bin/env bash
# run-color.sh COLOR — ExecStart of bluegreen@COLOR.service (ansible/site.yml installs it), run as the
# deploy user: the command line deploy.sh wrote to run/COLOR.cmd (JAVA_BIN first: ExecStart cannot take
# the binary from a variable), with the color's environment file, output appended to logs/COLOR.log.
# The wrapper opens the log and reads the environment file itself, as the deploy user: systemd (root)
# never opens a path in APP_HOME, which the deploy user could point elsewhere with a symlink.
set -Eeuo pipefail

# shellcheck source=scripts/lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"
# shellcheck source=scripts/lib/proc.sh
source "${SCRIPTS_DIR}/lib/proc.sh"

main() {
  local color="${1:-}" run_dir command=()
  is_color "${color}" || die "${EXIT_USAGE}" "usage: run-color.sh blue|green"
  [[ -n "${APP_HOME:-}" ]] || die "${EXIT_USAGE}" "APP_HOME is not set (the unit sets it)"
  run_dir="${APP_HOME}/run"
  [[ -s "${run_dir}/${color}.cmd" ]] || die "${EXIT_USAGE}" "${run_dir}/${color}.cmd is missing: ${color} was never deployed"
  mapfile -t command <"${run_dir}/${color}.cmd"
  # A socket left by a killed JVM would be taken for a live one.
  rm -f "${run_dir}/${color}.sock"
  { set +x; } 2>/dev/null # the environment file holds secrets: never traced
  export_env_file "${run_dir}/${color}.env"
  printf '=== %s: %s started by systemd (%s)\n' "$(date -Is)" "${color}" "${command[0]}" >>"${APP_HOME}/logs/${color}.log"
  exec "${command[@]}" </dev/null >>"${APP_HOME}/logs/${color}.log" 2>&1
}

main "$@"
