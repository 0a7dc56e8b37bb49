# shellcheck shell=bash
# nginx.sh — render nginx's config, test, reload, and the live pointer: in socket mode the slot symlinks
# run/slot-NN.sock that nginx hashes clients over, and run/live.sock that records the live color (each to
# the color's own socket, or to nginx's relay to its port); the active.conf include in reload mode.
# Nothing else decides which color gets traffic.

readonly NGINX_TEMPLATES="${REPO_DIR}/nginx"
active_conf() { echo "${NGINX_DIR}/active.conf"; }
live_link() { echo "${RUN_DIR}/live.sock"; }
slot_link() { printf '%s/slot-%02d.sock' "${RUN_DIR}" "$1"; }

# slot_servers: app.conf's server lines for the slots, one per line (sed's \n), indented as the template.
slot_servers() {
  local i line=""
  for ((i = 0; i < ROLLOUT_SLOTS; i++)); do
    line+="    server unix:$(slot_link "${i}") max_fails=0;\\n"
  done
  printf '%s' "${line%\\n}"
}

# The rendered config: NGINX_DIR/config/<stamp>/ holds one complete rendering (nginx.conf, conf.d/,
# snippets/), NGINX_DIR/current names the one in use, and nginx.conf, conf.d and snippets in NGINX_DIR
# are links through current. A new rendering is swapped in by one rename of current: nginx never sees a
# half-written config, whenever the script is killed.
config_root() { echo "${NGINX_DIR}/config"; }
current_config() { echo "${NGINX_DIR}/current"; }

# render_nginx: the templates rendered into a new config directory and swapped in; nginx -t then tests
# the installed config, and one that fails is swapped back (nginx's complaint printed, exit 1).
# active.conf (the live pointer) is written only when it does not exist yet. Run under the lock.
render_nginx() {
  local stamp dir previous error
  mkdir -p "$(config_root)" "${NGINX_DIR}/logs" "${NGINX_DIR}/tmp"
  # nginx's workers (www-data when nginx starts as root) write request bodies and large responses to
  # temp files under tmp/: they must be able to reach it.
  chmod 0751 "${NGINX_DIR}" "${NGINX_DIR}/tmp"
  stamp="$(date +%Y%m%d%H%M%S)-$$"
  dir="$(config_root)/${stamp}"
  render_config_into "${dir}.tmp" "${dir}"
  mv -T "${dir}.tmp" "${dir}"
  previous="$(readlink "$(current_config)" 2>/dev/null || true)"
  link_config_entries
  [[ -f "$(active_conf)" ]] || render_template "${NGINX_TEMPLATES}/active.conf" "${dir}" >"$(active_conf)"
  replace_link "config/${stamp}" "$(current_config)"
  if ! error="$(nginx_test)"; then
    if [[ -n "${previous}" ]]; then replace_link "${previous}" "$(current_config)"; fi
    rm -rf "${dir}"
    echo "${error}"
    return 1
  fi
  prune_configs "${stamp}" "${previous##*/}"
}

# render_config_into DIR CONFIG_DIR: every template rendered into DIR, its includes naming CONFIG_DIR
# (where DIR will be once installed). The one rendering, for installing and for comparing.
render_config_into() {
  local out="$1" config_dir="$2" file rel
  rm -rf "${out}"
  while IFS= read -r file; do
    rel="${file#"${NGINX_TEMPLATES}"/}"
    [[ "${rel}" == active.conf ]] && continue
    [[ "${rel}" == conf.d/app-tls.conf && -z "${TLS_CERT}" ]] && continue
    [[ "${rel}" == conf.d/preview.conf && -z "${PREVIEW_PORT}" ]] && continue
    mkdir -p "${out}/$(dirname "${rel}")"
    render_template "${file}" "${config_dir}" >"${out}/${rel}"
  done < <(find "${NGINX_TEMPLATES}" -type f -name '*.conf')
}

# nginx_config_changed: the templates (with these settings) render differently from the installed config.
nginx_config_changed() {
  local installed tmp changed=0
  installed="$(readlink -f "$(current_config)" 2>/dev/null)" || return 0
  [[ -d "${installed}" ]] || return 0
  tmp="$(mktemp -d)"
  render_config_into "${tmp}/config" "${installed}"
  diff -rq "${tmp}/config" "${installed}" >/dev/null || changed=1
  rm -rf "${tmp}"
  ((changed))
}

# link_config_entries: nginx.conf, conf.d and snippets in NGINX_DIR lead through current (a config from
# before this layout is moved aside first).
link_config_entries() {
  local entry
  for entry in nginx.conf conf.d snippets; do
    if [[ -e "${NGINX_DIR}/${entry}" && ! -L "${NGINX_DIR}/${entry}" ]]; then
      rm -rf "${NGINX_DIR:?}/${entry}.old"
      mv "${NGINX_DIR}/${entry}" "${NGINX_DIR}/${entry}.old"
    fi
    [[ -L "${NGINX_DIR}/${entry}" ]] || replace_link "current/${entry}" "${NGINX_DIR}/${entry}"
  done
  rm -rf "${NGINX_DIR}/nginx.conf.old" "${NGINX_DIR}/conf.d.old" "${NGINX_DIR}/snippets.old"
}

# prune_configs KEEP...: config directories other than KEEP go.
prune_configs() {
  local dir keep=" $* "
  for dir in "$(config_root)"/*; do
    [[ -d "${dir}" && "${keep}" != *" ${dir##*/} "* ]] && rm -rf "${dir}"
  done
  return 0
}

# shellcheck disable=SC2153 # TLS_PORT is a setting from config.sh, not a misspelling of TLS_CERT
render_template() {
  local user_directive=""
  [[ -n "$(nginx_user)" ]] && user_directive="user $(nginx_user) $(nginx_group);"
  sed -e "s|@APP_HOME@|${APP_HOME}|g" \
    -e "s|@NGINX_DIR@|${NGINX_DIR}|g" \
    -e "s|@CONFIG_DIR@|$2|g" \
    -e "s|@PUBLIC_PORT@|${PUBLIC_PORT}|g" \
    -e "s|@ACCESS_LOG@|${ACCESS_LOG}|g" \
    -e "s|@BLUE_PORT@|${BLUE_PORT}|g" \
    -e "s|@GREEN_PORT@|${GREEN_PORT}|g" \
    -e "s|@RELAY_DIR@|${RELAY_DIR}|g" \
    -e "s|@PREVIEW_ADDRESS@|${PREVIEW_ADDRESS}|g" \
    -e "s|@PREVIEW_PORT@|${PREVIEW_PORT}|g" \
    -e "s|@BLUE_UPSTREAM@|${BLUE_UPSTREAM}|g" \
    -e "s|@GREEN_UPSTREAM@|${GREEN_UPSTREAM}|g" \
    -e "s|@TLS_PORT@|${TLS_PORT}|g" \
    -e "s|@TLS_CERT@|${TLS_CERT}|g" \
    -e "s|@TLS_KEY@|${TLS_KEY}|g" \
    -e "s|@USER_DIRECTIVE@|${user_directive}|g" \
    -e "s|@SLOT_SERVERS@|$(slot_servers)|g" \
    -e "s|@SET_REAL_IP_FROM@|$(trusted_proxies_as "set_real_ip_from %s;")|g" \
    -e "s|@TRUSTED_PROXIES_GEO@|$(trusted_proxies_as "%s 1;")|g" \
    "$1"
}

# trusted_proxies_as FORMAT: FORMAT once per address of TRUSTED_PROXIES, on one line.
trusted_proxies_as() {
  local address line=""
  for address in ${TRUSTED_PROXIES}; do
    # shellcheck disable=SC2059 # the format is the caller's
    line+="$(printf "$1" "${address}") "
  done
  printf '%s' "${line% }"
}

# nginx_test: NGINX_TEST_CMD; on failure prints nginx's first complaint. Empty: root owns nginx's config
# and tests it when it renders it (ansible/site.yml); the deploy user has no nginx -t.
nginx_test() {
  local output cmd
  [[ -n "${NGINX_TEST_CMD}" ]] || return 0
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

# nginx_master_pid: the pid in NGINX_PID_FILE, when that process is an nginx master (and, for the private
# nginx, the one started with NGINX_CONF): after a crash or a reboot the pid may belong to anything.
nginx_master_pid() {
  local pid cmdline
  [[ -r "${NGINX_PID_FILE}" ]] || return 0
  pid="$(<"${NGINX_PID_FILE}")"
  [[ "${pid}" =~ ^[0-9]+$ ]] && is_alive "${pid}" || return 0
  cmdline="$(tr '\0' ' ' <"/proc/${pid}/cmdline" 2>/dev/null)" || return 0
  [[ "${cmdline}" == "nginx: master process "* ]] || return 0
  if [[ "${NGINX_PID_FILE}" == "${NGINX_DIR}/"* && "${cmdline}" != *" -c ${NGINX_CONF}"* ]]; then
    return 0
  fi
  echo "${pid}"
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
      target="${target##*/}"
      target="${target#relay-}"
      target="${target%.sock}"
      is_color "${target}" && echo "${target}"
      ;;
    reload)
      sed -n 's#^proxy_pass http://app-\(blue\|green\);#\1#p' "$(active_conf)"
      ;;
  esac
  return 0
}

# live_upstream: how nginx reaches the live color in socket mode: "socket" (the app's own run/COLOR.sock)
# or "relay" (nginx's run/relay-COLOR.sock, passed on to the color's port); nothing otherwise.
live_upstream() {
  local target
  [[ "$(installed_mode)" == socket ]] || return 0
  target="$(readlink "$(live_link)" 2>/dev/null)" || return 0
  if [[ "${target##*/}" == relay-* ]]; then echo relay; else echo socket; fi
}

relay_socket() { echo "${RELAY_DIR}/relay-$1.sock"; }

# remove_stale_relay_sockets: relay sockets that nobody listens on (nginx was killed, not stopped): nginx
# does not start while they exist ("bind() ... Address already in use").
remove_stale_relay_sockets() {
  local color socket
  for color in "${COLORS[@]}"; do
    socket="$(relay_socket "${color}")"
    if [[ -S "${socket}" ]] && ! unix_socket_listening "${socket}"; then rm -f "${socket}"; fi
  done
}

# socket_upstream COLOR: what a slot (and live.sock) names for COLOR: the app's own socket when it listens there (this
# template's app, APP_SOCKET_PATH), else nginx's relay to its port (any other Boot jar; a relative name
# when the relay's sockets are in run/ too).
socket_upstream() {
  if unix_socket_listening "$(socket_path "$1")"; then
    echo "$1.sock"
  elif [[ "${RELAY_DIR}" == "${RUN_DIR}" ]]; then
    echo "relay-$1.sock"
  else
    relay_socket "$1"
  fi
}

# reached_via_relay COLOR: live.sock would reach COLOR through nginx's relay.
reached_via_relay() { [[ "$(socket_upstream "$1")" == *relay-* ]]; }

# socket_mode_problem COLOR: why socket mode cannot reach COLOR (printed), or nothing when it can: an app
# that does not serve its own socket needs nginx's relay, from a config that has it.
socket_mode_problem() {
  local socket status
  reached_via_relay "$1" || return 0
  socket="$(relay_socket "$1")"
  [[ -S "${socket}" ]] ||
    { echo "nginx has no relay socket ${socket}: its config predates the relay (render it again: scripts/nginx.sh start, or ansible/site.yml on a server)"; return 0; }
  status="$(http_status "http://localhost${VERIFY_PATH}" --unix-socket "${socket}")"
  [[ "${status}" =~ ^[1-4] ]] || echo "nginx's relay ${socket} answers ${status} for ${VERIFY_PATH}, not from $1's port $(color_port "$1")"
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

# point_live_link COLOR: the switch of socket mode: every slot, then live.sock (the record of the live
# color: start-live.sh, status), each by a new symlink under a temp name renamed over the old one
# (rename(2) replaces it in one step; nginx connects to one color or the other, never neither).
# standby.sock names the other color the same way: with live.sock, nginx's fallback when a slot's color
# refuses a request (through a relay, the relay itself falls back to the other color's port).
point_live_link() {
  local target other
  target="$(socket_upstream "$1")"
  other="$(socket_upstream "$(other_color "$1")")"
  link_slots "$1" "${target}" "${other}" "${ROLLOUT_SLOTS}" || return 1
  replace_link "${target}" "$(live_link)"
  replace_link "${other}" "${RUN_DIR}/standby.sock"
}

# point_slots COLOR N: the first N slots name COLOR, the others the other color (a rollout step; with
# hash ... consistent, the clients of slots 0..N-1 keep COLOR as N grows). live.sock is left as it is:
# it names the live color until the rollout's last step.
point_slots() {
  link_slots "$1" "$(socket_upstream "$1")" "$(socket_upstream "$(other_color "$1")")" "$2"
}

# link_slots COLOR TARGET OTHER N: slots 0..N-1 link to TARGET (COLOR's socket_upstream), the others to
# OTHER. Only the slots that change are made anew, in a temp directory, then renamed into run/ by one mv
# (a rename(2) each: a slot names one color or the other, never neither). Nothing changes when TARGET is
# no socket.
link_slots() {
  local path="$2" i want tmp name
  local -A current=()
  [[ "${path}" == /* ]] || path="${RUN_DIR}/${path}"
  [[ -S "${path}" ]] || { echo "no socket at ${path} for $1 (nginx's relay needs its config rendered again): nothing changed"; return 1; }
  while read -r i want; do current[${i}]="${want}"; done < <(find "${RUN_DIR}" -maxdepth 1 -name 'slot-*.sock' -printf '%f %l\n')
  tmp="${RUN_DIR}/.slots.$$"
  rm -rf "${tmp}"
  mkdir "${tmp}"
  for ((i = 0; i < ROLLOUT_SLOTS; i++)); do
    want="$3"
    ((i < $4)) && want="$2"
    printf -v name 'slot-%02d.sock' "${i}"
    [[ "${current[${name}]:-}" == "${want}" ]] || ln -s "${want}" "${tmp}/${name}"
  done
  if [[ -n "$(ls -A "${tmp}")" ]]; then mv -f "${tmp}"/* "${RUN_DIR}/"; fi
  rmdir "${tmp}"
}

# slot_count COLOR: how many slots name COLOR (by its socket or nginx's relay for it).
slot_count() {
  local i count=0 target
  for ((i = 0; i < ROLLOUT_SLOTS; i++)); do
    target="$(readlink "$(slot_link "${i}")" 2>/dev/null)" || continue
    target="${target##*/}"
    target="${target#relay-}"
    [[ "${target%.sock}" != "$1" ]] || count=$((count + 1))
  done
  echo "${count}"
}

# slot_share COLOR: the percentage of clients nginx sends to COLOR (its share of the slots).
slot_share() { echo $(($(slot_count "$1") * 100 / ROLLOUT_SLOTS)); }

# all_traffic_on COLOR: live.sock and every slot name COLOR (socket mode), or active.conf does (reload).
all_traffic_on() {
  [[ "$(live_color)" == "$1" ]] || return 1
  [[ "$(installed_mode)" != socket ]] || (($(slot_count "$1") == ROLLOUT_SLOTS))
}

# link_missing_slots: slots that do not exist yet name the live color (a config from before the slots:
# until they exist, every request takes app-fallback's extra hop).
link_missing_slots() {
  local target i
  target="$(readlink "$(live_link)" 2>/dev/null)" || return 0
  for ((i = 0; i < ROLLOUT_SLOTS; i++)); do
    [[ -L "$(slot_link "${i}")" ]] || replace_link "${target}" "$(slot_link "${i}")"
  done
}

# point_preview COLOR: preview.sock, the upstream of the preview port (conf.d/preview.conf), names COLOR
# the way live.sock would: the staged color once it is ready, the old one after a switch. A link of its
# own: standby.sock is the public side's backup, and must not name a staged color before the first switch.
point_preview() {
  replace_link "$(socket_upstream "$1")" "${RUN_DIR}/preview.sock"
}

replace_link() {
  local tmp="${2%/*}/.${2##*/}.$$"
  ln -sfn "$1" "${tmp}"
  mv -Tf "${tmp}" "$2"
}

# point_nowhere: nginx serves no color (a first deploy undone): no live.sock in socket mode, the socket
# upstream (with no live.sock) in reload mode.
point_nowhere() {
  rm -f "$(live_link)" "${RUN_DIR}/standby.sock" "${RUN_DIR}/preview.sock" "${RUN_DIR}"/slot-[0-9][0-9].sock
  [[ "$(installed_mode)" == reload ]] || return 0
  # Root's helper points only at a color: nginx keeps naming the stopped one, which answers 502 as well.
  [[ -z "${NGINX_SWITCH_CMD:-}" ]] || return 0
  write_active_conf app-live
  if ! nginx_test >/dev/null || ! nginx_reload; then
    echo "nginx did not take the empty pointer"
    return 1
  fi
}

# switch_nginx COLOR MODE: the deploy's switch: nginx points at COLOR (point_nginx), the preview at the
# other color. On failure prints why.
switch_nginx() {
  point_nginx "$1" "$2" || return 1
  point_preview "$(other_color "$1")"
}

# point_nginx COLOR MODE: points nginx at COLOR. Socket mode moves the symlink (and, when the installed
# pointer is reload mode, changes active.conf once with a reload). Reload mode writes active.conf, tests,
# reloads; a config that fails nginx -t is put back and nothing changes. On failure prints why. Root's
# helper (nginx-switch.sh) runs only this: the deploy user's run/ is never root's to write.
point_nginx() {
  local color="$1" mode="$2" previous error
  [[ -z "${NGINX_SWITCH_CMD:-}" ]] || { switch_root_nginx "${color}" "${mode}"; return; }
  previous="$(cat "$(active_conf)" 2>/dev/null || true)"
  if [[ "${mode}" == socket ]]; then
    point_live_link "${color}" || return 1
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

# switch_root_nginx COLOR MODE: root's nginx on a provisioned host. Socket mode moves the symlink, which
# is the deploy user's; reload mode asks root's helper (NGINX_SWITCH_CMD: nginx-switch.sh through sudo),
# the one way the deploy user changes nginx's config.
switch_root_nginx() {
  local color="$1" mode="$2" cmd output
  if [[ "${mode}" == socket ]]; then
    [[ "$(installed_mode)" == socket ]] ||
      { echo "nginx's config is root's and in reload mode: set SWITCH_MODE in the inventory and run ansible/site.yml"; return 1; }
    point_live_link "${color}"
    return
  fi
  read -ra cmd <<<"${NGINX_SWITCH_CMD}"
  output="$("${cmd[@]}" "${color}" 2>&1)" || { echo "${NGINX_SWITCH_CMD} ${color} failed: ${output}"; return 1; }
}

restore_active_conf() {
  if [[ -n "$1" ]]; then
    printf '%s\n' "$1" >"$(active_conf)"
  fi
}
