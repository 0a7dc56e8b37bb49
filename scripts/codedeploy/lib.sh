# shellcheck shell=bash
# lib.sh — what the CodeDeploy hooks share: where their revision is, the configuration (deploy.env as the
# deploy scripts read it, plus the hooks' own settings), the timeouts in appspec.yml and the worst case of
# the scripts they run. Sourced by the hooks in this directory, not executed.
#
# The agent runs each hook from the revision it belongs to (its deployment-archive directory), not from
# the copy that appspec.yml's files section installs, and not with that directory as working directory:
# every path here is derived from this file's location.
#
# The hooks' settings, in deploy.env (next to the scripts in the bundle, or in APP_HOME) or the environment:
#   APP_HOME             default /opt/app (not the scripts' ./.deploy: that would be a new directory per
#                        deployment here). Set it in the bundle's scripts/deploy.env or the agent's environment.
#   APP_USER             owner of APP_HOME, given by prepare-app-home.sh; default: runas of ApplicationStart
#   REVISION_DIR         where appspec.yml's files section installs the bundle; default APP_HOME/revision
#   MIN_FREE_MB          free space required in APP_HOME besides two copies of the jar; default 512
#   START_NGINX          ApplicationStart starts the private nginx (scripts/nginx.sh start) when it is not
#                        running, and applies a changed nginx/ of the revision; default true. Set false with
#                        your own nginx (scripts/nginx.sh render, NGINX_RELOAD_CMD).
#   VALIDATE_PATH        what ValidateService requests through nginx's public port; default VERIFY_PATH
#   VALIDATE_REQUESTS    answers in a row that must be 200 from the new version; default 10
#   VALIDATE_TIMEOUT     seconds ValidateService waits for them; default 30
#   ROLLBACK_ON_FAILURE  ValidateService rolls back (scripts/rollback.sh) when the check fails; default true

HOOKS_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REVISION_ROOT="$(cd "${HOOKS_DIR}/../.." && pwd)"
readonly HOOKS_DIR REVISION_ROOT
readonly BUNDLE_JAR="${REVISION_ROOT}/app.jar"
readonly APPSPEC="${REVISION_ROOT}/appspec.yml"
readonly DEFAULT_APP_HOME=/opt/app
# The agent's limit for the scripts of one lifecycle event.
readonly MAX_HOOK_TIMEOUT=3600
# Seconds on top of the configured timeouts in a worst case: the port waits after each stop (10 s), the
# private nginx's start, the warm-up requests, writing the history.
readonly WORST_CASE_MARGIN=60
readonly HOOK_VARS=(REVISION_DIR MIN_FREE_MB START_NGINX VALIDATE_PATH VALIDATE_REQUESTS VALIDATE_TIMEOUT
  ROLLBACK_ON_FAILURE)

# shellcheck source=scripts/lib/common.sh
source "${REVISION_ROOT}/scripts/lib/common.sh"

# hook_log MESSAGE: one progress line naming the lifecycle event and CodeDeploy's deployment id.
hook_log() { log "${LIFECYCLE_EVENT:-${SCRIPT_NAME}}${DEPLOYMENT_ID:+ (${DEPLOYMENT_ID})}: $*"; }

# hook_fail MESSAGE: the hook fails (exit 1), and so does the deployment.
hook_fail() { die "${EXIT_FAILED}" "${DEPLOYMENT_ID:+deployment ${DEPLOYMENT_ID}: }$*"; }

# bundle_setting NAME: NAME's value in the revision's scripts/deploy.env, or nothing.
bundle_setting() {
  local file="${SCRIPTS_DIR}/deploy.env"
  [[ -f "${file}" ]] || return 0
  (
    unset "$1"
    # shellcheck source=/dev/null
    source "${file}" >/dev/null 2>&1
    printf '%s' "${!1:-}"
  ) || true
}

# resolve_app_home: APP_HOME from the environment, else the bundle's deploy.env, else /opt/app; exported,
# so the scripts the hooks run use the same one.
resolve_app_home() {
  if [[ -z "${APP_HOME:-}" ]]; then
    APP_HOME="$(bundle_setting APP_HOME)"
    APP_HOME="${APP_HOME:-${DEFAULT_APP_HOME}}"
  fi
  export APP_HOME
}

# load_hook_config: the deploy scripts' configuration (load_config) and the hooks' settings, with the same
# precedence: environment, then APP_HOME/deploy.env, then the bundle's scripts/deploy.env, then defaults.
load_hook_config() {
  local -A from_env=()
  local var
  for var in "${HOOK_VARS[@]}"; do
    [[ -v ${var} ]] && from_env[${var}]="${!var}"
  done
  resolve_app_home
  load_config
  for var in "${!from_env[@]}"; do
    printf -v "${var}" '%s' "${from_env[${var}]}"
  done
  : "${REVISION_DIR:=${APP_HOME}/revision}"
  : "${MIN_FREE_MB:=512}"
  : "${START_NGINX:=true}"
  : "${VALIDATE_PATH:=${VERIFY_PATH}}"
  : "${VALIDATE_REQUESTS:=10}"
  : "${VALIDATE_TIMEOUT:=30}"
  : "${ROLLBACK_ON_FAILURE:=true}"
  validate_hook_config
}

validate_hook_config() {
  local var
  for var in MIN_FREE_MB VALIDATE_REQUESTS VALIDATE_TIMEOUT; do
    is_seconds "${!var}" || die "${EXIT_USAGE}" "${var}=${!var} is not a whole number"
  done
  ((VALIDATE_REQUESTS >= 1)) || die "${EXIT_USAGE}" "VALIDATE_REQUESTS must be at least 1"
  for var in START_NGINX ROLLBACK_ON_FAILURE; do
    [[ "${!var}" == true || "${!var}" == false ]] || die "${EXIT_USAGE}" "${var}=${!var}: use true or false"
  done
  [[ "${VALIDATE_PATH}" == /* ]] || die "${EXIT_USAGE}" "VALIDATE_PATH=${VALIDATE_PATH} must start with /"
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

# deploy_worst_case: the longest scripts/deploy.sh (or a rollback that redeploys) may take with this
# configuration, in seconds: draining and stopping a color left warm by KEEP_OLD (DRAIN_TIMEOUT +
# STOP_TIMEOUT), the new color's readiness (READY_TIMEOUT) and warm-up (WARMUP_TIME_LIMIT), the check
# through nginx (VERIFY_TIMEOUT), the bake (BAKE_TIME), draining and stopping the old color
# (DRAIN_TIMEOUT + STOP_TIMEOUT), and WORST_CASE_MARGIN.
deploy_worst_case() {
  echo $((2 * (DRAIN_TIMEOUT + STOP_TIMEOUT) + READY_TIMEOUT + WARMUP_TIME_LIMIT + VERIFY_TIMEOUT + BAKE_TIME + WORST_CASE_MARGIN))
}

# validate_worst_case: ValidateService's check, then a rollback (another deploy) when it fails.
validate_worst_case() {
  if [[ "${ROLLBACK_ON_FAILURE}" == true ]]; then
    echo $((VALIDATE_TIMEOUT + $(deploy_worst_case)))
  else
    echo $((VALIDATE_TIMEOUT + WORST_CASE_MARGIN))
  fi
}

# check_hook_timeout EVENT SECONDS: EVENT's timeout in appspec.yml covers SECONDS, the worst case of its
# script with this configuration. The agent kills a hook at its timeout (SIGTERM to its process group),
# which would leave a deploy half done.
check_hook_timeout() {
  local event="$1" needed="$2" timeout
  timeout="$(appspec_hook_field "${event}" timeout)"
  [[ "${timeout}" =~ ^[0-9]+$ ]] || hook_fail "appspec.yml gives ${event} no timeout (the agent's default is ${MAX_HOOK_TIMEOUT}s): set one"
  ((needed <= MAX_HOOK_TIMEOUT)) ||
    hook_fail "with this configuration ${event} may take ${needed}s, more than CodeDeploy allows (${MAX_HOOK_TIMEOUT}s): lower READY_TIMEOUT, DRAIN_TIMEOUT, STOP_TIMEOUT, BAKE_TIME or VALIDATE_TIMEOUT"
  ((timeout >= needed)) ||
    hook_fail "${event}'s timeout in appspec.yml is ${timeout}s, but with this configuration it may take ${needed}s (READY_TIMEOUT=${READY_TIMEOUT} VERIFY_TIMEOUT=${VERIFY_TIMEOUT} BAKE_TIME=${BAKE_TIME} DRAIN_TIMEOUT=${DRAIN_TIMEOUT} STOP_TIMEOUT=${STOP_TIMEOUT} VALIDATE_TIMEOUT=${VALIDATE_TIMEOUT}): raise the timeout (at most ${MAX_HOOK_TIMEOUT}s) or lower these settings"
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

# last_deploy_field FIELD: a top-level string field of the last line of state/deploys.jsonl.
last_deploy_field() {
  tail -n1 "$(history_file)" 2>/dev/null | sed -n "s/.*\"$1\":\"\\([^\"]*\\)\".*/\\1/p"
}
