#!/usr/bin/env bash
# deploy.sh — deploy a Spring Boot jar to the idle color and switch nginx to it, without a failed request;
# in one go, or step by step (--stage, --promote, --commit, --abort).
set -Eeuo pipefail

# shellcheck source=scripts/lib/sequence.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/sequence.sh"

usage() {
  cat >&2 <<'USAGE'
usage: deploy.sh JAR                 stage, promote and commit in one go
       deploy.sh --stage JAR         start JAR as the idle color, ready and warm; no traffic yet
       deploy.sh --promote           switch nginx to the staged color, verify, bake; the old color stays warm
                                     (with ROLLOUT_STEPS: step by step; ROLLOUT_PAUSE=manual: one step each)
       deploy.sh --commit            drain and stop the old color: the deploy is done
       deploy.sh --abort             from staged, paused or promoted: traffic back on the old color, the new one stopped

Settings come from the environment or deploy.env (see README, "Configuration").
Exit codes: 0 done · 1 failed, traffic still on the old color · 2 bad input, nothing changed ·
3 another deploy is running, or a staged/paused/promoted deploy waits for --promote, --commit or --abort.
USAGE
}

# prepare [STATES]: settings, tools, the lock, and the end of an interrupted deploy (a deploy held in one
# of STATES is the one this step continues).
prepare() {
  check_tools
  load_config
  ensure_dirs
  take_lock
  reconcile "${1:-none}"
}

main() {
  local step="${1:-}" jar
  case "${step}" in
    --stage)
      [[ $# -eq 2 ]] || { usage; exit "${EXIT_USAGE}"; }
      jar="$(canonical_path "$2")"
      prepare
      validate_inputs "${jar}"
      trap_interruptions
      stage "${jar}"
      hold staged
      log "staged: ${TO} runs ${TO_VERSION}, ready and warm; ${FROM:-nothing} serves. Next: deploy.sh --promote (or --abort)"
      ;;
    --promote)
      [[ $# -eq 1 ]] || { usage; exit "${EXIT_USAGE}"; }
      prepare "staged paused"
      load_held_deploy "staged paused"
      validate_nginx
      trap_interruptions
      DEPLOY_STATE=running
      promote
      hold promoted
      log "promoted: ${TO} (${TO_VERSION}) serves; ${FROM:-nothing} kept warm. Next: deploy.sh --commit (or --abort)"
      ;;
    --commit)
      [[ $# -eq 1 ]] || { usage; exit "${EXIT_USAGE}"; }
      prepare promoted
      load_held_deploy promoted
      trap_interruptions
      DEPLOY_STATE=running
      commit success
      ;;
    --abort)
      [[ $# -eq 1 ]] || { usage; exit "${EXIT_USAGE}"; }
      prepare "staged promoted paused"
      load_held_deploy "staged promoted paused"
      trap_interruptions
      abort
      ;;
    -* | "") usage; exit "${EXIT_USAGE}" ;;
    *)
      [[ $# -eq 1 ]] || { usage; exit "${EXIT_USAGE}"; }
      jar="$(canonical_path "$1")"
      prepare
      validate_inputs "${jar}"
      run_deploy "${jar}"
      ;;
  esac
}

main "$@"
