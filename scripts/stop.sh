#!/usr/bin/env bash
# stop.sh — stop a color gracefully: drained of nginx's connections (when it is not live), SIGTERM, wait
# for Spring's graceful shutdown, SIGKILL after STOP_TIMEOUT, until its port is free.
set -Eeuo pipefail

# shellcheck source=scripts/lib/sequence.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/sequence.sh"

usage() {
  cat >&2 <<'USAGE'
usage: stop.sh blue|green|all [--force]

Stops the color(s). The live color is only stopped with --force (its traffic then fails) or with "all".
USAGE
}

main() {
  local target="${1:-}" force="${2:-}" color live
  [[ $# -ge 1 && $# -le 2 ]] || { usage; exit "${EXIT_USAGE}"; }
  [[ -z "${force}" || "${force}" == --force ]] || { usage; exit "${EXIT_USAGE}"; }
  [[ "${target}" == all ]] || is_color "${target}" || { usage; die "${EXIT_USAGE}" "unknown color '${target}': use blue, green or all"; }
  check_tools
  load_config
  ensure_dirs
  take_lock
  # --force may stop the colors of a staged or promoted deploy; the next command then undoes it.
  if [[ -n "${force}" ]]; then reconcile "staged promoted paused"; else reconcile none; fi
  live="$(live_color)"
  if [[ "${target}" == "${live}" && -z "${force}" ]]; then
    die "${EXIT_USAGE}" "${target} is live: switch to the other color first, or use --force"
  fi
  if [[ "${target}" != all && -z "${force}" && "$(installed_mode)" == socket ]] && (($(slot_count "${target}") > 0)); then
    die "${EXIT_USAGE}" "${target} still gets $(slot_share "${target}")% of clients (a rollout left half done): switch.sh $(other_color "${target}") first, or use --force"
  fi
  for color in "${COLORS[@]}"; do
    [[ "${target}" == all || "${target}" == "${color}" ]] || continue
    if [[ -z "$(color_pid "${color}")" ]]; then
      log "${color} is not running"
      rm -f "$(pid_file "${color}")"
      continue
    fi
    log "stopping ${color} (pid $(color_pid "${color}"))"
    # A color that just stopped being live still has nginx's keep-alive connections: drained first.
    [[ "${color}" == "${live}" ]] || drain_color "${color}"
    stop_color "${color}"
  done
}

main "$@"
