# shellcheck shell=bash
# lib.sh — what the CodeDeploy hooks share: where their revision is, the configuration (deploy.env as the
# deploy scripts read it, plus the hooks' own settings), the timeouts in appspec.yml and the worst case of
# the scripts they run. Sourced by the hooks in this directory, not executed.
#
# The agent runs each hook from the revision it belongs to (its deployment-archive directory), not from
# the copy that appspec.yml's files section installs, and not with that directory as working directory:
# every path here is derived from this file's location.
#
# The hooks' settings (REVISION_DIR, MIN_FREE_MB, START_NGINX, VALIDATE_*, ROLLBACK_ON_FAILURE) are in
# the one settings list, scripts/lib/settings.tsv, and load like the others. APP_HOME defaults to /opt/app
# here (not the scripts' ./.deploy: that would be a new directory per deployment). APP_USER, the owner of
# APP_HOME, is read by prepare-app-home.sh alone (as root, from the bundle, never from APP_HOME).

HOOKS_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REVISION_ROOT="$(cd "${HOOKS_DIR}/../.." && pwd)"
readonly HOOKS_DIR REVISION_ROOT
readonly BUNDLE_JAR="${REVISION_ROOT}/app.jar"
readonly APPSPEC="${REVISION_ROOT}/appspec.yml"
readonly DEFAULT_APP_HOME=/opt/app
# The agent's limit for the scripts of one lifecycle event.
readonly MAX_HOOK_TIMEOUT=3600

# shellcheck source=scripts/lib/sequence.sh
source "${REVISION_ROOT}/scripts/lib/sequence.sh"

# hook_log MESSAGE: one progress line naming the lifecycle event and CodeDeploy's deployment id.
hook_log() { log "${LIFECYCLE_EVENT:-${SCRIPT_NAME}}${DEPLOYMENT_ID:+ (${DEPLOYMENT_ID})}: $*"; }

# hook_fail MESSAGE: the hook fails (exit 1), and so does the deployment.
hook_fail() { die "${EXIT_FAILED}" "${DEPLOYMENT_ID:+deployment ${DEPLOYMENT_ID}: }$*"; }

# bundle_setting NAME: NAME's value in the revision's scripts/deploy.env, or nothing.
bundle_setting() { file_setting "${SCRIPTS_DIR}/deploy.env" "$1"; }

# file_setting FILE NAME: NAME's value in a deploy.env, or nothing.
file_setting() {
  [[ -f "$1" ]] || return 0
  (
    unset "$2"
    # shellcheck source=/dev/null
    source "$1" >/dev/null 2>&1
    printf '%s' "${!2:-}"
  ) || true
}

# resolve_app_home: APP_HOME from the environment, else the bundle's deploy.env, else the host's settings
# (/etc/bluegreen/deploy.env, root's, from ansible/site.yml), else /opt/app; exported, so the scripts the
# hooks run use the same one.
resolve_app_home() {
  if [[ -z "${APP_HOME:-}" ]]; then
    APP_HOME="$(bundle_setting APP_HOME)"
    [[ -n "${APP_HOME}" ]] || APP_HOME="$(file_setting "${HOST_SETTINGS_FILE}" APP_HOME)"
    APP_HOME="${APP_HOME:-${DEFAULT_APP_HOME}}"
  fi
  export APP_HOME
}

# load_hook_config: the settings, as the deploy scripts load them (environment, APP_HOME/deploy.env, the
# bundle's scripts/deploy.env, defaults), with APP_HOME resolved for a server first.
load_hook_config() {
  resolve_app_home
  load_config
}

# appspec_hook_field EVENT FIELD: FIELD (timeout, runas) of EVENT's first script in this revision's
# appspec.yml, or nothing. Reads the block under "EVENT:" up to the next key at the same or a lower
# indentation.
appspec_hook_field() {
  awk -v event="$1" -v field="$2" '
    { sub(/(^|[[:space:]]+)#.*$/, "") }
    /^[[:space:]]*$/ { next }
    {
      match($0, /^[[:space:]]*/)
      indent = RLENGTH
      line = substr($0, indent + 1)
    }
    in_event && indent <= event_indent { exit }
    line == event ":" { in_event = 1; event_indent = indent; next }
    in_event {
      sub(/^-[[:space:]]+/, "", line)
      if (index(line, field ":") == 1) {
        value = substr(line, length(field) + 2)
        gsub(/^[[:space:]]+|[[:space:]]+$/, "", value)
        print value
        exit
      }
    }
  ' "${APPSPEC}"
}

# check_hook_timeout EVENT SECONDS: EVENT's timeout in appspec.yml covers SECONDS, the worst case of its
# script with this configuration. The agent kills a hook at its timeout (SIGTERM to its process group),
# which would leave a deploy half done.
check_hook_timeout() {
  local event="$1" needed="$2" timeout
  timeout="$(appspec_hook_field "${event}" timeout)"
  [[ "${timeout}" =~ ^[0-9]+$ ]] || hook_fail "appspec.yml gives ${event} no timeout (the agent's default is ${MAX_HOOK_TIMEOUT}s): set one"
  ((needed <= MAX_HOOK_TIMEOUT)) ||
    hook_fail "with this configuration ${event} may take ${needed}s, more than CodeDeploy allows (${MAX_HOOK_TIMEOUT}s): lower READY_TIMEOUT, FAST_START_TIMEOUT, DRAIN_TIMEOUT, STOP_TIMEOUT, BAKE_TIME or VALIDATE_TIMEOUT"
  ((timeout >= needed)) ||
    hook_fail "${event}'s timeout in appspec.yml is ${timeout}s, but with this configuration it may take ${needed}s (READY_TIMEOUT=${READY_TIMEOUT} FAST_START_TIMEOUT=${FAST_START_TIMEOUT} VERIFY_TIMEOUT=${VERIFY_TIMEOUT} BAKE_TIME=${BAKE_TIME} DRAIN_TIMEOUT=${DRAIN_TIMEOUT} STOP_TIMEOUT=${STOP_TIMEOUT} VALIDATE_TIMEOUT=${VALIDATE_TIMEOUT}): raise the timeout (at most ${MAX_HOOK_TIMEOUT}s) or lower these settings"
}

# bundle_checksum: the first 12 hex digits of the jar's sha256, the suffix of its release id in APP_HOME.
bundle_checksum() { sha256sum "${BUNDLE_JAR}" | cut -c1-12; }

# live_runs_bundle: the live color runs the release made from this revision's jar.
live_runs_bundle() {
  local live release
  live="$(live_color)"
  [[ -n "${live}" ]] || return 1
  release="$(color_release "${live}")"
  [[ -n "${release}" && "${release##*-}" == "$(bundle_checksum)" ]]
}

# last_deploy_field FIELD: a field of the last deploy in state/deploys.jsonl.
last_deploy_field() { history_query -r "last // {} | .$1 // empty"; }
