# shellcheck shell=bash
# nginx.sh — render nginx's config, test, reload, and the live pointer: the run/live.sock symlink in
# socket mode, the active.conf include in reload mode. Nothing else decides which color is live.

readonly NGINX_TEMPLATES="${REPO_DIR}/nginx"

active_conf() { echo "${NGINX_DIR}/active.conf"; }
live_link() { echo "${RUN_DIR}/live.sock"; }

# render_nginx: the templates with @TOKENS@ replaced go into NGINX_DIR and are tested with nginx -t; a
# config that fails the test is replaced by the previous one again (and nginx's complaint printed).
# active.conf (the live pointer) is written only when it does not exist yet.
render_nginx() {
  local staging backup file rel error
  staging="$(mktemp -d "${APP_HOME}/.nginx-new.XXXXXX")"
  backup="$(mktemp -d "${APP_HOME}/.nginx-old.XXXXXX")"
  while IFS= read -r file; do
    rel="${file#"${NGINX_TEMPLATES}"/}"
    [[ "${rel}" == active.conf ]] && continue
    [[ "${rel}" == conf.d/app-tls.conf && -z "${TLS_CERT}" ]] && continue
    mkdir -p "${staging}/$(dirname "${rel}")"
    render_template "${file}" >"${staging}/${rel}"
  done < <(find "${NGINX_TEMPLATES}" -type f -name '*.conf')
  mkdir -p "${NGINX_DIR}/logs" "${NGINX_DIR}/tmp"
  # nginx's workers (www-data when nginx starts as root) write request bodies and large responses to
  # temp files under tmp/: they must be able to reach it.
  chmod 0751 "${NGINX_DIR}" "${NGINX_DIR}/tmp"
  for rel in nginx.conf conf.d snippets; do
    [[ -e "${NGINX_DIR}/${rel}" ]] && mv "${NGINX_DIR}/${rel}" "${backup}/"
  done
  cp -R "${staging}/." "${NGINX_DIR}/"
  [[ -f "$(active_conf)" ]] || render_template "${NGINX_TEMPLATES}/active.conf" >"$(active_conf)"
  if ! error="$(nginx_test)"; then
    rm -rf "${NGINX_DIR}/nginx.conf" "${NGINX_DIR}/conf.d" "${NGINX_DIR}/snippets"
    cp -R "${backup}/." "${NGINX_DIR}/"
    rm -rf "${staging}" "${backup}"
    echo "${error}"
    return 1
  fi
  rm -rf "${staging}" "${backup}"
}

# shellcheck disable=SC2153 # TLS_PORT is a setting from common.sh, not a misspelling of TLS_CERT
render_template() {
  local user_directive=""
  [[ -n "$(nginx_user)" ]] && user_directive="user $(nginx_user) $(nginx_group);"
  sed -e "s|@APP_HOME@|${APP_HOME}|g" \
    -e "s|@NGINX_DIR@|${NGINX_DIR}|g" \
    -e "s|@PUBLIC_PORT@|${PUBLIC_PORT}|g" \
    -e "s|@BLUE_UPSTREAM@|${BLUE_UPSTREAM}|g" \
    -e "s|@GREEN_UPSTREAM@|${GREEN_UPSTREAM}|g" \
    -e "s|@TLS_PORT@|${TLS_PORT}|g" \
    -e "s|@TLS_CERT@|${TLS_CERT}|g" \
    -e "s|@TLS_KEY@|${TLS_KEY}|g" \
    -e "s|@USER_DIRECTIVE@|${user_directive}|g" \
    "$1"
}

# nginx_test: NGINX_TEST_CMD; on failure prints nginx's first complaint.
nginx_test() {
  local output cmd
  read -ra cmd <<<"${NGINX_TEST_CMD}"
  if ! output="$("${cmd[@]}" 2>&1)"; then
    grep -m1 -E 'emerg|alert|crit|error' <<<"${output}" || head -n1 <<<"${output}"
    return 1
  fi
}

nginx_reload() {
  local cmd
  read -ra cmd <<<"${NGINX_RELOAD_CMD}"
  "${cmd[@]}" >/dev/null
}

nginx_master_pid() {
  local pid
  [[ -r "${NGINX_PID_FILE}" ]] || return 0
  pid="$(<"${NGINX_PID_FILE}")"
  [[ "${pid}" =~ ^[0-9]+$ ]] && is_alive "${pid}" && echo "${pid}"
  return 0
}

# nginx_workers: the pids of nginx's current workers (a reload replaces them; the old ones finish their
# requests first).
nginx_workers() {
  local master
  master="$(nginx_master_pid)"
  [[ -z "${master}" ]] || pgrep -P "${master}" || true
}

# old_nginx_workers: workers of a previous configuration still finishing their requests after a reload.
old_nginx_workers() {
  local master
  master="$(nginx_master_pid)"
  [[ -n "${master}" ]] || { echo 0; return; }
  pgrep -c -P "${master}" -f 'worker process is shutting down' || true
}

# installed_mode: socket or reload, as the live pointer is installed; nothing before the first switch.
installed_mode() {
  local conf
  conf="$(active_conf)"
  [[ -f "${conf}" ]] || return 0
  if grep -q '^proxy_pass http://app-live;' "${conf}"; then echo socket; else echo reload; fi
}

# live_color: the color nginx sends traffic to, or nothing before the first switch.
live_color() {
  local target
  case "$(installed_mode)" in
    socket)
      target="$(readlink "$(live_link)" 2>/dev/null)" || return 0
      target="${target%.sock}"
      is_color "${target}" && echo "${target}"
      ;;
    reload)
      sed -n 's#^proxy_pass http://app-\(blue\|green\);#\1#p' "$(active_conf)"
      ;;
  esac
  return 0
}

write_active_conf() {
  local tmp
  tmp="$(mktemp "${NGINX_DIR}/.active.conf.XXXXXX")"
  {
    echo "# active.conf — the live pointer of the deploy scripts; written by scripts/switch.sh, never by hand."
    echo "proxy_pass http://$1;"
  } >"${tmp}"
  chmod 0644 "${tmp}"
  mv -f "${tmp}" "$(active_conf)"
}

# point_live_link COLOR: the atomic switch of socket mode: a new symlink under a temp name, renamed over
# live.sock (rename(2) replaces it in one step; nginx connects to one color or the other, never neither).
# standby.sock names the other color: nginx's backup server when the live one refuses connections.
point_live_link() {
  replace_link "$1.sock" "$(live_link)"
  replace_link "$(other_color "$1").sock" "${RUN_DIR}/standby.sock"
}

replace_link() {
  local tmp
  tmp="$(dirname "$2")/.$(basename "$2").$$"
  ln -sfn "$1" "${tmp}"
  mv -Tf "${tmp}" "$2"
}

# switch_nginx COLOR MODE: points nginx at COLOR. Socket mode moves the symlink (and, when the installed
# pointer is reload mode, changes active.conf once with a reload). Reload mode writes active.conf, tests,
# reloads; a config that fails nginx -t is put back and nothing changes. On failure prints why.
switch_nginx() {
  local color="$1" mode="$2" previous error
  previous="$(cat "$(active_conf)" 2>/dev/null || true)"
  if [[ "${mode}" == socket ]]; then
    point_live_link "${color}"
    [[ "$(installed_mode)" == socket ]] && return 0
    write_active_conf app-live
  else
    write_active_conf "app-${color}"
  fi
  if ! error="$(nginx_test)"; then
    restore_active_conf "${previous}"
    echo "nginx -t failed: ${error}"
    return 1
  fi
  if ! nginx_reload; then
    restore_active_conf "${previous}"
    nginx_reload || true
    echo "nginx reload failed (${NGINX_RELOAD_CMD})"
    return 1
  fi
}

restore_active_conf() {
  if [[ -n "$1" ]]; then
    printf '%s\n' "$1" >"$(active_conf)"
  fi
}
