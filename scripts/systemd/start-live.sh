#!/usr/bin/env bash
# start-live.sh — ExecStart of bluegreen-live.service, run by root at boot: starts the unit of the color
# the live pointer names (run/live.sock in socket mode, active.conf in reload mode), and nothing else.
# The pointer is the only record of which color is live: no color's unit is enabled, so a deploy killed
# between its switch and any other bookkeeping still boots the right color. Root reads only the pointer
# (a symlink's target, never followed; a root-owned file) and takes nothing from it but blue or green.
# APP_HOME and NGINX_DIR come from the unit (the playbook renders it), never from a file the deploy user
# can write.
set -Eeuo pipefail

# shellcheck source=scripts/lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"
# shellcheck source=scripts/lib/nginx.sh
source "${SCRIPTS_DIR}/lib/nginx.sh"

main() {
  local color
  [[ -n "${APP_HOME:-}" && -n "${NGINX_DIR:-}" ]] || die "${EXIT_USAGE}" "APP_HOME and NGINX_DIR must be set (the unit sets them)"
  RUN_DIR="${APP_HOME}/run"
  color="$(live_color)"
  if [[ -z "${color}" ]]; then
    log "no live color yet (nothing deployed): nothing to start"
    return 0
  fi
  log "starting ${color}, the live color"
  systemctl start --no-block "bluegreen@${color}.service"
}

main "$@"
