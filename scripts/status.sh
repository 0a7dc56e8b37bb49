#!/usr/bin/env bash
# status.sh — which color is live, what each color runs, nginx, and the last deploy.
set -Eeuo pipefail

# shellcheck source=scripts/lib/sequence.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/sequence.sh"

usage() {
  cat >&2 <<'USAGE'
usage: status.sh [--json | --repair]

Shows the live color, each color's pid, readiness, version and release, nginx, a deploy in progress
(staged, promoted, or interrupted) and the last deploy. It only reads; --repair ends an interrupted
deploy (as the next deploy.sh would: before its checks passed, back to the old color; after, finished).
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

# deploy_in_progress: one line on the deploy in the journal, or nothing.
deploy_in_progress() {
  journal_exists || return 0
  journal_load
  if is_held "${DEPLOY_STATE}"; then
    echo "deploy ${DEPLOY_ID} is ${DEPLOY_STATE}$(held_share): ${TO} runs ${TO_VERSION} beside ${FROM:-nothing}; next: deploy.sh --promote, --commit or --abort"
  elif ! lock_free; then
    echo "deploy ${DEPLOY_ID} is running: phase ${PHASE}"
  else
    echo "deploy ${DEPLOY_ID} was interrupted in phase ${PHASE}: the next deploy.sh, switch.sh, rollback.sh or stop.sh (or status.sh --repair) ends it"
  fi
}

# lock_free: no deploy holds the lock right now.
lock_free() {
  local free=0 probe
  [[ -f "${STATE_DIR}/lock" ]] || return 0
  exec {probe}<"${STATE_DIR}/lock"
  flock -n "${probe}" && free=1
  exec {probe}<&-
  ((free))
}

print_text() {
  local live="$1" color pid state ready version release down="" progress nginx last share
  if [[ -n "${live}" && -z "$(color_pid "${live}")" ]]; then
    down=" — NOT RUNNING: nginx falls back to $(other_color "${live}") if it runs; deploy.sh or switch.sh fixes this"
  fi
  log "live: ${live:-none} ($(installed_mode) mode$(via_relay "${live}"); public port ${PUBLIC_PORT})${down}"
  for color in "${COLORS[@]}"; do
    read -r pid state ready version release < <(color_fields "${color}")
    info "$(printf '%-5s %-8s %-7s pid %-7s port %-5s version %-12s release %s' "${color}" "${state}" \
      "${ready}" "${pid}" "$(color_port "${color}")" "${version}" "${release}")"
    [[ "${SUPERVISOR}" != systemd ]] || info "      unit $(unit_name "${color}"): $(unit_summary "${color}")"
  done
  share="$(rollout_share "${live}")"
  [[ -z "${share}" ]] || info "rollout: ${share}% of clients on $(other_color "${live}") ($(slot_count "$(other_color "${live}")") of ${ROLLOUT_SLOTS} slots), the rest on ${live}"
  nginx="$(nginx_master_pid)"
  info "nginx ${nginx:+running, pid }${nginx:-not running}"
  [[ -z "${PREVIEW_PORT}" ]] || info "preview: $(preview_url) reaches $(preview_color | grep . || echo "no running color") (the color that is not live)"
  progress="$(deploy_in_progress)"
  [[ -z "${progress}" ]] || info "${progress}"
  last="$(history_last)"
  [[ -z "${last}" ]] || info "last deploy: ${last}"
}

# rollout_share LIVE: the percentage of clients nginx sends to the color that is not LIVE (socket mode,
# during a rollout); nothing when every client goes to LIVE.
rollout_share() {
  local share
  [[ -n "$1" && "$(installed_mode)" == socket ]] || return 0
  share="$(slot_share "$(other_color "$1")")"
  ((share == 0)) || echo "${share}"
}

preview_url() { echo "http://${PREVIEW_ADDRESS}:${PREVIEW_PORT}/"; }

# preview_color: the color preview.sock names (by its socket or nginx's relay for it) when it runs;
# nothing otherwise (the preview then answers 502, or through a relay from the live color).
preview_color() {
  local target
  target="$(readlink "${RUN_DIR}/preview.sock" 2>/dev/null)" || return 0
  target="${target##*/}"
  target="${target#relay-}"
  target="${target%.sock}"
  is_color "${target}" && [[ -n "$(color_pid "${target}")" ]] && echo "${target}"
  return 0
}

# via_relay LIVE: how nginx reaches the live color, when through its relay to the color's port.
via_relay() {
  [[ -z "$1" || "$(live_upstream)" != relay ]] || printf ", through nginx's relay to port %s" "$(color_port "$1")"
}

print_json() {
  local live="$1" color pid state ready version release unit colors="{}" journal=null preview
  for color in "${COLORS[@]}"; do
    read -r pid state ready version release < <(color_fields "${color}")
    unit=null
    [[ "${SUPERVISOR}" != systemd ]] || unit="$(unit_json "${color}")"
    colors="$(jq -c --arg color "${color}" --arg pid "${pid}" --arg state "${state}" --arg ready "${ready}" \
      --argjson port "$(color_port "${color}")" --arg version "${version}" --arg release "${release}" \
      --argjson unit "${unit}" \
      '. + {($color): {pid: (if $pid == "-" then null else ($pid | tonumber) end), state: $state,
        ready: ($ready == "ready"), port: $port, version: ($version | ltrimstr("-")),
        release: ($release | ltrimstr("-")), unit: $unit}}' <<<"${colors}")"
  done
  journal_exists && journal="$(jq -c '{id, state, phase, checks, from, to}' "$(journal_file)")"
  preview=null
  [[ -z "${PREVIEW_PORT}" ]] || preview="$(jq -nc --arg url "$(preview_url)" --arg color "$(preview_color)" \
    '{url: $url, color: (if $color == "" then null else $color end)}')"
  jq -nc --arg live "${live}" --arg mode "$(installed_mode)" --arg upstream "$(live_upstream)" \
    --argjson port "${PUBLIC_PORT}" --argjson preview "${preview}" \
    --argjson colors "${colors}" --arg nginx "$(nginx_master_pid)" --argjson deploy "${journal}" \
    --arg progress "$(deploy_in_progress)" --argjson last "$(history_last | grep . || echo null)" \
    --arg share "$(rollout_share "${live}")" \
    '{live: $live, mode: $mode, upstream: (if $upstream == "" then null else $upstream end),
      rollout_share: (if $share == "" then 0 else ($share | tonumber) end),
      public_port: $port, preview: $preview, colors: $colors,
      nginx: {pid: (if $nginx == "" then null else ($nginx | tonumber) end)},
      deploy: (if $deploy == null then null else $deploy + {note: $progress} end),
      deploy_running: ($deploy != null and $deploy.state == "running"), last_deploy: $last}'
}

main() {
  local format=text
  case "${1:-}" in
    "") ;;
    --json) format=json ;;
    --repair) format=repair ;;
    *) usage; exit "${EXIT_USAGE}" ;;
  esac
  check_tools
  load_config
  if [[ "${format}" == repair ]]; then
    ensure_dirs
    take_lock
    reconcile "staged promoted paused"
    format=text
  fi
  if [[ "${format}" == json ]]; then print_json "$(live_color)"; else print_text "$(live_color)"; fi
}

main "$@"
