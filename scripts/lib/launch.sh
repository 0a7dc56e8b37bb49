# shellcheck shell=bash
# launch.sh — fast start of a color. Per release, once: the jar extracted into plain jars
# (java -Djarmode=tools extract) and a class data archive from a training run that stops right after the
# context refresh (-Dspring.context.exit=onRefresh): a CDS archive on JDK 17-23 (-XX:ArchiveClassesAtExit,
# used with -XX:SharedArchiveFile), the AOT cache on JDK 24+ (-XX:AOTCacheOutput, or AOTMode=record/create
# on JDK 24; used with -XX:AOTCache). install_release builds it, start_color uses it, FAST_START=false
# turns it off. Whatever is not supported (an old JDK, a jar without Boot 3.3's jarmode tools, JAVA_OPTS
# that set class data sharing themselves, a failed training run) leaves the release starting plain, with
# a one-line note.
#
# releases/<id>/extracted/          app.jar + lib/ (JDK-independent)
# releases/<id>/fast-start/<key>/   app.jsa or app.aot, training.log, verify.log; <key> = the JDK build
#
# An archive fits one JDK build. JAVA_OPTS (heap, GC) do not invalidate it; each deploy checks that the
# JVM maps it with the current JAVA_OPTS (-Xshare:on / -XX:AOTMode=on, a -version run) and trains again
# when it does not.

fast_start_enabled() { [[ "${FAST_START:-true}" == true ]]; }

# java_home_of JAVA: the JDK directory of a java binary (through symlinks such as /usr/bin/java).
java_home_of() {
  local bin
  bin="$(command -v "$1" 2>/dev/null)" || return 1
  bin="$(readlink -f "${bin}")"
  dirname "$(dirname "${bin}")"
}

# java_release_field JAVA FIELD: a field of the JDK's release file (JAVA_VERSION, JAVA_RUNTIME_VERSION).
java_release_field() {
  local home
  home="$(java_home_of "$1")" || return 0
  sed -n "s/^$2=\"\\(.*\\)\"$/\\1/p" "${home}/release" 2>/dev/null | head -n1 || true # no release file: nothing
}

# java_version_output JAVA: what `JAVA -version` prints, asked once per JAVA and bounded by
# JAVA_PROBE_TIMEOUT (a java that hangs must not hang the deploy).
declare -A JAVA_VERSION_OUTPUT=()
java_version_output() {
  if [[ ! -v JAVA_VERSION_OUTPUT[$1] ]]; then
    JAVA_VERSION_OUTPUT[$1]="$(without_lock_fd timeout "${JAVA_PROBE_TIMEOUT}" "$1" -version 2>&1 </dev/null || true)"
  fi
  printf '%s\n' "${JAVA_VERSION_OUTPUT[$1]}"
}

# probe_java: with FAST_START, asks JAVA_BIN its version once, in this shell, when its JDK has no release
# file (the $(...) calls below then find the answer instead of asking again).
probe_java() {
  fast_start_enabled || return 0
  [[ -n "$(java_release_field "${JAVA_BIN}" JAVA_VERSION)" ]] || java_version_output "${JAVA_BIN}" >/dev/null
}

# java_feature JAVA: the JDK's feature release (17, 21, 25, or 8 for "1.8.0"), or nothing when it cannot
# be told.
java_feature() {
  local version
  version="$(java_release_field "$1" JAVA_VERSION)"
  if [[ -z "${version}" ]]; then
    version="$(java_version_output "$1" | sed -n 's/.*version "\([^"]*\)".*/\1/p' | head -n1)" || true
  fi
  version="${version#1.}"
  [[ "${version%%[.+-]*}" =~ ^[0-9]+$ ]] && echo "${version%%[.+-]*}"
  return 0
}

# fast_start_kind JAVA: cds (JDK 17-23) or aot (JDK 24+); nothing for older JDKs.
fast_start_kind() {
  local feature
  feature="$(java_feature "$1")"
  [[ -n "${feature}" ]] || return 0
  if ((feature >= 24)); then echo aot; elif ((feature >= 17)); then echo cds; fi
}

# fast_start_key: the archive's directory name: it fits one JDK build.
fast_start_key() {
  local build
  build="$(java_release_field "${JAVA_BIN}" JAVA_RUNTIME_VERSION)"
  [[ -n "${build}" ]] || build="$(java_version_output "${JAVA_BIN}" | tr '\n' ' ')"
  printf 'jdk%s-%s\n' "$(java_feature "${JAVA_BIN}")" \
    "$(printf '%s\n%s\n' "$(java_home_of "${JAVA_BIN}")" "${build}" | sha256sum | cut -c1-10)"
}

# training_options: JAVA_OPTS without what must not run twice next to the live color: log files
# (-Xlog:...:file= would truncate the live color's), agents, JFR recordings, a JMX port.
training_options() {
  local option
  read -ra TRAINING_OPTIONS <<<"${JAVA_OPTS}"
  for option in "${!TRAINING_OPTIONS[@]}"; do
    case "${TRAINING_OPTIONS[${option}]}" in
      -Xlog* | -javaagent* | -agentlib* | -agentpath* | -XX:StartFlightRecording* | \
        -XX:FlightRecorderOptions* | -Dcom.sun.management.jmxremote*)
        unset "TRAINING_OPTIONS[${option}]"
        ;;
    esac
  done
  TRAINING_OPTIONS=("${TRAINING_OPTIONS[@]}")
}

extracted_jar() { echo "$1/extracted/app.jar"; }
fast_start_cache() { echo "$1/fast-start/$(fast_start_key)"; }

# archive_file RELEASE_DIR: the archive start_color uses with this JDK (it may not exist).
archive_file() {
  local name=app.jsa
  [[ "$(fast_start_kind "${JAVA_BIN}")" == aot ]] && name=app.aot
  echo "$(fast_start_cache "$1")/${name}"
}

archive_label() { if [[ "$(fast_start_kind "${JAVA_BIN}")" == aot ]]; then echo "AOT cache"; else echo "CDS archive"; fi; }

# fast_start_unsupported JAR: why fast start does not apply to JAR with this JAVA_BIN and JAVA_OPTS;
# nothing when it does.
fast_start_unsupported() {
  local jar="$1" feature
  if ! fast_start_enabled; then
    echo "FAST_START=${FAST_START}"
    return
  fi
  if [[ " ${JAVA_OPTS} " =~ \ -(Xshare:|XX:SharedArchiveFile|XX:ArchiveClassesAtExit|XX:AOTCache|XX:AOTMode|XX:AOTConfiguration) ]]; then
    echo "JAVA_OPTS sets class data sharing itself"
    return
  fi
  feature="$(java_feature "${JAVA_BIN}")"
  if [[ -z "${feature}" ]] || ((feature < 17)); then
    echo "JDK ${feature:-of unknown version} at ${JAVA_BIN}: needs JDK 17 or newer"
    return
  fi
  if [[ "$(unzip -Z1 "${jar}" 2>/dev/null)" != *$'\n'BOOT-INF/lib/spring-boot-jarmode-tools-* ]]; then
    echo "$(basename "${jar}") is not a Spring Boot 3.3+ jar (no spring-boot-jarmode-tools to extract it)"
  fi
}

# fast_start_budget: seconds left of FAST_START_TIMEOUT for this release's archive (at least 1).
fast_start_budget() {
  local left=$((FAST_START_DEADLINE - SECONDS))
  echo $((left > 0 ? left : 1))
}

# extract_release RELEASE_DIR: app.jar extracted into RELEASE_DIR/extracted (once).
extract_release() {
  local release_dir="$1" tmp
  [[ -f "$(extracted_jar "${release_dir}")" ]] && return 0
  tmp="$(mktemp -d "${release_dir}/.extracted.XXXXXX")"
  if ! without_lock_fd nice -n 10 timeout "$(fast_start_budget)" "${JAVA_BIN}" -Djarmode=tools -jar "${release_dir}/app.jar" extract --destination "${tmp}" \
    </dev/null >"${release_dir}/extract.log" 2>&1; then
    rm -rf "${tmp}"
    return 1
  fi
  rm -rf "${release_dir}/extracted"
  mv -T "${tmp}" "${release_dir}/extracted"
}

# train_archive RELEASE_DIR OUTPUT: the training run: the app starts from the extracted jar with this
# JAVA_BIN and JAVA_OPTS, stops after the context refresh (no port, no broker connection), and the JVM
# writes the archive. Bounded by what is left of FAST_START_TIMEOUT; niced, so the live color keeps the CPU it needs.
train_archive() {
  local release_dir="$1" output="$2" extra_args jar log config
  training_options
  read -ra extra_args <<<"${APP_ARGS:-}"
  jar="$(extracted_jar "${release_dir}")"
  log="$(dirname "${output}")/training.log"
  local run=(nice -n 10 timeout "$(fast_start_budget)" "${JAVA_BIN}" "${TRAINING_OPTIONS[@]}")
  local app=(-Dspring.context.exit=onRefresh -jar "${jar}" "${extra_args[@]}" --server.port=0)
  case "$(fast_start_kind "${JAVA_BIN}")/$(java_feature "${JAVA_BIN}")" in
    cds/*)
      without_lock_fd "${run[@]}" "-XX:ArchiveClassesAtExit=${output}" "${app[@]}" </dev/null >"${log}" 2>&1
      ;;
    aot/24)
      config="${output%.*}.aotconf"
      without_lock_fd "${run[@]}" -XX:AOTMode=record "-XX:AOTConfiguration=${config}" "${app[@]}" \
        </dev/null >"${log}" 2>&1 &&
        run[4]="$(fast_start_budget)"
        without_lock_fd "${run[@]}" -XX:AOTMode=create "-XX:AOTConfiguration=${config}" "-XX:AOTCache=${output}" \
          -cp "${jar}" </dev/null >>"${log}" 2>&1
      ;;
    aot/*)
      without_lock_fd "${run[@]}" "-XX:AOTCacheOutput=${output}" "${app[@]}" </dev/null >"${log}" 2>&1
      ;;
  esac
  [[ -s "${output}" ]]
}

# archive_usable RELEASE_DIR ARCHIVE: the JVM maps the archive for the extracted jar's class path with
# JAVA_OPTS, or refuses to start (-Xshare:on / -XX:AOTMode=on turn "not usable" into an error).
archive_usable() {
  local jar require
  jar="$(extracted_jar "$1")"
  training_options
  if [[ "$(fast_start_kind "${JAVA_BIN}")" == aot ]]; then
    require=(-XX:AOTMode=on "-XX:AOTCache=$2" -Xlog:aot=info)
  else
    require=(-Xshare:on "-XX:SharedArchiveFile=$2" -Xlog:cds=info)
  fi
  without_lock_fd timeout "$(fast_start_budget)" "${JAVA_BIN}" "${TRAINING_OPTIONS[@]}" "${require[@]}" -cp "${jar}" -version \
    </dev/null >"$(dirname "$2")/verify.log" 2>&1
}

# prepare_fast_start RELEASE_DIR: builds the release's archive for this JDK unless it is there and
# usable with JAVA_OPTS (or failed before). Never fails: a release without an archive starts plain.
# Prints at most one note and one progress line.
prepare_fast_start() {
  local release_dir="$1" reason cache archive tmp started label
  local release="${release_dir##*/}"
  FAST_START_DEADLINE=$((SECONDS + FAST_START_TIMEOUT))
  probe_java
  reason="$(fast_start_unsupported "${release_dir}/app.jar")"
  if [[ -n "${reason}" ]]; then
    info "fast start off for ${release}: ${reason}; it starts plain"
    return 0
  fi
  cache="$(fast_start_cache "${release_dir}")"
  archive="$(archive_file "${release_dir}")"
  label="$(archive_label)"
  if [[ -f "${archive}" ]]; then
    archive_usable "${release_dir}" "${archive}" && return 0
    info "fast start: the ${label} of ${release} does not map with these JAVA_OPTS (${cache}/verify.log): training again"
    rm -f "${archive}"
  fi
  if [[ -f "${cache}/failed" ]]; then
    info "fast start off for ${release}: its training run failed before (${cache}/training.log); it starts plain"
    return 0
  fi
  mkdir -p "${cache}"
  started="$(now_ms)"
  log "fast start: building the ${label} of ${release} for JDK $(java_feature "${JAVA_BIN}") (once per release)"
  if ! extract_release "${release_dir}"; then
    touch "${cache}/failed"
    info "fast start off for ${release}: extracting the jar failed (${release_dir}/extract.log); it starts plain"
    return 0
  fi
  tmp="${archive%.*}.tmp.${archive##*.}"
  rm -f "${tmp}"
  if ! train_archive "${release_dir}" "${tmp}" || ! archive_usable "${release_dir}" "${tmp}"; then
    rm -f "${tmp}" "${tmp%.*}.aotconf"
    touch "${cache}/failed"
    info "fast start off for ${release}: the training run did not give a usable ${label} (${cache}/training.log, verify.log); it starts plain"
    return 0
  fi
  rm -f "${tmp%.*}.aotconf"
  mv -f "${tmp}" "${archive}"
  info "${label} ready in $(seconds "$(($(now_ms) - started))")s: $(du -m "${archive}" | cut -f1) MiB, verified with $(
    [[ "$(fast_start_kind "${JAVA_BIN}")" == aot ]] && echo "-XX:AOTMode=on" || echo "-Xshare:on")"
}

# launch_args JAR [LOG]: what follows the JVM options on start_color's java command line, one per line:
# the archive option and the extracted jar when the release has an archive for this JDK, else -jar JAR.
# Notes the choice in LOG.
launch_args() {
  local jar="$1" log="${2:-/dev/null}" release_dir archive reason
  probe_java
  release_dir="$(dirname "${jar}")"
  reason="$(fast_start_unsupported "${jar}")"
  archive=""
  [[ -z "${reason}" ]] && archive="$(archive_file "${release_dir}")"
  if [[ -n "${archive}" && -f "${archive}" && -f "$(extracted_jar "${release_dir}")" ]]; then
    printf '=== fast start: %s %s\n' "$(archive_label)" "${archive}" >>"${log}"
    if [[ "$(fast_start_kind "${JAVA_BIN}")" == aot ]]; then
      echo "-XX:AOTCache=${archive}"
    else
      echo "-XX:SharedArchiveFile=${archive}"
    fi
    printf '%s\n' -jar "$(extracted_jar "${release_dir}")"
    return
  fi
  printf '=== fast start: off (%s)\n' "${reason:-no archive for this JDK}" >>"${log}"
  printf '%s\n' -jar "${jar}"
}

# archive_in_use PID: the archive the running JVM has mapped (the kernel's view: no log parsing), or
# nothing when it runs without one of ours.
archive_in_use() {
  grep -oE '/[^ ]*/fast-start/[^ ]*/app\.(jsa|aot)$' "/proc/$1/maps" 2>/dev/null | head -n1 || true
  return 0
}
