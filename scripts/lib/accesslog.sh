# shellcheck shell=bash
# accesslog.sh — nginx's access log read from a point on, each line once, across a rotation: the bake
# (and any later gate) reads only what was written since the switch, never the whole file again.

# access_log_cursor: where the log ends now, as INODE:SIZE (0:0 when there is no log yet).
access_log_cursor() {
  local cursor
  cursor="$(stat -c '%i:%s' "${ACCESS_LOG}" 2>/dev/null)" || cursor=0:0
  echo "${cursor}"
}

# access_log_since CURSOR: the lines written after CURSOR, then a last line "#cursor INODE:SIZE" to pass
# to the next call. When the log was rotated since CURSOR (ACCESS_LOG is another file now), the rest of
# the rotated file (found by its inode next to ACCESS_LOG) comes first, then the new file from its start.
access_log_since() {
  local inode="${1%%:*}" offset="${1##*:}" now rotated
  now="$(access_log_cursor)"
  if [[ "${now%%:*}" != "${inode}" ]]; then
    rotated="$(rotated_access_log "${inode}")"
    [[ -z "${rotated}" ]] || tail -c +"$((offset + 1))" "${rotated}"
    offset=0
  fi
  if ((${now##*:} > offset)); then
    # head stops at the size the cursor saw; tail, still writing what nginx appended since, gets SIGPIPE.
    tail -c +"$((offset + 1))" "${ACCESS_LOG}" | head -c "$((${now##*:} - offset))" || true
  fi
  echo "#cursor ${now}"
}

# rotated_access_log INODE: the file next to ACCESS_LOG with that inode (access.log.1, access.log-2026…).
rotated_access_log() {
  [[ "$1" != 0 ]] || return 0
  find "$(dirname "${ACCESS_LOG}")" -maxdepth 1 -type f -name "$(basename "${ACCESS_LOG}")*" -inum "$1" 2>/dev/null |
    head -n1
}

# count_responses COLOR: reads access_log_since's output; prints "REQUESTS 5XX CURSOR" for the responses
# COLOR gave (by the color=$upstream_http_x_app_color field; a line without a color, from an app that
# does not name its color, counts for COLOR).
count_responses() {
  awk -v color="$1" '
    /^#cursor / { cursor = $2; next }
    match($0, /" [0-9][0-9][0-9] /) {
      status = substr($0, RSTART + 2, 3)
      seen = ""
      if (match($0, / color=[a-z-]*/)) seen = substr($0, RSTART + 7, RLENGTH - 7)
      if (seen != "" && seen != "-" && seen != color) next
      total++
      if (status ~ /^5/) errors++
    }
    END { printf "%d %d %s\n", total, errors, cursor }'
}

# answer_stats COLOR [unnamed]: reads access log lines; prints "ANSWERS 5XX P99_MS" for COLOR's answers
# (with "unnamed", also the 5xx lines that name no color: nginx's own 502 when no color answered).
# P99 is the nearest rank, but never the slowest answer alone: below 100 answers the nearest rank is the
# slowest one, and one slow answer (a new color's first POST pays its class loading) is not a slow version.
answer_stats() {
  awk -v color="$1" -v unnamed="${2:-}" '
    /^#cursor / { next }
    match($0, /" [0-9][0-9][0-9] /) {
      status = substr($0, RSTART + 2, 3)
      seen = ""
      if (match($0, / color=[a-z-]*/)) seen = substr($0, RSTART + 7, RLENGTH - 7)
      if (seen == "" || seen == "-") { if (unnamed == "" || status !~ /^5/) next } else if (seen != color) next
      ms = 0
      if (match($0, / rt=[0-9.]+/)) ms = substr($0, RSTART + 4, RLENGTH - 4) * 1000
      printf "%d %d\n", ms, (status ~ /^5/)
    }' | sort -n | awk '
    { ms[NR] = $1; errors += $2 }
    END { p = int(NR * 0.99); if (p < NR * 0.99) p++; if (p == NR && NR > 1) p--; printf "%d %d %d\n", NR, errors, (NR ? ms[p] : 0) }'
}
