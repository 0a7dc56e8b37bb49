#!/usr/bin/env bash
# after-install.sh — AfterInstall, as the app user: the release is staged, nothing is started. Checks that
# app.jar is a Spring Boot jar with the actuator (as deploy.sh will) and that the copy appspec.yml's files
# section installed in REVISION_DIR is this revision, so the scripts there (status, rollback, stop by
# hand) match what runs. The live color keeps serving throughout. Idempotent.
set -Eeuo pipefail

# shellcheck source=scripts/codedeploy/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

check_installed_copy() {
  [[ -f "${REVISION_DIR}/app.jar" ]] ||
    hook_fail "${REVISION_DIR}/app.jar is missing: REVISION_DIR must be the destination of appspec.yml's files section"
  cmp -s "${BUNDLE_JAR}" "${REVISION_DIR}/app.jar" ||
    hook_fail "${REVISION_DIR}/app.jar differs from this revision's app.jar: is REVISION_DIR the destination of appspec.yml's files section?"
  [[ -x "${REVISION_DIR}/scripts/deploy.sh" ]] ||
    hook_fail "${REVISION_DIR}/scripts/deploy.sh is missing or not executable"
}

main() {
  [[ $# -eq 0 ]] || { echo "usage: after-install.sh (a CodeDeploy hook)" >&2; exit "${EXIT_USAGE}"; }
  load_hook_config
  validate_jar "${BUNDLE_JAR}"
  check_installed_copy
  hook_log "staged $(release_version "${BUNDLE_JAR}") (sha256 $(bundle_checksum)...) in ${REVISION_DIR}; live: $(live_color | grep . || echo nothing), unchanged"
}

main "$@"
