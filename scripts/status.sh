#!/usr/bin/env bash
# status.sh — which color is live, what each color runs, nginx, and the last deploy.
set -Eeuo pipefail

# shellcheck source=scripts/lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

usage() {
  cat >&2 <<'USAGE'
usage: status.sh [--json]

Shows the live color, each color's pid, readiness, version and release, nginx and the last deploy.
When a deploy was killed half-way (its journal is left) and none is running, finishes it first: the
live color keeps serving, the other processes of that deploy are stopped.
USAGE
}

# color_fields COLOR: "pid state ready version release" of one color.
color_fields() {
  local color="$1" pid state=stopped ready=- version=- release
  pid="$(color_pid "${color}")"
  release="$(color_release "${color}")"
  if [[ -n "${pid}" ]]; then
    state=running
    if is_ready "${color}"; then ready=ready; else ready=unready; fi
    [[ -n "${release}" ]] && version="$(release_version "$(release_jar "${release}")")"
  fi
  printf '%s %s %s %s %s\n' "${pid:--}" "${state}" "${ready}" "${version}" "${release:--}"
}

print_text() {
  local live="$1" color pid state ready version release
  local down=""
  if [[ -n "${live}" && -z "$(color_pid "${live}")" ]]; then
    down=" — NOT RUNNING: nginx falls back to $(other_color "${live}") if it runs; deploy.sh or switch.sh fixes this"
  fi
  log "live: ${live:-none} ($(installed_mode || true) mode; public port ${PUBLIC_PORT})${down}"
  for color in "${COLORS[@]}"; do
    read -r pid state ready version release < <(color_fields "${color}")
    info "$(printf '%-5s %-8s %-7s pid %-7s port %-5s version %-12s release %s' "${color}" "${state}" \
      "${ready}" "${pid}" "$(color_port "${color}")" "${version}" "${release}")"
  done
  info "nginx $(if [[ -n "$(nginx_master_pid)" ]]; then echo "running, pid $(nginx_master_pid)"; else echo "not running"; fi)"
  if [[ -f "$(journal_file)" ]]; then
    info "a deploy is running: $(journal_get deploy_id), phase $(journal_get phase)"
  fi
  [[ -s "$(history_file)" ]] && info "last deploy: $(tail -n1 "$(history_file)")"
  return 0
}

print_json() {
  local live="$1" color pid state ready version release first=1 last=null
  printf '{"live":%s,"mode":%s,"public_port":%s,"colors":{' "$(json_string "${live}")" \
    "$(json_string "$(installed_mode)")" "${PUBLIC_PORT}"
  for color in "${COLORS[@]}"; do
    read -r pid state ready version release < <(color_fields "${color}")
    ((first)) || printf ','
    first=0
    printf '%s:{"pid":%s,"state":%s,"ready":%s,"port":%s,"version":%s,"release":%s}' "$(json_string "${color}")" \
      "$(if [[ "${pid}" == - ]]; then echo null; else echo "${pid}"; fi)" "$(json_string "${state}")" \
      "$(if [[ "${ready}" == ready ]]; then echo true; else echo false; fi)" "$(color_port "${color}")" \
      "$(json_string "${version#-}")" "$(json_string "${release#-}")"
  done
  [[ -s "$(history_file)" ]] && last="$(tail -n1 "$(history_file)")"
  printf '},"nginx":{"pid":%s},"deploy_running":%s,"last_deploy":%s}\n' \
    "$(nginx_master_pid | grep . || echo null)" \
    "$(if [[ -f "$(journal_file)" ]]; then echo true; else echo false; fi)" "${last}"
}

# reconcile_if_idle: an interrupted deploy is finished here, unless a deploy holds the lock right now.
reconcile_if_idle() {
  [[ -f "$(journal_file)" ]] || return 0
  exec {LOCK_FD}>>"${STATE_DIR}/lock"
  flock -n "${LOCK_FD}" || return 0
  reconcile >&2
  flock -u "${LOCK_FD}"
}

main() {
  local format=text
  case "${1:-}" in
    "") ;;
    --json) format=json ;;
    *) usage; exit "${EXIT_USAGE}" ;;
  esac
  load_config
  ensure_dirs
  reconcile_if_idle
  if [[ "${format}" == json ]]; then print_json "$(live_color)"; else print_text "$(live_color)"; fi
}

main "$@"
