# shellcheck shell=bash
# state.sh — the lock, the journal of a deploy in progress, the deploy history and the releases. The
# journal and the history are JSON, written and read with jq here and nowhere else.

journal_file() { echo "${STATE_DIR}/journal.json"; }
history_file() { echo "${STATE_DIR}/deploys.jsonl"; }
lease_file() { echo "${STATE_DIR}/lease"; }
fleet_history_file() { echo "${STATE_DIR}/fleet.jsonl"; }

# take_lock: one deploy, switch, rollback or stop at a time per APP_HOME; a second one exits 3 at once.
# While a fleet deploy holds the host's lease (lease.sh), only calls that carry its id (FLEET_ID) pass.
take_lock() {
  local holder=""
  exec {LOCK_FD}>>"${STATE_DIR}/lock"
  if ! flock -n "${LOCK_FD}"; then
    holder="$(cat "${STATE_DIR}/lock.owner" 2>/dev/null || true)"
    die "${EXIT_LOCKED}" "another deploy is running${holder:+ (${holder})}; the lock is ${STATE_DIR}/lock"
  fi
  holder="$(lease_holder)"
  [[ -z "${holder}" || "${holder}" == "${FLEET_ID:-}" ]] ||
    die "${EXIT_LOCKED}" "this host is leased to fleet deploy ${holder} (scripts/fleet.sh); after a controller crash: fleet.sh unlock, or lease.sh break here"
  printf '%s pid %s since %s\n' "${SCRIPT_NAME}" "$$" "$(date -Is)" >"${STATE_DIR}/lock.owner"
}

# lease_holder: the fleet deploy id that holds this host, or nothing.
lease_holder() {
  [[ -f "$(lease_file)" ]] || return 0
  cat "$(lease_file)"
}

lease_write() {
  local tmp
  tmp="$(mktemp "${STATE_DIR}/.lease.XXXXXX")"
  printf '%s\n' "$1" >"${tmp}"
  mv -f "${tmp}" "$(lease_file)"
}

lease_remove() { rm -f "$(lease_file)"; }

# fleet_history_append JSON: a fleet deploy's record (scripts/fleet.sh), one line, beside the host's history.
fleet_history_append() {
  jq -c . <<<"$1" >>"$(fleet_history_file)"
}

# without_lock_fd COMMAND...: runs COMMAND without the deploy lock's descriptor (a child that outlives
# the deploy must not hold the lock).
without_lock_fd() {
  if [[ -n "${LOCK_FD:-}" ]]; then "$@" {LOCK_FD}>&-; else "$@"; fi
}

# The deploy in hand, as the journal and the history record it.
DEPLOY_ID=""
DEPLOY_STATE=""   # running | staged | promoted | paused (the last three: left so on purpose)
CHECKS=""         # "passed" once verify and bake passed
STARTED_TO=false  # this deploy started TO (a warm rollback found it running)
DEPLOY_STARTED=0
FROM="" FROM_VERSION="" FROM_RELEASE=""
TO="" TO_VERSION="" RELEASE=""
# shellcheck disable=SC2034 # set by the waits (health.sh, sequence.sh), read by the deploy sequence
FAILURE=""        # why the last wait (readiness, bake) failed
SWITCH_WORKERS=""  # nginx workers a reload-mode switch replaced: the drain waits for them
ROLLOUT_SHARE=0    # a progressive rollout: the percentage of clients its last step moved to TO
STEP_CURSOR=""     # where the access log ended when that step began (the gate reads from there)
STEPS="[]"         # the rollout's judged steps, as JSON: [{share, decision, from, to, ...}]
ROLLOUT_PLAN=""    # "STEPS|PAUSE" of the rollout under way, fixed at its first step
declare -A PHASE_MS=()
PHASE=""

# phases_json: PHASE_MS as a JSON object.
phases_json() {
  local name
  for name in "${!PHASE_MS[@]}"; do printf '%s\t%s\n' "${name}" "${PHASE_MS[${name}]}"; done |
    jq -Rn '[inputs | split("\t") | {(.[0]): (.[1] | tonumber)}] | add // {}'
}

# deploy_json: the deploy in hand as one JSON object (the journal's content, and the history's fields).
deploy_json() {
  jq -nc --arg id "${DEPLOY_ID}" --arg state "${DEPLOY_STATE}" --arg phase "${PHASE}" --arg checks "${CHECKS}" \
    --arg mode "${SWITCH_MODE}" --argjson started "${DEPLOY_STARTED}" --arg started_to "${STARTED_TO}" \
    --arg from "${FROM}" --arg from_version "${FROM_VERSION}" --arg from_release "${FROM_RELEASE}" \
    --arg to "${TO}" --arg to_version "${TO_VERSION}" --arg release "${RELEASE}" \
    --arg workers "${SWITCH_WORKERS}" --argjson phases "$(phases_json)" \
    --argjson share "${ROLLOUT_SHARE}" --arg cursor "${STEP_CURSOR}" --argjson steps "${STEPS}" \
    --arg plan "${ROLLOUT_PLAN}" '{
      id: $id, state: $state, phase: $phase, checks: $checks, mode: $mode, started: $started,
      started_to: ($started_to == "true"), workers: $workers,
      rollout: {plan: $plan, share: $share, cursor: $cursor, steps: $steps},
      from: {color: $from, version: $from_version, release: $from_release},
      to: {color: $to, version: $to_version, release: $release}, phases_ms: $phases}'
}

# journal_save: the journal, rewritten atomically at each phase, so a run that was killed leaves behind
# how far it got.
journal_save() {
  local tmp
  tmp="$(mktemp "${STATE_DIR}/.journal.XXXXXX")"
  deploy_json >"${tmp}"
  mv -f "${tmp}" "$(journal_file)"
}

# journal_load: the deploy in hand from the journal.
journal_load() {
  local name ms
  # \x1f, not a tab: IFS white space would merge empty fields.
  IFS=$'\x1f' read -r DEPLOY_ID DEPLOY_STATE PHASE CHECKS DEPLOY_STARTED STARTED_TO FROM FROM_VERSION FROM_RELEASE \
    TO TO_VERSION RELEASE SWITCH_WORKERS ROLLOUT_PLAN ROLLOUT_SHARE STEP_CURSOR STEPS < <(jq -r '[.id, .state, .phase,
      .checks, .started, .started_to, .from.color, .from.version, .from.release, .to.color, .to.version,
      .to.release, .workers, (.rollout.plan // ""), (.rollout.share // 0), (.rollout.cursor // ""),
      (.rollout.steps // [] | tojson)]
      | map(tostring) | join("\u001f")' "$(journal_file)")
  PHASE_MS=()
  while IFS=$'\t' read -r name ms; do
    [[ -n "${name}" ]] && PHASE_MS[${name}]="${ms}"
  done < <(jq -r '.phases_ms | to_entries[] | "\(.key)\t\(.value)"' "$(journal_file)")
}

# journal_get FIELD: a field of the journal (jq path without the dot, e.g. id, to.color), or nothing.
journal_get() { jq -r ".$1 // empty" "$(journal_file)" 2>/dev/null || true; }

journal_exists() { [[ -s "$(journal_file)" ]]; }
journal_clear() { rm -f "$(journal_file)"; }

# history_append OUTCOME REASON TOTAL_MS: one line per deploy in deploys.jsonl.
history_append() {
  deploy_json | jq -c --arg outcome "$1" --arg reason "$2" --argjson total "$3" --arg time "$(date -Is)" '{
    id, time: $time, mode, from, to, outcome: $outcome, reason: $reason, phases_ms, total_ms: $total}
    + (if .rollout.steps == [] then {} else {rollout: .rollout.steps} end)' \
    >>"$(history_file)"
}

# history_query FILTER [JQ_ARGS...]: FILTER applied to the whole history (an array, oldest first).
history_query() {
  local file
  file="$(history_file)"
  [[ -s "${file}" ]] || file=/dev/null
  jq -cs "$@" "${file}"
}

# history_last: the last deploy's line, or nothing.
history_last() { history_query -r 'last // empty | tojson' 2>/dev/null; }

# install_release JAR: copies the jar to releases/<id>/app.jar (id: time + checksum) and records its
# checksum; the same jar deployed again reuses its release once the copy's checksum is checked (a copy cut
# short, e.g. by a full disk, is made again). Prints the release id.
install_release() {
  local jar="$1" sum existing id
  sum="$(sha256sum "${jar}" | cut -d' ' -f1)"
  existing="$(find "${RELEASES_DIR}" -mindepth 1 -maxdepth 1 -type d -name "*-${sum:0:12}" -printf '%f\n' | head -n1)" || true
  if [[ -n "${existing}" ]] && release_intact "${existing}" "${sum}"; then
    touch "${RELEASES_DIR}/${existing}"
    prepare_fast_start "${RELEASES_DIR}/${existing}" >&2
    echo "${existing}"
    return
  fi
  if [[ -n "${existing}" ]]; then
    warn "release ${existing} is damaged (its app.jar does not match the checksum): installing it again"
    rm -rf "${RELEASES_DIR:?}/${existing}"
  fi
  id="$(date +%Y%m%d%H%M%S)-${sum:0:12}"
  mkdir -p "${RELEASES_DIR}/${id}"
  if ! cp "${jar}" "${RELEASES_DIR}/${id}/app.jar.tmp" ||
    [[ "$(sha256sum "${RELEASES_DIR}/${id}/app.jar.tmp" | cut -d' ' -f1)" != "${sum}" ]]; then
    rm -rf "${RELEASES_DIR:?}/${id}"
    echo "cannot copy $(basename "${jar}") into ${RELEASES_DIR} (disk full? $(df -Ph "${RELEASES_DIR}" | awk 'NR == 2 { print $4 " free" }'))" >&2
    return 1
  fi
  echo "${sum}" >"${RELEASES_DIR}/${id}/app.jar.sha256"
  mv -f "${RELEASES_DIR}/${id}/app.jar.tmp" "${RELEASES_DIR}/${id}/app.jar"
  prepare_fast_start "${RELEASES_DIR}/${id}" >&2
  echo "${id}"
}

# release_intact ID SHA256: the release's jar is there and has that checksum.
release_intact() {
  local dir="${RELEASES_DIR}/$1"
  [[ -f "${dir}/app.jar" && "$(cat "${dir}/app.jar.sha256" 2>/dev/null)" == "$2" ]] &&
    [[ "$(sha256sum "${dir}/app.jar" | cut -d' ' -f1)" == "$2" ]]
}

release_jar() { echo "${RELEASES_DIR}/$1/app.jar"; }

# color_release COLOR: the release the color runs (or last ran).
color_release() { cat "$(release_file "$1")" 2>/dev/null || true; }

# prune_releases: keeps the newest KEEP_RELEASES, and always the ones a color runs.
prune_releases() {
  local keep=() id
  for id in "${COLORS[@]}"; do keep+=("$(color_release "${id}")"); done
  find "${RELEASES_DIR}" -mindepth 1 -maxdepth 1 -type d -printf '%T@ %f\n' | sort -rn | cut -d' ' -f2 |
    tail -n +"$((KEEP_RELEASES + 1))" | while IFS= read -r id; do
    [[ " ${keep[*]} " == *" ${id} "* ]] || rm -rf "${RELEASES_DIR:?}/${id}"
  done
}
