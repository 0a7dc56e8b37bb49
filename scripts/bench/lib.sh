# shellcheck shell=bash
# lib.sh — the benchmark's helpers (sourced by scripts/bench.sh): the work directory, nginx, the jars,
# the load (scripts/loadgen.sh), memory sampling, readiness.

# aot_java: a JDK 24+ for the AOT cache column, or nothing.
aot_java() {
  local candidate candidates=("${BENCH_AOT_JAVA:-}" /usr/lib/jvm/*25*/bin/java /usr/lib/jvm/*24*/bin/java)
  for candidate in "${candidates[@]}"; do
    [[ -x "${candidate}" && "$(fast_start_kind "${candidate}")" == aot ]] && { echo "${candidate}"; return; }
  done
  return 0
}

epoch_ms() {
  local now="${EPOCHREALTIME//[.,]/}"
  echo "${now:0:${#now}-3}"
}

# free_port: a TCP port no socket uses, not handed out before in this run, below the kernel's ephemeral
# range (a port in that range can be taken by any outgoing connection before nginx or the app binds it).
free_port() {
  local port i low
  read -r low _ </proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || low=32768
  ((low > 11000)) || low=32768
  for ((i = 0; i < 200; i++)); do
    port=$((10000 + RANDOM % (low - 10000)))
    [[ " ${USED_PORTS:-} " == *" ${port} "* ]] && continue
    [[ -z "$(ss -Htan "sport = :${port}" 2>/dev/null)" ]] || continue
    USED_PORTS="${USED_PORTS:-} ${port}"
    echo "${port}"
    return
  done
  die "${EXIT_FAILED}" "no free TCP port found"
}


# ---------------------------------------------------------------------------------------------------
# the work directory, nginx, the jars

setup_work() {
  WORK="$(mktemp -d /tmp/bluegreen-bench.XXXXXX)"
  DATA="${WORK}/data"
  mkdir -p "${DATA}" "${WORK}/jars/v1" "${WORK}/jars/v2" "${WORK}/classes"
  # nginx's workers (www-data when nginx starts as root) reach the sockets in APP_HOME/run through it.
  chmod 0711 "${WORK}"
  export APP_HOME="${WORK}/home" SWITCH_MODE=socket KEEP_OLD=false FAST_START=true JAVA_OPTS="" APP_ARGS=""
  export JAVA_BIN="${BENCH_JAVA:-$(command -v java)}" READY_TIMEOUT=300 DRAIN_TIMEOUT=60
  export PUBLIC_PORT BLUE_PORT GREEN_PORT
  PUBLIC_PORT="$(free_port)" BLUE_PORT="$(free_port)" GREEN_PORT="$(free_port)"
  PROXY_KA_PORT="$(free_port)" PROXY_NOKA_PORT="$(free_port)"
  load_config
  ensure_dirs
  # start_color closes the deploy lock's descriptor in the JVM; the bench holds no lock (the scripts it
  # runs take their own), so it names a harmless one.
  # shellcheck disable=SC2034 # read by start_color (scripts/lib/proc.sh)
  exec {LOCK_FD}>/dev/null
  MACHINE_LOAD_START="$(cut -d' ' -f1-3 /proc/loadavg)"
  OTHERS_AT_START="$(other_busy_processes)"
  # shellcheck disable=SC2034 # shown by the report (scripts/bench/report.sh)
  readonly OTHERS_AT_START
  log "bench: $([[ "${SMOKE}" == true ]] && echo smoke || echo full) run in ${WORK} (load average ${MACHINE_LOAD_START})"
}

# cleanup: stops whatever the run started (colors, nginx, load generators) and removes the work dir.
cleanup() {
  local code=$? pid
  trap - EXIT
  for pid in ${BACKGROUND_PIDS:-}; do
    kill "${pid}" 2>/dev/null || true
  done
  if [[ -n "${WORK:-}" && -d "${WORK}/home" ]]; then
    "${SCRIPTS_DIR}/stop.sh" all --force >/dev/null 2>&1 || true
    "${SCRIPTS_DIR}/nginx.sh" stop >/dev/null 2>&1 || true
    if ((code == 0)) && [[ "${BENCH_KEEP:-}" != 1 ]]; then
      rm -rf "${WORK}"
    else
      warn "work directory kept: ${WORK}"
    fi
  fi
  exit "${code}"
}

# other_busy_processes: what else used the CPU when the run started (command names only).
other_busy_processes() {
  ps -eo pcpu=,comm= --sort=-pcpu 2>/dev/null | awk '$1 >= 5 { printf "%s%s %s%%", sep, $2, $1; sep = ", " }' | head -c 300 || true
}

# prepare_jars: two versions (--smoke deploys the same jar twice) and the plain app of src/test/apps (a
# Boot 4 jar that is not this template's). Copied, so a rebuild during the run changes nothing.
prepare_jars() {
  local v2="${REPO_DIR}/target/bench-v2/app.jar" plain="${REPO_DIR}/target/plain/boot4/plain-boot4.jar"
  cp "${REPO_DIR}/target/app.jar" "${WORK}/jars/v1/app.jar"
  if [[ ! -f "${plain}" ]]; then
    log "building the plain Boot 4 app (src/test/apps/plain) into target/plain/boot4"
    (cd "${REPO_DIR}" && ./mvnw -q -B package -DskipTests -f src/test/apps/plain/boot4.xml \
      -Dplain.build.directory="${REPO_DIR}/target/plain/boot4") >"${DATA}/build-plain.log" 2>&1 ||
      die "${EXIT_FAILED}" "building the plain app failed: ${DATA}/build-plain.log"
  fi
  mkdir -p "${WORK}/jars/plain"
  cp "${plain}" "${WORK}/jars/plain/app.jar"
  if [[ "${SMOKE}" == true ]]; then
    cp "${REPO_DIR}/target/app.jar" "${WORK}/jars/v2/app.jar"
    return
  fi
  if [[ ! -f "${v2}" || "${v2}" -ot "${REPO_DIR}/target/app.jar" ]]; then
    log "building the second version (1.0.1) into target/bench-v2"
    (cd "${REPO_DIR}" && ./mvnw -o -q -B package -DskipTests -Drevision=1.0.1 \
      -Dapp.build.directory="${REPO_DIR}/target/bench-v2") >"${DATA}/build.log" 2>&1 ||
      die "${EXIT_FAILED}" "building the second version failed: ${DATA}/build.log"
  fi
  cp "${v2}" "${WORK}/jars/v2/app.jar"
}

jar_of() { echo "${WORK}/jars/$1/app.jar"; }

# loadgen rate|max|analyze ARGS...: the project's load generator (scripts/loadgen.sh).
loadgen() { "${SCRIPTS_DIR}/loadgen.sh" "$@"; }

stamp() {
  local line
  while IFS= read -r line; do printf '%s %s\n' "$(epoch_ms)" "${line}"; done
}

# run_script NAME ARGS...: runs scripts/NAME with the run's settings; its output, each line stamped with
# the time it came, goes to DATA/last.log and DATA/scripts.log. Dies when the script fails.
run_script() {
  local name="$1" status=0
  shift
  "${SCRIPTS_DIR}/${name}" "$@" 2>&1 | stamp >"${DATA}/last.log" || status=$?
  cat "${DATA}/last.log" >>"${DATA}/scripts.log"
  if ((status != 0)); then
    # the script's own lines (a failed start's log, shown indented after "|", would hide its error line)
    grep -Ev '^[0-9]+ +\|' "${DATA}/last.log" | tail -n 15 >&2
    die "${EXIT_FAILED}" "${name} $* exited ${status} (all output: ${DATA}/scripts.log)"
  fi
}

# deploy_and_record LABEL JAR: scripts/deploy.sh JAR; remembers the history line under LABEL and the
# moment of the switch.
deploy_and_record() {
  local label="$1" jar="$2" switched
  run_script deploy.sh "${jar}"
  printf '%s\t%s\n' "${label}" "$(history_last)" >>"${DATA}/deploys.txt"
  switched="$(awk '/==> switching nginx/ { print $1; exit }' "${DATA}/last.log")"
  # shellcheck disable=SC2034 # the moment of the switch, marked on the chart by scripts/bench.sh
  LAST_DEPLOY_SWITCH="${switched:-0}"
}

live_version() { release_version "$(release_jar "$(color_release "$(live_color)")")"; }

# other_jar: the version that is not live.
other_jar() {
  if [[ "$(live_version)" == "$(release_version "$(jar_of v2)")" ]]; then jar_of v1; else jar_of v2; fi
}

start_nginx() {
  run_script nginx.sh start
}

# render_proxy_variants COLOR: two more servers in the run's own nginx, both to COLOR's TCP port:
# upstream keepalive (the reload-mode upstream, proxy.conf) and the tutorial style without it.
render_proxy_variants() {
  local color="$1"
  cat >"${NGINX_DIR}/conf.d/bench-proxy.conf" <<CONF
# bench-proxy.conf — written by scripts/bench.sh into its own APP_HOME only: nginx's overhead, two ways.
server {
    listen 127.0.0.1:${PROXY_KA_PORT};
    access_log ${NGINX_DIR}/logs/access.log bluegreen;
    location / {
        include ${NGINX_DIR}/snippets/proxy.conf;
        proxy_pass http://app-${color};
    }
}
# The style of many tutorials: HTTP/1.1 with "Connection: upgrade" to a URL, no upstream block, so no
# upstream keepalive: a new connection to the app for every request.
server {
    listen 127.0.0.1:${PROXY_NOKA_PORT};
    access_log ${NGINX_DIR}/logs/access.log bluegreen;
    location / {
        proxy_http_version 1.1;
        proxy_set_header Upgrade \$http_upgrade;
        proxy_set_header Connection 'upgrade';
        proxy_set_header Host \$host;
        proxy_set_header X-Forwarded-For \$remote_addr;
        proxy_set_header X-Forwarded-Proto \$scheme;
        proxy_pass http://127.0.0.1:$(color_port "${color}");
    }
}
CONF
  run_script nginx.sh reload
}

# ---------------------------------------------------------------------------------------------------
# load, memory and readiness helpers

# start_load NAME URL: the open-loop load (LOAD_MIX) in the background; stop_load NAME ends it.
# shellcheck disable=SC2153 # LOAD_MIX is bench.sh's (configure)
start_load() {
  local name="$1" url="$2"
  rm -f "${DATA}/${name}.stop"
  loadgen rate --url "${url}" --rate "${RATE}" --connections "${CONNECTIONS}" --mix "${LOAD_MIX}" \
    --out "${DATA}/${name}.csv" --stop-file "${DATA}/${name}.stop" --max-seconds 900 \
    >"${DATA}/${name}.load" 2>&1 &
  LOAD_PID=$!
  BACKGROUND_PIDS="${BACKGROUND_PIDS:-} ${LOAD_PID}"
}

stop_load() {
  touch "${DATA}/$1.stop"
  wait "${LOAD_PID}" || die "${EXIT_FAILED}" "the load generator failed: $(tail -n 3 "${DATA}/$1.load")"
}

rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status" 2>/dev/null || echo 0; }
pss_kb() { awk '/^Pss:/ { print $2 }' "/proc/$1/smaps_rollup" 2>/dev/null || echo 0; }

# memory_of COLOR: "rss pss" in KiB, 0 0 when not running.
memory_of() {
  local pid
  pid="$(color_pid "$1")"
  if [[ -n "${pid}" ]]; then echo "$(rss_kb "${pid}") $(pss_kb "${pid}")"; else echo "0 0"; fi
}

nginx_memory() {
  local master pid rss=0 pss=0
  master="$(nginx_master_pid)"
  [[ -n "${master}" ]] || { echo "0 0"; return; }
  for pid in "${master}" $(pgrep -P "${master}" || true); do
    rss=$((rss + $(rss_kb "${pid}")))
    pss=$((pss + $(pss_kb "${pid}")))
  done
  echo "${rss} ${pss}"
}

# sample_memory FILE STOP: every 0.5 s until STOP exists (at most 20 min): time, blue, green, nginx
# (RSS and PSS, KiB) and the load average.
sample_memory() {
  local file="$1" stop="$2" i
  for ((i = 0; i < 2400; i++)); do
    [[ -f "${stop}" ]] && return 0
    printf '%s %s %s %s %s\n' "$(epoch_ms)" "$(memory_of blue)" "$(memory_of green)" "$(nginx_memory)" \
      "$(cut -d' ' -f1 /proc/loadavg)" >>"${file}"
    sleep 0.5
  done
}

start_sampler() {
  rm -f "${DATA}/$1.mem.stop"
  sample_memory "${DATA}/$1.mem" "${DATA}/$1.mem.stop" &
  SAMPLER_PID=$!
  BACKGROUND_PIDS="${BACKGROUND_PIDS:-} ${SAMPLER_PID}"
}

stop_sampler() {
  touch "${DATA}/$1.mem.stop"
  wait "${SAMPLER_PID}" || true
}

# await_ready COLOR PID: readiness 200 (polled every 100 ms), the process alive, at most READY_TIMEOUT.
await_ready() {
  local deadline=$((SECONDS + READY_TIMEOUT))
  while ((SECONDS < deadline)); do
    is_alive "$2" || return 1
    [[ "$(http_status "$(readiness_url "$1")")" == 200 ]] && return 0
    sleep 0.1
  done
  return 1
}

# pace_until MS: waits until that moment (the next switch of a series).
pace_until() {
  local left=$(($1 - $(epoch_ms)))
  ((left > 0)) && sleep "$(awk -v ms="${left}" 'BEGIN { printf "%.3f", ms / 1000 }')"
  return 0
}

# steady_window NAME KIND SECONDS: an event window of the load with nothing happening.
steady_window() {
  local from
  from="$(epoch_ms)"
  sleep "$3"
  echo "$2 ${from} $(epoch_ms)" >>"${DATA}/$1.events"
}

analyze() {
  local name="$1"
  loadgen analyze --samples "${DATA}/${name}.csv" --events "${DATA}/${name}.events" \
    --out-prefix "${DATA}/${name}" --grace-ms 1000 >"${DATA}/${name}.stats" ||
    die "${EXIT_FAILED}" "analysing ${name} failed"
}

