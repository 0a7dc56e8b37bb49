#!/usr/bin/env bash
# nginx-switch.sh blue|green — reload mode on a host set up by ansible/site.yml: points root's nginx at a
# color (active.conf), tests and reloads it; a config that fails is put back. Run as root through the
# deploy user's exact sudo lines (NGINX_SWITCH_CMD); takes nothing but the color from its caller. The
# playbook's root-owned wrapper sets NGINX_DIR, NGINX_BIN and the reload command: sudo clears the rest.
set -Eeuo pipefail

# shellcheck source=scripts/lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"
# shellcheck source=scripts/lib/nginx.sh
source "${SCRIPTS_DIR}/lib/nginx.sh"

main() {
  local color="${1:-}" error
  [[ $# -eq 1 ]] || die "${EXIT_USAGE}" "usage: nginx-switch.sh blue|green"
  is_color "${color}" || die "${EXIT_USAGE}" "usage: nginx-switch.sh blue|green"
  [[ -n "${NGINX_DIR:-}" && -n "${NGINX_BIN:-}" && -n "${NGINX_RELOAD_CMD:-}" ]] ||
    die "${EXIT_USAGE}" "NGINX_DIR, NGINX_BIN and NGINX_RELOAD_CMD must be set (the playbook's wrapper sets them)"
  NGINX_TEST_CMD="${NGINX_BIN} -t -q"
  error="$(point_nginx "${color}" reload)" || die "${EXIT_FAILED}" "${error}"
  log "nginx points at ${color}"
}

main "$@"
