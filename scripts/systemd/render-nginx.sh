#!/usr/bin/env bash
# render-nginx.sh — root's nginx config on a host set up by ansible/site.yml: the project's templates
# rendered with the host's settings (/etc/bluegreen/deploy.env, root's, rendered by the playbook) into NGINX_DIR
# (root's, e.g. /etc/nginx/bluegreen), tested with nginx -t; a config that fails is swapped back. Prints
# "changed" or "unchanged" (the playbook reloads nginx on "changed"). Run as root; it reads no file the
# deploy user can write.
set -Eeuo pipefail

# shellcheck source=scripts/lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"
# shellcheck source=scripts/lib/config.sh
source "${SCRIPTS_DIR}/lib/config.sh"
# shellcheck source=scripts/lib/proc.sh
source "${SCRIPTS_DIR}/lib/proc.sh"
# shellcheck source=scripts/lib/nginx.sh
source "${SCRIPTS_DIR}/lib/nginx.sh"

main() {
  local error
  ((EUID == 0)) || die "${EXIT_USAGE}" "render-nginx.sh renders root's nginx config: run it as root"
  load_root_config
  # The deploy user's settings leave nginx -t out (root's config); root tests what it renders.
  NGINX_TEST_CMD="${NGINX_BIN} -t -q"
  if [[ -d "$(current_config)" ]] && ! nginx_config_changed; then
    echo unchanged
    return 0
  fi
  error="$(render_nginx)" || die "${EXIT_FAILED}" "the rendered nginx config fails nginx -t, the previous one stays: ${error}"
  echo changed
}

main "$@"
