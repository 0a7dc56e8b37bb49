#!/usr/bin/env bash
# lease.sh — the fleet's hold on this host (scripts/fleet.sh takes it at preflight, releases it when the
# fleet deploy ends): while it is held, every deploy, switch, rollback and stop on this host exits 3
# unless it carries the fleet deploy's id (FLEET_ID), so no local deploy or second controller slips in
# between the fleet's SSH tasks. The lease outlives them: it is a file in state/, taken under the deploy
# lock.
set -Eeuo pipefail

# shellcheck source=scripts/lib/sequence.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/sequence.sh"

usage() {
  cat >&2 <<'USAGE'
usage: lease.sh take ID | release ID [RECORD_JSON] | abort ID [RECORD_JSON] | break | show

  take ID        hold this host for fleet deploy ID (exit 3 when another holds it or a deploy is held)
  release ID     let go of it; RECORD_JSON (the fleet deploy's record) is appended to state/fleet.jsonl
  abort ID       deploy.sh --abort when a deploy is held here (back to the old color), then release
  break          let go of any lease (a controller that crashed left it; see fleet.sh unlock)
  show           the holder, or nothing
USAGE
}

take() {
  local id="$1" holder
  holder="$(lease_holder)"
  [[ -z "${holder}" || "${holder}" == "${id}" ]] ||
    die "${EXIT_LOCKED}" "this host is leased to fleet deploy ${holder}"
  if journal_exists; then
    journal_load
    die "${EXIT_LOCKED}" "deploy ${DEPLOY_ID} is ${DEPLOY_STATE} here (phase ${PHASE}): end it first (deploy.sh --commit or --abort, or status.sh --repair)"
  fi
  lease_write "${id}"
  log "leased to fleet deploy ${id}"
}

release() {
  local id="$1" record="${2:-}" holder
  holder="$(lease_holder)"
  [[ -z "${holder}" || "${holder}" == "${id}" ]] ||
    die "${EXIT_LOCKED}" "this host is leased to fleet deploy ${holder}, not ${id}"
  [[ -z "${record}" ]] || fleet_history_append "${record}"
  lease_remove
  log "released by fleet deploy ${id}"
}

# abort_held ID RECORD: the deploy held here under this lease undone (deploy.sh --abort takes the lock itself: called
# before this script takes it), then the record and the release under the lock.
abort_held() {
  local id="$1" record="$2"
  # Only a deploy under this fleet deploy's lease: a deploy held here by anyone else is theirs.
  [[ "$(lease_holder)" == "${id}" ]] || { log "not leased to fleet deploy ${id}: nothing to undo"; return 0; }
  if journal_exists; then
    journal_load
    if is_held "${DEPLOY_STATE}"; then
      FLEET_ID="${id}" "${SCRIPTS_DIR}/deploy.sh" --abort || warn "deploy.sh --abort failed (see above)"
    fi
  fi
  FLEET_ID="${id}"
  take_lock
  release "${id}" "${record}"
}

main() {
  local verb="${1:-}"
  case "${verb}" in
    take | release | abort) [[ $# -ge 2 && $# -le 3 && "$2" =~ ^[A-Za-z0-9._-]+$ ]] || { usage; exit "${EXIT_USAGE}"; } ;;
    break | show) [[ $# -eq 1 ]] || { usage; exit "${EXIT_USAGE}"; } ;;
    *) usage; exit "${EXIT_USAGE}" ;;
  esac
  check_tools
  load_config
  ensure_dirs
  case "${verb}" in
    show) lease_holder; return 0 ;;
    abort) abort_held "$2" "${3:-}"; return 0 ;;
  esac
  # The lease's own commands pass the lock's lease check with their id.
  FLEET_ID="${2:-$(lease_holder)}"
  take_lock
  case "${verb}" in
    take) take "$2" ;;
    release) release "$2" "${3:-}" ;;
    break) lease_remove; log "lease broken" ;;
  esac
}

main "$@"
