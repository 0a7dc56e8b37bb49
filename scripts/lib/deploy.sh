# shellcheck shell=bash
# deploy.sh — the deploy sequence (validate, start idle, ready, switch, verify, bake, drain, stop,
# record) and the reconciliation of a deploy that was killed half-way. Used by deploy.sh and rollback.sh.

declare -A PHASE_MS=()
PHASE=""
PHASE_STARTED=0

# phase NAME MESSAGE: closes the running phase's timer, opens the next, prints one progress line and
# writes the journal.
phase() {
  local now
  now="$(now_ms)"
  [[ -n "${PHASE}" ]] && PHASE_MS[${PHASE}]=$((now - PHASE_STARTED))
  PHASE="$1"
  PHASE_STARTED="${now}"
  [[ -n "${2:-}" ]] && log "$2"
  journal_write "deploy_id=${DEPLOY_ID}" "phase=${PHASE}" "from=${FROM}" "to=${TO}" "release=${RELEASE:-}" \
    "mode=${SWITCH_MODE}" "started=${DEPLOY_STARTED}"
}

phases_json() {
  local name first=1
  printf '{'
  for name in validate prepare start ready switch verify bake drain stop; do
    [[ -v PHASE_MS[${name}] ]] || continue
    ((first)) || printf ','
    printf '"%s":%s' "${name}" "${PHASE_MS[${name}]}"
    first=0
  done
  printf '}'
}

# finish OUTCOME REASON: closes the last phase, appends to deploys.jsonl, clears the journal.
finish() {
  local outcome="$1" reason="$2" now
  now="$(now_ms)"
  [[ -n "${PHASE}" ]] && PHASE_MS[${PHASE}]=$((now - PHASE_STARTED))
  record_history "$(printf '{"id":%s,"time":%s,"mode":%s,"from":{"color":%s,"version":%s,"release":%s},"to":{"color":%s,"version":%s,"release":%s},"outcome":%s,"reason":%s,"phases_ms":%s,"total_ms":%s}' \
    "$(json_string "${DEPLOY_ID}")" "$(json_string "$(date -Is)")" "$(json_string "${SWITCH_MODE}")" \
    "$(json_string "${FROM}")" "$(json_string "${FROM_VERSION}")" "$(json_string "${FROM_RELEASE}")" \
    "$(json_string "${TO}")" "$(json_string "${TO_VERSION}")" "$(json_string "${RELEASE:-}")" \
    "$(json_string "${outcome}")" "$(json_string "${reason}")" "$(phases_json)" "$((now - DEPLOY_STARTED))")"
  journal_clear
  PHASE=""
}

summary() {
  local name line=""
  for name in validate prepare start ready switch verify bake drain stop; do
    [[ -v PHASE_MS[${name}] ]] && line+="${name} $(seconds "${PHASE_MS[${name}]}")s · "
  done
  log "deployed ${TO_VERSION} to ${TO}${FROM:+ (was ${FROM_VERSION} on ${FROM})} in $(seconds "$(($(now_ms) - DEPLOY_STARTED))")s"
  info "${line% · }"
}

seconds() { printf '%d.%d' "$(($1 / 1000))" "$((($1 % 1000) / 100))"; }

# fail_before_switch REASON: the new color is stopped, traffic and the old color were never touched.
fail_before_switch() {
  local reason="$1"
  printf '%s: error: %s\n' "${SCRIPT_NAME}" "${reason}" >&2
  if [[ -n "${TO}" ]]; then
    printf '    last lines of %s:\n' "$(log_file "${TO}")" >&2
    last_log_lines "${TO}"
    stop_color "${TO}"
  fi
  finish failed "${reason}"
  exit "${EXIT_FAILED}"
}

# fail_after_switch REASON: points nginx back at the old color (still running), stops the new one.
fail_after_switch() {
  local reason="$1" error
  printf '%s: error: %s\n' "${SCRIPT_NAME}" "${reason}" >&2
  if [[ -n "${FROM}" ]]; then
    log "switching back to ${FROM}"
    error="$(switch_nginx "${FROM}" "${SWITCH_MODE}")" || warn "switching back failed: ${error}"
    drain_color "${TO}"
  else
    rm -f "$(live_link)"
  fi
  printf '    last lines of %s:\n' "$(log_file "${TO}")" >&2
  last_log_lines "${TO}"
  stop_color "${TO}"
  finish rolled-back "${reason}"
  exit "${EXIT_FAILED}"
}

validate_jar() {
  local jar="$1"
  [[ -e "${jar}" ]] || die "${EXIT_USAGE}" "${jar}: no such file"
  [[ -f "${jar}" && -r "${jar}" ]] || die "${EXIT_USAGE}" "${jar}: not a readable file"
  [[ -s "${jar}" ]] || die "${EXIT_USAGE}" "${jar}: empty file"
  unzip -tq "${jar}" >/dev/null 2>&1 || die "${EXIT_USAGE}" "${jar}: not a jar (corrupt or not a zip file)"
  is_boot_jar "${jar}" || die "${EXIT_USAGE}" "${jar}: not a Spring Boot jar (no Start-Class in its manifest)"
  local entries
  entries="$(unzip -Z1 "${jar}" 2>/dev/null)"
  [[ "${entries}" == *"spring-boot-actuator-"[0-9]* ]] ||
    die "${EXIT_USAGE}" "${jar}: has no Spring Boot actuator, so its readiness cannot be checked (add spring-boot-starter-actuator)"
}

validate_nginx() {
  [[ -x "${NGINX_BIN}" ]] || die "${EXIT_USAGE}" "nginx not found at NGINX_BIN=${NGINX_BIN} (install it: apt-get install nginx)"
  [[ -f "${NGINX_CONF}" && -f "$(active_conf)" ]] ||
    die "${EXIT_USAGE}" "no nginx config at ${NGINX_DIR}: run scripts/nginx.sh start (or render, for your own nginx)"
  local error
  error="$(nginx_test)" || die "${EXIT_USAGE}" "nginx config fails nginx -t: ${error}"
  [[ -n "$(nginx_master_pid)" ]] ||
    die "${EXIT_USAGE}" "nginx is not running (no live pid in ${NGINX_PID_FILE}): run scripts/nginx.sh start"
}

# check_idle_port COLOR: the idle color's port must be free, or held by our own idle color (a warm old
# version: drained, then stopped gracefully; a switch or a rollback moments ago leaves nginx connections
# to it, and a request sent on one as the JVM closes it would fail). Anything else is someone else's
# process: exit 2, nothing touched.
check_idle_port() {
  local color="$1" port owner pid
  port="$(color_port "${color}")"
  owner="$(port_owner "${port}")"
  pid="$(color_pid "${color}")"
  [[ -z "${owner}" && -z "${pid}" ]] && return 0
  if [[ -n "${pid}" && ( -z "${owner}" || "${owner}" == "${pid}" ) ]]; then
    log "stopping ${color} (pid ${pid}, $(release_version "$(release_jar "$(color_release "${color}")")")) kept from the previous deploy, once drained"
    drain_color "${color}"
    stop_color "${color}"
    return 0
  fi
  die "${EXIT_USAGE}" "port ${port} (${color}) is held by another process (pid ${owner}), not by this deploy's ${color}: stop it or change ${color^^}_PORT"
}

# drain_color COLOR [WORKER_PIDS]: waits until nginx has no connection left to COLOR: the upstream
# connections to COLOR's socket (nginx retires them through keepalive_time), and after a reload the
# workers that ran before it (WORKER_PIDS; they finish their requests, then exit; right after the reload
# they do not yet call themselves "shutting down"). At most DRAIN_TIMEOUT seconds.
drain_color() {
  local color="$1" before="${2:-}" socket deadline connections workers pid
  socket="$(socket_path "${color}")"
  deadline=$((SECONDS + DRAIN_TIMEOUT))
  while ((SECONDS < deadline)); do
    connections=0
    [[ -S "${socket}" ]] && connections="$(unix_connections "${socket}")"
    workers="$(old_nginx_workers)"
    for pid in ${before}; do
      if is_alive "${pid}"; then workers=$((workers + 1)); fi
    done
    ((connections == 0 && workers == 0)) && return 0
    sleep 0.2
  done
  warn "${color} still had ${connections} upstream connection(s) and ${workers} old nginx worker(s) after DRAIN_TIMEOUT=${DRAIN_TIMEOUT}s"
}

# bake COLOR OFFSET: for BAKE_TIME seconds after the switch, the new color must stay ready and answer at
# most BAKE_MAX_ERROR_PERCENT 5xx (nginx's access log after byte OFFSET); the old color stays up until
# then. On failure prints why.
bake() {
  local color="$1" log_offset="$2" deadline total errors
  deadline=$((SECONDS + BAKE_TIME))
  while ((SECONDS < deadline)) && script_alive; do
    sleep 1
    is_ready "${color}" || { echo "${color} turned unready during the bake window"; return 1; }
    read -r total errors < <(count_responses "${log_offset}")
    if ((total > 0 && errors * 100 > total * BAKE_MAX_ERROR_PERCENT)); then
      echo "${errors} of ${total} responses were 5xx during the bake window (limit ${BAKE_MAX_ERROR_PERCENT}%)"
      return 1
    fi
  done
}

# count_responses OFFSET: requests and 5xx responses in nginx's access log after byte OFFSET.
count_responses() {
  tail -c +"$(($1 + 1))" "${ACCESS_LOG}" 2>/dev/null |
    awk 'match($0, /" [0-9][0-9][0-9] /) { total++; if (substr($0, RSTART + 2, 1) == "5") errors++ }
      END { printf "%d %d\n", total, errors }'
}

file_size() { stat -c %s "$1" 2>/dev/null || echo 0; }

# new_deploy_id: time and pid, plus CodeDeploy's deployment id when a hook runs us, so the id the app
# reports (/api/version) leads back to the pipeline run.
new_deploy_id() { echo "$(date +%Y%m%dT%H%M%S)-$$${DEPLOYMENT_ID:+-${DEPLOYMENT_ID}}"; }

# heal_live: when the live color's process is gone but the other color runs and is ready, nginx is pointed
# at the other one (nginx already falls back to it as its backup; this makes it the live color).
heal_live() {
  local live other error
  live="$(live_color)"
  [[ -n "${live}" && -z "$(color_pid "${live}")" ]] || return 0
  other="$(other_color "${live}")"
  [[ -n "$(color_pid "${other}")" ]] && is_ready "${other}" || return 0
  if error="$(switch_nginx "${other}" "$(installed_mode)")"; then
    warn "live ${live} was not running: switched nginx to ${other}, which was running and ready"
  else
    warn "live ${live} is not running and switching to ${other} failed: ${error}"
  fi
}

# on_signal: SIGINT/SIGTERM during a deploy. Before the switch the new color is stopped (traffic never
# moved); after it, the journal stays and the next run finishes the job.
on_signal() {
  trap - INT TERM
  case "${PHASE}" in
    validate | start | ready) fail_before_switch "interrupted by a signal in phase ${PHASE}" ;;
    *) die "${EXIT_FAILED}" "interrupted by a signal in phase ${PHASE}: the next deploy.sh or status.sh finishes it" ;;
  esac
}

# workers_a_switch_replaces: nginx's workers now, when the coming switch reloads nginx (reload mode, or
# a change of mode); nothing in socket mode, where the workers stay.
workers_a_switch_replaces() {
  if [[ "${SWITCH_MODE}" == reload || "$(installed_mode)" != socket ]]; then nginx_workers; fi
}

# run_deploy JAR: the whole sequence; exits 0 when JAR serves through nginx and the old color stopped.
run_deploy() {
  local jar="$1" pid log_offset reason workers
  trap on_signal INT TERM
  heal_live
  DEPLOY_STARTED="$(now_ms)"
  DEPLOY_ID="$(new_deploy_id)"
  FROM="$(live_color)"
  TO="$(other_color "${FROM:-$(other_color "${FIRST_COLOR}")}")"
  FROM_RELEASE="$(color_release "${FROM:-none}")"
  FROM_VERSION=""
  [[ -n "${FROM}" && -n "${FROM_RELEASE}" ]] && FROM_VERSION="$(release_version "$(release_jar "${FROM_RELEASE}")")"
  TO_VERSION="$(release_version "${jar}")"
  check_idle_port "${TO}"
  phase validate "deploying ${TO_VERSION} ($(basename "${jar}")) to ${TO}, ${SWITCH_MODE} mode${FROM:+; ${FROM} is live}"

  # The release, and once per release and JDK its fast-start archive, while the old color still serves.
  phase prepare
  RELEASE="$(install_release "${jar}")"
  prune_releases
  phase start "starting ${TO} (${TO_VERSION}) on $(color_port "${TO}")"
  pid="$(start_color "${TO}" "$(release_jar "${RELEASE}")" "${DEPLOY_ID}")"
  echo "${RELEASE}" >"$(release_file "${TO}")"

  phase ready "waiting for ${TO} to be ready (at most ${READY_TIMEOUT}s)"
  reason="$(wait_ready "${TO}" "${pid}")" || fail_before_switch "${reason}"
  verify_identity "${TO}"
  [[ "${SWITCH_MODE}" == socket ]] && require_socket "${TO}"
  warm_up "${TO}"

  phase switch "switching nginx to ${TO} (${SWITCH_MODE} mode)"
  log_offset="$(file_size "${ACCESS_LOG}")"
  workers="$(workers_a_switch_replaces)"
  reason="$(switch_nginx "${TO}" "${SWITCH_MODE}")" || fail_before_switch "${reason}"

  phase verify "verifying that ${TO} serves on the public port ${PUBLIC_PORT}"
  wait_served_by_public "${TO}" || fail_after_switch "the public port ${PUBLIC_PORT} does not answer from ${TO} within VERIFY_TIMEOUT=${VERIFY_TIMEOUT}s"

  if ((BAKE_TIME > 0)); then
    phase bake "baking ${TO} for ${BAKE_TIME}s (${FROM:-nothing} kept warm)"
    reason="$(bake "${TO}" "${log_offset}")" || fail_after_switch "${reason}"
  fi

  if [[ -n "${FROM}" ]]; then
    phase drain "draining ${FROM}"
    drain_color "${FROM}" "${workers}"
    if [[ "${KEEP_OLD}" == true ]]; then
      log "keeping ${FROM} warm for an instant rollback (KEEP_OLD=true)"
    else
      phase stop "stopping ${FROM}"
      stop_color "${FROM}"
    fi
  fi
  finish success ""
  summary
}

# run_warm_rollback COLOR: the previous version still runs on COLOR: switch to it, drain and stop the
# rolled-back color (or keep it, KEEP_OLD=true).
run_warm_rollback() {
  local reason workers
  DEPLOY_STARTED="$(now_ms)"
  DEPLOY_ID="$(new_deploy_id)"
  FROM="$(live_color)"
  TO="$1"
  FROM_RELEASE="$(color_release "${FROM}")"
  RELEASE="$(color_release "${TO}")"
  FROM_VERSION="$(release_version "$(release_jar "${FROM_RELEASE}")")"
  TO_VERSION="$(release_version "$(release_jar "${RELEASE}")")"
  phase switch "rolling back to ${TO} (${TO_VERSION}), still warm: switching nginx"
  workers="$(workers_a_switch_replaces)"
  reason="$(switch_nginx "${TO}" "${SWITCH_MODE}")" || { finish failed "${reason}"; die "${EXIT_FAILED}" "${reason}"; }
  phase verify "verifying that ${TO} serves on the public port ${PUBLIC_PORT}"
  if ! wait_served_by_public "${TO}"; then
    switch_nginx "${FROM}" "${SWITCH_MODE}" >/dev/null || true
    finish failed "the public port did not answer from ${TO}"
    die "${EXIT_FAILED}" "the public port ${PUBLIC_PORT} did not answer from ${TO}; switched back to ${FROM}"
  fi
  phase drain "draining ${FROM}"
  drain_color "${FROM}" "${workers}"
  if [[ "${KEEP_OLD}" != true ]]; then
    phase stop "stopping ${FROM}"
    stop_color "${FROM}"
  fi
  finish rollback ""
  summary
}

# verify_identity COLOR: the process answering on COLOR's port is the one this deploy started (our app
# echoes the deploy id; another app gets the pid/port check of check_idle_port and readiness only).
verify_identity() {
  local reported
  reported="$(deploy_id_of "$1")"
  if [[ -z "${reported}" ]]; then
    info "the app does not report a deploy id in /actuator/info: identity checked by pid and port only"
  elif [[ "${reported}" != "${DEPLOY_ID}" ]]; then
    fail_before_switch "$1's port answers with deploy id ${reported}, not ${DEPLOY_ID}: another process answers there"
  fi
}

# require_socket COLOR: socket mode needs the app to serve HTTP on run/COLOR.sock.
require_socket() {
  local socket status
  socket="$(socket_path "$1")"
  status="$(http_status "http://localhost${VERIFY_PATH}" --unix-socket "${socket}")"
  [[ "${status}" =~ ^[1-4][0-9][0-9]$ ]] && return 0
  fail_before_switch "$1 is ready but does not serve HTTP on ${socket}: socket mode needs an app that listens on APP_SOCKET_PATH (this template's app does); deploy other jars with SWITCH_MODE=reload"
}

# reconcile: a deploy that was killed left its journal. The live pointer is the truth: its color keeps
# serving (or, when it is dead and the other color is ready, traffic moves there); every other process
# of that deploy is drained and stopped; stale pid files go.
reconcile() {
  [[ -f "$(journal_file)" ]] || return 0
  local phase_reached from to live color notes=()
  phase_reached="$(journal_get phase)"
  from="$(journal_get from)"
  to="$(journal_get to)"
  warn "deploy $(journal_get deploy_id) was interrupted in phase ${phase_reached}: reconciling"
  color="$(live_color)"
  heal_live
  live="$(live_color)"
  [[ "${live}" == "${color}" ]] || notes+=("live ${color} was down: switched to ${live}")
  for color in "${COLORS[@]}"; do
    [[ "${color}" == "${live}" ]] && continue
    [[ -n "$(color_pid "${color}")" ]] || continue
    [[ "${color}" == "${from}" && "${KEEP_OLD}" == true ]] && continue
    log "stopping ${color}, left running by the interrupted deploy"
    drain_color "${color}"
    stop_color "${color}"
    notes+=("stopped ${color}")
  done
  for color in "${COLORS[@]}"; do
    [[ -z "$(color_pid "${color}")" ]] && rm -f "$(pid_file "${color}")"
  done
  DEPLOY_ID="$(journal_get deploy_id)" FROM="${from}" TO="${to}" RELEASE="$(journal_get release)"
  FROM_VERSION="" TO_VERSION="" FROM_RELEASE="" DEPLOY_STARTED="$(journal_get started)"
  [[ -n "${DEPLOY_STARTED}" ]] || DEPLOY_STARTED="$(now_ms)"
  finish interrupted "killed in phase ${phase_reached}; reconciled: live ${live:-none}${notes[*]:+; ${notes[*]}}"
  log "reconciled: live color ${live:-none}"
}
