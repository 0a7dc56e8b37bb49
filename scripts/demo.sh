#!/usr/bin/env bash
# demo.sh — the zero-downtime demo: builds two versions, starts nginx and blue, puts load on nginx,
# deploys green, then blue again, and prints what the load saw.
set -Eeuo pipefail

# shellcheck source=scripts/lib/sequence.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/sequence.sh"

readonly LOAD_CONNECTIONS=16
# Well below what a small machine serves while a deploy starts a second JVM next to it.
readonly LOAD_RATE=200

usage() {
  cat >&2 <<'USAGE'
usage: demo.sh

Needs a JDK, Redis and RabbitMQ on localhost (or SPRING_DATA_REDIS_HOST / SPRING_RABBITMQ_HOST) and nginx
(apt-get install nginx). The load comes from scripts/loadgen.sh, the tests' load generator. Leaves the
first version serving on http://localhost:PUBLIC_PORT/ (default 8080), from blue on a first run.
USAGE
}


check_services() {
  local redis_host="${SPRING_DATA_REDIS_HOST:-localhost}" redis_port="${SPRING_DATA_REDIS_PORT:-6379}"
  local rabbit_host="${SPRING_RABBITMQ_HOST:-localhost}" rabbit_port="${SPRING_RABBITMQ_PORT:-5672}"
  tcp_reachable "${redis_host}" "${redis_port}" ||
    die "${EXIT_USAGE}" "Redis is not reachable at ${redis_host}:${redis_port}: start it (redis-server --daemonize yes --save '', or docker compose up -d redis)"
  tcp_reachable "${rabbit_host}" "${rabbit_port}" ||
    die "${EXIT_USAGE}" "RabbitMQ is not reachable at ${rabbit_host}:${rabbit_port}: start it (rabbitmq-server -detached, or docker compose up -d rabbitmq)"
}

build() {
  log "building version 1.0.0 and 1.0.1-demo"
  (cd "${REPO_DIR}" && ./mvnw -q -B package -DskipTests -Drevision=1.0.0)
  (cd "${REPO_DIR}" && ./mvnw -q -B -o package -DskipTests -Drevision=1.0.1-demo \
    -Dapp.build.directory="${REPO_DIR}/target/demo-v2")
}

load_summary() { echo "${LOG_DIR}/demo-load.txt"; }
load_stop_file() { echo "${LOG_DIR}/demo-load.stop"; }

# start_load: the load through nginx in the background (LOAD_PID) until stop_load; clients that never
# retry, so every error shows.
start_load() {
  rm -f "$(load_stop_file)"
  "${SCRIPTS_DIR}/loadgen.sh" rate --url "http://127.0.0.1:${PUBLIC_PORT}" --rate "${LOAD_RATE}" \
    --connections "${LOAD_CONNECTIONS}" --stop-file "$(load_stop_file)" --max-seconds 1800 \
    >"$(load_summary)" 2>&1 &
  LOAD_PID=$!
}

stop_load() {
  touch "$(load_stop_file)"
  wait "${LOAD_PID}" || die "${EXIT_FAILED}" "the load generator failed: $(tail -n 3 "$(load_summary)")"
}

# load_figure NAME: a figure of the load generator's summary line (requests=... failed=... p99_ms=...).
load_figure() { sed -n "s/.*\b$1=\([^ ]*\).*/\1/p" "$(load_summary)" | tail -n1; }

# print_demo_report: what the load saw, and the phase timings of the demo's deploys.
print_demo_report() {
  echo
  log "zero-downtime report"
  info "requests through nginx: $(load_figure requests) in $((SECONDS - LOAD_STARTED)) s (${LOAD_CONNECTIONS} keep-alive connections at ${LOAD_RATE} req/s; 10% POST, 90% GET; no retries)"
  info "failed: $(load_figure failed) (I/O errors $(load_figure failed_io), 5xx $(load_figure failed_5xx), POSTs $(load_figure failed_post))"
  info "latency from the intended send time: p50 $(load_figure p50_ms) ms, p99 $(load_figure p99_ms) ms, max $(load_figure max_ms) ms"
  history_query -r '.[-2:][] | "    deploy \(.to.version) to \(.to.color): \(.outcome) in \(.total_ms) ms, phases \(.phases_ms | tojson)"'
  info "nginx access log: ${ACCESS_LOG}; deploy history: $(history_file)"
}

main() {
  [[ $# -eq 0 ]] || { usage; exit "${EXIT_USAGE}"; }
  "${SCRIPTS_DIR}/setup.sh" deploy server services
  check_tools
  require_tools java javac
  load_config
  ensure_dirs
  check_services
  build
  "${SCRIPTS_DIR}/stop.sh" all --force >/dev/null
  "${SCRIPTS_DIR}/nginx.sh" start
  "${SCRIPTS_DIR}/deploy.sh" "${REPO_DIR}/target/app.jar"
  "${SCRIPTS_DIR}/loadgen.sh" build
  start_load
  LOAD_STARTED="${SECONDS}"
  trap 'touch "$(load_stop_file)"' EXIT
  log "load running: ${LOAD_RATE} req/s over ${LOAD_CONNECTIONS} connections through http://127.0.0.1:${PUBLIC_PORT}/"
  "${SCRIPTS_DIR}/deploy.sh" "${REPO_DIR}/target/demo-v2/app.jar"
  "${SCRIPTS_DIR}/deploy.sh" "${REPO_DIR}/target/app.jar"
  stop_load
  trap - EXIT
  print_demo_report
  log "$(live_color) serves http://localhost:${PUBLIC_PORT}/ ; stop with: scripts/stop.sh all --force && scripts/nginx.sh stop"
}

main "$@"
