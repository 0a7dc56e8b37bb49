# shellcheck shell=bash
# common.sh — logging, configuration and paths shared by every script. Sourced, not executed.

# Exit codes (the scripts' contract, see README "Exit codes"), used by the scripts that source this file.
# shellcheck disable=SC2034
readonly EXIT_FAILED=1   # the deploy/switch failed; traffic still goes to the old color
readonly EXIT_USAGE=2    # usage or bad input; nothing changed
# shellcheck disable=SC2034
readonly EXIT_LOCKED=3   # another deploy holds the lock

SCRIPTS_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
REPO_DIR="$(cd "${SCRIPTS_DIR}/.." && pwd)"
readonly SCRIPTS_DIR REPO_DIR
# shellcheck disable=SC2034 # used by the other helpers
readonly COLORS=(blue green)
readonly WARMUP_TIME_LIMIT=15 # seconds for all warm-up requests to a new color (health.sh warm_up)
SCRIPT_NAME="$(basename "$0")"
readonly SCRIPT_NAME

[[ "${TRACE:-}" == 1 ]] && set -x

log() { printf '==> %s\n' "$*"; }
info() { printf '    %s\n' "$*"; }
warn() { printf '%s: warning: %s\n' "${SCRIPT_NAME}" "$*" >&2; }

# die CODE MESSAGE: one line on stderr saying what and why, then exit with the contract's code.
die() {
  local code="$1"
  shift
  printf '%s: error: %s\n' "${SCRIPT_NAME}" "$*" >&2
  exit "${code}"
}

# Every setting, with its default. The environment wins over deploy.env, deploy.env over the defaults.
readonly CONFIG_VARS=(APP_HOME PUBLIC_PORT BLUE_PORT GREEN_PORT BLUE_MANAGEMENT_PORT GREEN_MANAGEMENT_PORT
  JAVA_BIN JAVA_OPTS APP_ARGS READY_TIMEOUT VERIFY_TIMEOUT DRAIN_TIMEOUT STOP_TIMEOUT BAKE_TIME KEEP_OLD
  BAKE_MAX_ERROR_PERCENT ACCESS_LOG KEEP_RELEASES SWITCH_MODE HEALTH_PATH VERIFY_PATH WARMUP_PATHS WARMUP_REQUESTS NGINX_BIN NGINX_DIR
  NGINX_CONF NGINX_PID_FILE NGINX_TEST_CMD NGINX_RELOAD_CMD NGINX_USER NGINX_GROUP BLUE_UPSTREAM
  GREEN_UPSTREAM TLS_PORT TLS_CERT TLS_KEY FIRST_COLOR FAST_START)

apply_defaults() {
  : "${APP_HOME:=${REPO_DIR}/.deploy}"
  : "${PUBLIC_PORT:=8080}"
  : "${BLUE_PORT:=8081}"
  : "${GREEN_PORT:=8082}"
  : "${BLUE_MANAGEMENT_PORT:=${BLUE_PORT}}"
  : "${GREEN_MANAGEMENT_PORT:=${GREEN_PORT}}"
  : "${JAVA_BIN:=${JAVA_HOME:+${JAVA_HOME}/bin/}java}"
  : "${JAVA_OPTS:=}"
  : "${APP_ARGS:=}"
  : "${READY_TIMEOUT:=120}"
  : "${VERIFY_TIMEOUT:=15}"
  : "${DRAIN_TIMEOUT:=90}"
  : "${STOP_TIMEOUT:=60}"
  : "${BAKE_TIME:=0}"
  : "${BAKE_MAX_ERROR_PERCENT:=1}"
  : "${KEEP_OLD:=false}"
  : "${KEEP_RELEASES:=5}"
  : "${SWITCH_MODE:=socket}"
  : "${HEALTH_PATH:=/actuator/health/readiness}"
  : "${VERIFY_PATH:=/api/version}"
  : "${WARMUP_PATHS:=/api/version /hash/warmup}"
  : "${WARMUP_REQUESTS:=20}"
  : "${NGINX_BIN:=$(command -v nginx || echo /usr/sbin/nginx)}"
  : "${NGINX_DIR:=${APP_HOME}/nginx}"
  : "${NGINX_CONF:=${NGINX_DIR}/nginx.conf}"
  : "${NGINX_PID_FILE:=${NGINX_DIR}/nginx.pid}"
  : "${ACCESS_LOG:=${NGINX_DIR}/logs/access.log}"
  # -p/-e keep the private nginx off the system's prefix and error log (it runs unprivileged).
  : "${NGINX_TEST_CMD:=${NGINX_BIN} -t -q -p ${NGINX_DIR}/ -e ${NGINX_DIR}/logs/error.log -c ${NGINX_CONF}}"
  : "${NGINX_RELOAD_CMD:=${NGINX_BIN} -p ${NGINX_DIR}/ -e ${NGINX_DIR}/logs/error.log -c ${NGINX_CONF} -s reload}"
  : "${NGINX_USER:=}"
  : "${NGINX_GROUP:=}"
  : "${BLUE_UPSTREAM:=127.0.0.1:${BLUE_PORT}}"
  : "${GREEN_UPSTREAM:=127.0.0.1:${GREEN_PORT}}"
  : "${TLS_PORT:=8443}"
  : "${TLS_CERT:=}"
  : "${TLS_KEY:=}"
  : "${FIRST_COLOR:=blue}"
  : "${FAST_START:=true}"
}

# load_config: deploy.env next to the scripts, then in APP_HOME; variables already in the environment
# keep their value.
load_config() {
  local -A from_env=()
  local var file
  for var in "${CONFIG_VARS[@]}"; do
    [[ -v ${var} ]] && from_env[${var}]="${!var}"
  done
  for file in "${SCRIPTS_DIR}/deploy.env" "${APP_HOME:-${REPO_DIR}/.deploy}/deploy.env"; do
    [[ -f "${file}" ]] || continue
    bash -n "${file}" 2>/dev/null || die "${EXIT_USAGE}" "${file} has a syntax error: $(bash -n "${file}" 2>&1 | head -n1)"
    # shellcheck source=/dev/null
    source "${file}" || die "${EXIT_USAGE}" "${file} failed to load"
  done
  for var in "${!from_env[@]}"; do
    printf -v "${var}" '%s' "${from_env[${var}]}"
  done
  apply_defaults
  validate_config
  APP_HOME="$(absolute_path "${APP_HOME}")"
  readonly RUN_DIR="${APP_HOME}/run" LOG_DIR="${APP_HOME}/logs" STATE_DIR="${APP_HOME}/state"
  readonly RELEASES_DIR="${APP_HOME}/releases"
}

absolute_path() {
  if [[ "$1" == /* ]]; then printf '%s\n' "$1"; else printf '%s/%s\n' "${PWD}" "$1"; fi
}

is_port() { [[ "$1" =~ ^[0-9]+$ ]] && (("$1" >= 1 && "$1" <= 65535)); }
is_seconds() { [[ "$1" =~ ^[0-9]+$ ]]; }

validate_config() {
  local var
  for var in PUBLIC_PORT BLUE_PORT GREEN_PORT BLUE_MANAGEMENT_PORT GREEN_MANAGEMENT_PORT TLS_PORT; do
    is_port "${!var}" || die "${EXIT_USAGE}" "${var}=${!var} is not a port number (1-65535)"
  done
  [[ "${BLUE_PORT}" != "${GREEN_PORT}" ]] || die "${EXIT_USAGE}" "BLUE_PORT and GREEN_PORT are both ${BLUE_PORT}: each color needs its own port"
  [[ "${PUBLIC_PORT}" != "${BLUE_PORT}" && "${PUBLIC_PORT}" != "${GREEN_PORT}" ]] ||
    die "${EXIT_USAGE}" "PUBLIC_PORT=${PUBLIC_PORT} is also a color's port"
  for var in READY_TIMEOUT VERIFY_TIMEOUT DRAIN_TIMEOUT STOP_TIMEOUT BAKE_TIME BAKE_MAX_ERROR_PERCENT KEEP_RELEASES \
    WARMUP_REQUESTS; do
    is_seconds "${!var}" || die "${EXIT_USAGE}" "${var}=${!var} is not a whole number"
  done
  ((KEEP_RELEASES >= 1)) || die "${EXIT_USAGE}" "KEEP_RELEASES must be at least 1"
  [[ "${SWITCH_MODE}" == socket || "${SWITCH_MODE}" == reload ]] ||
    die "${EXIT_USAGE}" "SWITCH_MODE=${SWITCH_MODE}: use socket or reload"
  [[ "${KEEP_OLD}" == true || "${KEEP_OLD}" == false ]] || die "${EXIT_USAGE}" "KEEP_OLD=${KEEP_OLD}: use true or false"
  is_color "${FIRST_COLOR}" || die "${EXIT_USAGE}" "FIRST_COLOR=${FIRST_COLOR}: use blue or green"
  [[ "${FAST_START}" == true || "${FAST_START}" == false ]] || die "${EXIT_USAGE}" "FAST_START=${FAST_START}: use true or false"
}

require_tools() {
  local tool
  for tool in "$@"; do
    command -v "${tool}" >/dev/null || die "${EXIT_USAGE}" "${tool} is not installed (needed by ${SCRIPT_NAME})"
  done
}

is_color() { [[ "$1" == blue || "$1" == green ]]; }
other_color() { if [[ "$1" == blue ]]; then echo green; else echo blue; fi; }
color_port() { if [[ "$1" == blue ]]; then echo "${BLUE_PORT}"; else echo "${GREEN_PORT}"; fi; }
color_management_port() { if [[ "$1" == blue ]]; then echo "${BLUE_MANAGEMENT_PORT}"; else echo "${GREEN_MANAGEMENT_PORT}"; fi; }

# ensure_dirs: APP_HOME's layout, no world-writable bits. run/ is setgid to nginx's group (when we may
# chgrp to it), so the sockets the app creates there are reachable by nginx's workers and nobody else.
ensure_dirs() {
  local dir
  if ! mkdir -p "${APP_HOME}" 2>/dev/null || [[ ! -w "${APP_HOME}" ]]; then
    die "${EXIT_USAGE}" "APP_HOME=${APP_HOME} is not writable by $(id -un)"
  fi
  umask 027
  for dir in "${RUN_DIR}" "${LOG_DIR}" "${STATE_DIR}" "${RELEASES_DIR}"; do
    mkdir -p "${dir}" || die "${EXIT_USAGE}" "cannot create ${dir}"
  done
  chmod 0751 "${APP_HOME}" 2>/dev/null || true
  chmod 2750 "${RUN_DIR}"
  local group
  group="$(nginx_group)"
  if [[ -n "${group}" && "$(stat -c %G "${RUN_DIR}")" != "${group}" ]]; then
    chgrp "${group}" "${RUN_DIR}" 2>/dev/null ||
      warn "cannot give ${RUN_DIR} to group ${group}: nginx's workers may not reach the app's socket"
  fi
}

# The user nginx's workers run as: only matters when nginx starts as root (it then drops privileges).
nginx_user() {
  if [[ -n "${NGINX_USER}" ]]; then
    echo "${NGINX_USER}"
  elif ((EUID == 0)); then
    if getent passwd www-data >/dev/null; then echo www-data; else echo nobody; fi
  fi
}

nginx_group() {
  if [[ -n "${NGINX_GROUP}" ]]; then
    echo "${NGINX_GROUP}"
  elif ((EUID == 0)); then
    id -gn "$(nginx_user)" 2>/dev/null || true
  fi
}

now_ms() { date +%s%3N; }

# script_alive: the script itself still runs. Loops in a $(...) subshell check it, so that a script killed
# with SIGKILL does not leave them polling (and holding the lock's descriptor) until their timeout.
script_alive() { kill -0 "$$" 2>/dev/null; }

# json_string VALUE: VALUE as a JSON string literal.
json_string() {
  local s="$1"
  s="${s//\\/\\\\}"
  s="${s//\"/\\\"}"
  s="${s//$'\n'/\\n}"
  s="${s//$'\r'/\\r}"
  s="${s//$'\t'/\\t}"
  printf '"%s"' "${s}"
}

# The other helpers, one concern each.
# shellcheck source=scripts/lib/proc.sh
source "${SCRIPTS_DIR}/lib/proc.sh"
# shellcheck source=scripts/lib/health.sh
source "${SCRIPTS_DIR}/lib/health.sh"
# shellcheck source=scripts/lib/nginx.sh
source "${SCRIPTS_DIR}/lib/nginx.sh"
# shellcheck source=scripts/lib/state.sh
source "${SCRIPTS_DIR}/lib/state.sh"
# shellcheck source=scripts/lib/deploy.sh
source "${SCRIPTS_DIR}/lib/deploy.sh"
# shellcheck source=scripts/lib/launch.sh
source "${SCRIPTS_DIR}/lib/launch.sh"
