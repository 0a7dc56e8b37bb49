# shellcheck shell=bash
# health.sh — HTTP checks by status code (never by grepping "UP": a component's UP matches while the
# whole is DOWN).

# http_status URL [CURL_ARGS...]: the status code, or 000 when nothing answered.
http_status() {
  local url="$1"
  shift
  curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$@" "${url}" 2>/dev/null || true
}

readiness_url() { echo "http://127.0.0.1:$(color_management_port "$1")${HEALTH_PATH}"; }

is_ready() { [[ "$(http_status "$(readiness_url "$1")")" == 200 ]]; }

# wait_ready COLOR PID: polls readiness until HTTP 200, at most READY_TIMEOUT seconds; fails at once when
# the process exits. On failure sets FAILURE to why. (Run in the script's own shell, not in $(...), so that
# a signal is handled at once, not after the wait.)
# shellcheck disable=SC2034 # FAILURE is read by the caller (sequence.sh)
wait_ready() {
  local color="$1" pid="$2" deadline status=""
  deadline=$((SECONDS + READY_TIMEOUT))
  while ((SECONDS < deadline)); do
    is_alive "${pid}" || { FAILURE="${color} exited during start"; return 1; }
    status="$(http_status "$(readiness_url "${color}")")"
    [[ "${status}" == 200 ]] && return 0
    sleep 0.1
  done
  FAILURE="${color} not ready within READY_TIMEOUT=${READY_TIMEOUT}s (last readiness status ${status:-000})"
  [[ "${status}" != 404 ]] ||
    FAILURE+=": the app has no ${HEALTH_PATH}; set HEALTH_PATH to its readiness (e.g. /actuator/health)"
  return 1
}

# deploy_id_of COLOR: the deploy id the app reports in /actuator/info, or nothing (any other Boot jar).
deploy_id_of() {
  curl -s --max-time 5 "http://127.0.0.1:$(color_management_port "$1")/actuator/info" 2>/dev/null |
    sed -n 's/.*"deployId":"\([^"]*\)".*/\1/p'
}

# session_report COLOR QUERY: the app's /actuator/sessioncheck?QUERY (JSON), or exit 1 with the HTTP
# status printed when it does not answer 200 (another app: 404).
session_report() {
  local body status
  body="$(curl -s --max-time 30 -w '\n%{http_code}' \
    "http://127.0.0.1:$(color_management_port "$1")/actuator/sessioncheck?$2" 2>/dev/null)" || true
  status="${body##*$'\n'}"
  [[ "${status}" == 200 ]] || { echo "${status:-000}"; return 1; }
  printf '%s\n' "${body%$'\n'*}"
}

# warm_up_color COLOR: WARMUP_REQUESTS per warm-up path straight to the new color, so its first users do
# not pay for JIT and lazy initialisation. One curl for all of them, the paths taken in turn, over
# WARMUP_CONNECTIONS keep-alive connections (curl --parallel; the URLs from stdin, no process per
# request); WARMUP_TIMEOUT in all.
readonly WARMUP_CONNECTIONS=4
warm_up_color() {
  local base path i paths=()
  [[ -n "${WARMUP_PATHS// /}" ]] && ((WARMUP_REQUESTS > 0)) || return 0
  base="http://127.0.0.1:$(color_port "$1")"
  # curl's config syntax: a quoted value takes \" and \\ for " and \
  for path in ${WARMUP_PATHS}; do
    path="${path//\\/\\\\}"
    paths+=("${path//\"/\\\"}")
  done
  for ((i = 0; i < WARMUP_REQUESTS; i++)); do
    for path in "${paths[@]}"; do printf 'url = "%s%s"\noutput = "/dev/null"\n' "${base}" "${path}"; done
  done | timeout "${WARMUP_TIMEOUT}" curl -s --no-progress-meter --globoff --max-time 5 --parallel \
    --parallel-max "${WARMUP_CONNECTIONS}" -K - >/dev/null 2>&1 || true
}

# served_by_public COLOR: one request through nginx's public port is answered by COLOR, as told by the
# app (X-App-Color) or, for any other app, by nginx (X-Upstream-Addr, shown to loopback clients).
served_by_public() {
  local color="$1" headers app_color upstream
  headers="$(curl -s -D - -o /dev/null --max-time 5 "http://127.0.0.1:${PUBLIC_PORT}${VERIFY_PATH}" 2>/dev/null)" || return 1
  app_color="$(sed -n 's/^[Xx]-[Aa]pp-[Cc]olor: *\([a-z]*\).*/\1/p' <<<"${headers}")"
  upstream="$(sed -n 's/^[Xx]-[Uu]pstream-[Aa]ddr: *\([^[:space:]]*\).*/\1/p' <<<"${headers}")"
  if [[ -n "${app_color}" ]]; then
    [[ "${app_color}" == "${color}" ]]
  elif [[ "${upstream}" == *:* && "${upstream}" != unix:* ]]; then
    [[ "${upstream}" == *":$(color_port "${color}")" ]]
  else
    # Nothing names the color (another app, in socket mode): a non-5xx answer is all we can check.
    [[ "$(head -n1 <<<"${headers}")" =~ HTTP/[0-9.]+\ [1-4][0-9][0-9] ]]
  fi
}

# wait_served_by_public COLOR: until the public port answers from COLOR, at most VERIFY_TIMEOUT seconds.
# In socket mode nginx may still reuse a connection to the old color for up to keepalive_time, so this
# polls rather than asks once.
wait_served_by_public() {
  local deadline=$((SECONDS + VERIFY_TIMEOUT))
  while ((SECONDS < deadline)); do
    served_by_public "$1" && return 0
    sleep 0.2
  done
  return 1
}
