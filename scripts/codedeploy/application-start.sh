#!/usr/bin/env bash
# application-start.sh — ApplicationStart, as the app user: scripts/deploy.sh deploys this revision's jar
# to the idle color, switches nginx, drains and stops the old color (the same script an operator runs).
# Starts the private nginx first when it is not running, and applies a changed nginx config or setting
# (START_NGINX=true), even when the jar is the live one. Idempotent: when the live color already runs this
# jar and is ready, there is nothing else to do.
#
# Timeout (appspec.yml): deploy.sh's worst case, scripts/lib/timing.sh `worst_case deploy`;
# before-install.sh checks it against the configuration.
set -Eeuo pipefail

# shellcheck source=scripts/codedeploy/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# already_live: this jar's release runs on the live color, which is ready (a redeploy of the same
# revision, or CodeDeploy rolling back to the revision that is live).
already_live() {
  local live
  live_runs_bundle || return 1
  live="$(live_color)"
  [[ -n "$(color_pid "${live}")" ]] && is_ready "${live}"
}

# ensure_nginx: the private nginx runs with this revision's config (START_NGINX=true). A changed config
# costs one reload: each busy client keep-alive connection fails once (README, "Switch modes").
ensure_nginx() {
  [[ "${START_NGINX}" == true ]] || return 0
  if [[ -z "$(nginx_master_pid)" ]]; then
    hook_log "nginx is not running: starting it (scripts/nginx.sh start)"
  elif nginx_config_changed; then
    hook_log "this revision changes the nginx config: applying it (scripts/nginx.sh start renders, tests, reloads)"
  else
    return 0
  fi
  "${SCRIPTS_DIR}/nginx.sh" start || hook_fail "scripts/nginx.sh start failed; nothing was deployed, traffic unchanged"
}

deploy_bundle() {
  local status=0 live
  live="$(live_color)"
  hook_log "deploying $(release_version "${BUNDLE_JAR}") with scripts/deploy.sh (live: ${live:-nothing})"
  "${SCRIPTS_DIR}/deploy.sh" "${BUNDLE_JAR}" || status=$?
  case "${status}" in
    0) hook_log "deployed: deploy $(last_deploy_field id), $(live_color) is live with $(release_version "${BUNDLE_JAR}")" ;;
    1) hook_fail "scripts/deploy.sh failed (exit 1): traffic still goes to ${live:-nothing}" ;;
    3) hook_fail "another deploy holds the lock in ${APP_HOME} (exit 3): nothing changed" ;;
    *) hook_fail "scripts/deploy.sh refused the revision (exit ${status}): nothing changed" ;;
  esac
}

main() {
  [[ $# -eq 0 ]] || { echo "usage: application-start.sh (a CodeDeploy hook)" >&2; exit "${EXIT_USAGE}"; }
  load_hook_config
  ensure_nginx
  if already_live; then
    hook_log "$(release_version "${BUNDLE_JAR}") already runs on the live color $(live_color): nothing to deploy"
    return 0
  fi
  deploy_bundle
}

main "$@"
