#!/usr/bin/env bash
# before-install.sh — BeforeInstall, as the app user, before the agent installs any file: the host can run
# this revision (tools, nginx, a Java at least as new as the jar's classes, free space in APP_HOME) and
# appspec.yml's timeouts cover the worst case of the scripts with this configuration. Changes nothing, so
# a failure here leaves the host as it was. Idempotent.
set -Eeuo pipefail

# shellcheck source=scripts/codedeploy/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# jar_java_feature JAR: the Java release the jar's Start-Class was compiled for (class file major - 44).
jar_java_feature() {
  local class major minor
  class="$(unzip -p "$1" META-INF/MANIFEST.MF | tr -d '\r' | sed -n 's/^Start-Class: *//p')"
  read -r major minor < <(unzip -p "$1" "BOOT-INF/classes/${class//.//}.class" | od -An -tu1 -j6 -N2)
  echo $((major * 256 + minor - 44))
}

check_java() {
  local have need
  command -v "${JAVA_BIN}" >/dev/null ||
    hook_fail "java not found (JAVA_BIN=${JAVA_BIN}): install a JRE (apt-get install openjdk-17-jre-headless) or set JAVA_BIN in deploy.env"
  have="$(java_feature "${JAVA_BIN}")" # scripts/lib/launch.sh
  need="$(jar_java_feature "${BUNDLE_JAR}")"
  [[ -n "${have}" ]] || hook_fail "cannot tell the version of ${JAVA_BIN} ($(java_version_output "${JAVA_BIN}" | head -n1))"
  ((have >= need)) || hook_fail "${JAVA_BIN} is Java ${have}; app.jar needs Java ${need} or newer"
  JAVA_FEATURE="${have}"
}

# existing_ancestor DIR: DIR or its nearest parent that exists (APP_HOME may not exist yet).
existing_ancestor() {
  local dir="$1"
  while [[ ! -d "${dir}" ]]; do dir="$(dirname "${dir}")"; done
  echo "${dir}"
}

# check_disk: APP_HOME's file system holds the release and the installed revision (each a copy of the
# jar) plus MIN_FREE_MB for logs.
check_disk() {
  local dir free_mb jar_mb need_mb
  dir="$(existing_ancestor "${APP_HOME}")"
  free_mb="$(df -Pk "${dir}" | awk 'NR == 2 { print int($4 / 1024) }')"
  jar_mb=$((($(stat -c %s "${BUNDLE_JAR}") + 1048575) / 1048576))
  need_mb=$((2 * jar_mb + MIN_FREE_MB))
  ((free_mb >= need_mb)) ||
    hook_fail "${dir} has ${free_mb} MB free; this revision needs ${need_mb} MB (2 x ${jar_mb} MB jar + MIN_FREE_MB=${MIN_FREE_MB}): free some space (old releases: KEEP_RELEASES)"
  FREE_MB="${free_mb}"
}

# check_bash: the deploy scripts expand possibly empty arrays under `set -u`, which bash before 4.4 (e.g.
# Amazon Linux 2's 4.2) treats as an error.
check_bash() {
  ((BASH_VERSINFO[0] > 4 || (BASH_VERSINFO[0] == 4 && BASH_VERSINFO[1] >= 4))) ||
    hook_fail "bash ${BASH_VERSION} is too old for the deploy scripts: they need bash 4.4 or newer"
}

# check_server_tools: the scripts' tools (scripts/lib/tools.tsv), what the hooks use besides, and nginx.
check_server_tools() {
  local tool
  check_tools
  for tool in od df; do
    command -v "${tool}" >/dev/null || hook_fail "${tool} is not installed (needed by the hooks)"
  done
  [[ -x "${NGINX_BIN}" ]] || hook_fail "nginx not found at NGINX_BIN=${NGINX_BIN} (install it: apt-get install nginx)"
}

check_app_home() {
  [[ -d "${APP_HOME}" && -w "${APP_HOME}" ]] ||
    hook_fail "APP_HOME=${APP_HOME} is missing or not writable by $(id -un) (prepare-app-home.sh creates it as root)"
}

main() {
  [[ $# -eq 0 ]] || { echo "usage: before-install.sh (a CodeDeploy hook)" >&2; exit "${EXIT_USAGE}"; }
  check_bash
  load_hook_config
  [[ -f "${BUNDLE_JAR}" ]] || hook_fail "the bundle has no app.jar next to appspec.yml"
  check_server_tools
  check_java
  check_disk
  check_app_home
  check_hook_timeout ApplicationStart "$(worst_case deploy)"
  check_hook_timeout ValidateService "$(worst_case validate)"
  hook_log "host ready for $(release_version "${BUNDLE_JAR}"): Java ${JAVA_FEATURE}, ${FREE_MB} MB free, APP_HOME ${APP_HOME}; deploy worst case $(worst_case deploy)s"
}

main "$@"
