#!/usr/bin/env bash
# bench.sh — the benchmark: switches under load in socket and reload mode side by side, and of a plain
# Boot jar (not this template's) through nginx's relay; the classic stop-then-start on one port, deploy
# timings, fast start (plain vs CDS/AOT archive, two JDKs), nginx's overhead with and without upstream
# keepalive and through the relay, and memory with the default and the 1 GiB flags. Writes
# REPORT.md and latency.png (default: docs/benchmark/). Everything runs in a temp APP_HOME on free ports; load
# goes to 127.0.0.1 only.
set -Eeuo pipefail

# shellcheck source=scripts/lib/sequence.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/sequence.sh"
# shellcheck source=scripts/bench/lib.sh
source "${SCRIPTS_DIR}/bench/lib.sh"
# shellcheck source=scripts/bench/report.sh
source "${SCRIPTS_DIR}/bench/report.sh"

readonly BENCH_DIR="${SCRIPTS_DIR}/bench"
# The JVM flags and app arguments the README recommends for two colors + nginx on a 1 GiB host.
readonly LOW_MEMORY_OPTS="-Xms64m -Xmx192m -XX:MaxMetaspaceSize=160m -XX:ReservedCodeCacheSize=64m -XX:MaxDirectMemorySize=32m -Xss512k -XX:+UseSerialGC"
readonly LOW_MEMORY_ARGS="--server.tomcat.threads.max=32 --server.tomcat.threads.min-spare=4"
readonly PROXY_CONNECTIONS=32

usage() {
  cat >&2 <<'USAGE'
usage: bench.sh [--smoke] [--out DIR]

  --smoke    a short run for CI (a few minutes): fewer switches, shorter windows, of the first-traffic
             deploys only the rollout, no other deploys under load, no start-time, baseline or 1 GiB
             measurements (their sections say so)
  --out DIR  where REPORT.md and latency.png go (default: docs/benchmark/ in the repository)

Needs Redis and RabbitMQ on localhost, nginx, gnuplot (gnuplot-nox), a JDK (javac), target/app.jar
(./mvnw package). The full run builds a second version into target/bench-v2 when it is missing and, when
a JDK 24+ is found (BENCH_AOT_JAVA, default: /usr/lib/jvm/*25*), also measures the AOT cache. Knobs:
BENCH_RATE, BENCH_CONNECTIONS, BENCH_SWITCHES, BENCH_REQUESTS (socket mode switches until that many are due,
at most 3 min; default 100000), BENCH_SWITCH_EVERY, BENCH_DEPLOYS, BENCH_STEADY,
BENCH_STARTS, BENCH_ROLLOUT_PAUSE (seconds per step of the first-traffic rollout, default 10),
BENCH_KEEP=1 (keep the work directory).
USAGE
}

# ---------------------------------------------------------------------------------------------------
# settings

parse_args() {
  SMOKE=false
  OUT_DIR="${REPO_DIR}/docs/benchmark"
  while (($#)); do
    case "$1" in
      --smoke) SMOKE=true ;;
      --out)
        [[ $# -ge 2 ]] || { usage; exit "${EXIT_USAGE}"; }
        OUT_DIR="$2"
        shift
        ;;
      -h | --help) usage; exit 0 ;;
      *) usage; exit "${EXIT_USAGE}" ;;
    esac
    shift
  done
  OUT_DIR="$(canonical_path "${OUT_DIR}")"
}

# configure: the run's size; --smoke keeps every section but measures little.
configure() {
  if [[ "${SMOKE}" == true ]]; then
    RATE="${BENCH_RATE:-100}" CONNECTIONS="${BENCH_CONNECTIONS:-16}" SWITCHES="${BENCH_SWITCHES:-2}"
    EVERY="${BENCH_SWITCH_EVERY:-2}" DEPLOYS="${BENCH_DEPLOYS:-0}" STEADY_SECONDS="${BENCH_STEADY:-2}"
    STARTS="${BENCH_STARTS:-0}" RESTARTS=0 PROXY_SECONDS=1 PROXY_ROUNDS=1 WARMUP=1 LOW_MEMORY=false
    NEEDS_SECONDS=6 ROLLOUT_BENCH_PAUSE=2
    # 2 s steps at 100 req/s give the gate a few dozen answers, among them the new color's first POSTs
    # (class loading: over 100 ms on a loaded machine); the smoke runs the rollout's code, the gate's
    # latency rule is RolloutIntegrationTests' and the full run's.
    export ROLLOUT_P99_FLOOR_MS=1000
    REQUESTS="${BENCH_REQUESTS:-0}"
  else
    RATE="${BENCH_RATE:-auto}" CONNECTIONS="${BENCH_CONNECTIONS:-64}" SWITCHES="${BENCH_SWITCHES:-10}"
    EVERY="${BENCH_SWITCH_EVERY:-4}" DEPLOYS="${BENCH_DEPLOYS:-1}" STEADY_SECONDS="${BENCH_STEADY:-6}"
    STARTS="${BENCH_STARTS:-3}" RESTARTS=2 PROXY_SECONDS=4 PROXY_ROUNDS=2 WARMUP=10 LOW_MEMORY=true
    NEEDS_SECONDS=30 ROLLOUT_BENCH_PAUSE="${BENCH_ROLLOUT_PAUSE:-10}"
    REQUESTS="${BENCH_REQUESTS:-100000}"
  fi
  local var
  for var in CONNECTIONS SWITCHES EVERY DEPLOYS STEADY_SECONDS STARTS REQUESTS ROLLOUT_BENCH_PAUSE; do
    [[ "${!var}" =~ ^[0-9]+$ ]] || die "${EXIT_USAGE}" "${var}=${!var} is not a whole number (BENCH_* settings)"
  done
  [[ "${RATE}" == auto || "${RATE}" =~ ^[1-9][0-9]*$ ]] || die "${EXIT_USAGE}" "BENCH_RATE=${RATE}: a whole number or auto"
  ((CONNECTIONS > 0 && EVERY > 0)) || die "${EXIT_USAGE}" "connections and switch interval must be positive"
  # the first-traffic series: its rollout's steps, and today's switch (the warm-up before START_NICE)
  LOAD_MIX=mixed FIRST_TRAFFIC_STEPS="5 25 50" BASELINE_WARMUP_REQUESTS=20
  readonly SMOKE OUT_DIR CONNECTIONS SWITCHES EVERY DEPLOYS STEADY_SECONDS STARTS REQUESTS RESTARTS PROXY_SECONDS PROXY_ROUNDS \
    WARMUP LOW_MEMORY NEEDS_SECONDS ROLLOUT_BENCH_PAUSE
}

preflight() {
  check_tools
  require_tools java javac gnuplot
  [[ -x "$(command -v nginx || echo /usr/sbin/nginx)" ]] || die "${EXIT_USAGE}" "nginx is not installed (apt-get install nginx)"
  local redis="${SPRING_DATA_REDIS_HOST:-localhost}:${SPRING_DATA_REDIS_PORT:-6379}"
  local rabbit="${SPRING_RABBITMQ_HOST:-localhost}:${SPRING_RABBITMQ_PORT:-5672}"
  tcp_reachable "${redis%:*}" "${redis##*:}" || die "${EXIT_USAGE}" "Redis is not reachable at ${redis} (redis-server --daemonize yes --save '')"
  tcp_reachable "${rabbit%:*}" "${rabbit##*:}" || die "${EXIT_USAGE}" "RabbitMQ is not reachable at ${rabbit} (rabbitmq-server -detached)"
  [[ -f "${REPO_DIR}/target/app.jar" ]] || die "${EXIT_USAGE}" "target/app.jar is missing: ./mvnw package -DskipTests"
}

# ---------------------------------------------------------------------------------------------------
# the measurements

# measure_fast_start: time to ready of one color, plain vs with the release's archive, per JDK;
# STARTS rounds, alternating, medians in the report.
measure_fast_start() {
  : >"${DATA}/starts.txt"
  : >"${DATA}/archives.txt"
  ((STARTS > 0)) || return 0
  local java jdk
  for java in "${JAVA_BIN}" "$(aot_java)"; do
    [[ -n "${java}" ]] || continue
    jdk="$(java_feature "${java}")"
    log "fast start on JDK ${jdk}: building the archive, then ${STARTS} starts plain and ${STARTS} with it"
    measure_fast_start_with "${java}" "${jdk}"
  done
}

measure_fast_start_with() {
  local java="$1" jdk="$2" default_java="${JAVA_BIN}" release started archive round mode
  JAVA_BIN="${java}"
  FAST_START=true
  started="$(epoch_ms)"
  release="$(install_release "$(jar_of v1)" 2>>"${DATA}/scripts.log")"
  archive="$(archive_file "${RELEASES_DIR}/${release}")"
  if [[ -f "${archive}" ]]; then
    printf '%s %s %s %s\n' "${jdk}" "$(archive_label | tr ' ' _)" "$(($(epoch_ms) - started))" \
      "$(du -m "${archive}" | cut -f1)" >>"${DATA}/archives.txt"
  else
    printf '%s none 0 0\n' "${jdk}" >>"${DATA}/archives.txt"
  fi
  for ((round = 1; round <= STARTS; round++)); do
    for mode in false true; do
      FAST_START="${mode}"
      start_once "${jdk}" "${release}" >>"${DATA}/starts.txt"
    done
  done
  JAVA_BIN="${default_java}"
  FAST_START=true
}

# start_once JDK RELEASE: "jdk fast_start ready_ms jvm_started_s mapped" for one start of blue.
start_once() {
  local jdk="$1" release="$2" from pid ready jvm mapped
  stop_color blue
  from="$(epoch_ms)"
  pid="$(start_color blue "$(release_jar "${release}")" "bench-start")"
  await_ready blue "${pid}" || die "${EXIT_FAILED}" "blue did not get ready (JDK ${jdk}, FAST_START=${FAST_START}): $(log_file blue)"
  ready=$(($(epoch_ms) - from))
  jvm="$(sed -n 's/.*Started .* in [0-9.]* seconds (process running for \([0-9.]*\)).*/\1/p' "$(log_file blue)" | head -n1)" || true
  mapped="$(archive_in_use "${pid}")"
  stop_color blue
  echo "${jdk} ${FAST_START} ${ready} ${jvm:--} ${mapped:+yes}"
}

# setup_colors: v1 on blue, v2 on green, both running (KEEP_OLD), no load: the first deploy timings.
setup_colors() {
  log "deploying v1 and v2 (both kept running)"
  KEEP_OLD=true
  deploy_and_record "first deploy, no load" "$(jar_of v1)"
  deploy_and_record "second color, no load" "$(jar_of v2)"
  KEEP_OLD=false
  local color pid
  for color in "${COLORS[@]}"; do
    pid="$(color_pid "${color}")"
    echo "${color} ${pid} $(archive_in_use "${pid}")" >>"${DATA}/mapped.txt"
  done
}

# warm_up_colors: both colors get the mix straight on their port, as fast as they answer, for WARMUP
# seconds (JIT, pools) before anything is measured. (scripts/lib's warm_up is deploy.sh's few requests.)
warm_up_colors() {
  local color pids=()
  for color in "${COLORS[@]}"; do
    [[ -n "$(color_pid "${color}")" ]] || continue
    loadgen max --url "http://127.0.0.1:$(color_port "${color}")" --connections 8 --mix "${LOAD_MIX}" \
      --seconds "${WARMUP}" --warmup 0 >/dev/null 2>&1 &
    pids+=("$!")
  done
  ((${#pids[@]} == 0)) || wait "${pids[@]}" || true
}

# warmup_needs: what a new JVM needs before it serves as fast as a warm one: the idle color started fresh
# (nothing else loaded), then the mix straight on its port, as fast as it answers, over the deploy's
# warm-up connections; one line per second (requests sent before it, p99). The report finds where p99
# settles: the basis of WARMUP_REQUESTS.
warmup_needs() {
  local color release pid
  color="$(other_color "$(live_color)")"
  release="$(color_release "${color}")"
  stop_color "${color}"
  pid="$(start_color "${color}" "$(release_jar "${release}")" "bench-warmup-needs")"
  await_ready "${color}" "${pid}" || die "${EXIT_FAILED}" "${color} did not get ready for the warm-up measurement: $(log_file "${color}")"
  log "warm-up needs: ${color} just started; the mix straight on its port for ${NEEDS_SECONDS}s, ${WARMUP_CONNECTIONS} connections"
  loadgen max --url "http://127.0.0.1:$(color_port "${color}")" --connections "${WARMUP_CONNECTIONS}" --mix mixed \
    --seconds "${NEEDS_SECONDS}" --warmup 0 --every-ms 1000 >"${DATA}/warmup-needs.txt"
}

# calibrate_rate: the mix's closed-loop maximum through nginx on this host now; with BENCH_RATE=auto
# the series run at 30% of it, rounded down to 50 req/s. Well below saturation: a color that just
# started serves far less than a warm one until its JIT catches up (at 40%, p99 rose to 2 s for 8 s
# after each deploy on 2 cores).
calibrate_rate() {
  local capacity
  log "capacity: the request mix at its closed-loop maximum through nginx (${CONNECTIONS} connections, ${PROXY_SECONDS}s)"
  loadgen max --url "http://127.0.0.1:${PUBLIC_PORT}" --connections "${CONNECTIONS}" --mix mixed \
    --seconds "${PROXY_SECONDS}" --warmup 2 >"${DATA}/capacity.txt"
  capacity="$(sed -n 's/^rps=\([0-9]*\).*/\1/p' "${DATA}/capacity.txt")"
  if [[ "${RATE}" == auto ]]; then
    RATE=$((capacity * 30 / 100 / 50 * 50))
    ((RATE >= 50)) || RATE=50
  fi
  readonly RATE
  log "load for the series: ${RATE} req/s (the mix's maximum here now: ${capacity:-?} req/s)"
}

# switch_series NAME MODE [SWITCHES]: steady, SWITCHES switches every EVERY s, DEPLOYS deploys (of the
# other version, or of SERIES_JAR), steady; under the load (LOAD_MIX) through nginx's public port, memory
# sampled.
switch_series() {
  local name="$1" mode="$2" switches="${3:-${SWITCHES}}" i from next label jar
  SWITCH_MODE="${mode}"
  : >"${DATA}/${name}.events"
  log "${name}: ${switches} switches every ${EVERY}s and ${DEPLOYS} deploys at ${RATE} req/s (${CONNECTIONS} keep-alive connections)"
  start_load "${name}" "http://127.0.0.1:${PUBLIC_PORT}"
  start_sampler "${name}"
  sleep 1
  steady_window "${name}" before "${STEADY_SECONDS}"
  next="$(epoch_ms)"
  for ((i = 1; i <= switches; i++)); do
    pace_until "${next}"
    from="$(epoch_ms)"
    run_script switch.sh
    echo "switch ${from} $(epoch_ms) to-$(live_color)" >>"${DATA}/${name}.events"
    next=$((from + EVERY * 1000))
  done
  pace_until "${next}"
  for ((i = 1; i <= DEPLOYS; i++)); do
    from="$(epoch_ms)"
    jar="${SERIES_JAR:-$(other_jar)}"
    label="$(release_version "${jar}")"
    deploy_and_record "${name}: deploy ${i} under load" "${jar}"
    echo "deploy ${from} $(epoch_ms) ${label}" >>"${DATA}/${name}.events"
    echo "mark ${LAST_DEPLOY_SWITCH} ${LAST_DEPLOY_SWITCH} deploy-switch" >>"${DATA}/${name}.events"
    sleep 1
  done
  steady_window "${name}" after "${STEADY_SECONDS}"
  stop_load "${name}"
  stop_sampler "${name}"
  analyze "${name}"
}

# first_traffic: three deploys of the other version under the series' load, each to a freshly started
# color: today's switch (BASELINE_WARMUP_REQUESTS, no CPU priority), the warmed switch (the defaults:
# WARMUP_REQUESTS, START_NICE) and a 5 25 50 100 rollout (the defaults plus ROLLOUT_STEPS). Per deploy,
# two windows for the report: from the new color's start to its first traffic, and its first 10 s of
# traffic (whatever share it has).
first_traffic() {
  local name=firsttraffic row
  SWITCH_MODE=socket
  : >"${DATA}/${name}.events"
  log "first traffic: a switch, a warmed switch and a ${FIRST_TRAFFIC_STEPS} 100 rollout (${ROLLOUT_BENCH_PAUSE}s a step) at ${RATE} req/s"
  start_load "${name}" "http://127.0.0.1:${PUBLIC_PORT}"
  start_sampler "${name}"
  sleep 1
  steady_window "${name}" before "${STEADY_SECONDS}"
  # --smoke: the rollout only (the code path of all three, one JVM start)
  for row in $([[ "${SMOKE}" == true ]] && echo rollout || echo switch warmed rollout); do
    first_traffic_deploy "${name}" "${row}"
    # the next deploy's work stays out of this one's 10 s of traffic
    pace_until $(($(awk '$1 == "traffic" { end = $3 } END { print end }' "${DATA}/${name}.events") + 1000))
  done
  steady_window "${name}" after "${STEADY_SECONDS}"
  stop_load "${name}"
  stop_sampler "${name}"
  analyze "${name}"
}

# first_traffic_deploy SERIES ROW: one deploy with ROW's settings, and its events: the deploy, the new
# color's start to its first traffic (the first rollout step or the switch), the 10 s after that.
first_traffic_deploy() {
  local name="$1" row="$2" from started first
  local warmup="${WARMUP_REQUESTS}" nice="${START_NICE}" steps=""
  case "${row}" in
    switch) warmup="${BASELINE_WARMUP_REQUESTS}" nice=0 ;;
    rollout) steps="${FIRST_TRAFFIC_STEPS}" ;;
  esac
  from="$(epoch_ms)"
  WARMUP_REQUESTS="${warmup}" START_NICE="${nice}" ROLLOUT_STEPS="${steps}" ROLLOUT_PAUSE="${ROLLOUT_BENCH_PAUSE}" \
    deploy_and_record "first traffic: ${row}" "$(other_jar)"
  started="$(awk '/==> starting (blue|green) / { print $1; exit }' "${DATA}/last.log")"
  first="$(awk '/==> (moving [0-9]+% of clients|switching nginx)/ { print $1; exit }' "${DATA}/last.log")"
  [[ -n "${started}" && -n "${first}" ]] || die "${EXIT_FAILED}" "first traffic: no start or switch line in the ${row} deploy's output (${DATA}/scripts.log)"
  {
    echo "deploy ${from} $(epoch_ms) ${row}"
    echo "starting ${started} ${first} ${row}"
    echo "traffic ${first} $((first + 10000)) ${row}"
    echo "mark ${first} ${first} ${row}"
  } >>"${DATA}/${name}.events"
}

# socket_switches: SWITCHES, or more when that many would send fewer than REQUESTS (plus 10%) at RATE
# (a deploy under load taken as 20 s), so that the zero-failure claim rests on >= 100k requests; at most
# 3 min of switching (a loaded machine's low rate then misses the count, and the report says so).
socket_switches() {
  local seconds needed most
  seconds=$(((REQUESTS * 11 / 10 + RATE - 1) / RATE - 2 * STEADY_SECONDS - 20 * DEPLOYS - 2))
  needed=$(((seconds + EVERY - 1) / EVERY))
  most=$((180 / EVERY))
  ((needed <= most)) || needed="${most}"
  echo $((needed > SWITCHES ? needed : SWITCHES))
}

# both_colors_running: after a series' deploys only the live color runs; the other version joins it.
both_colors_running() {
  [[ -n "$(color_pid "$(other_color "$(live_color)")")" ]] && return 0
  KEEP_OLD=true
  deploy_and_record "setup: second color again, no load" "$(other_jar)"
  KEEP_OLD=false
}

# baseline: the classic procedure on one port behind nginx: stop the old version, start the new one
# on the same port, no drain; RESTARTS times under the same load.
baseline() {
  : >"${DATA}/baseline.events"
  ((RESTARTS > 0)) || return 0
  local color i from pid release
  color="$(live_color)"
  [[ -n "$(color_pid "$(other_color "${color}")")" ]] && run_script stop.sh "$(other_color "${color}")"
  log "baseline: ${RESTARTS} stop-then-start restarts of ${color} at ${RATE} req/s"
  start_load baseline "http://127.0.0.1:${PUBLIC_PORT}"
  sleep 1
  steady_window baseline before "${STEADY_SECONDS}"
  for ((i = 1; i <= RESTARTS; i++)); do
    release="$(install_release "$(other_jar)" 2>>"${DATA}/scripts.log")"
    from="$(epoch_ms)"
    stop_color "${color}"
    pid="$(start_color "${color}" "$(release_jar "${release}")" "bench-restart-${i}")"
    echo "${release}" >"$(release_file "${color}")"
    await_ready "${color}" "${pid}" || die "${EXIT_FAILED}" "${color} did not get ready after restart ${i}"
    echo "restart ${from} $(epoch_ms) restart-${i}" >>"${DATA}/baseline.events"
    sleep "${EVERY}"
  done
  steady_window baseline after "${STEADY_SECONDS}"
  stop_load baseline
  analyze baseline
}

# proxy_overhead: closed-loop maximum throughput and p99 of GET /api/version, straight to the live
# color and through nginx three ways; rounds interleaved.
proxy_overhead() {
  local color round target url
  color="$(live_color)"
  SWITCH_MODE=socket
  run_script switch.sh "${color}"
  render_proxy_variants "${color}"
  : >"${DATA}/proxy.txt"
  log "proxy overhead: ${PROXY_ROUNDS} rounds of ${PROXY_SECONDS}s per path, ${PROXY_CONNECTIONS} connections, closed loop"
  for ((round = 1; round <= PROXY_ROUNDS; round++)); do
    for target in direct socket-keepalive tcp-keepalive tcp-no-keepalive; do
      case "${target}" in
        direct) url="http://127.0.0.1:$(color_port "${color}")" ;;
        socket-keepalive) url="http://127.0.0.1:${PUBLIC_PORT}" ;;
        tcp-keepalive) url="http://127.0.0.1:${PROXY_KA_PORT}" ;;
        tcp-no-keepalive) url="http://127.0.0.1:${PROXY_NOKA_PORT}" ;;
      esac
      printf '%s %s\n' "${target}" "$(loadgen max --url "${url}" --connections "${PROXY_CONNECTIONS}" \
        --seconds "${PROXY_SECONDS}" --warmup 2 --mix version)" >>"${DATA}/proxy.txt"
    done
  done
}

# relay_series: the plain Boot app of src/test/apps (TCP only, nothing of this template) on both colors
# in socket mode, so nginx reaches it through its relay: the same switches and deploys under the same
# rate, with the requests it serves (GET /api/version, 10% POST /api/orders); then what the relay costs
# per request: the plain app straight, through nginx's TCP upstream, through the relay.
relay_series() {
  log "any Boot jar: the plain app on both colors, reached through nginx's relay"
  SWITCH_MODE=socket KEEP_OLD=true
  export VERIFY_PATH=/api/version WARMUP_PATHS=/api/version
  deploy_and_record "plain jar (relay), no load" "$(jar_of plain)"
  deploy_and_record "plain jar (relay), second color, no load" "$(jar_of plain)"
  KEEP_OLD=false LOAD_MIX=plain SERIES_JAR="$(jar_of plain)"
  warm_up_colors
  switch_series relay socket
  KEEP_OLD=true
  deploy_and_record "plain jar (relay), second color again, no load" "$(jar_of plain)"
  KEEP_OLD=false
  relay_overhead
}

# relay_overhead: closed-loop maximum of GET /api/version of the plain app: straight to it, through
# nginx's TCP upstream (reload mode's) and through the relay (socket mode's live.sock); rounds
# interleaved, appended to the proxy overhead's data.
relay_overhead() {
  local color round target url
  color="$(live_color)"
  render_proxy_variants "${color}"
  log "relay overhead: ${PROXY_ROUNDS} rounds of ${PROXY_SECONDS}s per path, ${PROXY_CONNECTIONS} connections, closed loop"
  for ((round = 1; round <= PROXY_ROUNDS; round++)); do
    for target in plain-direct plain-tcp plain-relay; do
      case "${target}" in
        plain-direct) url="http://127.0.0.1:$(color_port "${color}")" ;;
        plain-tcp) url="http://127.0.0.1:${PROXY_KA_PORT}" ;;
        plain-relay) url="http://127.0.0.1:${PUBLIC_PORT}" ;;
      esac
      printf '%s %s\n' "${target}" "$(loadgen max --url "${url}" --connections "${PROXY_CONNECTIONS}" \
        --seconds "${PROXY_SECONDS}" --warmup 2 --mix version)" >>"${DATA}/proxy.txt"
    done
  done
}

# low_memory: both colors redeployed with the 1 GiB flags, then the load with a few switches while
# memory is sampled.
low_memory() {
  : >"${DATA}/lowmem.events"
  [[ "${LOW_MEMORY}" == true ]] || return 0
  local i from
  log "1 GiB flags: redeploying both colors with JAVA_OPTS=${LOW_MEMORY_OPTS}"
  JAVA_OPTS="${LOW_MEMORY_OPTS}" APP_ARGS="${LOW_MEMORY_ARGS}" KEEP_OLD=true SWITCH_MODE=socket
  deploy_and_record "1 GiB flags, no load" "$(other_jar)"
  deploy_and_record "1 GiB flags, no load" "$(other_jar)"
  warm_up_colors
  start_load lowmem "http://127.0.0.1:${PUBLIC_PORT}"
  start_sampler lowmem
  sleep 1
  steady_window lowmem before "${STEADY_SECONDS}"
  for ((i = 1; i <= 4; i++)); do
    from="$(epoch_ms)"
    run_script switch.sh
    echo "switch ${from} $(epoch_ms) to-$(live_color)" >>"${DATA}/lowmem.events"
    pace_until $((from + EVERY * 1000))
  done
  steady_window lowmem after 2
  stop_load lowmem
  stop_sampler lowmem
  analyze lowmem
  JAVA_OPTS="" APP_ARGS="" KEEP_OLD=false
}

main() {
  BENCH_STARTED="${SECONDS}"
  parse_args "$@"
  configure
  preflight
  trap cleanup EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
  setup_work
  prepare_jars
  loadgen build
  start_nginx
  measure_fast_start
  setup_colors
  warmup_needs
  warm_up_colors
  calibrate_rate
  first_traffic
  both_colors_running
  warm_up_colors
  switch_series socket socket "$(socket_switches)"
  both_colors_running
  SWITCH_MODE=reload
  run_script switch.sh "$(live_color)"
  warm_up_colors
  switch_series reload reload
  baseline
  proxy_overhead
  low_memory
  relay_series
  render_chart
  write_report
}

main "$@"
