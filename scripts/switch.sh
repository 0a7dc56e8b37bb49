#!/usr/bin/env bash
# switch.sh — point nginx at a color (default: the idle one) after checking that it is ready.
set -Eeuo pipefail

# shellcheck source=scripts/lib/sequence.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/sequence.sh"

usage() {
  cat >&2 <<'USAGE'
usage: switch.sh [blue|green]

Points nginx at the color (default: the one that is not live) once it is running and ready. Both colors
keep running; use stop.sh for the other one.
USAGE
}

main() {
  [[ $# -le 1 ]] || { usage; exit "${EXIT_USAGE}"; }
  [[ $# -eq 0 ]] || is_color "$1" || { usage; die "${EXIT_USAGE}" "unknown color '$1': use blue or green"; }
  check_tools
  load_config
  ensure_dirs
  take_lock
  reconcile none
  validate_nginx
  local live target error
  live="$(live_color)"
  target="${1:-$(other_color "${live:-$(other_color "${FIRST_COLOR}")}")}"
  if all_traffic_on "${target}" && [[ "$(installed_mode)" == "${SWITCH_MODE}" ]]; then
    log "${target} is already live"
    return 0
  fi
  [[ -n "$(color_pid "${target}")" ]] || die "${EXIT_FAILED}" "${target} is not running: nothing to switch to (deploy a jar with deploy.sh)"
  is_ready "${target}" || die "${EXIT_FAILED}" "${target} is running but not ready ($(readiness_url "${target}") answers $(http_status "$(readiness_url "${target}")")); traffic stays on ${live:-nothing}"
  if [[ "${SWITCH_MODE}" == socket ]]; then
    error="$(socket_mode_problem "${target}")"
    [[ -z "${error}" ]] || die "${EXIT_FAILED}" "${target} does not serve HTTP on $(socket_path "${target}") and ${error}; traffic stays on ${live:-nothing}"
  fi
  log "switching nginx to ${target} (${SWITCH_MODE} mode)"
  error="$(switch_nginx "${target}" "${SWITCH_MODE}")" || die "${EXIT_FAILED}" "${error}; traffic stays on ${live:-nothing}"
  if ! wait_served_by_public "${target}"; then
    if [[ -n "${live}" ]]; then switch_nginx "${live}" "${SWITCH_MODE}" >/dev/null || true; fi
    die "${EXIT_FAILED}" "the public port ${PUBLIC_PORT} did not answer from ${target}; switched back to ${live:-nothing}"
  fi
  log "${target} is live${live:+ (${live} keeps running)}"
}

main "$@"
