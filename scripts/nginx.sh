#!/usr/bin/env bash
# nginx.sh — the private, unprivileged nginx under APP_HOME (local use, the demo, the tests), and the
# rendering of the nginx config for your own nginx on a server.
set -Eeuo pipefail

# shellcheck source=scripts/lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
# shellcheck source=scripts/lib/config.sh
source "${SCRIPTS_DIR}/lib/config.sh"
# shellcheck source=scripts/lib/proc.sh
source "${SCRIPTS_DIR}/lib/proc.sh"
# shellcheck source=scripts/lib/nginx.sh
source "${SCRIPTS_DIR}/lib/nginx.sh"
# shellcheck source=scripts/lib/state.sh
source "${SCRIPTS_DIR}/lib/state.sh"

usage() {
  cat >&2 <<'USAGE'
usage: nginx.sh start|stop|reload|test|render

  start   render the config into APP_HOME/nginx, test it, start nginx (reload it when running)
  stop    graceful stop (requests in flight finish)
  reload  test, then reload (NGINX_RELOAD_CMD)
  test    nginx -t on the installed config
  render  render and test the config only: for a system nginx that includes APP_HOME/nginx/conf.d/*.conf
USAGE
}

nginx_args() { echo "-p ${NGINX_DIR}/ -e ${NGINX_DIR}/logs/error.log -c ${NGINX_CONF}"; }

render_or_die() {
  local error
  error="$(render_nginx)" || die "${EXIT_USAGE}" "the rendered nginx config fails nginx -t, the previous one stays: ${error}"
  link_missing_slots
}

start() {
  local args pid output deadline
  render_or_die
  pid="$(nginx_master_pid)"
  if [[ -n "${pid}" ]]; then
    nginx_reload || die "${EXIT_FAILED}" "nginx (pid ${pid}) is running but did not reload"
    log "nginx (pid ${pid}) was running: reloaded with the rendered config"
    return
  fi
  remove_stale_relay_sockets
  read -ra args <<<"$(nginx_args)"
  output="$(without_lock_fd "${NGINX_BIN}" "${args[@]}" 2>&1)" ||
    die "${EXIT_FAILED}" "nginx did not start: $(grep -m1 -E 'emerg|alert|crit' <<<"${output}" || echo "${output}")"
  deadline=$((SECONDS + 10))
  until [[ -n "$(nginx_master_pid)" ]] || ((SECONDS >= deadline)); do sleep 0.1; done
  [[ -n "$(nginx_master_pid)" ]] || die "${EXIT_FAILED}" "nginx did not write ${NGINX_PID_FILE}"
  log "nginx (pid $(nginx_master_pid)) listens on ${PUBLIC_PORT}${TLS_CERT:+ and ${TLS_PORT} (TLS)}; config in ${NGINX_DIR}"
}

stop() {
  local pid deadline
  pid="$(nginx_master_pid)"
  if [[ -z "${pid}" ]]; then
    log "nginx is not running"
    return
  fi
  kill -QUIT "${pid}"
  deadline=$((SECONDS + 30))
  while is_alive "${pid}" && ((SECONDS < deadline)); do sleep 0.1; done
  is_alive "${pid}" && die "${EXIT_FAILED}" "nginx (pid ${pid}) did not stop within 30s"
  log "nginx stopped"
}

main() {
  [[ $# -eq 1 ]] || { usage; exit "${EXIT_USAGE}"; }
  check_tools
  load_config
  ensure_dirs
  # One change at a time: a deploy's nginx -t or switch never meets a half-rendered config.
  [[ "$1" == test ]] || take_lock
  local error
  case "$1" in
    start) start ;;
    stop) stop ;;
    reload)
      error="$(nginx_test)" || die "${EXIT_USAGE}" "nginx config fails nginx -t, not reloaded: ${error}"
      nginx_reload || die "${EXIT_FAILED}" "nginx reload failed (${NGINX_RELOAD_CMD})"
      log "nginx reloaded"
      ;;
    test)
      error="$(nginx_test)" || die "${EXIT_USAGE}" "nginx config fails nginx -t: ${error}"
      log "nginx config in ${NGINX_DIR} is valid"
      ;;
    render)
      render_or_die
      log "nginx config rendered into ${NGINX_DIR}: include ${NGINX_DIR}/conf.d/*.conf in your nginx's http block"
      ;;
    *) usage; exit "${EXIT_USAGE}" ;;
  esac
}

main "$@"
