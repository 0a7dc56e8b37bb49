#!/usr/bin/env bash
# loadgen.sh — the project's load generator from the command line: the one the deploy tests use
# (src/test/java/com/example/bluegreen/support/LoadGenerator.java), run by scripts/bench.sh and
# scripts/demo.sh. Open loop at a fixed rate over keep-alive connections, no retries, latency from the
# intended send time. Compiled with the JDK on first use (no Maven, no test run) into target/loadgen/.
set -Eeuo pipefail

# shellcheck source=scripts/lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

readonly SUPPORT_DIR="${REPO_DIR}/src/test/java/com/example/bluegreen/support"
# The generator and all it needs besides the JDK and HdrHistogram; keep it that way (the bench smoke test
# compiles it through this script).
readonly SOURCES=("${SUPPORT_DIR}/LoadGeneratorCommand.java" "${SUPPORT_DIR}/LoadGenerator.java"
  "${SUPPORT_DIR}/HttpConnection.java")
readonly MAIN_CLASS=com.example.bluegreen.support.LoadGeneratorCommand
readonly BUILD_DIR="${LOADGEN_BUILD_DIR:-${REPO_DIR}/target/loadgen}"

usage() {
  cat >&2 <<'USAGE'
usage: loadgen.sh build
       loadgen.sh rate --url URL --rate R --connections C [--out FILE] [--stop-file F] [--max-seconds S] [--mix mixed|version]
       loadgen.sh max --url URL --connections C --seconds S [--warmup S] [--mix version|mixed] [--every-ms MS]
       loadgen.sh analyze --samples FILE --events FILE --out-prefix P [--grace-ms MS] [--bucket-ms MS]

rate: open loop, R requests/s in all over C keep-alive connections (mixed: 10% POST /api/orders, 10% GET
/hash/{input}, 80% GET /api/version), until F exists or S seconds passed; prints one summary line
(requests, failed, p50/p99/max in ms). max: closed loop, throughput at saturation. analyze: the
benchmark's latency and failures around events. build: only compile.

Needs a JDK (java, javac) and HdrHistogram: from target/app.jar (./mvnw package) or the local Maven
repository (~/.m2). The options in full: LoadGeneratorCommand.java.
USAGE
}

# hdrhistogram_jar DIR: copies HdrHistogram into DIR and prints its path: the one in target/app.jar (what
# the build resolved), else the newest in the local Maven repository.
hdrhistogram_jar() {
  local dir="$1" app_jar="${REPO_DIR}/target/app.jar" found
  if [[ -f "${app_jar}" ]] && unzip -q -o -j "${app_jar}" 'BOOT-INF/lib/HdrHistogram-*.jar' -d "${dir}" 2>/dev/null; then
    found="$(find "${dir}" -maxdepth 1 -name 'HdrHistogram-*.jar' | head -n1)" || true
  else
    found="$(find "${MAVEN_REPOSITORY:-${HOME}/.m2/repository}/org/hdrhistogram/HdrHistogram" -name 'HdrHistogram-*.jar' \
      ! -name '*-sources.jar' ! -name '*-javadoc.jar' 2>/dev/null | sort -V | tail -n1)"
    [[ -n "${found}" ]] && cp "${found}" "${dir}/" && found="${dir}/$(basename "${found}")"
  fi
  [[ -n "${found}" ]] ||
    die "${EXIT_USAGE}" "HdrHistogram not found in target/app.jar nor in ~/.m2: build once (./mvnw package -DskipTests)"
  echo "${found}"
}

# build: the compiled generator for these sources and this JDK, compiled once into BUILD_DIR/KEY; prints
# its class path. Concurrent runs each compile into a temp directory; the first to rename it wins.
build() {
  local key dir tmp jar
  key="$(cat "${SOURCES[@]}" <(javac -version 2>&1) | sha256sum | cut -c1-16)"
  dir="${BUILD_DIR}/${key}"
  if [[ ! -f "${dir}/classpath" ]]; then
    mkdir -p "${BUILD_DIR}"
    tmp="$(mktemp -d "${BUILD_DIR}/build.XXXXXX")"
    jar="$(hdrhistogram_jar "${tmp}")"
    javac -nowarn -d "${tmp}/classes" -cp "${jar}" "${SOURCES[@]}" >"${tmp}/javac.log" 2>&1 || {
      cat "${tmp}/javac.log" >&2
      rm -rf "${tmp}"
      die "${EXIT_FAILED}" "compiling the load generator failed"
    }
    echo "${dir}/classes:${dir}/$(basename "${jar}")" >"${tmp}/classpath"
    mv -T "${tmp}" "${dir}" 2>/dev/null || rm -rf "${tmp}"
  fi
  cat "${dir}/classpath"
}

main() {
  [[ $# -ge 1 ]] || { usage; exit "${EXIT_USAGE}"; }
  require_tools java javac unzip sha256sum
  local classpath
  case "$1" in
    build) build >/dev/null ;;
    rate | max | analyze)
      classpath="$(build)"
      exec java -XX:+UseSerialGC -Xmx512m -cp "${classpath}" "${MAIN_CLASS}" "$@"
      ;;
    -h | --help) usage ;;
    *) usage; exit "${EXIT_USAGE}" ;;
  esac
}

main "$@"
