# shellcheck shell=bash
# config.sh — the settings (scripts/lib/settings.tsv, the one list) and the tools (scripts/lib/tools.tsv):
# defaults, precedence, validation, APP_HOME's layout. Sourced after common.sh.

readonly SETTINGS_FILE="${SCRIPTS_DIR}/lib/settings.tsv"
readonly TOOLS_FILE="${SCRIPTS_DIR}/lib/tools.tsv"

# shellcheck source=scripts/lib/timing.sh
source "${SCRIPTS_DIR}/lib/timing.sh"

# settings_rows: "NAME TYPE DEFAULT" per setting, tab-separated, in the list's order (read once).
SETTINGS_ROWS=()
settings_rows() {
  ((${#SETTINGS_ROWS[@]})) || mapfile -t SETTINGS_ROWS < <(grep -v -e '^#' -e '^$' "${SETTINGS_FILE}" | cut -f1-3)
  printf '%s\n' "${SETTINGS_ROWS[@]}"
}

# The host's settings: on a host set up by ansible/site.yml, root's, rendered from the inventory. Every
# copy of the scripts on that host reads them (the installed tooling, a CodeDeploy revision, a copy from
# Jenkins).
readonly HOST_SETTINGS_FILE=/etc/bluegreen/deploy.env

# load_config: the environment wins over APP_HOME/deploy.env, which wins over scripts/deploy.env, which
# wins over /etc/bluegreen/deploy.env, which wins over the defaults. Then the settings are checked and
# APP_HOME is made canonical, once.
load_config() { load_settings all; }

# load_root_config: as load_config without APP_HOME/deploy.env (root's helpers on a provisioned host:
# APP_HOME is the deploy user's, and root never sources a file there).
load_root_config() { load_settings root; }

# load_settings all|root
load_settings() {
  local -A from_env=()
  local name type default
  settings_rows >/dev/null # read the list once, in this shell
  while IFS=$'\t' read -r name type default; do
    [[ -v ${name} ]] && from_env[${name}]="${!name}"
  done < <(settings_rows)
  load_env_file "${HOST_SETTINGS_FILE}"
  load_env_file "${SCRIPTS_DIR}/deploy.env"
  if [[ "$1" == all ]]; then
    load_env_file "${from_env[APP_HOME]:-${APP_HOME:-${REPO_DIR}/.deploy}}/deploy.env"
  fi
  for name in "${!from_env[@]}"; do
    printf -v "${name}" '%s' "${from_env[${name}]}"
  done
  apply_defaults
  validate_config
  readonly RUN_DIR="${APP_HOME}/run" LOG_DIR="${APP_HOME}/logs" STATE_DIR="${APP_HOME}/state"
  readonly RELEASES_DIR="${APP_HOME}/releases"
}

# load_env_file FILE: deploy.env is bash, so it runs as this user: refused when anyone but its owner (this
# user or root) can write it, or when it does not parse.
load_env_file() {
  local file="$1" owner mode
  [[ -f "${file}" ]] || return 0
  owner="$(stat -L -c %u "${file}")"
  mode="$(stat -L -c %a "${file}")"
  [[ "${owner}" == "${EUID}" || "${owner}" == 0 ]] ||
    die "${EXIT_USAGE}" "${file} belongs to uid ${owner}, not to $(id -un) or root: it is code, refusing to load it"
  ((8#${mode} & 8#022)) &&
    die "${EXIT_USAGE}" "${file} is writable by others (mode ${mode}): it is code, refusing to load it (chmod go-w)"
  bash -n "${file}" 2>/dev/null || die "${EXIT_USAGE}" "${file} has a syntax error: $(bash -n "${file}" 2>&1 | head -n1)"
  # shellcheck source=/dev/null
  source "${file}" || die "${EXIT_USAGE}" "${file} failed to load"
}

# apply_defaults: every unset setting gets its default from the list (defaults may name earlier settings).
apply_defaults() {
  local name type default
  while IFS=$'\t' read -r name type default; do
    if [[ ! -v ${name} ]]; then
      eval "${name}=\"${default}\""
    fi
    # The colors' command lines carry APP_HOME: a second spelling of it would make them look foreign.
    if [[ "${name}" == APP_HOME ]]; then APP_HOME="$(canonical_path "${APP_HOME}")"; fi
  done < <(settings_rows)
}


is_port() { [[ "$1" =~ ^[0-9]+$ ]] && (("$1" >= 1 && "$1" <= 65535)); }
is_count() { [[ "$1" =~ ^[0-9]+$ ]]; }

# validate_config: each setting against its type, then the rules between settings.
validate_config() {
  local name type default value
  while IFS=$'\t' read -r name type default; do
    value="${!name}"
    case "${type}" in
      port) is_port "${value}" || die "${EXIT_USAGE}" "${name}=${value} is not a port number (1-65535)" ;;
      count) is_count "${value}" || die "${EXIT_USAGE}" "${name}=${value} is not a whole number" ;;
      bool) [[ "${value}" == true || "${value}" == false ]] || die "${EXIT_USAGE}" "${name}=${value}: use true or false" ;;
      color) is_color "${value}" || die "${EXIT_USAGE}" "${name}=${value}: use blue or green" ;;
      mode) [[ "${value}" == socket || "${value}" == reload ]] || die "${EXIT_USAGE}" "${name}=${value}: use socket or reload" ;;
      supervisor) [[ "${value}" == process || "${value}" == systemd ]] || die "${EXIT_USAGE}" "${name}=${value}: use process or systemd" ;;
    esac
  done < <(settings_rows)
  [[ "${BLUE_PORT}" != "${GREEN_PORT}" ]] || die "${EXIT_USAGE}" "BLUE_PORT and GREEN_PORT are both ${BLUE_PORT}: each color needs its own port"
  [[ "${PUBLIC_PORT}" != "${BLUE_PORT}" && "${PUBLIC_PORT}" != "${GREEN_PORT}" ]] ||
    die "${EXIT_USAGE}" "PUBLIC_PORT=${PUBLIC_PORT} is also a color's port"
  if [[ -n "${PREVIEW_PORT}" ]]; then
    is_port "${PREVIEW_PORT}" || die "${EXIT_USAGE}" "PREVIEW_PORT=${PREVIEW_PORT} is not a port number (1-65535)"
    [[ " ${PUBLIC_PORT} ${BLUE_PORT} ${GREEN_PORT} ${BLUE_MANAGEMENT_PORT} ${GREEN_MANAGEMENT_PORT} ${TLS_CERT:+${TLS_PORT}} " != *" ${PREVIEW_PORT} "* ]] ||
      die "${EXIT_USAGE}" "PREVIEW_PORT=${PREVIEW_PORT} is also the public, TLS, a color's or a management port"
    # nginx's listen and the URL status.sh prints: an IPv6 address goes in brackets.
    [[ "${PREVIEW_ADDRESS}" =~ ^([0-9]{1,3}\.){3}[0-9]{1,3}$|^\[[0-9A-Fa-f:]+\]$ ]] ||
      die "${EXIT_USAGE}" "PREVIEW_ADDRESS=${PREVIEW_ADDRESS}: use an IPv4 address or an IPv6 one in brackets ([::1])"
  fi
  validate_rollout
  ((WARMUP_TIMEOUT >= 1)) || die "${EXIT_USAGE}" "WARMUP_TIMEOUT must be at least 1 (second)"
  ((START_NICE <= 19)) || die "${EXIT_USAGE}" "START_NICE=${START_NICE}: a nice value from 0 (off) to 19"
  ((KEEP_RELEASES >= 1)) || die "${EXIT_USAGE}" "KEEP_RELEASES must be at least 1"
  ((VALIDATE_REQUESTS >= 1)) || die "${EXIT_USAGE}" "VALIDATE_REQUESTS must be at least 1"
  [[ "${VALIDATE_PATH}" == /* ]] || die "${EXIT_USAGE}" "VALIDATE_PATH=${VALIDATE_PATH} must start with /"
  local address
  for address in ${TRUSTED_PROXIES}; do
    [[ "${address}" =~ ^[0-9A-Fa-f:.]+(/[0-9]{1,3})?$ ]] ||
      die "${EXIT_USAGE}" "TRUSTED_PROXIES: '${address}' is not an IP address or CIDR"
  done
  [[ "${SUPERVISOR}" != systemd || -d /run/systemd/system ]] ||
    die "${EXIT_USAGE}" "SUPERVISOR=systemd, but systemd does not run this host"
}

# The slot sockets of socket mode (nginx/conf.d/app.conf's hash upstream): a rollout step moves clients
# in steps of 100/ROLLOUT_SLOTS percent.
readonly ROLLOUT_SLOTS=20

# slots_for PERCENT: the slots that carry PERCENT of clients: at least one, and below 100 never all.
slots_for() {
  local slots=$((($1 * ROLLOUT_SLOTS + 50) / 100))
  ((slots > 0)) || slots=1
  ((slots < ROLLOUT_SLOTS || $1 >= 100)) || slots=$((ROLLOUT_SLOTS - 1))
  echo "${slots}"
}

# validate_rollout: ROLLOUT_STEPS rising percentages that move rising numbers of slots, in socket mode;
# ROLLOUT_PAUSE seconds or manual, and not manual where no person runs --promote (a CodeDeploy hook, a
# fleet deploy).
validate_rollout() {
  local step last=0
  [[ "${ROLLOUT_PAUSE}" == manual ]] || is_count "${ROLLOUT_PAUSE}" ||
    die "${EXIT_USAGE}" "ROLLOUT_PAUSE=${ROLLOUT_PAUSE}: use a number of seconds or manual"
  [[ -n "${ROLLOUT_STEPS}" ]] || return 0
  [[ "${SWITCH_MODE}" == socket ]] ||
    die "${EXIT_USAGE}" "ROLLOUT_STEPS needs SWITCH_MODE=socket (reload mode has no slots; each reload would close busy client connections)"
  [[ "${ROLLOUT_PAUSE}" != manual || -z "${DEPLOYMENT_ID:-}${FLEET_ID:-}" ]] ||
    die "${EXIT_USAGE}" "ROLLOUT_PAUSE=manual needs a person to run deploy.sh --promote: CodeDeploy and fleet deploys take a number of seconds"
  for step in ${ROLLOUT_STEPS}; do
    { is_count "${step}" && ((step > last && step <= 100)) && { ((last == 0)) || (($(slots_for "${step}") > $(slots_for "${last}"))); }; } ||
      die "${EXIT_USAGE}" "ROLLOUT_STEPS=\"${ROLLOUT_STEPS}\": use rising percentages from 1 to 100 at least $((100 / ROLLOUT_SLOTS)) apart (${ROLLOUT_SLOTS} slots), e.g. \"5 25 50\""
    last="${step}"
  done
}

# tools_for NEEDED_BY: "COMMAND PACKAGE" of the tools that NEEDED_BY needs.
tools_for() {
  awk -F '\t' -v who="$1" '!/^#/ && NF >= 3 && $3 == who { print $1 " " $2 }' "${TOOLS_FILE}"
}

# check_tools: every tool the scripts use is installed, and the GNU ones are GNU (date +%3N, stat -c,
# find -printf, mv -T): the first tool of each GNU package is asked (they come together). One line per
# problem, then exit 2: nothing was changed.
check_tools() {
  local command package problem problems=() checked=" "
  while read -r command package; do
    if ! command -v "${command}" >/dev/null; then
      problems+=("${command} is not installed (Debian/Ubuntu package: ${package})")
    elif [[ "${package}" == coreutils || "${package}" == findutils ]] && [[ "${checked}" != *" ${package} "* ]]; then
      checked+="${package} "
      [[ "$("${command}" --version 2>/dev/null || true)" == *GNU* ]] ||
        problems+=("${command} is not GNU ${package} (the scripts use its GNU options; install ${package})")
    fi
  done < <(tools_for deploy)
  ((${#problems[@]} == 0)) && return 0
  for problem in "${problems[@]}"; do printf '%s: error: %s\n' "${SCRIPT_NAME}" "${problem}" >&2; done
  exit "${EXIT_USAGE}"
}

# ensure_dirs: APP_HOME's layout, no world-writable bits. run/ is setgid to nginx's group (when we may
# chgrp to it), so the sockets the app creates there are reachable by nginx's workers and nobody else.
ensure_dirs() {
  local dir group
  if ! mkdir -p "${APP_HOME}" 2>/dev/null || [[ ! -w "${APP_HOME}" ]]; then
    die "${EXIT_USAGE}" "APP_HOME=${APP_HOME} is not writable by $(id -un)"
  fi
  umask 027
  for dir in "${RUN_DIR}" "${LOG_DIR}" "${STATE_DIR}" "${RELEASES_DIR}"; do
    mkdir -p "${dir}" || die "${EXIT_USAGE}" "cannot create ${dir}"
  done
  chmod 0751 "${APP_HOME}" 2>/dev/null || true
  # Only when needed: a user outside run/'s group who chmods it loses the setgid bit (Linux drops it
  # silently), and the next socket would get the wrong group (nginx: 502). A host set up by
  # ansible/site.yml has run/ right from the start, and it stays so.
  [[ "$(stat -c %a "${RUN_DIR}")" == 2750 ]] || chmod 2750 "${RUN_DIR}"
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
