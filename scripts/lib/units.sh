# shellcheck shell=bash
# units.sh — the colors under systemd (SUPERVISOR=systemd, a host set up by ansible/site.yml): one
# template unit, bluegreen@blue and bluegreen@green, started and stopped through the exact sudo lines
# the playbook grants. The unit runs scripts/systemd/run-color.sh, which execs the command line that
# start_color wrote to run/COLOR.cmd. The live pointer stays the only record of which color is live:
# no unit is enabled; bluegreen-live.service starts the pointer's color at boot.

readonly UNIT_PREFIX=bluegreen

unit_name() { echo "${UNIT_PREFIX}@$1.service"; }
command_file() { echo "${RUN_DIR}/$1.cmd"; }

# unit_ctl VERB COLOR: systemctl VERB on the color's unit, as root: directly when we are root, else
# through sudo -n with exactly the command line the sudoers file lists (no password prompt, ever).
unit_ctl() {
  if ((EUID == 0)); then
    systemctl "$1" "$(unit_name "$2")"
  else
    sudo -n systemctl "$1" "$(unit_name "$2")"
  fi
}

# unit_property COLOR NAME: one property of the color's unit (anyone may read them).
unit_property() { systemctl show -p "$2" --value "$(unit_name "$1")" 2>/dev/null || true; }

# unit_main_pid COLOR: the unit's java (run-color.sh execs it), or nothing when it does not run.
unit_main_pid() {
  local pid
  pid="$(unit_property "$1" MainPID)"
  [[ "${pid}" =~ ^[1-9][0-9]*$ ]] && echo "${pid}"
  return 0
}

# unit_summary COLOR: "ActiveState/SubState, N restarts", and "GAVE UP" when systemd stopped restarting it:
# with Restart=on-failure a failing color waits in auto-restart; "failed" means systemd gave up (the start
# limit; systemd 252 keeps the last exit's Result then, not start-limit-hit).
unit_summary() {
  local state sub restarts result summary
  state="$(unit_property "$1" ActiveState)"
  sub="$(unit_property "$1" SubState)"
  restarts="$(unit_property "$1" NRestarts)"
  result="$(unit_property "$1" Result)"
  summary="${state:-unknown}/${sub:-unknown}, ${restarts:-0} restarts"
  [[ "${state}" != failed ]] || summary+=", GAVE UP (last result: ${result:-unknown}): the next deploy resets it"
  echo "${summary}"
}

# unit_json COLOR: the unit's state for status.sh --json: {name, active, sub, restarts, result, gave_up}.
unit_json() {
  jq -nc --arg name "$(unit_name "$1")" --arg active "$(unit_property "$1" ActiveState)" \
    --arg sub "$(unit_property "$1" SubState)" --arg restarts "$(unit_property "$1" NRestarts)" \
    --arg result "$(unit_property "$1" Result)" \
    '{name: $name, active: $active, sub: $sub, restarts: (($restarts | tonumber?) // 0), result: $result,
      gave_up: ($active == "failed")}'
}

# write_command_file COLOR ARG...: the color's command line, one argument per line, for run-color.sh.
write_command_file() {
  local color="$1" tmp
  shift
  tmp="$(mktemp "${RUN_DIR}/.${color}.cmd.XXXXXX")"
  printf '%s\n' "$@" >"${tmp}"
  mv -f "${tmp}" "$(command_file "${color}")"
}

# unit_start COLOR: a unit systemd gave up on is reset first (else it refuses to start); prints the pid.
unit_start() {
  local output
  [[ "$(unit_property "$1" ActiveState)" != failed ]] || unit_ctl reset-failed "$1" >/dev/null 2>&1 || true
  output="$(unit_ctl start "$1" 2>&1)" || { warn "systemctl start $(unit_name "$1") failed: ${output}"; return 1; }
  unit_main_pid "$1"
}

# check_systemd: SUPERVISOR=systemd needs the template unit installed (config.sh checks that systemd runs).
check_systemd() {
  [[ -n "$(unit_property blue FragmentPath)" ]] ||
    die "${EXIT_USAGE}" "SUPERVISOR=systemd, but $(unit_name blue) is not installed (run ansible/site.yml)"
}
