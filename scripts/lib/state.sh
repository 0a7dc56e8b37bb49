# shellcheck shell=bash
# state.sh — the lock, the journal of a running deploy, the deploy history and the releases.

journal_file() { echo "${STATE_DIR}/journal"; }
history_file() { echo "${STATE_DIR}/deploys.jsonl"; }

# take_lock: one deploy, switch, rollback or stop at a time per APP_HOME; a second one exits 3 at once.
take_lock() {
  local holder=""
  exec {LOCK_FD}>>"${STATE_DIR}/lock"
  if ! flock -n "${LOCK_FD}"; then
    holder="$(cat "${STATE_DIR}/lock.owner" 2>/dev/null || true)"
    die "${EXIT_LOCKED}" "another deploy is running${holder:+ (${holder})}; the lock is ${STATE_DIR}/lock"
  fi
  printf '%s pid %s since %s\n' "${SCRIPT_NAME}" "$$" "$(date -Is)" >"${STATE_DIR}/lock.owner"
}

# journal_write KEY=VALUE...: the journal of the running deploy, rewritten atomically at each phase, so
# a run that was killed leaves behind how far it got.
journal_write() {
  local tmp
  tmp="$(mktemp "${STATE_DIR}/.journal.XXXXXX")"
  printf '%s\n' "$@" >"${tmp}"
  mv -f "${tmp}" "$(journal_file)"
}

# journal_get KEY: a value from the journal, or nothing.
journal_get() {
  sed -n "s/^$1=//p" "$(journal_file)" 2>/dev/null | tail -n1
}

journal_clear() { rm -f "$(journal_file)"; }

# record_history JSON: one line per deploy in deploys.jsonl.
record_history() {
  printf '%s\n' "$1" >>"$(history_file)"
}

# install_release JAR: copies the jar to releases/<id>/app.jar (id: time + checksum); the same jar
# deployed again reuses its release. Prints the release id.
install_release() {
  local jar="$1" sum existing id
  # Fast start: the release's extracted jar and CDS/AOT archive, built here once per release and JDK.
  sum="$(sha256sum "${jar}" | cut -c1-12)"
  existing="$(find "${RELEASES_DIR}" -mindepth 1 -maxdepth 1 -type d -name "*-${sum}" -printf '%f\n' | head -n1)"
  if [[ -n "${existing}" && -f "${RELEASES_DIR}/${existing}/app.jar" ]]; then
    touch "${RELEASES_DIR}/${existing}"
    prepare_fast_start "${RELEASES_DIR}/${existing}" >&2
    echo "${existing}"
    return
  fi
  id="$(date +%Y%m%d%H%M%S)-${sum}"
  mkdir -p "${RELEASES_DIR}/${id}"
  cp "${jar}" "${RELEASES_DIR}/${id}/app.jar.tmp"
  mv -f "${RELEASES_DIR}/${id}/app.jar.tmp" "${RELEASES_DIR}/${id}/app.jar"
  prepare_fast_start "${RELEASES_DIR}/${id}" >&2
  echo "${id}"
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
