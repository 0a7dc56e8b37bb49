#!/usr/bin/env bash
# fleet.sh — a blue/green deploy across the app hosts behind a load balancer, through ansible/rollout.yml:
# preflight everywhere, stage everywhere at once, promote host by host (or in batches) with each old
# color kept warm, then commit. A failure on any host aborts every host back to its warm old color in
# seconds. Maps the outcome onto the scripts' exit codes: 0 done, 1 failed (every host back), 2 bad input
# or a host unreachable or misconfigured at preflight (nothing changed), 3 another fleet deploy or a
# host's lease or deploy in the way (nothing changed).
set -Eeuo pipefail

# shellcheck source=scripts/lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
# shellcheck source=scripts/lib/proc.sh
source "${SCRIPTS_DIR}/lib/proc.sh"
# shellcheck source=scripts/lib/state.sh
source "${SCRIPTS_DIR}/lib/state.sh" # PHASE_MS and phases_json: the phase timings, as a host's history has them

readonly ANSIBLE_DIR="${REPO_DIR}/ansible"
readonly PLAYBOOK="${ANSIBLE_DIR}/rollout.yml"

usage() {
  cat >&2 <<'USAGE'
usage: fleet.sh -i INVENTORY [--batch N|N%] [--skip HOST,...] deploy JAR
       fleet.sh -i INVENTORY [--batch N|N%] rollback
       fleet.sh -i INVENTORY status [--json]
       fleet.sh -i INVENTORY unlock

  deploy    JAR to every host of the inventory's app group (see README, "Fleet")
  rollback  every host back to its previous version, batch by batch
  status    one line per host: live color and version (--json: an object per host)
  unlock    let go of the leases a crashed fleet deploy left on the hosts
  --batch   hosts switched at a time: a number or a percentage (default 1)
  --skip    leave these hosts out (a host that is down); they keep what they run
Environment: FLEET_SSH_USER (default deploy), FLEET_TOOLING (default /opt/bluegreen),
FLEET_LB_PORT (80), FLEET_VERIFY_PATH (/api/version), FLEET_VERIFY_REQUESTS (10).
USAGE
}

INVENTORY="" BATCH=1 SKIP="" WORK=""
FLEET_ID="" VERSION="" JAR=""

# ---- ansible -------------------------------------------------------------------------------------

# vars_file: the run's variables for rollout.yml, as JSON (no value ever on a command line).
write_vars() {
  local record="${1:-}"
  jq -n --arg id "${FLEET_ID}" --arg jar "${JAR}" --arg version "${VERSION}" --arg batch "${BATCH}" \
    --arg tooling "${FLEET_TOOLING:-/opt/bluegreen}" --arg user "${FLEET_SSH_USER:-deploy}" \
    --arg lb_port "${FLEET_LB_PORT:-80}" --arg path "${FLEET_VERIFY_PATH:-/api/version}" \
    --arg requests "${FLEET_VERIFY_REQUESTS:-10}" --arg record "${record}" --arg skip "${SKIP}" '{
      fleet_id: $id, fleet_jar: $jar, fleet_remote_jar: ("/var/tmp/bluegreen-" + $id + ".jar"),
      fleet_version: $version, fleet_batch: $batch, fleet_tooling: $tooling, ansible_user: $user,
      fleet_lb_port: $lb_port, fleet_verify_path: $path, fleet_verify_requests: $requests,
      fleet_record: $record, fleet_all_hosts: ($skip == "")}' >"${WORK}/vars.json"
}

# run_phase PHASE: rollout.yml's PHASE on the hosts; ansible's output in WORK/PHASE.log, each host's last
# result as JSON in WORK/PHASE.tree/HOST (ansible-core's tree callback), its time in PHASE_MS. Returns
# ansible-playbook's exit code.
run_phase() {
  local phase="$1" started rc=0 limit=()
  [[ -z "${SKIP}" ]] || limit=(--limit "all:!${SKIP//,/:!}")
  started="$(now_ms)"
  ANSIBLE_CONFIG="${ANSIBLE_DIR}/ansible.cfg" ANSIBLE_CALLBACKS_ENABLED=tree ANSIBLE_NOCOLOR=1 \
    ANSIBLE_CALLBACK_TREE_DIR="${WORK}/${phase}.tree" \
    ansible-playbook -i "${INVENTORY}" "${PLAYBOOK}" --tags "${phase}" -e "@${WORK}/vars.json" \
    ${limit[@]+"${limit[@]}"} >"${WORK}/${phase}.log" 2>&1 || rc=$?
  PHASE_MS[${phase}]=$(($(now_ms) - started))
  return "${rc}"
}

# failure PHASE: "HOST<TAB>KIND<TAB>REASON" of the first host that failed in PHASE (KIND: unreachable,
# locked, failed), or the playbook's own complaint. The host comes from ansible's output (its "fatal:"
# line), the reason from the host's last result (the tree callback's file).
failure() {
  local line host kind=failed reason
  line="$(grep -m1 -E '^(fatal|failed): \[' "${WORK}/$1.log" || true)"
  if [[ -z "${line}" ]]; then
    printf '%s\t%s\t%s\n' "-" failed "$(grep -m1 -E 'ERROR' "${WORK}/$1.log" || tail -n1 "${WORK}/$1.log")"
    return 0
  fi
  host="${line#*\[}"
  host="${host%%]*}"
  host="${host%% -> *}" # a delegated task names "HOST -> localhost"
  [[ "${line}" != *UNREACHABLE* ]] || kind=unreachable
  # The script's own "error:" line, else its last line, else the module's message.
  reason="$(jq -r '(.stderr // "" | split("\n") | map(select(test(": error: "))) | first)
      // (.stderr // "" | split("\n") | map(select(length > 0)) | last)
      // ([.results[]? | select(.failed) | .msg] | first) // .msg // "failed" | tostring | gsub("[\t\n]"; " ")' \
    "${WORK}/$1.tree/${host}" 2>/dev/null)" || reason="failed (see ansible's output)"
  [[ "$(jq -r '.rc // 0' "${WORK}/$1.tree/${host}" 2>/dev/null)" != 3 ]] || kind=locked
  printf '%s\t%s\t%s\n' "${host}" "${kind}" "${reason}"
}

# hosts_of PHASE: the hosts the phase ran on.
hosts_of() {
  local file
  for file in "${WORK}/$1.tree"/*; do
    [[ -f "${file}" ]] && printf '%s\n' "${file##*/}"
  done
  return 0
}

# task_output PHASE HOST: what the host's last command printed in PHASE.
task_output() { jq -r '.stdout // ""' "${WORK}/$1.tree/$2" 2>/dev/null || true; }

# ---- deploy --------------------------------------------------------------------------------------

# record OUTCOME [HOST REASON]: the fleet deploy as one JSON object, kept on every host.
record() {
  jq -nc --arg id "${FLEET_ID}" --arg time "$(date -Is)" --arg version "${VERSION}" --arg outcome "$1" \
    --arg host "${2:-}" --arg reason "${3:-}" --arg hosts "$(hosts_of preflight | tr '\n' ' ')" \
    --argjson phases "$(phases_json)" '{id: $id, time: $time, version: $version,
      hosts: ($hosts | split(" ") | map(select(length > 0))), outcome: $outcome,
      failed_host: $host, reason: $reason, phases_ms: $phases}'
}

# abort_everywhere HOST REASON: every host back on its warm old color, the new ones stopped; exit 1.
abort_everywhere() {
  local host="$1" reason="$2" started
  started="$(now_ms)"
  warn "${host} failed: ${reason}; putting every host back"
  write_vars "$(record rolled-back "${host}" "${reason}")"
  run_phase abort || warn "the abort did not reach every host: $(failure abort | cut -f1,3 | tr '\t' ' ')"
  log "every host is back on its old version in $(seconds $(($(now_ms) - started)))s"
  die "${EXIT_FAILED}" "fleet deploy ${FLEET_ID} of ${VERSION} failed on ${host}: ${reason}"
}

preflight() {
  local host kind reason
  log "fleet deploy ${FLEET_ID}: ${VERSION} ($(basename "${JAR}")), ${BATCH} host(s) at a time"
  run_phase preflight && return 0
  IFS=$'\t' read -r host kind reason < <(failure preflight)
  # Nothing is changed anywhere: the leases this run took go (an unreachable host took none).
  [[ "${kind}" != unreachable ]] || SKIP="${SKIP:+${SKIP},}${host}"
  run_phase abort || true
  case "${kind}" in
    locked) die "${EXIT_LOCKED}" "${host}: ${reason}; nothing changed" ;;
    unreachable) die "${EXIT_USAGE}" "${host} is unreachable: ${reason}; nothing changed (--skip ${host} leaves it out)" ;;
    *) die "${EXIT_USAGE}" "${host} failed its preflight: ${reason}; nothing changed" ;;
  esac
}

fleet_deploy() {
  local host kind reason started
  JAR="$(canonical_path "$1")"
  [[ -f "${JAR}" ]] || die "${EXIT_USAGE}" "${JAR}: no such file"
  is_boot_jar "${JAR}" || die "${EXIT_USAGE}" "${JAR}: not a Spring Boot jar (no Start-Class in its manifest)"
  VERSION="$(release_version "${JAR}")"
  FLEET_ID="fleet-$(date +%Y%m%dT%H%M%S)-$$"
  started="$(now_ms)"
  write_vars
  preflight
  log "staging ${VERSION} on every host"
  if ! run_phase stage; then
    IFS=$'\t' read -r host kind reason < <(failure stage)
    abort_everywhere "${host}" "stage: ${reason}"
  fi
  log "promoting, ${BATCH} host(s) at a time"
  if ! run_phase promote; then
    IFS=$'\t' read -r host kind reason < <(failure promote)
    abort_everywhere "${host}" "promote: ${reason}"
  fi
  log "committing: old colors drained and stopped"
  write_vars "$(record success)"
  if ! run_phase commit; then
    IFS=$'\t' read -r host kind reason < <(failure commit)
    die "${EXIT_FAILED}" "${VERSION} serves on every host, but the commit failed on ${host}: ${reason} (its old color may still run; status.sh there)"
  fi
  log "fleet deploy ${FLEET_ID}: ${VERSION} on $(hosts_of commit | wc -l) host(s) in $(seconds $(($(now_ms) - started)))s"
  info "$(for phase in preflight stage promote commit; do printf '%s %ss · ' "${phase}" "$(seconds "${PHASE_MS[${phase}]}")"; done | sed 's/ · $//')"
}

fleet_rollback() {
  local host kind reason
  FLEET_ID="rollback-$(date +%Y%m%dT%H%M%S)-$$"
  write_vars
  log "rolling back every host, ${BATCH} at a time"
  if ! run_phase rollback; then
    IFS=$'\t' read -r host kind reason < <(failure rollback)
    die "${EXIT_FAILED}" "rollback failed on ${host}: ${reason}; the hosts after it were not rolled back"
  fi
  log "every host rolled back"
}

fleet_status() {
  local format="$1" host json="{}"
  FLEET_ID="status"
  write_vars
  run_phase status || true
  for host in $(hosts_of status); do
    json="$(jq -c --arg host "${host}" --arg status "$(task_output status "${host}")" \
      '. + {($host): ($status | fromjson? // {error: "unreachable or failed"})}' <<<"${json}")"
  done
  if [[ "${format}" == json ]]; then
    jq . <<<"${json}"
  else
    jq -r 'to_entries[] | .key as $h | .value |
      if .error then "\($h)\t\(.error)" else
      "\($h)\tlive \(if .live == "" then "none" else .live end)\t\(if .live == "" then "-" else .colors[.live].version end)\t\(if .deploy then "deploy " + .deploy.state else "" end)" end' \
      <<<"${json}" | awk -F '\t' '{ printf "%-16s %-12s %-16s %s\n", $1, $2, $3, $4 }'
  fi
}

fleet_unlock() {
  FLEET_ID="unlock"
  write_vars
  run_phase unlock || die "${EXIT_FAILED}" "unlock failed on $(failure unlock | cut -f1,3 | tr '\t' ' ')"
  log "every host's lease let go"
}

# take_fleet_lock: one fleet deploy per inventory at a time on this controller; a second one exits 3.
take_fleet_lock() {
  local file
  file="${TMPDIR:-/tmp}/bluegreen-fleet-$(sha256sum <<<"${INVENTORY}" | cut -c1-12).lock"
  exec {FLEET_LOCK_FD}>>"${file}"
  flock -n "${FLEET_LOCK_FD}" ||
    die "${EXIT_LOCKED}" "another fleet deploy on ${INVENTORY} is running ($(cat "${file}.owner" 2>/dev/null || echo "see ${file}"))"
  printf 'fleet.sh pid %s since %s\n' "$$" "$(date -Is)" >"${file}.owner"
}

main() {
  local verb="" format=text
  while (($#)); do
    case "$1" in
      -i) INVENTORY="${2:-}"; shift ;;
      --batch) BATCH="${2:-}"; shift ;;
      --skip) SKIP="${2:-}"; shift ;;
      --json) format=json ;;
      -h | --help) usage; exit 0 ;;
      deploy | rollback | status | unlock) verb="$1"; shift; break ;;
      *) usage; exit "${EXIT_USAGE}" ;;
    esac
    shift
  done
  [[ -n "${verb}" && -n "${INVENTORY}" ]] || { usage; exit "${EXIT_USAGE}"; }
  [[ "${1:-}" != --json ]] || { format=json; shift; }
  [[ -f "${INVENTORY}" ]] || die "${EXIT_USAGE}" "${INVENTORY}: no such inventory"
  INVENTORY="$(canonical_path "${INVENTORY}")"
  [[ "${BATCH}" =~ ^[1-9][0-9]*%?$ ]] || die "${EXIT_USAGE}" "--batch ${BATCH}: a number of hosts or a percentage"
  [[ -z "${SKIP}" || "${SKIP}" =~ ^[A-Za-z0-9._,-]+$ ]] || die "${EXIT_USAGE}" "--skip ${SKIP}: host names, comma-separated"
  require_tools ansible-playbook jq flock unzip
  WORK="$(mktemp -d)"
  trap 'rm -rf "${WORK}"' EXIT
  case "${verb}" in
    deploy) [[ $# -eq 1 ]] || { usage; exit "${EXIT_USAGE}"; }; take_fleet_lock; fleet_deploy "$1" ;;
    rollback) [[ $# -eq 0 ]] || { usage; exit "${EXIT_USAGE}"; }; take_fleet_lock; fleet_rollback ;;
    status) [[ $# -eq 0 ]] || { usage; exit "${EXIT_USAGE}"; }; fleet_status "${format}" ;;
    unlock) [[ $# -eq 0 ]] || { usage; exit "${EXIT_USAGE}"; }; take_fleet_lock; fleet_unlock ;;
  esac
}

main "$@"
