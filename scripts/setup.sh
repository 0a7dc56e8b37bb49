#!/usr/bin/env bash
# setup.sh — what the demo and the tests need on this machine, from the one list (scripts/lib/tools.tsv):
# installs the missing Debian/Ubuntu packages (saying which first), starts Redis and RabbitMQ when they do
# not answer on localhost. Idempotent: a second run changes nothing. Elsewhere it prints the commands
# that get the same result.
set -Eeuo pipefail

# shellcheck source=scripts/lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

readonly TOOLS_FILE="${SCRIPTS_DIR}/lib/tools.tsv"
readonly REDIS_PORT=6379 RABBITMQ_PORT=5672

usage() {
  cat >&2 <<'USAGE'
usage: setup.sh [--yes | --check] [GROUP...]

Installs the packages of scripts/lib/tools.tsv's GROUPs that are missing (default: every group: deploy,
server, services, test, bench, hosts) with apt-get, through sudo when not root; asks first unless --yes
or CI is set. Then starts Redis and RabbitMQ on localhost when they are not running.
--check only prints the missing packages, one per line (nothing when all are there), and changes nothing.
USAGE
}

# missing_packages GROUP...: the packages of the GROUPs' tools that are not here, once each.
missing_packages() {
  local groups=" $* " tool package group
  while IFS=$'\t' read -r tool package group; do
    [[ "${groups}" == *" ${group} "* ]] || continue
    installed "${tool}" || echo "${package}"
  done < <(grep -v -e '^#' -e '^$' "${TOOLS_FILE}") | sort -u
}

# installed TOOL: a path (a keyring) exists, a command is on PATH (never a file of that name in the
# working directory: the project's nginx/ is one) or in the sbin next to a bin of PATH (SEARCH_PATH).
installed() {
  if [[ "$1" == /* ]]; then [[ -e "$1" ]]; else PATH="${SEARCH_PATH}" command -v "$1" >/dev/null; fi
}

# search_path: PATH and the sbin next to each of its bin directories (/usr/bin: /usr/sbin). A user's PATH
# on Debian has no sbin, where nginx, rabbitmq-server and debootstrap are: they would count as missing at
# every run (and demo.sh would stop at the question).
search_path() {
  local path="${PATH}" dir dirs sbin
  IFS=: read -r -a dirs <<<"${PATH}"
  for dir in "${dirs[@]}"; do
    [[ "${dir}" == */bin ]] || continue
    sbin="${dir%/bin}/sbin"
    [[ ":${path}:" == *":${sbin}:"* ]] || path+=":${sbin}"
  done
  echo "${path}"
}

# as_root COMMAND...: COMMAND as root (sudo when we are not).
as_root() {
  if ((EUID == 0)); then "$@"; else sudo "$@"; fi
}

install_packages() {
  local assume_yes="$1" answer
  shift
  [[ $# -gt 0 ]] || return 0
  if ! command -v apt-get >/dev/null; then
    die "${EXIT_FAILED}" "missing: $*; this is not Debian/Ubuntu: install them with your package manager (e.g. brew install $*), or run Redis and RabbitMQ with: docker compose up -d redis rabbitmq"
  fi
  log "installing $* (apt-get)"
  if [[ "${assume_yes}" != true ]]; then
    read -r -p "    go ahead? [y/N] " answer
    [[ "${answer}" == [yY]* ]] || die "${EXIT_USAGE}" "nothing installed; run again with --yes to install without asking"
  fi
  as_root apt-get update -q
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$@"
}

# wait_listening NAME PORT: at most 60 s for the service to answer.
wait_listening() {
  local deadline=$((SECONDS + 60))
  until tcp_reachable 127.0.0.1 "$2"; do
    ((SECONDS < deadline)) || die "${EXIT_FAILED}" "$1 did not come up on port $2 within 60 s"
    sleep 0.5
  done
}

# start_services: Redis (keeping nothing on disk) and RabbitMQ, each only when its port does not answer.
start_services() {
  if ! tcp_reachable 127.0.0.1 "${REDIS_PORT}"; then
    log "starting Redis on 127.0.0.1:${REDIS_PORT}"
    as_root mkdir -p /var/lib/redis /var/log/redis
    as_root redis-server --daemonize yes --bind 127.0.0.1 -::1 --port "${REDIS_PORT}" --save "" --appendonly no \
      --dir /var/lib/redis --logfile /var/log/redis/bluegreen.log
    wait_listening Redis "${REDIS_PORT}"
  fi
  if ! tcp_reachable 127.0.0.1 "${RABBITMQ_PORT}"; then
    log "starting RabbitMQ on 127.0.0.1:${RABBITMQ_PORT}"
    as_root rabbitmq-server -detached
    wait_listening RabbitMQ "${RABBITMQ_PORT}"
  fi
}

main() {
  local assume_yes=false check=false groups=()
  [[ -z "${CI:-}" ]] || assume_yes=true
  while (($#)); do
    case "$1" in
      --yes) assume_yes=true ;;
      --check) check=true ;;
      deploy | server | services | test | bench | hosts) groups+=("$1") ;;
      *) usage; exit "${EXIT_USAGE}" ;;
    esac
    shift
  done
  ((${#groups[@]})) || groups=(deploy server services test bench hosts)
  local missing=()
  SEARCH_PATH="$(search_path)"
  mapfile -t missing < <(missing_packages "${groups[@]}")
  if [[ "${check}" == true ]]; then
    ((${#missing[@]} == 0)) || printf '%s\n' "${missing[@]}"
    return 0
  fi
  install_packages "${assume_yes}" ${missing[@]+"${missing[@]}"}
  start_services
  log "ready: the tools of ${groups[*]}, Redis and RabbitMQ"
}

main "$@"
