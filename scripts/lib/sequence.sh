# shellcheck shell=bash
# sequence.sh — the deploy sequence as three steps that can also run one by one: stage (start the idle
# color, ready, warm; no traffic), promote (switch, verify, bake; the old color kept warm), commit (drain
# and stop the old color); abort undoes a staged or promoted deploy; reconcile finishes or undoes a deploy
# that was interrupted. Used by deploy.sh and rollback.sh. The deploy in hand lives in state.sh's globals
# and, between steps, in the journal.

# What the sequence is made of, one concern each.
# shellcheck source=scripts/lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
# shellcheck source=scripts/lib/config.sh
source "${SCRIPTS_DIR}/lib/config.sh"
# shellcheck source=scripts/lib/proc.sh
source "${SCRIPTS_DIR}/lib/proc.sh"
# shellcheck source=scripts/lib/health.sh
source "${SCRIPTS_DIR}/lib/health.sh"
# shellcheck source=scripts/lib/nginx.sh
source "${SCRIPTS_DIR}/lib/nginx.sh"
# shellcheck source=scripts/lib/accesslog.sh
source "${SCRIPTS_DIR}/lib/accesslog.sh"
# shellcheck source=scripts/lib/state.sh
source "${SCRIPTS_DIR}/lib/state.sh"
# shellcheck source=scripts/lib/launch.sh
source "${SCRIPTS_DIR}/lib/launch.sh"

readonly PHASE_ORDER=(validate prepare start ready rollout switch verify bake drain stop)
readonly HELD_STATES=" staged promoted paused "

is_held() { [[ "${HELD_STATES}" == *" $1 "* ]]; }

# phase NAME [MESSAGE]: closes the running phase's timer, opens the next, writes the journal, then prints
# one progress line (a run killed right after the line has its journal).
phase() {
  close_phase
  PHASE="$1"
  PHASE_STARTED="$(now_ms)"
  journal_save
  [[ -z "${2:-}" ]] || log "$2"
}

close_phase() {
  [[ -n "${PHASE}" && -n "${PHASE_STARTED:-}" ]] || return 0
  local before="${PHASE_MS[${PHASE}]:-0}"
  printf -v "PHASE_MS[${PHASE}]" '%d' "$(($(now_ms) - PHASE_STARTED + before))"
  PHASE_STARTED=""
}

# hold STATE: the step ends here on purpose; the journal keeps the deploy for the next step.
hold() {
  close_phase
  DEPLOY_STATE="$1"
  journal_save
  PHASE=""
}

# finish OUTCOME REASON: closes the last phase, appends to deploys.jsonl, clears the journal.
finish() {
  close_phase
  history_append "$1" "$2" "$(($(now_ms) - DEPLOY_STARTED))"
  journal_clear
  PHASE=""
}

summary() {
  local name line=""
  for name in "${PHASE_ORDER[@]}"; do
    [[ -v PHASE_MS[${name}] ]] && line+="${name} $(seconds "${PHASE_MS[${name}]}")s · "
  done
  log "deployed ${TO_VERSION} to ${TO}${FROM:+ (was ${FROM_VERSION} on ${FROM})} in $(seconds "$(($(now_ms) - DEPLOY_STARTED))")s"
  info "${line% · }"
}

# show_failed_start: why the new color did not come up, from its log.
show_failed_start() {
  printf '    last lines of %s:\n' "$(log_file "${TO}")" >&2
  last_log_lines "${TO}"
}

# fail_before_switch REASON: the new color is stopped, traffic and the old color were never touched.
fail_before_switch() {
  printf '%s: error: %s\n' "${SCRIPT_NAME}" "$1" >&2
  if [[ -n "${TO}" && "${STARTED_TO}" == true ]]; then
    show_failed_start
    stop_color "${TO}"
  fi
  finish failed "$1"
  exit "${EXIT_FAILED}"
}

# fail_after_switch REASON: nginx back on the old color (still running), the new one drained and stopped.
fail_after_switch() {
  printf '%s: error: %s\n' "${SCRIPT_NAME}" "$1" >&2
  switch_back
  if [[ "${STARTED_TO}" == true ]]; then
    show_failed_start
    stop_color "${TO}"
  fi
  finish rolled-back "$1"
  exit "${EXIT_FAILED}"
}

# back_on_from: all traffic goes where it went before the deploy (FROM, or nowhere on a first deploy).
back_on_from() {
  if [[ -n "${FROM}" ]]; then all_traffic_on "${FROM}"; else [[ -z "$(live_color)" ]]; fi
}

# switch_back: traffic to FROM again (to nothing on a first deploy), and TO drained of it.
switch_back() {
  local error
  if [[ -n "${FROM}" ]]; then
    log "switching back to ${FROM}"
    error="$(switch_nginx "${FROM}" "${SWITCH_MODE}")" || warn "switching back failed: ${error}"
  else
    error="$(point_nowhere)" || warn "taking nginx off ${TO} failed: ${error}"
  fi
  drain_color "${TO}"
}

# on_signal SIGNAL: INT, TERM, HUP (an SSH drop) or PIPE (the reader of our output went away) during a
# step. Before the checks passed, the deploy goes back to the old color now; after they passed (drain,
# stop), the journal stays and the next command finishes it. Output goes to logs/deploy.log when the
# terminal or pipe is gone.
on_signal() {
  local signal="$1" message cause="SIG$1"
  [[ "$1" != EXIT ]] || cause="an unexpected failure"
  # From here on: no second interruption, no exit on a failed write to a closed terminal or pipe.
  trap '' INT TERM HUP PIPE
  trap - EXIT
  set +e
  if [[ ("${signal}" == HUP || "${signal}" == PIPE) && -n "${LOG_DIR:-}" ]]; then
    exec >>"${LOG_DIR}/deploy.log" 2>&1
  fi
  [[ -n "${PHASE}" ]] || exit "${EXIT_FAILED}"
  case "${PHASE}" in
    validate | prepare | start | ready) fail_before_switch "interrupted by ${cause} in phase ${PHASE}" ;;
    rollout | switch | verify | bake | abort) fail_after_switch "interrupted by ${cause} in phase ${PHASE}, before its checks passed" ;;
    *)
      message="interrupted by ${cause} in phase ${PHASE}: the checks had passed; the next deploy.sh, switch.sh, rollback.sh, stop.sh or status.sh --repair finishes it"
      PHASE=""
      die "${EXIT_FAILED}" "${message}"
      ;;
  esac
}

# on_exit: the script ends in the middle of a step without saying why (a command failed under set -e):
# handled as an interruption.
on_exit() {
  local code=$?
  [[ -n "${PHASE}" && "${DEPLOY_STATE}" == running ]] || return 0
  warn "stopped by an unexpected failure (exit ${code}) in phase ${PHASE}"
  on_signal EXIT
}

trap_interruptions() {
  local signal
  for signal in INT TERM HUP PIPE; do
    # shellcheck disable=SC2064 # the signal's name, now
    trap "on_signal ${signal}" "${signal}"
  done
  trap on_exit EXIT
}

validate_jar() {
  local jar="$1" entries
  [[ -e "${jar}" ]] || die "${EXIT_USAGE}" "${jar}: no such file"
  [[ -f "${jar}" && -r "${jar}" ]] || die "${EXIT_USAGE}" "${jar}: not a readable file"
  [[ -s "${jar}" ]] || die "${EXIT_USAGE}" "${jar}: empty file"
  unzip -tq "${jar}" >/dev/null 2>&1 || die "${EXIT_USAGE}" "${jar}: not a jar (corrupt or not a zip file)"
  is_boot_jar "${jar}" || die "${EXIT_USAGE}" "${jar}: not a Spring Boot jar (no Start-Class in its manifest)"
  entries="$(unzip -Z1 "${jar}" 2>/dev/null)"
  [[ "${entries}" == *"spring-boot-actuator-"[0-9]* ]] ||
    die "${EXIT_USAGE}" "${jar}: has no Spring Boot actuator, so its readiness cannot be checked (add spring-boot-starter-actuator)"
}

# validate_inputs JAR: everything a deploy of JAR reads is sane; else exit 2, nothing changed.
validate_inputs() {
  local reason
  validate_jar "$1"
  validate_nginx
  [[ "${SUPERVISOR}" != systemd ]] || check_systemd
  reason="$(check_app_env_file)" || die "${EXIT_USAGE}" "${reason}"
}

validate_nginx() {
  local error
  [[ -x "${NGINX_BIN}" ]] || die "${EXIT_USAGE}" "nginx not found at NGINX_BIN=${NGINX_BIN} (install it: apt-get install nginx)"
  [[ -f "${NGINX_CONF}" && -f "$(active_conf)" ]] ||
    die "${EXIT_USAGE}" "no nginx config at ${NGINX_DIR}: run scripts/nginx.sh start (or render, for your own nginx)"
  error="$(nginx_test)" || die "${EXIT_USAGE}" "nginx config fails nginx -t: ${error}"
  [[ -n "$(nginx_master_pid)" ]] ||
    die "${EXIT_USAGE}" "nginx is not running (no nginx master with the pid in ${NGINX_PID_FILE}): run scripts/nginx.sh start"
}

# check_idle_port COLOR: the idle color's port must be free, or held by our own idle color (a warm old
# version: drained, then stopped gracefully; a switch or a rollback moments ago leaves nginx connections
# to it). Anything else is someone else's process: exit 2, nothing touched.
check_idle_port() {
  local color="$1" port owner pid
  port="$(color_port "${color}")"
  owner="$(port_owner "${port}")"
  pid="$(color_pid "${color}")"
  [[ -z "${owner}" && -z "${pid}" ]] && return 0
  if [[ -n "${pid}" && (-z "${owner}" || "${owner}" == "${pid}") ]]; then
    log "stopping ${color} (pid ${pid}, $(release_version "$(release_jar "$(color_release "${color}")")")) kept from the previous deploy, once drained"
    drain_color "${color}"
    stop_color "${color}"
    return 0
  fi
  die "${EXIT_USAGE}" "port ${port} (${color}) is held by another process (pid ${owner}), not by this deploy's ${color}: stop it or change ${color^^}_PORT"
}

# drain_color COLOR [WORKER_PIDS]: waits until nginx has no connection left to COLOR: its upstream
# connections (nginx retires them through keepalive_time), and after a reload the workers that ran before
# it (WORKER_PIDS; they finish their requests, then exit). At most DRAIN_TIMEOUT.
drain_color() {
  local color="$1" before="${2:-}" deadline connections=0 workers=0 pid
  deadline=$((SECONDS + DRAIN_TIMEOUT))
  while ((SECONDS < deadline)); do
    connections="$(upstream_connections "${color}")"
    workers="$(old_nginx_workers)"
    for pid in ${before}; do
      if is_alive "${pid}"; then workers=$((workers + 1)); fi
    done
    ((connections == 0 && workers == 0)) && return 0
    sleep 0.2
  done
  warn "${color} still had ${connections} upstream connection(s) and ${workers} old nginx worker(s) after DRAIN_TIMEOUT=${DRAIN_TIMEOUT}s"
}

# upstream_connections COLOR: connections to COLOR's own socket, and to nginx's relay for COLOR and from
# it to COLOR's port. The port's are counted only when the relay is in use for COLOR (a link names it)
# or COLOR has no socket of its own (reload mode): other clients of the port (a metrics scraper's
# kept-alive connection, say) must not hold up the drain of this template's app.
upstream_connections() {
  local color="$1" socket relay count=0 link
  socket="$(socket_path "${color}")"
  relay="$(relay_socket "${color}")"
  [[ ! -S "${socket}" ]] || count="$(unix_connections "${socket}")"
  [[ ! -S "${relay}" ]] || count=$((count + $(unix_connections "${relay}")))
  for link in "$(live_link)" "${RUN_DIR}/standby.sock" "${RUN_DIR}/preview.sock"; do
    [[ "$(readlink "${link}" 2>/dev/null)" != *"relay-${color}.sock" ]] || socket=""
  done
  [[ -S "${socket}" ]] || count=$((count + $(tcp_connections "$(color_port "${color}")")))
  echo "${count}"
}

# bake COLOR CURSOR: for BAKE_TIME seconds after the switch, the new color must stay ready and give at
# most BAKE_MAX_ERROR_PERCENT 5xx among its answers in nginx's access log since CURSOR (read once each,
# across a rotation). On failure sets FAILURE to why. Runs in the script's own shell (signals at once).
bake() {
  local color="$1" cursor="$2" deadline total=0 errors=0 seen failed next next_note
  deadline=$((SECONDS + BAKE_TIME))
  next_note=$((SECONDS + 5))
  while ((SECONDS < deadline)); do
    sleep 1
    if ((SECONDS >= next_note)); then
      info "bake: ${total} answers from ${color}, ${errors} of them 5xx, $((deadline - SECONDS))s to go"
      next_note=$((SECONDS + 5))
    fi
    is_ready "${color}" || { FAILURE="${color} turned unready during the bake window"; return 1; }
    read -r seen failed next < <(access_log_since "${cursor}" | count_responses "${color}")
    cursor="${next:-${cursor}}"
    total=$((total + seen))
    errors=$((errors + failed))
    if ((total > 0 && errors * 100 > total * BAKE_MAX_ERROR_PERCENT)); then
      FAILURE="${errors} of ${total} responses were 5xx during the bake window (limit ${BAKE_MAX_ERROR_PERCENT}%)"
      return 1
    fi
  done
}

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

# workers_a_switch_replaces: nginx's workers now, when the coming switch reloads nginx (reload mode, or
# a change of mode); nothing in socket mode, where the workers stay.
workers_a_switch_replaces() {
  if [[ "${SWITCH_MODE}" == reload || "$(installed_mode)" != socket ]]; then nginx_workers | tr '\n' ' '; fi
}

# begin_deploy TO: the deploy in hand, from the live pointer.
begin_deploy() {
  DEPLOY_STARTED="$(now_ms)"
  DEPLOY_ID="$(new_deploy_id)"
  DEPLOY_STATE=running
  # Nothing of a deploy that reconcile loaded from the journal carries over.
  CHECKS="" PHASE_MS=() ROLLOUT_SHARE=0 STEP_CURSOR="" STEPS="[]" ROLLOUT_PLAN=""
  FROM="$(live_color)"
  TO="$1"
  FROM_RELEASE="$(color_release "${FROM:-none}")"
  FROM_VERSION=""
  [[ -n "${FROM}" && -n "${FROM_RELEASE}" ]] && FROM_VERSION="$(release_version "$(release_jar "${FROM_RELEASE}")")"
  return 0
}

# stage JAR: the idle color runs JAR, ready and warmed up; no public traffic reaches it. From its start
# to the end of its warm-up it runs at START_NICE (where it can be set back), so the live color keeps
# the CPU it serves with while the new JVM loads classes and compiles.
stage() {
  local jar="$1" pid reason niceness=0 thread_niceness=0
  heal_live
  begin_deploy "$(other_color "$(live_color)")"
  [[ -n "${FROM}" ]] || TO="${FIRST_COLOR}"
  TO_VERSION="$(release_version "${jar}")"
  check_idle_port "${TO}"
  phase validate "deploying ${TO_VERSION} ($(basename "${jar}")) to ${TO}, ${SWITCH_MODE} mode${FROM:+; ${FROM} is live}"

  # The release, and once per release and JDK its fast-start archive, while the old color still serves.
  phase prepare
  RELEASE="$(install_release "${jar}")" || fail_before_switch "the release could not be installed (see above)"
  prune_releases
  # In the journal before the process exists: stopping a color that never started is harmless.
  STARTED_TO=true
  phase start "starting ${TO} (${TO_VERSION}) on $(color_port "${TO}")"
  echo "${RELEASE}" >"$(release_file "${TO}")"
  reason="$(write_color_env "${TO}" "${DEPLOY_ID}")" || fail_before_switch "${reason}"
  # Only beside a live color that serves: not on a first deploy, not for a rollback (the live version
  # is the bad one), not under systemd (the unit's own restarts would start it niced).
  if [[ -n "${FROM}" && "${ROLLING_BACK:-false}" != true && "${SUPERVISOR}" == process ]]; then niceness="${START_NICE}"; fi
  if may_raise_priority; then thread_niceness="${niceness}"; fi
  pid="$(start_color "${TO}" "$(release_jar "${RELEASE}")" "${DEPLOY_ID}" "${niceness}" "${thread_niceness}")"

  phase ready "waiting for ${TO} to be ready: $(readiness_url "${TO}") (at most ${READY_TIMEOUT}s)"
  wait_ready "${TO}" "${pid}" || fail_before_switch "${FAILURE}"
  verify_identity "${TO}"
  check_sessions
  [[ "${SWITCH_MODE}" != socket ]] || check_socket_upstream "${TO}"
  # The preview (PREVIEW_PORT) reaches it from now on; the public side does not.
  point_preview "${TO}"
  warm_up_color "${TO}"
  ((niceness == 0)) || restore_priority "${pid}" ||
    fail_before_switch "${TO} (pid ${pid}) could not be set back to nice 0 after its warm-up (renice)"
}

# promote: traffic to the staged color (step by step with ROLLOUT_STEPS), verified through nginx and
# baked; the old color stays warm.
promote() {
  local cursor reason
  if rollout_applies; then rollout; fi
  phase switch "switching nginx to ${TO} (${SWITCH_MODE} mode)"
  cursor="$(access_log_cursor)"
  SWITCH_WORKERS="$(workers_a_switch_replaces)"
  journal_save
  reason="$(switch_nginx "${TO}" "${SWITCH_MODE}")" || fail_after_switch "${reason}"

  phase verify "verifying that ${TO} serves on the public port ${PUBLIC_PORT}"
  wait_served_by_public "${TO}" || fail_after_switch "the public port ${PUBLIC_PORT} does not answer from ${TO} within VERIFY_TIMEOUT=${VERIFY_TIMEOUT}s"

  if ((BAKE_TIME > 0)); then
    phase bake "baking ${TO} for ${BAKE_TIME}s (${FROM:-nothing} kept warm)"
    bake "${TO}" "${cursor}" || fail_after_switch "${FAILURE}"
  fi
  CHECKS=passed
  journal_save
}

# rollout_applies: a rollout is under way (its plan is in the journal), or ROLLOUT_STEPS is set and
# there is an old color to move clients from, in socket mode. A rollback moves everyone at once.
rollout_applies() {
  [[ -n "${ROLLOUT_PLAN}" ]] && return 0
  [[ -n "${ROLLOUT_STEPS}" && -n "${FROM}" && "$(installed_mode)" == socket && "${ROLLING_BACK:-}" != true ]] || return 1
  # The plan is fixed at the first step: a later --promote goes on with it, whatever its environment says.
  ROLLOUT_PLAN="${ROLLOUT_STEPS}|${ROLLOUT_PAUSE}"
}

# rollout: the share of clients on TO raised step by step (ROLLOUT_STEPS below 100; 100 is the switch
# that follows), each step judged by the gate after ROLLOUT_PAUSE seconds; a step that fails it puts
# every client back on FROM (exit 1). ROLLOUT_PAUSE=manual holds the deploy paused after each step
# (exit 0); the next deploy.sh --promote judges the step's window, then goes on.
rollout() {
  local share reason steps="${ROLLOUT_PLAN%|*}" pause="${ROLLOUT_PLAN##*|}"
  if ((ROLLOUT_SHARE > 0)); then
    phase rollout "judging the ${ROLLOUT_SHARE}% step, paused since the step began"
    judge_step || fail_after_switch "${FAILURE}"
  fi
  for share in ${steps}; do
    ((share > ROLLOUT_SHARE && share < 100)) || continue
    phase rollout "moving ${share}% of clients to ${TO} ($(slots_for "${share}") of ${ROLLOUT_SLOTS} slots)"
    reason="$(point_slots "${TO}" "$(slots_for "${share}")")" || fail_after_switch "${reason}"
    ROLLOUT_SHARE="${share}"
    STEP_CURSOR="$(access_log_cursor)"
    journal_save
    if [[ "${pause}" == manual ]]; then
      hold paused
      log "paused at ${share}%: ${TO} (${TO_VERSION}) serves that share of clients, ${FROM} the rest. Next: deploy.sh --promote (or --abort)"
      exit 0
    fi
    watch_step "${pause}" || fail_after_switch "${FAILURE}"
  done
}

# watch_step SECONDS: the step's window, TO ready throughout; each second the log lines written since the
# last look are counted (a bad version's 5xx stop it within seconds), then judge_step reads the whole
# window once. On failure sets FAILURE.
watch_step() {
  local deadline=$((SECONDS + $1)) cursor="${STEP_CURSOR}" lines from to
  local from_n=0 from_e=0 to_n=0 to_e=0 n e
  while ((SECONDS < deadline)); do
    sleep 1
    is_ready "${TO}" || { FAILURE="${TO} turned unready at the ${ROLLOUT_SHARE}% step"; record_step failed "" ""; return 1; }
    lines="$(access_log_since "${cursor}")"
    cursor="${lines##*#cursor }"
    read -r n e _ < <(answer_stats "${FROM}" <<<"${lines}")
    from_n=$((from_n + n)) from_e=$((from_e + e))
    read -r n e _ < <(answer_stats "${TO}" unnamed <<<"${lines}")
    to_n=$((to_n + n)) to_e=$((to_e + e))
    # No p99 yet: judge_step sorts the whole window once, at the end.
    from="${from_n},${from_e}," to="${to_n},${to_e},"
    if errors_over_gate "${from}" "${to}" 20; then
      FAILURE="the gate stopped the ${ROLLOUT_SHARE}% step: $(step_figures "${from}" "${to}")"
      record_step failed "${from}" "${to}"
      return 1
    fi
  done
  judge_step
}

# step_stats: "FROM TO" figures of the step's whole window, each ANSWERS,5XX,P99_MS (nginx's own 5xx,
# which name no color, count against TO).
step_stats() {
  local lines from to
  lines="$(access_log_since "${STEP_CURSOR}")"
  from="$(answer_stats "${FROM}" <<<"${lines}")"
  to="$(answer_stats "${TO}" unnamed <<<"${lines}")"
  echo "${from// /,} ${to// /,}"
}

# errors_over_gate FROM TO MIN: TO's 5xx share exceeds FROM's by more than ROLLOUT_MAX_ERROR_PERCENT
# points, once TO gave at least MIN answers.
errors_over_gate() {
  local from_n from_e to_n to_e
  IFS=, read -r from_n from_e _ <<<"$1"
  IFS=, read -r to_n to_e _ <<<"$2"
  ((to_n > 0 && to_n >= $3)) || return 1
  # to_e / to_n > from_e / from_n + MAX / 100, in whole numbers.
  ((to_e * 100 * (from_n > 0 ? from_n : 1) > (from_e * 100 + ROLLOUT_MAX_ERROR_PERCENT * (from_n > 0 ? from_n : 1)) * to_n))
}

# p99_over_gate FROM TO: TO's p99 is over ROLLOUT_MAX_P99_PERCENT of FROM's and over ROLLOUT_P99_FLOOR_MS,
# from at least 20 answers (below that, the two slow answers answer_stats needs would be over 10%).
p99_over_gate() {
  local from_p to_n to_p
  IFS=, read -r _ _ from_p <<<"$1"
  IFS=, read -r to_n _ to_p <<<"$2"
  ((to_n >= 20 && to_p > ROLLOUT_P99_FLOOR_MS && to_p * 100 > from_p * ROLLOUT_MAX_P99_PERCENT))
}

step_figures() {
  local from_n from_e from_p to_n to_e to_p
  IFS=, read -r from_n from_e from_p <<<"$1"
  IFS=, read -r to_n to_e to_p <<<"$2"
  printf '%s %s of %s answers 5xx%s; %s %s of %s%s' "${TO}" "${to_e}" "${to_n}" "${to_p:+, p99 ${to_p} ms}" \
    "${FROM}" "${from_e}" "${from_n}" "${from_p:+, p99 ${from_p} ms}"
}

# judge_step: the gate over the step's whole window: TO's 5xx share and p99 against FROM's. The step's
# figures and the decision go to the journal (and the history). On failure sets FAILURE.
judge_step() {
  local from to
  read -r from to < <(step_stats)
  if errors_over_gate "${from}" "${to}" 1 || p99_over_gate "${from}" "${to}"; then
    FAILURE="the gate stopped the ${ROLLOUT_SHARE}% step: $(step_figures "${from}" "${to}") (limits: +${ROLLOUT_MAX_ERROR_PERCENT} points of 5xx; p99 ${ROLLOUT_MAX_P99_PERCENT}% of ${FROM}'s or ${ROLLOUT_P99_FLOOR_MS} ms)"
    record_step failed "${from}" "${to}"
    return 1
  fi
  record_step passed "${from}" "${to}"
  info "gate: ${ROLLOUT_SHARE}% step passed: $(step_figures "${from}" "${to}")"
}

# record_step DECISION FROM TO: the step in STEPS (the journal's and the history's rollout record).
record_step() {
  STEPS="$(jq -c --argjson share "${ROLLOUT_SHARE}" --arg decision "$1" --arg from "$2" --arg to "$3" \
    --argjson slots "$(slot_count "${TO}")" '
    def figures: split(",") | if length == 3 then map(if . == "" then null else tonumber end)
      | {answers: .[0], errors: .[1], p99_ms: .[2]} else null end;
    . + [{share: $share, slots: $slots, decision: $decision, from: ($from | figures), to: ($to | figures)}]' <<<"${STEPS}")"
  journal_save
}

# commit OUTCOME: the old color drained and stopped (or kept warm, KEEP_OLD=true); the deploy is done.
commit() {
  if [[ -n "${FROM}" ]]; then
    phase drain "draining ${FROM}"
    drain_color "${FROM}" "${SWITCH_WORKERS}"
    if [[ "${KEEP_OLD}" == true ]]; then
      log "keeping ${FROM} warm for an instant rollback (KEEP_OLD=true)"
    else
      phase stop "stopping ${FROM}"
      stop_color "${FROM}"
    fi
  fi
  finish "$1" ""
  summary
}

# abort: a staged, promoted or paused deploy undone: the old color live, the new one stopped.
abort() {
  local was="${DEPLOY_STATE}"
  DEPLOY_STATE=running
  CHECKS=""
  phase abort "aborting deploy ${DEPLOY_ID} (${was}): back to ${FROM:-nothing}"
  [[ "${was}" == staged ]] || back_on_from || switch_back
  [[ "${STARTED_TO}" != true ]] || stop_color "${TO}"
  finish aborted "deploy.sh --abort while ${was}"
  log "aborted: ${FROM:-nothing} is live${FROM:+ (${FROM_VERSION})}, ${TO} stopped"
}

# run_deploy JAR: the three steps in one go; exits 0 when JAR serves through nginx and the old color
# stopped.
run_deploy() {
  trap_interruptions
  stage "$1"
  promote
  commit success
}

# run_warm_rollback COLOR: the previous version still runs on COLOR: switch to it, verify, drain and stop
# the rolled-back color (or keep it, KEEP_OLD=true). Interrupted before its check, it switches back.
run_warm_rollback() {
  trap_interruptions
  begin_deploy "$1"
  STARTED_TO=false
  RELEASE="$(color_release "${TO}")"
  TO_VERSION="$(release_version "$(release_jar "${RELEASE}")")"
  log "rolling back to ${TO} (${TO_VERSION}), still warm"
  promote
  commit rollback
}

# load_held_deploy STATES: the deploy in the journal, which must be in one of STATES; else exit 2.
load_held_deploy() {
  journal_exists || die "${EXIT_USAGE}" "no staged or promoted deploy in ${APP_HOME}: start one with deploy.sh --stage JAR"
  journal_load
  [[ " $1 " == *" ${DEPLOY_STATE} "* ]] ||
    die "${EXIT_USAGE}" "deploy ${DEPLOY_ID} is ${DEPLOY_STATE}, not $1"
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

# check_sessions: before any traffic moves, the new color must read every session of the newest
# SESSION_CHECK_SAMPLE in Redis that the live color reads (a session neither reads is already treated as
# absent). Skipped, with one line, on a first deploy and for an app without /actuator/sessioncheck. The
# refusal names attribute names and types, never values.
check_sessions() {
  local live_report ids new_report status
  ((SESSION_CHECK_SAMPLE > 0)) && [[ -n "${FROM}" ]] || return 0
  if ! live_report="$(session_report "${FROM}" "limit=${SESSION_CHECK_SAMPLE}")"; then
    info "session check skipped: ${FROM} has no /actuator/sessioncheck (HTTP ${live_report}; not this template's app)"
    return 0
  fi
  ids="$(jq -r '[.sessions[] | select(.readable) | .id] | join(",")' <<<"${live_report}")"
  [[ -n "${ids}" ]] || { info "session check: no session in Redis that ${FROM} reads"; return 0; }
  if ! new_report="$(session_report "${TO}" "ids=${ids}")"; then
    info "session check skipped: ${TO} has no /actuator/sessioncheck (HTTP ${new_report}; not this template's app)"
    return 0
  fi
  status="$(jq -rn --argjson live "${live_report}" --argjson new "${new_report}" '
    ($live.sessions | map(select(.readable)) | INDEX(.id)) as $read
    | [$new.sessions[] | select(.readable | not) | select($read[.id])] as $bad
    | if $bad == [] then "ok \($new.sessions | length)"
      else "bad \($bad | length) of \($new.sessions | length) sessions; the first one'"'"'s attributes: "
        + ($bad[0] | .attributes | to_entries
          | map("\(.key) (\($read[$bad[0].id].attributes[.key] // "?")\(if .value == "unreadable" then ", unreadable" else "" end))")
          | join(", "))
      end')"
  [[ "${status}" == ok* ]] ||
    fail_before_switch "session check: ${TO} cannot read ${status#bad } (name, type as ${FROM} reads it); traffic stays on ${FROM}"
  info "session check: ${TO} reads all ${status#ok } sessions of the newest ${SESSION_CHECK_SAMPLE} that ${FROM} reads"
}

# check_socket_upstream COLOR: socket mode reaches COLOR through its own socket (this template's app) or
# through nginx's relay to its port (any other Boot jar); says which, or fails when neither serves.
check_socket_upstream() {
  local problem
  problem="$(socket_mode_problem "$1")"
  [[ -z "${problem}" ]] || fail_before_switch "$1 does not serve HTTP on $(socket_path "$1") and ${problem}"
  if reached_via_relay "$1"; then
    log "$1 does not listen on APP_SOCKET_PATH: nginx relays $(relay_socket "$1") to its port $(color_port "$1"), no reload"
  else
    info "$1 serves its own socket $(socket_path "$1")"
  fi
}

# reconcile STATES: runs first in every command that changes something (and links slots that a config
# from before the slots lacks: on a server, root renders the config, the deploy user owns run/). A deploy left staged, promoted
# or paused on purpose is left alone: the command exits 3 naming it, unless it is in STATES (the step
# that continues it). A deploy that was interrupted is ended: before its checks passed, the old color is
# live again and the new one stopped; after (draining, stopping), it is finished. Stale pid files go.
reconcile() {
  local allowed="$1"
  [[ "$(installed_mode)" != socket ]] || link_missing_slots
  journal_exists || { forget_dead_pids; return 0; }
  journal_load
  if is_held "${DEPLOY_STATE}" && [[ -n "$(color_pid "${TO}")" ]]; then
    [[ " ${allowed} " == *" ${DEPLOY_STATE} "* ]] && return 0
    die "${EXIT_LOCKED}" "deploy ${DEPLOY_ID} (${TO_VERSION} on ${TO}) is ${DEPLOY_STATE}$(held_share): continue it with deploy.sh --promote or --commit, or undo it with deploy.sh --abort"
  fi
  warn "deploy ${DEPLOY_ID} was interrupted (${DEPLOY_STATE}, phase ${PHASE:-none}): reconciling"
  if [[ "${CHECKS}" == passed && -n "$(color_pid "${TO}")" ]]; then
    finish_interrupted
  else
    undo_interrupted
  fi
  forget_dead_pids
}

# held_share: " at N%" for a paused rollout.
held_share() { [[ "${DEPLOY_STATE}" != paused ]] || printf ' at %s%%' "${ROLLOUT_SHARE}"; }

# finish_interrupted: the new color passed its checks: the old one is drained and stopped.
finish_interrupted() {
  if [[ -n "${FROM}" && "${KEEP_OLD}" != true && -n "$(color_pid "${FROM}")" ]]; then
    log "stopping ${FROM}, the old color of the interrupted deploy"
    drain_color "${FROM}"
    stop_color "${FROM}"
  fi
  finish interrupted "interrupted in phase ${PHASE} after its checks passed; finished: ${TO} live"
  log "reconciled: ${TO} is live"
}

# undo_interrupted: the new color never passed its checks: the old one is live again, the new one
# stopped. Only when the old color is gone and the new one is ready does the new one stay (nothing else
# could serve).
undo_interrupted() {
  local live note
  live="$(live_color)"
  if [[ -n "${FROM}" && -z "$(color_pid "${FROM}")" && -n "$(color_pid "${TO}")" ]] && is_ready "${TO}"; then
    all_traffic_on "${TO}" || switch_nginx "${TO}" "$(installed_mode)" >/dev/null || true
    note="${FROM} was gone: ${TO} kept live"
  else
    back_on_from || switch_back
    [[ "${STARTED_TO}" != true ]] || stop_color "${TO}"
    note="back on ${FROM:-nothing}"
  fi
  finish interrupted "interrupted in phase ${PHASE:-none} before its checks passed; ${note}"
  log "reconciled: ${note}"
}

# forget_dead_pids: pid files of colors that do not run any more go.
forget_dead_pids() {
  local color
  for color in "${COLORS[@]}"; do
    [[ -n "$(color_pid "${color}")" ]] || rm -f "$(pid_file "${color}")"
  done
}
