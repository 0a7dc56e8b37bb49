#!/usr/bin/env bash
# image.sh — the recipe of the booted test hosts' base image: a Debian 12 root with systemd as init,
# sshd and python3, and an apt cache seeded for offline installs. Run by `hosts.sh image` into a temp
# dir; the text of this file and packages.list make the image's cache key, so any change here or there
# builds a new image.
set -Eeuo pipefail

readonly SUITE=bookworm
HOSTS_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
readonly HOSTS_DIR

[[ "${TRACE:-}" == 1 ]] && set -x

usage() { cat >&2 <<'EOF'
usage: image.sh TARGET_DIR DEB_CACHE_DIR MIRROR
Builds the image into TARGET_DIR (empty or missing). DEB_CACHE_DIR keeps the downloaded .deb files
between builds, so a rebuild after a recipe change downloads only what is new.
EOF
}

log() { printf '==> image (%3d s): %s\n' "${SECONDS}" "$*"; }

# packages KIND: the names on packages.list's lines starting with KIND ("install" or "seed"), on one line.
packages() {
  local kind="$1" first rest names=() words
  while read -r first rest; do
    if [[ "${first}" == "${kind}" ]]; then
      read -r -a words <<<"${rest}"
      names+=("${words[@]}")
    fi
  done <"${HOSTS_DIR}/packages.list"
  printf '%s\n' "${names[*]}"
}

bootstrap() {
  local target="$1" debs="$2" mirror="$3" include
  include="$(packages install | tr ' ' ',')"
  log "debootstrap ${SUITE} (minbase + ${include})"
  # dpkg without its fsyncs while building (a crashed build is thrown away anyway); removed at the end.
  mkdir -p "${target}/etc/dpkg/dpkg.cfg.d"
  printf 'force-unsafe-io\n' >"${target}/etc/dpkg/dpkg.cfg.d/build-unsafe-io"
  # minbase: only essential and apt; the debs come from (and go to) the shared cache dir.
  debootstrap --variant=minbase --include="${include}" --cache-dir="${debs}" \
    "${SUITE}" "${target}" "${mirror}" >"${target}.debootstrap.log" 2>&1 ||
    { tail -n 20 "${target}.debootstrap.log" >&2; return 1; }
  rm -f "${target}.debootstrap.log"
}

configure() {
  local target="$1" mirror="$2"
  printf 'deb %s %s main\n' "${mirror}" "${SUITE}" >"${target}/etc/apt/sources.list"
  # Each host gets its machine id at its first boot and its own SSH host key from hosts.sh.
  : >"${target}/etc/machine-id"
  rm -f "${target}/var/lib/dbus/machine-id" "${target}"/etc/ssh/ssh_host_*
  printf 'localhost\n' >"${target}/etc/hostname"
  cat >"${target}/etc/ssh/sshd_config.d/test-host.conf" <<'EOF'
# Booted test host: root logs in with the run's key only; one host key, written by hosts.sh.
HostKey /etc/ssh/ssh_host_ed25519_key
PermitRootLogin prohibit-password
PasswordAuthentication no
EOF
  # The hosts have no route out: the daily apt timers would only fail.
  ln -sf /dev/null "${target}/etc/systemd/system/apt-daily.timer"
  ln -sf /dev/null "${target}/etc/systemd/system/apt-daily-upgrade.timer"
}

# seed TARGET DEBS: download the seed packages (and their dependencies) into the image's apt cache and
# keep the package lists, so `apt-get install` works offline in a host.
seed() {
  local target="$1" debs="$2" archives="$1/var/cache/apt/archives" file
  local -a names needed
  read -r -a names <<<"$(packages seed)"
  log "seeding the apt cache with ${names[*]}"
  chroot "${target}" apt-get -q update >/dev/null
  # The debs the seed needs ('URI' FILE SIZE HASH); those already in the shared cache are not
  # downloaded again (apt checks their hashes).
  mapfile -t needed < <(chroot "${target}" apt-get -qq -y --print-uris install "${names[@]}" | cut -d' ' -f2)
  for file in "${needed[@]}"; do
    [[ -f "${debs}/${file}" ]] && cp "${debs}/${file}" "${archives}/"
  done
  chroot "${target}" apt-get -q -y --download-only install "${names[@]}" >/dev/null
  cp -n -t "${debs}" "${archives}"/*.deb
  : >"${target}/etc/resolv.conf"
}

main() {
  [[ $# -eq 3 ]] || { usage; exit 2; }
  local target="$1" debs="$2" mirror="$3"
  mkdir -p "${target}" "${debs}"
  bootstrap "${target}" "${debs}" "${mirror}"
  configure "${target}" "${mirror}"
  seed "${target}" "${debs}"
  rm -f "${target}/etc/dpkg/dpkg.cfg.d/build-unsafe-io"
  log "done"
}

main "$@"
