#!/usr/bin/env bash
# rollback.sh — back to the previous version: an instant switch when the old color is still warm
# (KEEP_OLD=true), else a deploy of the previous release.
set -Eeuo pipefail

# shellcheck source=scripts/lib/sequence.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/sequence.sh"

usage() {
  cat >&2 <<'USAGE'
usage: rollback.sh

Switches back to the other color when it still runs the previous version and is ready; otherwise
deploys the release that was live before the last deploy. Exit codes as deploy.sh.
USAGE
}

# previous_release LIVE: the release that the last successful deploy to LIVE replaced.
previous_release() {
  # shellcheck disable=SC2016 # a jq program: $color is jq's
  history_query -r --arg color "$1" \
    'map(select(.outcome == "success" and .to.color == $color)) | last | .from.release // empty'
}

main() {
  [[ $# -eq 0 ]] || { usage; exit "${EXIT_USAGE}"; }
  # Back at once: a rollback is no progressive rollout.
  ROLLING_BACK=true
  check_tools
  load_config
  ensure_dirs
  take_lock
  reconcile none
  validate_nginx
  local live previous release
  live="$(live_color)"
  [[ -n "${live}" ]] || die "${EXIT_USAGE}" "nothing is live yet: nothing to roll back"
  previous="$(other_color "${live}")"
  if [[ -n "$(color_pid "${previous}")" ]] && is_ready "${previous}"; then
    run_warm_rollback "${previous}"
    return
  fi
  release="$(previous_release "${live}")"
  [[ -n "${release}" && -f "$(release_jar "${release}")" ]] ||
    die "${EXIT_USAGE}" "no previous release to roll back to (history: $(history_file), releases: ${RELEASES_DIR})"
  log "${previous} is not running: redeploying the previous release ${release}"
  run_deploy "$(release_jar "${release}")"
}

main "$@"
