# shellcheck shell=bash
# common.sh — what every script needs: strict $(...), exit codes, logging, colors. Sourced, not executed;
# each script then sources the helpers it uses (config.sh, proc.sh, ...), one concern each.

# set -e inside $(...) too: a failing cp in a function whose output is captured must fail the caller.
shopt -s inherit_errexit

# Exit codes (the scripts' contract, see README "Exit codes").
# shellcheck disable=SC2034 # used by the scripts that source this file
readonly EXIT_FAILED=1   # the deploy/switch failed; traffic still goes to the old color
# shellcheck disable=SC2034
readonly EXIT_USAGE=2    # usage or bad input; nothing changed
# shellcheck disable=SC2034
readonly EXIT_LOCKED=3   # another deploy holds the lock, or a staged/promoted deploy waits

SCRIPTS_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
REPO_DIR="$(cd "${SCRIPTS_DIR}/.." && pwd)"
# shellcheck disable=SC2034 # REPO_DIR: used by the settings' defaults (config.sh)
readonly SCRIPTS_DIR REPO_DIR
# shellcheck disable=SC2034 # used by the other helpers
readonly COLORS=(blue green)
SCRIPT_NAME="$(basename "$0")"
readonly SCRIPT_NAME

[[ "${TRACE:-}" == 1 ]] && set -x

log() { printf '==> %s\n' "$*"; }
info() { printf '    %s\n' "$*"; }
warn() { printf '%s: warning: %s\n' "${SCRIPT_NAME}" "$*" >&2; }

# die CODE MESSAGE: one line on stderr saying what and why, then exit with the contract's code.
die() {
  local code="$1"
  shift
  printf '%s: error: %s\n' "${SCRIPT_NAME}" "$*" >&2
  exit "${code}"
}

# require_tools COMMAND...: commands a script needs besides the deploy tools of tools.tsv (config.sh
# check_tools), e.g. the demo's javac.
require_tools() {
  local tool
  for tool in "$@"; do
    command -v "${tool}" >/dev/null || die "${EXIT_USAGE}" "${tool} is not installed (needed by ${SCRIPT_NAME})"
  done
}

# canonical_path PATH: absolute, without symlinks, "..", or a trailing slash (it may not exist yet).
canonical_path() { realpath -m -- "$1"; }

# tcp_reachable HOST PORT: something accepts TCP connections there.
tcp_reachable() { (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; }

is_color() { [[ "$1" == blue || "$1" == green ]]; }
other_color() { if [[ "$1" == blue ]]; then echo green; else echo blue; fi; }
color_port() { if [[ "$1" == blue ]]; then echo "${BLUE_PORT}"; else echo "${GREEN_PORT}"; fi; }
color_management_port() { if [[ "$1" == blue ]]; then echo "${BLUE_MANAGEMENT_PORT}"; else echo "${GREEN_MANAGEMENT_PORT}"; fi; }

now_ms() { date +%s%3N; }

# seconds MS: milliseconds as seconds with one decimal.
seconds() { printf '%d.%d' "$(($1 / 1000))" "$((($1 % 1000) / 100))"; }
