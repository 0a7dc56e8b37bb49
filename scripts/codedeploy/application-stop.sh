#!/usr/bin/env bash
# application-stop.sh — ApplicationStop. CodeDeploy runs this script from the PREVIOUS revision (the last
# successful deployment's archive), before it installs the new one; on an instance's first deployment
# there is none and nothing runs. In blue/green on one host it must not stop anything: the live color
# keeps serving while the new revision's ApplicationStart starts the idle color, switches nginx, and only
# then drains and stops the old color itself. Stopping the live color here would take the site down for the
# whole deployment. So it reports what runs, and never fails: an ApplicationStop that fails blocks every
# later deployment of the group (unless it is created with --ignore-application-stop-failures), and once
# installed this script can only be replaced by a deployment that runs it.
set -Eeuo pipefail

# shellcheck source=scripts/codedeploy/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# color_summary COLOR: "running 1.0.1 (pid 123)" or "stopped".
color_summary() {
  local pid
  pid="$(color_pid "$1")"
  if [[ -n "${pid}" ]]; then
    echo "running $(release_version "$(release_jar "$(color_release "$1")")") (pid ${pid})"
  else
    echo stopped
  fi
}

report_state() {
  load_hook_config
  if [[ ! -d "${APP_HOME}/run" ]]; then
    hook_log "nothing deployed in ${APP_HOME} yet: nothing to stop"
    return 0
  fi
  local live color suffix
  live="$(live_color)"
  for color in "${COLORS[@]}"; do
    suffix=""
    [[ "${color}" == "${live}" ]] && suffix=", live"
    hook_log "${color}: $(color_summary "${color}")${suffix}"
  done
  journal_exists &&
    hook_log "a deploy is running or was interrupted ($(journal_get id), phase $(journal_get phase)); ApplicationStart's deploy.sh finishes or reconciles it"
  hook_log "nothing stopped: ${live:-no color} keeps serving until the new revision's deploy has switched nginx away from it"
}

main() {
  [[ $# -eq 0 ]] || { echo "usage: application-stop.sh (a CodeDeploy hook)" >&2; exit "${EXIT_USAGE}"; }
  if ! (report_state); then
    warn "could not read the deploy state (see above); nothing was stopped"
  fi
  return 0
}

main "$@"
