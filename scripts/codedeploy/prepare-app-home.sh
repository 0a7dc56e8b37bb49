#!/usr/bin/env bash
# prepare-app-home.sh — BeforeInstall, first script, as root: creates APP_HOME and gives it to the user the
# other hooks run as (APP_USER, default: runas of ApplicationStart in appspec.yml). Nothing else runs as
# root, and this script reads no file the app user can write (APP_HOME/deploy.env is not read here).
# Idempotent: an existing APP_HOME only gets its owner and mode again, not recursively.
set -Eeuo pipefail

# shellcheck source=scripts/codedeploy/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# app_user: APP_USER from the environment or the bundle's deploy.env, else ApplicationStart's runas.
app_user() {
  local user="${APP_USER:-}"
  [[ -n "${user}" ]] || user="$(bundle_setting APP_USER)"
  [[ -n "${user}" ]] || user="$(appspec_hook_field ApplicationStart runas)"
  echo "${user:-$(id -un)}"
}

give_app_home() {
  local user="$1" group
  id -u "${user}" >/dev/null 2>&1 ||
    hook_fail "user ${user} does not exist: create it (useradd --system --create-home --shell /bin/bash ${user}); the agent runs the hooks with 'su ${user} -c', so it needs a login shell"
  group="$(id -gn "${user}")"
  install -d -m 0751 -o "${user}" -g "${group}" "${APP_HOME}"
}

main() {
  [[ $# -eq 0 ]] || { echo "usage: prepare-app-home.sh (a CodeDeploy hook)" >&2; exit "${EXIT_USAGE}"; }
  resolve_app_home
  local user
  user="$(app_user)"
  if ((EUID == 0)); then
    give_app_home "${user}"
  else
    if ! mkdir -p "${APP_HOME}" 2>/dev/null || [[ ! -w "${APP_HOME}" ]]; then
      hook_fail "APP_HOME=${APP_HOME} cannot be created or written by $(id -un): run this hook as root (appspec.yml runas) or create it for ${user}"
    fi
  fi
  hook_log "APP_HOME ${APP_HOME} belongs to $(stat -c %U "${APP_HOME}") (mode $(stat -c %a "${APP_HOME}"))"
}

main "$@"
