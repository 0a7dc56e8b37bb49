# shellcheck shell=bash
# report.sh — the benchmark's report and chart (sourced by scripts/bench.sh): REPORT.md from the run's
# data directory, latency.png with gnuplot (latency.gp).

# series_stat NAME WINDOW FIELD: a figure of the analysis of series NAME
# (window=total|before|switch|deploy|restart|after|steady).
series_stat() {
  sed -n "s/^window=$2 .*\\b$3=\\([^ ]*\\).*/\\1/p" "${DATA}/$1.stats" 2>/dev/null | head -n1 || true
}

# ratio A B: A/B with two decimals, "-" when either is missing.
ratio() {
  awk -v a="$1" -v b="$2" 'BEGIN { if (a == "" || b == "" || a == "-" || b == "-" || b + 0 == 0) print "-"; else printf "%.2f", a / b }'
}

# median VALUES...: the median, "-" for none.
median() {
  printf '%s\n' "$@" | { grep -E '^[0-9.]+$' || true; } | sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) print "-"; else if (NR % 2) print v[(NR + 1) / 2]; else printf "%g\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

thousands() { sed ':a; s/\B[0-9]\{3\}\>/,&/; ta' <<<"$1"; }

# switch_count SERIES: how many switches the series made.
switch_count() { grep -c '^switch ' "${DATA}/$1.events" 2>/dev/null || true; }

# requests_verdict FAILED TOTAL: the zero-failure target needs 0 failed, >= 10 switches, >= 100k requests.
requests_verdict() {
  if [[ "$1" != 0 ]]; then
    echo "**missed**"
  elif (($(switch_count socket) >= 10 && $2 >= 100000)); then
    echo "**met**"
  else
    echo "0 failed: **met**; >= 10 switches at >= 100k requests: **missed** ($(thousands "$2") requests at ${RATE} req/s)"
  fi
}

verdict() {
  if [[ "$1" == "-" || -z "$1" ]]; then echo "not measured"; elif awk -v v="$1" -v l="$2" -v op="$3" \
    'BEGIN { exit !((op == "<=") ? (v <= l) : (v >= l)) }'; then echo "**met**"; else echo "**missed**"; fi
}

seconds_of() { awk -v ms="$1" 'BEGIN { if (ms == "" || ms == "-") print "-"; else printf "%.1f", ms / 1000 }'; }

machine_section() {
  local java_line aot
  java_line="$("${JAVA_BIN}" -version 2>&1 | sed -n 2p)"
  aot="$(aot_java)"
  cat <<EOF
## Machine

| | |
|---|---|
| CPU | $(nproc) cores, $(lscpu 2>/dev/null | sed -n 's/^Model name: *//p' | head -n1 || true) |
| Memory | $(free -m | awk '/^Mem:/ { printf "%.1f GiB", $2 / 1024 }') |
| OS | $(sed -n 's/^PRETTY_NAME="\(.*\)"$/\1/p' /etc/os-release 2>/dev/null), kernel $(uname -r) |
| JDK | ${java_line}${aot:+; for the AOT cache: $("${aot}" -version 2>&1 | sed -n 2p)} |
| nginx | $(nginx -v 2>&1 | sed 's/^nginx version: //') |
| Load average (1, 5, 15 min) | at start ${MACHINE_LOAD_START}; at end $(cut -d' ' -f1-3 /proc/loadavg); 1-min during the load series: $(load_during) |
| Other processes busy at start | ${OTHERS_AT_START:-none above 5% CPU} |

The machine is shared: other engineers' builds and test suites may run at the same time. Figures are
compared as ratios within this run; repeated figures are medians.
EOF
}

load_during() {
  local values=()
  mapfile -t values < <(cat "${DATA}"/*.mem 2>/dev/null | awk '{ print $NF }')
  ((${#values[@]})) || { echo "-"; return; }
  printf 'median %s, max %s' "$(median "${values[@]}")" "$(printf '%s\n' "${values[@]}" | sort -g | tail -n1)"
}

# series_row WINDOW LABEL: one row of the side-by-side switch table.
series_row() {
  local window="$1" name row="| $2 |"
  for name in socket reload relay; do
    if [[ -z "$(series_stat "${name}" "${window}" requests)" ]]; then
      row+=" - | - | - | - | - |"
      continue
    fi
    row+=" $(thousands "$(series_stat "${name}" "${window}" requests)") | $(series_stat "${name}" "${window}" failed) |"
    row+=" $(series_stat "${name}" "${window}" p50_ms) | $(series_stat "${name}" "${window}" p99_ms) | $(series_stat "${name}" "${window}" max_ms) |"
  done
  echo "${row}"
}

switch_section() {
  cat <<EOF
## Switch under load: socket mode vs reload mode, and any Boot jar through the relay

Open-loop load through nginx's public port: ${RATE} requests/s in all over ${CONNECTIONS} keep-alive
connections, 10% \`POST /api/orders\`, 10% \`GET /hash/{input}\`, 80% \`GET /api/version\`; latency from
each request's intended send time; no retries (an I/O error or a non-2xx is a failed request). Both colors
run (v1 and v2); \`scripts/switch.sh\` moves traffic every ${EVERY} s ($(switch_count socket) times in socket mode$(
  ((REQUESTS > 0)) && echo ", enough for ${REQUESTS} requests in all"); $(switch_count reload) in reload mode), then
\`scripts/deploy.sh\` makes ${DEPLOYS} deploy(s) of the other version (start, ready, switch, drain, stop).
The third series ("any jar") runs the plain Boot 4 app of \`src/test/apps/plain\` (web MVC and actuator,
TCP only, nothing of this template) on both colors in socket mode, so nginx reaches it through its relay
(\`nginx/conf.d/relay.conf\`): $(switch_count relay) switches and ${DEPLOYS} deploy(s) at the same rate, 10% \`POST
/api/orders\` and 90% \`GET /api/version\` (what it serves).
"During" is from the start of the command to 1 s after it ended; "steady" is before + after. The same
mix at its closed-loop maximum through nginx (${CONNECTIONS} connections, measured right before the
series): $(sed -n 's/^rps=\([0-9]*\).*/\1/p' "${DATA}/capacity.txt" 2>/dev/null) req/s; the series ran at
$(awk -v r="${RATE}" '/^rps=/ { split($1, kv, "="); if (kv[2] > 0) printf "%.0f%%", 100 * r / kv[2] }' "${DATA}/capacity.txt" 2>/dev/null) of it$(
  [[ "${BENCH_RATE:-auto}" == auto && "${SMOKE}" == false ]] && echo " (BENCH_RATE=auto: 30% of the maximum measured then with warm colors, so that a freshly started color keeps up too)").

| Window | socket: requests | failed | p50 ms | p99 ms | max ms | reload: requests | failed | p50 ms | p99 ms | max ms | any jar (relay): requests | failed | p50 ms | p99 ms | max ms |
|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|
$(series_row before "steady before (${STEADY_SECONDS} s)")
$(series_row switch "during the switches (socket $(switch_count socket), reload $(switch_count reload), relay $(switch_count relay))")
$(series_row deploy "during the ${DEPLOYS} deploy(s)")
$(series_row after "steady after (${STEADY_SECONDS} s)")
$(series_row steady "steady (before + after)")
$(series_row total "whole series")

Failed requests by kind: socket mode $(failure_kinds socket); reload mode $(failure_kinds reload); any jar through the relay $(failure_kinds relay).

Each switch and deploy (the window from the command's start to 1 s after its end):

| Mode | # | Event | Duration ms | Requests | Failed | p50 ms | p99 ms | max ms |
|---|---|---|---|---|---|---|---|---|
$(event_rows socket; event_rows reload; event_rows relay)
EOF
}

failure_kinds() {
  [[ -f "${DATA}/$1.stats" ]] || { echo "-"; return; }
  echo "$(series_stat "$1" total failed_io) I/O errors (connection closed or reset), $(series_stat "$1" total failed_5xx) 5xx, $(series_stat "$1" total failed_post) of them POSTs"
}

event_rows() {
  [[ -f "${DATA}/$1.stats" ]] || return 0
  awk -v mode="$1" '/^event=/ {
      for (i = 1; i <= NF; i++) { split($i, kv, "="); f[kv[1]] = kv[2] }
      printf "| %s | %s | %s %s | %s | %s | %s | %s | %s | %s |\n", mode, f["event"], f["type"], f["label"], f["duration_ms"], f["requests"], f["failed"], f["p50_ms"], f["p99_ms"], f["max_ms"]
    }' "${DATA}/$1.stats"
}

baseline_section() {
  echo "## Baseline: stop-then-start on one port"
  echo
  if [[ ! -s "${DATA}/baseline.events" ]]; then
    echo "Not measured in this run (--smoke)."
    return
  fi
  cat <<EOF
The classic procedure under the same load: nginx proxies to one color's port; the old version is stopped
(graceful SIGTERM), then the new one started on the same port (same launcher, fast start included), no
drain. ${RESTARTS} restarts, ${EVERY} s apart.

| Window | Requests | Failed | p50 ms | p99 ms | max ms |
|---|---|---|---|---|---|
$(baseline_row before "steady before")
$(baseline_row restart "during the ${RESTARTS} restarts (stop to ready + 1 s)")
$(baseline_row after "steady after")
$(baseline_row total "whole series")

Stop to ready per restart: $(awk '$1 == "restart" { printf "%s%.1f s", sep, ($3 - $2) / 1000; sep = ", " }' "${DATA}/baseline.events");
failed: $(failure_kinds baseline). Failures go on for a while after the app is ready again: nginx marked
the upstream's servers (the color and its \`backup\`, stopped) as failed and waits \`fail_timeout\`
(10 s by default) before it tries them again. The latency percentiles include the failed requests
(fast 502s).
EOF
}

baseline_row() {
  echo "| $2 | $(thousands "$(series_stat baseline "$1" requests)") | $(series_stat baseline "$1" failed) | $(series_stat baseline "$1" p50_ms) | $(series_stat baseline "$1" p99_ms) | $(series_stat baseline "$1" max_ms) |"
}

# event_stat SERIES TYPE LABEL FIELD: a figure of one event window of the series' analysis.
event_stat() {
  awk -v type="$2" -v label="$3" -v field="$4" '/^event=/ {
      split("", f)
      for (i = 1; i <= NF; i++) { split($i, kv, "="); f[kv[1]] = kv[2] }
      if (f["type"] == type && f["label"] == label) { print f[field]; exit }
    }' "${DATA}/$1.stats" 2>/dev/null || true
}

# deploy_total LABEL: a recorded deploy's total_ms.
deploy_total() {
  awk -F '\t' -v label="$1" '$1 == label { print $2; exit }' "${DATA}/deploys.txt" | sed -n 's/.*"total_ms":\([0-9]*\).*/\1/p'
}

# first_traffic_rows: per deploy of the first-traffic series, the p99 from the new color's start to its
# first traffic and over its first 10 s of traffic, each also as a ratio to the series' steady p99.
first_traffic_rows() {
  local row title steady start traffic
  steady="$(series_stat firsttraffic before p99_ms)"
  for row in switch warmed rollout; do
    start="$(event_stat firsttraffic starting "${row}" p99_ms)"
    [[ -n "${start}" ]] || continue
    case "${row}" in
      switch) title="today's switch (WARMUP_REQUESTS=${BASELINE_WARMUP_REQUESTS}, START_NICE=0)" ;;
      warmed) title="warmed switch (WARMUP_REQUESTS=${WARMUP_REQUESTS}, START_NICE=${START_NICE})" ;;
      rollout) title="rollout ${FIRST_TRAFFIC_STEPS} 100 (${ROLLOUT_BENCH_PAUSE} s a step; warm-up and priority as above)" ;;
    esac
    traffic="$(event_stat firsttraffic traffic "${row}" p99_ms)"
    echo "| ${title} | $(seconds_of "$(event_stat firsttraffic starting "${row}" duration_ms)") | ${start} | **$(ratio "${start}" "${steady}")** |" \
      "${traffic} | **$(ratio "${traffic}" "${steady}")** | $(event_stat firsttraffic deploy "${row}" failed) | $(seconds_of "$(deploy_total "first traffic: ${row}")") |"
  done
}

first_traffic_section() {
  echo "## First traffic on a new color: warm-up, CPU priority, progressive rollout (issue 13)"
  echo
  if [[ ! -s "${DATA}/firsttraffic.stats" ]]; then
    echo "Not measured in this run."
    return
  fi
  cat <<EOF
One deploy per row to a freshly started color, under the same load (${RATE} req/s, ${CONNECTIONS}
keep-alive connections, the request mix) through nginx's public port, socket mode. Steady p99 (the
series' window before the deploys): $(series_stat firsttraffic before p99_ms) ms. "Start to first traffic": from
the new color's start until its first traffic (the switch, or the rollout's first step), while only the
live color serves, beside the starting JVM. "First 10 s of traffic": every request of the 10 s after
that, whichever color answered it.

| Deploy | start to first traffic, s | p99 ms | ratio to steady | p99 ms, first 10 s of traffic | ratio to steady | failed (whole deploy) | deploy total, s |
|---|---|---|---|---|---|---|---|
$(first_traffic_rows)
EOF
  warmup_needs_text
}

# warmup_needs_text: where a just-started JVM's p99 settles under the mix at its closed-loop maximum: the
# first second from which every second's p99 stays within 2x the median of the last five seconds.
warmup_needs_text() {
  [[ -s "${DATA}/warmup-needs.txt" ]] || return 0
  local settled needed seconds steady first total span
  settled="$(awk '/^interval=/ {
      for (i = 1; i <= NF; i++) { split($i, kv, "="); f[kv[1]] = kv[2] }
      n++; p99[n] = f["p99_ms"] + 0; before[n] = f["sent_before"]; end_s[n] = f["end_s"]; total = f["sent_before"] + f["requests"]
    } END {
      if (n < 6) exit
      for (i = n - 4; i <= n; i++) { rank = 0; for (j = n - 4; j <= n; j++) if (p99[j] < p99[i] || (p99[j] == p99[i] && j < i)) rank++; if (rank == 2) steady = p99[i] }
      k = n + 1; while (k > 1 && p99[k - 1] <= 2 * steady) k--
      if (k > n) exit
      printf "%s %d %.2f %s %s %s", before[k], end_s[k] - 1, steady, p99[1], total, end_s[n]
    }' "${DATA}/warmup-needs.txt")"
  [[ -n "${settled}" ]] || return 0
  read -r needed seconds steady first total span <<<"${settled}"
  cat <<EOF

**Warm-up needs.** A color started fresh (nothing else loaded), then the mix (80% \`GET /api/version\`,
10% \`GET /hash/{input}\`, 10% \`POST /api/orders\`) straight on its port, as fast as it answers, over
${WARMUP_CONNECTIONS} connections for ${span} s ($(thousands "${total}") requests): p99 was ${first} ms in the first second
and stayed within 2x its final value (${steady} ms) from **$(thousands "${needed}") requests, ${seconds} s** on (about
$(thousands $((needed * 8 / 10))) to the version endpoint, $(thousands $((needed / 10))) to each of the others). Per second:

| second | requests sent before | requests | p50 ms | p99 ms |
|---|---|---|---|---|
$(awk '/^interval=/ { for (i = 1; i <= NF; i++) { split($i, kv, "="); f[kv[1]] = kv[2] }
    if (f["interval"] < 10 || f["interval"] % 5 == 4) printf "| %s | %s | %s | %s | %s |\n", f["end_s"], f["sent_before"], f["requests"], f["p50_ms"], f["p99_ms"] }' "${DATA}/warmup-needs.txt")
EOF
}

# phase FIELD LINE: a phase's milliseconds from a deploys.jsonl line.
phase_ms() { jq -r --arg phase "$1" '.phases_ms[$phase] // empty' <<<"$2"; }

deploy_section() {
  local label line start ready switch verify drain stop validate prepare
  cat <<EOF
## Deploy timings

Per deploy, from \`APP_HOME/state/deploys.jsonl\` (\`phases_ms\`); "validate + prepare" includes
building the release's fast-start archive the first time a release is deployed with a JDK. Times in
seconds, cumulative from the start of the new color.

| Deploy | validate + prepare (archive) | launched | ready | switched | verified | drained | old stopped | total |
|---|---|---|---|---|---|---|---|---|
EOF
  while IFS=$'\t' read -r label line; do
    validate="$(phase_ms validate "${line}")" prepare="$(phase_ms prepare "${line}")" start="$(phase_ms start "${line}")" ready="$(phase_ms ready "${line}")"
    # a rollout's steps come before its switch: "switched" is when every client was on the new color
    switch="$(jq -r '(.phases_ms.switch // 0) + (.phases_ms.rollout // 0)' <<<"${line}")" verify="$(phase_ms verify "${line}")" drain="$(phase_ms drain "${line}")"
    stop="$(phase_ms stop "${line}")"
    echo "| ${label} | $(seconds_of $((validate + ${prepare:-0}))) | $(seconds_of "${start}") | $(seconds_of $((start + ready))) |" \
      "$(seconds_of $((start + ready + switch))) | $(seconds_of $((start + ready + switch + verify))) |" \
      "$(if [[ -n "${drain}" ]]; then seconds_of $((start + ready + switch + verify + drain)); else echo -; fi) |" \
      "$(if [[ -n "${stop}" ]]; then seconds_of $((start + ready + switch + verify + drain + stop)); elif [[ -n "${drain}" ]]; then echo "kept (KEEP_OLD)"; else echo -; fi) |" \
      "$(seconds_of "$(sed -n 's/.*"total_ms":\([0-9]*\).*/\1/p' <<<"${line}")") |"
  done <"${DATA}/deploys.txt"
  echo
  echo "Median start -> switched: $(seconds_of "$(deploy_to_switched_median "under load")") s under load," \
    "$(seconds_of "$(deploy_to_switched_median "no load")") s without load (default flags);" \
    "the bare app start (time to ready, fast start, same JDK, no load): $(seconds_of "$(start_median "$(java_feature "${JAVA_BIN}")" true)") s," \
    "plain: $(seconds_of "$(start_median "$(java_feature "${JAVA_BIN}")" false)") s."
}

# deploy_to_switched_median LABEL_PART: median start -> switched (ms) of the deploys whose label has it.
deploy_to_switched_median() {
  local label line values=()
  while IFS=$'\t' read -r label line; do
    [[ "${label}" == *"$1"* && "${label}" != *"1 GiB"* ]] || continue
    values+=("$(($(phase_ms start "${line}") + $(phase_ms ready "${line}") + $(phase_ms switch "${line}")))")
  done <"${DATA}/deploys.txt"
  median "${values[@]}"
}

# start_median JDK FAST_START: median time to ready (ms).
start_median() {
  # shellcheck disable=SC2046 # one value per word
  median $(awk -v jdk="$1" -v fs="$2" '$1 == jdk && $2 == fs { print $3 }' "${DATA}/starts.txt" 2>/dev/null)
}

jvm_median() {
  # shellcheck disable=SC2046
  median $(awk -v jdk="$1" -v fs="$2" '$1 == jdk && $2 == fs { print $4 }' "${DATA}/starts.txt" 2>/dev/null)
}

fast_start_section() {
  local jdk kind millis size mapped
  echo "## Fast start"
  echo
  echo "The colors this run deployed (deploy.sh, FAST_START=${FAST_START:-true}) and the archive each JVM has mapped:" \
    "$(awk '{ sub(/.*\/releases\//, "releases/", $3); printf "%s%s %s", sep, $1, ($3 == "" ? "none (plain start)" : $3); sep = "; " }' "${DATA}/mapped.txt" 2>/dev/null)."
  echo
  if [[ ! -s "${DATA}/starts.txt" ]]; then
    echo "Start times plain vs with the archive: not measured in this run (--smoke)."
    return
  fi
  cat <<EOF
One color started ${STARTS} times plain (\`java -jar app.jar\`) and ${STARTS} times with the release's
extracted jar and archive, alternating, no load; medians. "Time to ready" is from the launch to
\`/actuator/health/readiness\` answering 200 (polled every 100 ms); "JVM" is the app's own
"process running for" figure. "Mapped" is read from the running JVM's \`/proc/PID/maps\`.

| JDK | Archive | Built in (once per release) | Size | Time to ready: plain | with archive | ratio | JVM: plain | with archive | Mapped |
|---|---|---|---|---|---|---|---|---|---|
EOF
  while read -r jdk kind millis size; do
    mapped="$(awk -v jdk="${jdk}" '$1 == jdk && $2 == "true" { n++; if ($5 == "yes") y++ } END { printf "%d of %d starts", y, n }' "${DATA}/starts.txt")"
    echo "| ${jdk} | ${kind//_/ } | $(seconds_of "${millis}") s | ${size} MiB | $(seconds_of "$(start_median "${jdk}" false)") s |" \
      "$(seconds_of "$(start_median "${jdk}" true)") s | $(ratio "$(start_median "${jdk}" true)" "$(start_median "${jdk}" false)") |" \
      "$(jvm_median "${jdk}" false) s | $(jvm_median "${jdk}" true) s | ${mapped} |"
  done <"${DATA}/archives.txt"
}

proxy_median() {
  # shellcheck disable=SC2046
  median $(awk -v t="$1" -v f="$2" '$1 == t { for (i = 2; i <= NF; i++) { split($i, kv, "="); if (kv[1] == f) print kv[2] } }' "${DATA}/proxy.txt")
}

proxy_section() {
  local target label direct_rps
  direct_rps="$(proxy_median direct rps)"
  cat <<EOF
## Proxy overhead

Closed loop, ${PROXY_CONNECTIONS} keep-alive client connections, \`GET /api/version\` (the lightest
endpoint, so nginx's share shows most), ${PROXY_SECONDS} s per path after 2 s of warm-up, ${PROXY_ROUNDS}
interleaved rounds, medians. Client, nginx and app share the same $(nproc) cores, so this is the
throughput of the whole host.

| Path | Max req/s | p99 ms | Throughput vs direct | p99 vs direct |
|---|---|---|---|---|
EOF
  for target in direct socket-keepalive tcp-keepalive tcp-no-keepalive; do
    case "${target}" in
      direct) label="direct to the app (TCP)" ;;
      socket-keepalive) label="nginx, unix socket, upstream keepalive (socket mode)" ;;
      tcp-keepalive) label="nginx, TCP, upstream keepalive (reload mode)" ;;
      tcp-no-keepalive) label="nginx, TCP, no keepalive (\`Connection 'upgrade'\` style)" ;;
    esac
    echo "| ${label} | $(proxy_median "${target}" rps) | $(proxy_median "${target}" p99_ms) |" \
      "$(ratio "$(proxy_median "${target}" rps)" "${direct_rps}") | $(ratio "$(proxy_median "${target}" p99_ms)" "$(proxy_median direct p99_ms)") |"
  done
  relay_rows
}

# relay_rows: the plain app (any Boot jar) straight, through nginx's TCP upstream and through the relay,
# against its own direct figures; then the relay's cost per request at saturation (the whole host's time).
relay_rows() {
  local target label direct_rps
  direct_rps="$(proxy_median plain-direct rps)"
  [[ "${direct_rps}" != "-" ]] || return 0
  for target in plain-direct plain-tcp plain-relay; do
    case "${target}" in
      plain-direct) label="plain Boot jar: direct (TCP)" ;;
      plain-tcp) label="plain Boot jar: nginx, TCP upstream with keepalive (reload mode)" ;;
      plain-relay) label="plain Boot jar: nginx, unix socket to nginx's relay, then TCP (socket mode for any jar)" ;;
    esac
    echo "| ${label} | $(proxy_median "${target}" rps) | $(proxy_median "${target}" p99_ms) |" \
      "$(ratio "$(proxy_median "${target}" rps)" "${direct_rps}") | $(ratio "$(proxy_median "${target}" p99_ms)" "$(proxy_median plain-direct p99_ms)") |"
  done
  echo
  echo "The relay's cost per request (the host's time per request at saturation, relay minus TCP upstream):" \
    "$(relay_cost_us) µs; relay vs TCP upstream throughput $(ratio "$(proxy_median plain-relay rps)" "$(proxy_median plain-tcp rps)")x."
}

# relay_cost_us: 1/rps through the relay minus 1/rps through the TCP upstream, in microseconds.
relay_cost_us() {
  awk -v r="$(proxy_median plain-relay rps)" -v t="$(proxy_median plain-tcp rps)" \
    'BEGIN { if (r + 0 == 0 || t + 0 == 0) print "-"; else printf "%.0f", 1e6 / r - 1e6 / t }'
}

# memory_row NAME LABEL: peak RSS per process and the peak of the sum at one instant (MiB).
memory_row() {
  [[ -s "${DATA}/$1.mem" ]] || { echo "| $2 | - | - | - | - | - |"; return; }
  awk -v label="$2" '{
      if ($2 > b) b = $2; if ($4 > g) g = $4; if ($6 > n) n = $6
      if ($2 + $4 + $6 > s) s = $2 + $4 + $6; if ($3 + $5 + $7 > p) p = $3 + $5 + $7
    } END { printf "| %s | %.0f | %.0f | %.1f | %.0f | %.0f |\n", label, b / 1024, g / 1024, n / 1024, s / 1024, p / 1024 }' "${DATA}/$1.mem"
}

memory_section() {
  local note=" (not measured in this run: --smoke)"
  if [[ -s "${DATA}/lowmem.stats" ]]; then
    note="; under them the load saw $(series_stat lowmem total failed) failed of $(thousands "$(series_stat lowmem total requests)")"
    note+=" requests, p99 $(series_stat lowmem steady p99_ms) ms steady"
  fi
  cat <<EOF
## Memory under load

Sampled every 0.5 s while the load ran (both colors up, traffic moving between them). RSS counts pages
shared between processes (the JDK's and the release's CDS/AOT archive) in each; PSS splits them, so the
PSS sum is what the three really take. MiB, peaks.

| JVM flags | blue RSS | green RSS | nginx RSS (master + workers) | blue + green + nginx RSS | PSS sum |
|---|---|---|---|---|---|
$(memory_row socket "default (no flags; JVM ergonomics on this host)")
$(memory_row lowmem "1 GiB host: see below")

The 1 GiB flags: \`JAVA_OPTS="${LOW_MEMORY_OPTS}"\`, \`APP_ARGS="${LOW_MEMORY_ARGS}"\`${note}.
EOF
}

targets_section() {
  local socket_total socket_failed steady during deploy_ratio bare proxy_ratio aot aot_ratio cds_ratio rss
  socket_total="$(series_stat socket total requests)"
  socket_failed="$(series_stat socket total failed)"
  steady="$(series_stat socket steady p99_ms)"
  during="$(series_stat socket switch p99_ms)"
  bare="$(start_median "$(java_feature "${JAVA_BIN}")" true)"
  deploy_ratio="$(ratio "$(deploy_to_switched_median "under load")" "${bare}")"
  proxy_ratio="$(ratio "$(proxy_median socket-keepalive rps)" "$(proxy_median direct rps)")"
  cds_ratio="$(ratio "$(start_median "$(java_feature "${JAVA_BIN}")" true)" "$(start_median "$(java_feature "${JAVA_BIN}")" false)")"
  aot="$(aot_java)"
  aot_ratio="-"
  [[ -n "${aot}" ]] && aot_ratio="$(ratio "$(start_median "$(java_feature "${aot}")" true)" "$(start_median "$(java_feature "${aot}")" false)")"
  rss="$(awk '{ if ($2 + $4 + $6 > s) s = $2 + $4 + $6 } END { if (NR) printf "%.0f", s / 1024; else print "-" }' "${DATA}/lowmem.mem" 2>/dev/null || echo -)"
  cat <<EOF
## Targets (issue 6)

| Target | Measured | |
|---|---|---|
| 0 failed requests over >= 10 switches at >= 100k requests (socket mode) | ${socket_failed:--} failed of $(thousands "${socket_total:-0}") requests over $(switch_count socket) switches + ${DEPLOYS} deploy(s) at ${RATE} req/s | $(requests_verdict "${socket_failed}" "${socket_total:-0}") |
| p99 during a switch <= 2x steady p99 (socket mode) | ${during:--} ms vs ${steady:--} ms: $(ratio "${during}" "${steady}")x | $(verdict "$(ratio "${during}" "${steady}")" 2 "<=") |
| deploy start -> switched <= 1.2x bare app start | under load: ${deploy_ratio}x; without load: $(ratio "$(deploy_to_switched_median "no load")" "${bare}")x (median start -> switched vs the bare start, both with the archive) | under load $(verdict "${deploy_ratio}" 1.2 "<="), without load $(verdict "$(ratio "$(deploy_to_switched_median "no load")" "${bare}")" 1.2 "<=") |
| nginx throughput >= 0.9x direct, with keepalive | ${proxy_ratio}x (socket mode's upstream); TCP upstream: $(ratio "$(proxy_median tcp-keepalive rps)" "$(proxy_median direct rps)")x | $(verdict "${proxy_ratio}" 0.9 ">=") |
| start with CDS/AOT <= 0.5x plain | JDK $(java_feature "${JAVA_BIN}") CDS: ${cds_ratio}x; JDK ${aot:+$(java_feature "${aot}")} AOT: ${aot_ratio}x | CDS $(verdict "${cds_ratio}" 0.5 "<="), AOT $(verdict "${aot_ratio}" 0.5 "<=") |
| any Boot jar: 0 failed requests through nginx's relay, no reload | $(series_stat relay total failed) failed of $(thousands "$(series_stat relay total requests)") requests over $(switch_count relay) switches + ${DEPLOYS} deploy(s) (reload mode, same run: $(series_stat reload total failed) failed) | $(verdict "$(series_stat relay total failed)" 0 "<=") |
| blue + green + nginx RSS <= 700 MiB with the 1 GiB flags | ${rss} MiB (peak of the sum) | $(verdict "${rss}" 700 "<=") |
EOF
}

write_report() {
  local report="${OUT_DIR}/REPORT.md"
  mkdir -p "${OUT_DIR}"
  {
    echo "# Benchmark report"
    echo
    echo "Made by \`scripts/bench.sh$([[ "${SMOKE}" == true ]] && echo " --smoke")\` on $(date -u '+%Y-%m-%d %H:%M UTC')" \
      "(commit $(git -C "${REPO_DIR}" rev-parse --short HEAD 2>/dev/null || echo unknown)); the run took $(((SECONDS - BENCH_STARTED) / 60)) min $(((SECONDS - BENCH_STARTED) % 60)) s."
    echo
    targets_section
    echo
    echo "![Latency over time](latency.png)"
    echo
    machine_section
    echo
    switch_section
    echo
    baseline_section
    echo
    deploy_section
    echo
    first_traffic_section
    echo
    fast_start_section
    echo
    proxy_section
    echo
    memory_section
  } >"${report}.tmp"
  mv -f "${report}.tmp" "${report}"
  log "report: ${report}"
}

render_chart() {
  local panels=()
  [[ -f "${DATA}/socket.dat" ]] && panels+=("socket|socket mode: $(switch_count socket) switches + ${DEPLOYS} deploy(s) at ${RATE} req/s")
  [[ -f "${DATA}/reload.dat" ]] && panels+=("reload|reload mode: $(switch_count reload) switches + ${DEPLOYS} deploy(s) at ${RATE} req/s")
  [[ -f "${DATA}/relay.dat" ]] && panels+=("relay|any Boot jar through nginx's relay (socket mode): $(switch_count relay) switches + ${DEPLOYS} deploy(s) at ${RATE} req/s")
  [[ -f "${DATA}/firsttraffic.dat" ]] && panels+=("firsttraffic|first traffic on a new color: today's switch, a warmed switch, a ${FIRST_TRAFFIC_STEPS} 100 rollout at ${RATE} req/s (green: first traffic)")
  [[ -f "${DATA}/baseline.dat" ]] && panels+=("baseline|stop-then-start on one port: ${RESTARTS} restarts at ${RATE} req/s")
  mkdir -p "${OUT_DIR}"
  gnuplot -c "${BENCH_DIR}/latency.gp" "${OUT_DIR}/latency.png.tmp" "${DATA}" "${panels[@]}" 2>"${DATA}/gnuplot.log" ||
    die "${EXIT_FAILED}" "gnuplot failed: $(head -n 3 "${DATA}/gnuplot.log")"
  mv -f "${OUT_DIR}/latency.png.tmp" "${OUT_DIR}/latency.png"
  log "chart: ${OUT_DIR}/latency.png"
}
