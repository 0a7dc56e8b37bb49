# shellcheck shell=bash
# timing.sh — the bounds of every wait the scripts make, and from them the worst case of each command: the
# one formula that the CodeDeploy hooks check appspec.yml's timeouts against, that appspec.yml's comments
# quote, and that the tests hold the scripts to (a run never takes longer than its worst case).

readonly PORT_FREE_WAIT=10 # seconds stop_color waits for the port after the process ended
# Seconds on top of the bounded waits: nginx -t and reload, copying the jar, curl's own 5 s per request,
# writing the history.
readonly WORST_CASE_MARGIN=60

# stop_worst_case: draining a color and stopping it.
stop_worst_case() { echo $((DRAIN_TIMEOUT + STOP_TIMEOUT + PORT_FREE_WAIT)); }

# prepare_worst_case: installing a release: the JDK probes and, with FAST_START, the extraction and the
# training runs, all within FAST_START_TIMEOUT.
prepare_worst_case() {
  if [[ "${FAST_START}" == true ]]; then echo $((2 * JAVA_PROBE_TIMEOUT + FAST_START_TIMEOUT)); else echo 0; fi
}

# rollout_worst_case: ROLLOUT_PAUSE for each step below 100 (a manual pause ends the command instead).
rollout_worst_case() {
  local step total=0
  [[ "${ROLLOUT_PAUSE}" != manual ]] || { echo 0; return; }
  for step in ${ROLLOUT_STEPS}; do
    ((step >= 100)) || total=$((total + ROLLOUT_PAUSE))
  done
  echo "${total}"
}

# worst_case STEP: the longest the step may take with the current settings, in seconds. Every step may
# first end an interrupted deploy (a drain and a stop).
#   stage     + a warm idle color drained and stopped, prepare, readiness, warm-up
#   promote   + the rollout's steps, verify, bake, and on failure the new color drained and stopped
#   commit    + the old color drained and stopped
#   deploy    stage + promote + commit (a failed promote stops the new color instead of the old one)
#   validate  CodeDeploy's ValidateService: its check, then a rollback (a deploy) when it fails
worst_case() {
  local stop reconcile
  stop="$(stop_worst_case)"
  reconcile="${stop}"
  case "$1" in
    stage) echo $((reconcile + stop + $(prepare_worst_case) + READY_TIMEOUT + WARMUP_TIMEOUT + WORST_CASE_MARGIN)) ;;
    promote) echo $((reconcile + $(rollout_worst_case) + VERIFY_TIMEOUT + BAKE_TIME + stop + WORST_CASE_MARGIN)) ;;
    commit | abort) echo $((reconcile + stop + WORST_CASE_MARGIN)) ;;
    deploy)
      echo $((reconcile + stop + $(prepare_worst_case) + READY_TIMEOUT + WARMUP_TIMEOUT + $(rollout_worst_case) + VERIFY_TIMEOUT + BAKE_TIME + stop + WORST_CASE_MARGIN))
      ;;
    validate)
      if [[ "${ROLLBACK_ON_FAILURE}" == true ]]; then
        echo $((VALIDATE_TIMEOUT + $(worst_case deploy)))
      else
        echo $((VALIDATE_TIMEOUT + WORST_CASE_MARGIN))
      fi
      ;;
    *) return 1 ;;
  esac
}
