#!/usr/bin/env bash
# validate-service.sh — ValidateService, as the app user: this revision really serves. The live color
# runs this revision's jar, is ready, and is the process the last deploy to it started (its deploy id);
# and through nginx's public port VALIDATE_REQUESTS answers in a row to VALIDATE_PATH are 200 from this version and
# color, within VALIDATE_TIMEOUT. When the check fails and this revision is live, scripts/rollback.sh puts
# the previous version back (ROLLBACK_ON_FAILURE=true), so the failed deployment leaves traffic where it
# was. Idempotent: after a rollback, a second run fails again without touching anything.
#
# Timeout (appspec.yml): VALIDATE_TIMEOUT + a rollback's worst case (a deploy; see application-start.sh).
set -Eeuo pipefail

# shellcheck source=scripts/codedeploy/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# last_deploy_to COLOR: the id of the last successful deploy to COLOR (the one that started its process; a
# warm rollback since then switched to it without restarting it).
last_deploy_to() {
  # shellcheck disable=SC2016 # a jq program: $color is jq's
  history_query -r --arg color "$1" 'map(select(.outcome == "success" and .to.color == $color)) | last | .id // empty'
}

# check_live COLOR: prints why the live color is not this revision's deploy, or nothing.
check_live() {
  local color="$1" started_by reported
  [[ -n "${color}" ]] || { echo "nothing is live"; return; }
  live_runs_bundle || { echo "${color} is live with release $(color_release "${color}"), not this revision's jar"; return; }
  [[ -n "$(color_pid "${color}")" ]] || { echo "${color} is live but not running"; return; }
  is_ready "${color}" || { echo "${color} is live but not ready ($(readiness_url "${color}"))"; return; }
  started_by="$(last_deploy_to "${color}")"
  reported="$(deploy_id_of "${color}")"
  if [[ -n "${reported}" && "${reported}" != "${started_by}" ]]; then
    echo "${color} reports deploy id ${reported}, but the last deploy to ${color} was ${started_by:-none}: another process answers there"
  fi
}

# public_answer: "STATUS COLOR VERSION" of one request to VALIDATE_PATH through nginx's public port.
public_answer() {
  local headers status color version
  headers="$(curl -s -D - -o /dev/null --max-time 5 "http://127.0.0.1:${PUBLIC_PORT}${VALIDATE_PATH}" 2>/dev/null | tr -d '\r')" || true
  status="$(sed -n '1s/^HTTP\/[0-9.]* \([0-9]*\).*/\1/p' <<<"${headers}")"
  color="$(sed -n 's/^[Xx]-[Aa]pp-[Cc]olor: *//p' <<<"${headers}")"
  version="$(sed -n 's/^[Xx]-[Aa]pp-[Vv]ersion: *//p' <<<"${headers}")"
  echo "${status:-000} ${color:--} ${version:--}"
}

# check_public COLOR VERSION: prints why nginx does not serve VALIDATE_REQUESTS answers in a row from
# COLOR and VERSION within VALIDATE_TIMEOUT, or nothing.
check_public() {
  local want="200 $1 $2" answer="" streak=0 deadline=$((SECONDS + VALIDATE_TIMEOUT))
  while ((SECONDS < deadline)); do
    answer="$(public_answer)"
    if [[ "${answer}" == "${want}" ]]; then
      streak=$((streak + 1))
      ((streak >= VALIDATE_REQUESTS)) && return 0
    else
      streak=0
      sleep 0.5
    fi
  done
  echo "GET ${VALIDATE_PATH} through nginx on port ${PUBLIC_PORT} answered '${answer:-nothing}' (status color version), not '${want}', within VALIDATE_TIMEOUT=${VALIDATE_TIMEOUT}s"
}

# roll_back REASON: puts the previous version back when this revision is live, then fails the hook.
roll_back() {
  local reason="$1" status=0
  if [[ "${ROLLBACK_ON_FAILURE}" != true ]] || ! live_runs_bundle; then
    hook_fail "validation failed: ${reason}"
  fi
  hook_log "validation failed: ${reason}; rolling back (scripts/rollback.sh)"
  "${SCRIPTS_DIR}/rollback.sh" || status=$?
  if ((status != 0)); then
    hook_fail "validation failed: ${reason}; the rollback failed too (exit ${status}): see scripts/status.sh"
  fi
  hook_fail "validation failed: ${reason}; rolled back: $(live_color) is live with $(release_version "$(release_jar "$(color_release "$(live_color)")")")"
}

main() {
  [[ $# -eq 0 ]] || { echo "usage: validate-service.sh (a CodeDeploy hook)" >&2; exit "${EXIT_USAGE}"; }
  load_hook_config
  local color version reason
  color="$(live_color)"
  version="$(release_version "${BUNDLE_JAR}")"
  reason="$(check_live "${color}")"
  [[ -z "${reason}" ]] || roll_back "${reason}"
  reason="$(check_public "${color}" "${version}")"
  [[ -z "${reason}" ]] || roll_back "${reason}"
  hook_log "${version} serves on ${color} through nginx (port ${PUBLIC_PORT}, ${VALIDATE_REQUESTS} answers in a row to ${VALIDATE_PATH}); deploy $(last_deploy_to "${color}")"
}

main "$@"
