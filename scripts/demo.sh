#!/usr/bin/env bash
# demo.sh — the zero-downtime demo: builds two versions, starts nginx and blue, puts load on nginx,
# deploys green, then blue again, and prints what the load saw.
set -Eeuo pipefail

# shellcheck source=scripts/lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

readonly LOAD_CONNECTIONS=16

usage() {
  cat >&2 <<'USAGE'
usage: demo.sh

Needs Redis and RabbitMQ on localhost (or SPRING_DATA_REDIS_HOST / SPRING_RABBITMQ_HOST), nginx and wrk
(apt-get install nginx wrk). Leaves blue serving on http://localhost:PUBLIC_PORT/ (default 8080).
USAGE
}

port_open() { (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; }

check_services() {
  local redis_host="${SPRING_DATA_REDIS_HOST:-localhost}" redis_port="${SPRING_DATA_REDIS_PORT:-6379}"
  local rabbit_host="${SPRING_RABBITMQ_HOST:-localhost}" rabbit_port="${SPRING_RABBITMQ_PORT:-5672}"
  port_open "${redis_host}" "${redis_port}" ||
    die "${EXIT_USAGE}" "Redis is not reachable at ${redis_host}:${redis_port}: start it (redis-server --daemonize yes --save '', or docker compose up -d redis)"
  port_open "${rabbit_host}" "${rabbit_port}" ||
    die "${EXIT_USAGE}" "RabbitMQ is not reachable at ${rabbit_host}:${rabbit_port}: start it (rabbitmq-server -detached, or docker compose up -d rabbitmq)"
}

build() {
  log "building version 1.0.0 and 1.0.1-demo"
  (cd "${REPO_DIR}" && ./mvnw -q -B package -DskipTests -Drevision=1.0.0)
  (cd "${REPO_DIR}" && ./mvnw -q -B -o package -DskipTests -Drevision=1.0.1-demo \
    -Dapp.build.directory="${REPO_DIR}/target/demo-v2")
}

run_load() {
  # --timeout: a slow answer is a slow answer, not an error (wrk's default gives up after 2 s).
  wrk -t2 -c"${LOAD_CONNECTIONS}" -d30m --timeout 30s --latency -s "${SCRIPTS_DIR}/lib/demo-load.lua" \
    "http://127.0.0.1:${PUBLIC_PORT}" >"${LOG_DIR}/demo-load.txt" 2>&1 &
  echo $!
}

# report: what wrk saw, and the phase timings of the demo's deploys.
report() {
  local load="${LOG_DIR}/demo-load.txt" requests non2xx socket_errors
  requests="$(sed -n 's/^ *\([0-9]*\) requests in .*/\1/p' "${load}")"
  non2xx="$(sed -n 's/^ *Non-2xx or 3xx responses: *\([0-9]*\)/\1/p' "${load}")"
  socket_errors="$(sed -n 's/^ *Socket errors: *//p' "${load}")"
  echo
  log "zero-downtime report"
  info "requests through nginx: ${requests:-0} (${LOAD_CONNECTIONS} keep-alive connections, GET + POST)"
  info "failed: ${non2xx:-0} non-2xx responses${socket_errors:+; socket errors: ${socket_errors}}"
  info "latency: $(sed -n 's/^ *50% *\([^ ]*\)/p50 \1/p' "${load}"), $(sed -n 's/^ *99% *\([^ ]*\)/p99 \1/p' "${load}")"
  tail -n 2 "$(history_file)" | sed -n 's/.*"to":{"color":"\([a-z]*\)","version":"\([^"]*\)".*"outcome":"\([a-z-]*\)".*"phases_ms":\({[^}]*}\).*"total_ms":\([0-9]*\).*/    deploy \2 to \1: \3 in \5 ms, phases \4/p'
  info "nginx access log: ${ACCESS_LOG}; deploy history: $(history_file)"
}

main() {
  [[ $# -eq 0 ]] || { usage; exit "${EXIT_USAGE}"; }
  require_tools wrk curl flock setsid ss unzip sha256sum
  load_config
  ensure_dirs
  check_services
  build
  "${SCRIPTS_DIR}/stop.sh" all --force >/dev/null
  "${SCRIPTS_DIR}/nginx.sh" start
  "${SCRIPTS_DIR}/deploy.sh" "${REPO_DIR}/target/app.jar"
  local load_pid
  load_pid="$(run_load)"
  trap 'kill -INT "${load_pid}" 2>/dev/null || true' EXIT
  log "load running: wrk, ${LOAD_CONNECTIONS} connections through http://127.0.0.1:${PUBLIC_PORT}/"
  "${SCRIPTS_DIR}/deploy.sh" "${REPO_DIR}/target/demo-v2/app.jar"
  "${SCRIPTS_DIR}/deploy.sh" "${REPO_DIR}/target/app.jar"
  kill -INT "${load_pid}"
  while is_alive "${load_pid}"; do sleep 0.2; done
  trap - EXIT
  report
  log "blue serves http://localhost:${PUBLIC_PORT}/ ; stop with: scripts/stop.sh all --force && scripts/nginx.sh stop"
}

main "$@"
