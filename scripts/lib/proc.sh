# shellcheck shell=bash
# proc.sh — the colors' processes: pid files written from $!, trusted only when the pid is alive and is
# our java for that color in this APP_HOME (never pgrep -f / ps | grep). Under SUPERVISOR=systemd the
# colors are units (units.sh): the same command line, started and stopped by systemd.

# shellcheck source=scripts/lib/units.sh
source "$(dirname "${BASH_SOURCE[0]}")/units.sh"

pid_file() { echo "${RUN_DIR}/$1.pid"; }
socket_path() { echo "${RUN_DIR}/$1.sock"; }
log_file() { echo "${LOG_DIR}/$1.log"; }
release_file() { echo "${RUN_DIR}/$1.release"; }
color_env_file() { echo "${RUN_DIR}/$1.env"; }

# is_alive PID: running and not a zombie (a child we have not reaped yet still answers kill -0).
is_alive() {
  local state
  [[ -r "/proc/$1/stat" ]] || return 1
  state="$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)" || return 1
  [[ -n "${state}" && "${state}" != Z ]]
}

# is_our_java PID COLOR: the command line carries the markers start_color puts there.
is_our_java() {
  local cmdline
  is_alive "$1" || return 1
  cmdline="$(tr '\0' ' ' <"/proc/$1/cmdline" 2>/dev/null)" || return 1
  [[ "${cmdline}" == *"-Dbluegreen.color=$2 "* && "${cmdline}" == *"-Dbluegreen.home=${APP_HOME} "* ]]
}

# color_pid COLOR: the trusted pid of that color, or nothing. Under systemd the unit's main pid (a
# restart by systemd changes it; the pid file may be old).
color_pid() {
  local file pid
  if [[ "${SUPERVISOR}" == systemd ]]; then
    pid="$(unit_main_pid "$1")"
  else
    file="$(pid_file "$1")"
    [[ -f "${file}" ]] || return 0
    pid="$(<"${file}")"
  fi
  if [[ "${pid}" =~ ^[0-9]+$ ]] && is_our_java "${pid}" "$1"; then
    echo "${pid}"
  fi
}

# port_owner PORT: pid of the process listening on the TCP port, "unknown" when it is another user's,
# nothing when the port is free.
port_owner() {
  local line
  line="$(ss -Hltnp "sport = :$1" 2>/dev/null | head -n1)" || true
  [[ -n "${line}" ]] || return 0
  if [[ "${line}" =~ pid=([0-9]+) ]]; then echo "${BASH_REMATCH[1]}"; else echo unknown; fi
}

# release_version JAR: the version in the jar's build-info, else its manifest, else "unknown".
release_version() {
  local version
  version="$(unzip -p "$1" META-INF/build-info.properties BOOT-INF/classes/META-INF/build-info.properties \
    2>/dev/null | sed -n 's/^build\.version=//p' | head -n1 | tr -d '\r')" || true # unzip: 11 for the missing one
  [[ -n "${version}" ]] || version="$(unzip -p "$1" META-INF/MANIFEST.MF 2>/dev/null |
    sed -n 's/^Implementation-Version: *//p' | tr -d '\r')" || true
  echo "${version:-unknown}"
}

# is_boot_jar JAR: a zip whose manifest names a Start-Class (what java -jar runs in a Boot jar).
is_boot_jar() {
  local manifest
  manifest="$(unzip -p "$1" META-INF/MANIFEST.MF 2>/dev/null)"
  [[ "${manifest}" == *$'\n'Start-Class:* ]]
}

# start_color COLOR JAR DEPLOY_ID [NICE [THREAD_NICE]]: starts the color; prints the pid. With
# SUPERVISOR=process, NICE (default 0) is the nice value of its session's autogroup (what the scheduler
# shares the CPU by between sessions), THREAD_NICE that of its threads (each new one inherits it). The port is passed explicitly, so any
# Boot jar listens where nginx expects it. Its environment comes from its environment file
# (write_color_env), its output goes to its log.
# - SUPERVISOR=process: in the background, detached from this shell's session (setsid: Jenkins'
#   process-tree killer and a closing terminal leave it alone), stdin from /dev/null, without the deploy
#   lock's descriptor.
# - SUPERVISOR=systemd: the command line goes to run/COLOR.cmd and systemd starts the color's unit, which
#   restarts it when it dies (scripts/systemd/run-color.sh runs it the same way).
start_color() {
  local color="$1" jar="$2" deploy_id="$3" niceness="${4:-0}" thread_niceness="${5:-0}" log pid command=()
  log="$(log_file "${color}")"
  [[ -f "${log}" ]] && mv -f "${log}" "${log}.1"
  printf '=== %s: starting %s (deploy %s, %s)\n' "$(date -Is)" "${color}" "${deploy_id}" "${jar}" >"${log}"
  rm -f "$(socket_path "${color}")"
  mapfile -t command < <(color_command "${color}" "${jar}" "${log}")
  if [[ "${SUPERVISOR}" == systemd ]]; then
    write_command_file "${color}" "${command[@]}"
    pid="$(unit_start "${color}")" || pid=""
    echo "${pid}" >"$(pid_file "${color}")"
    echo "${pid}"
    return 0
  fi
  # Called outside take_lock (the benchmark does), there is no lock descriptor to keep from the child.
  [[ -n "${LOCK_FD:-}" ]] || exec {LOCK_FD}</dev/null
  (
    { set +x; } 2>/dev/null # the environment file holds secrets: never traced
    export_env_file "$(color_env_file "${color}")"
    export JENKINS_NODE_COOKIE=dontKillMe BUILD_ID=dontKillMe
    # setsid makes the session (and its autogroup) that the JVM's autogroup nice applies to.
    # shellcheck disable=SC2016 # expanded by that inner bash
    exec setsid bash -c '[[ ! -w /proc/self/autogroup ]] || echo "$1" >/proc/self/autogroup 2>/dev/null || true
      exec nice -n "$2" "${@:3}"' start_color "${niceness}" "${thread_niceness}" "${command[@]}" \
      </dev/null >>"${log}" 2>&1 {LOCK_FD}>&-
  ) &
  echo "$!" >"$(pid_file "${color}")"
  echo "$!"
}

# may_raise_priority: this shell may set a process's threads back to nice 0 (CAP_SYS_NICE: root, unless a
# container dropped it; or an RLIMIT_NICE of 20 that the JVM inherits).
may_raise_priority() {
  local caps limit
  caps="$(sed -n 's/^CapEff:[[:space:]]*//p' /proc/self/status 2>/dev/null)"
  limit="$(ulimit -e)"
  (((16#${caps:-0} >> 23) & 1)) || [[ "${limit}" == unlimited ]] || ((limit >= 20))
}

# restore_priority PID: the JVM back to nice 0: its autogroup (what the scheduler shares the CPU by between
# sessions; anyone may set it back), and every thread (a thread's nice is its own; new ones inherit their
# creator's, so a pass that met a thread being created is repeated). Fails when something stays niced.
restore_priority() {
  local pid="$1" task stat fields niced
  if [[ -e "/proc/${pid}/autogroup" ]]; then
    echo 0 >"/proc/${pid}/autogroup" 2>/dev/null || true
    [[ "$(cat "/proc/${pid}/autogroup" 2>/dev/null)" == *" nice 0" ]] || return 1
  fi
  for _ in 1 2 3 4; do
    niced=()
    for task in /proc/"${pid}"/task/*; do
      # "TID (NAME) STATE …": NAME may hold spaces; nice is the 17th field after it. A thread that ended
      # meanwhile has no stat (read fails; $(<…) would end the script under set -e).
      { read -r stat <"${task}/stat"; } 2>/dev/null || continue
      read -ra fields <<<"${stat##*) }"
      [[ "${fields[16]:-}" == 0 ]] || niced+=("${task##*/}")
    done
    ((${#niced[@]} > 0)) || return 0
    renice --priority 0 -p "${niced[@]}" >/dev/null 2>&1 || true
  done
  return 1
}

# color_command COLOR JAR LOG: the color's java command line, one argument per line: JAVA_OPTS, the
# markers is_our_java looks for, readiness on, the fast start's launch (scripts/lib/launch.sh: the release's CDS/AOT
# archive and extracted jar, else -jar JAR), the profile, the ports, APP_ARGS.
color_command() {
  local color="$1" jar="$2" log="$3" jvm_options extra_args management_args=() launch=()
  read -ra jvm_options <<<"${JAVA_OPTS}"
  read -ra extra_args <<<"${APP_ARGS}"
  if [[ "$(color_management_port "${color}")" != "$(color_port "${color}")" ]]; then
    management_args=("--management.server.port=$(color_management_port "${color}")")
  fi
  mapfile -t launch < <(launch_args "${jar}" "${log}")
  # The probes' property: Boot 2.3 to 3.x serve the readiness group (HEALTH_PATH) only on Kubernetes
  # unless it is set (a system property: above the jar's application.properties, below APP_ARGS).
  printf '%s\n' "${JAVA_BIN}" ${jvm_options[@]+"${jvm_options[@]}"} "-Dbluegreen.color=${color}" \
    "-Dbluegreen.home=${APP_HOME}" -Dmanagement.endpoint.health.probes.enabled=true "${launch[@]}" \
    "--spring.profiles.active=${color}" \
    "--server.port=$(color_port "${color}")" ${management_args[@]+"${management_args[@]}"} \
    ${extra_args[@]+"${extra_args[@]}"}
}

# write_color_env COLOR DEPLOY_ID: run/COLOR.env (mode 0600): APP_ENV_FILE's NAME=value lines (the app's secrets:
# in the environment they stay out of /proc/PID/cmdline, ps and the logs), the deploy id, and the unix
# socket our app serves for socket mode. Under systemd, run-color.sh reads the same file. On a bad
# APP_ENV_FILE prints why and fails.
write_color_env() {
  local color="$1" deploy_id="$2" file tmp
  file="$(color_env_file "${color}")"
  check_app_env_file || return 1
  tmp="$(umask 077 && mktemp "${RUN_DIR}/.${color}.env.XXXXXX")"
  {
    [[ ! -f "${APP_ENV_FILE}" ]] || grep -vE '^[[:space:]]*(#|$)' "${APP_ENV_FILE}" || true
    printf 'APP_DEPLOY_ID=%s\nAPP_SOCKET_PATH=%s\n' "${deploy_id}" "$(socket_path "${color}")"
  } >"${tmp}"
  mv -f "${tmp}" "${file}"
}

# check_app_env_file: APP_ENV_FILE, when there, is only this user's (or root's) to read, and holds only
# NAME=value lines.
check_app_env_file() {
  local file="${APP_ENV_FILE}" mode owner bad
  [[ -f "${file}" ]] || return 0
  owner="$(stat -L -c %u "${file}")"
  mode="$(stat -L -c %a "${file}")"
  if [[ "${owner}" != "${EUID}" && "${owner}" != 0 ]] || ((8#${mode} & 8#077)); then
    echo "${file} holds secrets: it must belong to $(id -un) and be mode 0600 (it is uid ${owner}, mode ${mode})"
    return 1
  fi
  bad="$(grep -nvE '^[[:space:]]*(#|$)|^[A-Za-z_][A-Za-z0-9_]*=' "${file}" | cut -d: -f1 | head -n1)" || true
  [[ -z "${bad}" ]] || { echo "${file} line ${bad} is not NAME=value"; return 1; }
}

# export_env_file FILE: exports its NAME=value lines as they are (no quotes, no expansion: the value is
# everything after the first =).
export_env_file() {
  local name value
  [[ -f "$1" ]] || return 0
  while IFS='=' read -r name value; do
    [[ "${name}" =~ ^[A-Za-z_][A-Za-z0-9_]*$ ]] && export "${name}=${value}"
  done <"$1"
}

# stop_color COLOR: SIGTERM, wait up to STOP_TIMEOUT (Spring's graceful shutdown finishes requests and
# messages in hand), then SIGKILL; returns once the port is free. Safe when the color is not running.
# Under systemd, systemctl stop does the same (the unit's TimeoutStopSec is STOP_TIMEOUT) and keeps
# systemd from restarting it.
stop_color() {
  local color="$1" pid port deadline
  pid="$(color_pid "${color}")"
  port="$(color_port "${color}")"
  if [[ "${SUPERVISOR}" == systemd ]]; then
    unit_ctl stop "${color}" >/dev/null 2>&1 || warn "systemctl stop $(unit_name "${color}") failed"
  elif [[ -n "${pid}" ]]; then
    kill -TERM "${pid}" 2>/dev/null || true
    deadline=$((SECONDS + STOP_TIMEOUT))
    while is_alive "${pid}" && ((SECONDS < deadline)); do sleep 0.2; done
    if is_alive "${pid}"; then
      warn "${color} (pid ${pid}) did not stop within STOP_TIMEOUT=${STOP_TIMEOUT}s: SIGKILL"
      kill -KILL "${pid}" 2>/dev/null || true
      while is_alive "${pid}"; do sleep 0.1; done
    fi
    wait "${pid}" 2>/dev/null || true
  fi
  deadline=$((SECONDS + PORT_FREE_WAIT))
  while [[ -n "$(port_owner "${port}")" ]] && ((SECONDS < deadline)); do sleep 0.2; done
  rm -f "$(pid_file "${color}")"
  remove_stale_socket "${color}"
}

# A SIGKILLed app leaves its socket file behind; nobody serves it any more.
remove_stale_socket() {
  local socket
  socket="$(socket_path "$1")"
  if [[ -S "${socket}" ]] && ! unix_socket_listening "${socket}"; then
    rm -f "${socket}"
  fi
}

unix_socket_listening() {
  [[ -n "$(ss -Hxl src "$1" 2>/dev/null)" ]]
}

# unix_connections SOCKET: how many connections the listener at this path has open.
unix_connections() {
  ss -Hx state established src "$1" 2>/dev/null | wc -l
}

# tcp_connections PORT: how many connections to PORT are open (counted at the connecting end).
tcp_connections() {
  ss -Htn state established "( dport = :$1 )" 2>/dev/null | wc -l
}

# last_log_lines COLOR: what the color said, for a failed start: its distinct ERROR events, then its
# distinct WARN events (a repeated event once, with its count: a health check that fails on every poll
# must not hide the one line that says why), else the end of its log.
last_log_lines() {
  local log events line
  log="$(log_file "$1")"
  events="$(distinct_events "${log}")"
  [[ -n "${events}" ]] || events="$(tail -n 20 "${log}" 2>/dev/null || true)"
  [[ -n "${events}" ]] || return 0
  while IFS= read -r line; do printf '    | %s\n' "${line}"; done <<<"${events}" >&2
}

LOG_EVENT='^[0-9]{4}-[0-9]{2}-[0-9]{2}T[^ ]+ +(ERROR|WARN) '

# distinct_events LOG: the last 5 distinct ERROR and last 3 distinct WARN events, oldest first. Two events
# are the same when their logger and the first four words of their message are. (grep picks the events:
# mawk, Debian's default awk, has no {n} in its regular expressions.)
distinct_events() {
  { grep -nE "${LOG_EVENT}" "$1" 2>/dev/null || true; } | awk '
    {
      split($0, part, " : "); n = split(part[1], head, " "); split(part[2], word, " ")
      key = $2 " " head[n] " " word[1] " " word[2] " " word[3] " " word[4]
      if (!(key in count)) keys[++distinct] = key
      count[key]++; last[key] = NR; level[key] = $2
      line[key] = substr($0, index($0, ":") + 1, 300)
    }
    END {
      for (i = 1; i <= distinct; i++) {
        k = keys[i]; suffix = count[k] > 1 ? " (" count[k] " times)" : ""
        printf "%d\037%s\037%s%s\n", last[k], level[k], line[k], suffix
      }
    }' | sort -n | awk -F '\037' '
      $2 == "ERROR" { errors[++e] = $3 } $2 == "WARN" { warns[++w] = $3 }
      END {
        for (i = (e > 5 ? e - 4 : 1); i <= e; i++) print errors[i]
        for (i = (w > 3 ? w - 2 : 1); i <= w; i++) print warns[i]
      }'
}
