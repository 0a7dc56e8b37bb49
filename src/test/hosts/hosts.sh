#!/usr/bin/env bash
# hosts.sh — booted test hosts: Debian 12 roots with systemd as PID 1 (systemd-nspawn --boot), each in
# its own network namespace with its own address on a private bridge, reachable over SSH with a key
# made for the run, with the machine's Redis and RabbitMQ reachable through the bridge address: a
# RabbitMQ virtual host and a Redis database of their own, so that the hosts' colors never consume the
# queues nor take the job locks of apps run on the machine meanwhile (another test run, a demo).
#
# Machine side (all of it removed by `down-all`):
#   /var/cache/bluegreen-test-hosts/images/KEY   the base image, KEY = hash of image.sh + packages.list
#   /var/cache/bluegreen-test-hosts/debs         downloaded .debs, reused by the next image build
#   /var/lib/bluegreen-test-hosts/hosts/NAME     a host's root: a copy of the image (or of a snapshot)
#   /var/lib/bluegreen-test-hosts/snapshots/SNAP a stopped host's root, to start other hosts from
#   /run/bluegreen-test-hosts                    the run: SSH key and config, pids, logs, services.env
#   bridge bgh0 (SUBNET.1/24), netns + veth bgh-NAME per host, relays SUBNET.1:6379/5672 -> loopback,
#   a RabbitMQ user and virtual host of the run; once a host was given `registries`: relays SUBNET.1:443 -> Maven Central
#   and SUBNET.1:80 -> the Debian mirror.
set -Eeuo pipefail

HOSTS_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
readonly HOSTS_DIR
readonly SELF="${HOSTS_DIR}/hosts.sh"
readonly TOOLS_LIST="${HOSTS_DIR}/../../../scripts/lib/tools.tsv"
readonly SCRIPT_NAME="hosts.sh"
readonly CACHE_DIR="${BOOTED_HOSTS_CACHE_DIR:-/var/cache/bluegreen-test-hosts}"
readonly DATA_DIR="${BOOTED_HOSTS_DATA_DIR:-/var/lib/bluegreen-test-hosts}"
readonly RUN_DIR="/run/bluegreen-test-hosts"
readonly MIRROR="${BOOTED_HOSTS_MIRROR:-http://deb.debian.org/debian}"
# A /24 of 10/8 that home and cloud networks rarely use; hosts get .10 to .250, the machine .1.
readonly SUBNET="${BOOTED_HOSTS_SUBNET:-10.213.77}"
readonly GATEWAY="${SUBNET}.1"
readonly BRIDGE="bgh0"
readonly PREFIX="bgh-"          # netns and machine-side veth names: bgh-NAME (15 characters at most)
readonly REDIS_PORT=6379
readonly RABBITMQ_PORT=5672
readonly RABBITMQ_USER="booted-hosts"
readonly RABBITMQ_VHOST="booted-hosts"
readonly REDIS_DATABASE=1
# What mvnw and Maven download from (.mvn/wrapper/maven-wrapper.properties, Maven's default repository).
readonly MAVEN_CENTRAL="repo.maven.apache.org"
readonly MAVEN_CENTRAL_PORT=443
readonly LOCAL_CA_DIR="/usr/local/share/ca-certificates"
readonly BOOT_TIMEOUT="${BOOTED_HOSTS_BOOT_TIMEOUT:-90}"  # seconds from start to `running`
readonly STOP_TIMEOUT="${BOOTED_HOSTS_STOP_TIMEOUT:-30}"  # seconds for a clean poweroff, then kill
readonly EXIT_REBOOT=133                                  # systemd-nspawn's exit code when the host reboots

[[ "${TRACE:-}" == 1 ]] && set -x

usage() { cat >&2 <<'EOF'
usage: hosts.sh COMMAND [ARGS]
  check                      fail with a one-line message when a tool or the kernel is missing
  image                      build the base image unless cached; print its path
  up NAME [--from SNAPSHOT]  boot a host (from the image, or a snapshot); wait for sshd and `running`
  ssh [--user USER] NAME [CMD...]  run CMD on the host as root, or USER (who has the run's key)
  copy NAME LOCAL REMOTE     copy a file to the host (as root)
  link NAME up|down          connect the host to the network, or cut it off (a host that is unreachable)
  registries NAME            let the host reach Maven Central and the Debian mirror (still no route out):
                             relays on the bridge address, the registries' names mapped to it in its /etc/hosts,
                             the certificate authorities this machine added trusted there too
  reboot NAME                reboot the host; wait until it is back and `running`
  snapshot NAME SNAPSHOT     stop the host, keep its root as SNAPSHOT, boot it again
  address NAME               print the host's address
  env                        print the run's settings (KEY=value): SSH config, Redis and RabbitMQ access
  memory NAME                print the host's memory in KiB (PSS of its processes)
  down NAME                  stop the host (poweroff, kill on timeout) and remove it
  down-all                   remove every host, snapshot, the network, the relays, the RabbitMQ user and vhost
NAME: a lowercase letter then up to 10 lowercase letters, digits or '-'. Needs root.
EOF
}

log() { printf '==> %s\n' "$*" >&2; }
warn() { printf '%s: warning: %s\n' "${SCRIPT_NAME}" "$*" >&2; }
die() { printf '%s: error: %s\n' "${SCRIPT_NAME}" "$*" >&2; exit 1; }

now_ms() { date +%s%3N; }

# ---- prerequisites -------------------------------------------------------------------------------

# check_tools: root, and the "hosts" tools of scripts/lib/tools.tsv (the one list, which .ci/run
# installs); one line naming the Debian package of the first one missing.
check_tools() {
  local tool package
  [[ "${EUID}" -eq 0 ]] || die "booted test hosts need root (network namespaces, systemd-nspawn); run as root or skip them with -Dbooted-hosts.skip=true"
  while read -r tool package; do
    if [[ "${tool}" == /* ]]; then [[ -e "${tool}" ]]; else command -v "${tool}" >/dev/null 2>&1; fi ||
      die "${tool} is missing (Debian package: ${package}); booted test hosts need it"
  done < <(awk -F '\t' '!/^#/ && $3 == "hosts" { print $1 " " $2 }' "${TOOLS_LIST}")
}

check_kernel() {
  local probe="${PREFIX}probe$$"
  ip netns add "${probe}" 2>/dev/null ||
    die "cannot create a network namespace (ip netns add): the kernel or the container refuses"
  ip netns delete "${probe}"
}

cmd_check() {
  check_tools
  check_kernel
  echo "ok"
}

valid_name() {
  [[ "$1" =~ ^[a-z][a-z0-9-]{0,10}$ ]] || die "bad host name '$1': a lowercase letter then up to 10 lowercase letters, digits or '-'"
}

# ---- the image -----------------------------------------------------------------------------------

image_key() {
  cat "${HOSTS_DIR}/image.sh" "${HOSTS_DIR}/packages.list" <(printf '%s\n' "${MIRROR}") |
    sha256sum | cut -c1-16
}

# remove_tree DIR: unmount whatever is still mounted below DIR, then delete it without crossing into
# another filesystem (a failed build can leave /proc mounted in its root).
remove_tree() {
  local dir="$1" mount_point
  [[ -e "${dir}" ]] || return 0
  while read -r mount_point; do
    umount -l "${mount_point}" 2>/dev/null || true
  done < <(awk -v d="${dir}/" 'index($2, d) == 1 { print $2 }' /proc/mounts | sort -r)
  rm -rf --one-file-system "${dir}"
}

# image_path: the cached image, built first when missing (one build at a time, under the cache lock;
# into a temp dir renamed into place, so a crashed build never counts as an image).
image_path() {
  local key image tmp started
  key="$(image_key)"
  image="${CACHE_DIR}/images/${key}"
  mkdir -p "${CACHE_DIR}/images" "${CACHE_DIR}/debs"
  [[ -d "${image}" ]] && { printf '%s\n' "${image}"; return 0; }
  exec {lock_fd}>"${CACHE_DIR}/lock"
  flock "${lock_fd}"
  if [[ ! -d "${image}" ]]; then
    started="$(now_ms)"
    log "building the base image ${key} (once; cached in ${CACHE_DIR})"
    tmp="$(mktemp -d "${CACHE_DIR}/images/.build.XXXXXX")"
    # shellcheck disable=SC2064 # the temp dir is known now
    trap "remove_tree '${tmp}'" EXIT
    "${HOSTS_DIR}/image.sh" "${tmp}/root" "${CACHE_DIR}/debs" "${MIRROR}" >&2 ||
      die "building the base image failed (log above)"
    mv -T "${tmp}/root" "${image}"
    remove_tree "${tmp}"
    trap - EXIT
    prune_images "${key}"
    log "base image built in $(( ($(now_ms) - started) / 1000 )) s"
  fi
  exec {lock_fd}>&-
  printf '%s\n' "${image}"
}

# prune_images KEY: other keys are images of an older recipe (hosts are copies: none depends on them).
prune_images() {
  local dir
  for dir in "${CACHE_DIR}"/images/*; do
    [[ -d "${dir}" && "${dir}" != "${CACHE_DIR}/images/$1" ]] && remove_tree "${dir}"
  done
  return 0
}

cmd_image() {
  check_tools
  image_path
}

# ---- the run: lock, SSH key, network, services ---------------------------------------------------

# with_run_lock CMD...: the run's shared state (addresses, bridge, relays) changes one caller at a time.
with_run_lock() {
  mkdir -p "${RUN_DIR}"
  (
    flock 9
    "$@"
  ) 9>"${RUN_DIR}/lock"
}

ssh_setup() {
  local dir="${RUN_DIR}/ssh"
  [[ -f "${dir}/id_ed25519" ]] && return 0
  mkdir -p "${dir}"
  chmod 0700 "${dir}"
  ssh-keygen -q -t ed25519 -N '' -C "booted-test-hosts" -f "${dir}/id_ed25519"
  : >"${dir}/known_hosts"
  cat >"${dir}/config" <<EOF
# The run's hosts; use with ssh -F ${dir}/config NAME (ansible: ansible_ssh_common_args).
Host *
  User root
  IdentityFile ${dir}/id_ed25519
  IdentitiesOnly yes
  UserKnownHostsFile ${dir}/known_hosts
  StrictHostKeyChecking yes
  BatchMode yes
  ConnectTimeout 5
  ServerAliveInterval 5
  LogLevel ERROR
EOF
}

net_setup() {
  ip link show "${BRIDGE}" >/dev/null 2>&1 && return 0
  ip link add "${BRIDGE}" type bridge
  ip addr add "${GATEWAY}/24" dev "${BRIDGE}"
  ip link set "${BRIDGE}" up
}

# relay NAME PORT [TARGET]: SUBNET.1:PORT -> TARGET, by default 127.0.0.1:PORT (Redis and RabbitMQ
# listen on loopback only; the connections reach them from loopback, the machine's services keep their
# configuration).
relay_start() {
  local name="$1" port="$2" target="${3:-127.0.0.1:$2}" pid_file="${RUN_DIR}/relay-$1.pid"
  [[ -f "${pid_file}" ]] && kill -0 "$(<"${pid_file}")" 2>/dev/null && return 0
  # 9>&-: the relay must not keep the run lock that its caller holds.
  setsid socat "TCP-LISTEN:${port},bind=${GATEWAY},reuseaddr,fork" "TCP:${target}" \
    </dev/null >>"${RUN_DIR}/relay-${name}.log" 2>&1 9>&- &
  printf '%s\n' "$!" >"${pid_file}"
}

relay_listening() { [[ -n "$(ss -Hltn "src ${GATEWAY}:$1")" ]]; }

rabbitmq_user_setup() {
  local env_file="${RUN_DIR}/services.env" password
  [[ -f "${env_file}" ]] && return 0
  # Letters and digits only: a leading '-' would read as an option of rabbitmqctl.
  password="$(head -c 64 /dev/urandom | base64 | tr -dc 'A-Za-z0-9' | head -c 24)"
  rabbitmqctl -q delete_user "${RABBITMQ_USER}" >/dev/null 2>&1 || true
  rabbitmqctl -q delete_vhost "${RABBITMQ_VHOST}" >/dev/null 2>&1 || true
  rabbitmqctl -q add_user "${RABBITMQ_USER}" "${password}" >/dev/null ||
    die "rabbitmqctl add_user failed: is RabbitMQ running on this machine?"
  rabbitmqctl -q add_vhost "${RABBITMQ_VHOST}" >/dev/null
  rabbitmqctl -q set_permissions -p "${RABBITMQ_VHOST}" "${RABBITMQ_USER}" '.*' '.*' '.*' >/dev/null
  umask 077
  cat >"${env_file}" <<EOF
REDIS_HOST=${GATEWAY}
REDIS_PORT=${REDIS_PORT}
REDIS_DATABASE=${REDIS_DATABASE}
RABBITMQ_HOST=${GATEWAY}
RABBITMQ_PORT=${RABBITMQ_PORT}
RABBITMQ_USERNAME=${RABBITMQ_USER}
RABBITMQ_PASSWORD=${password}
RABBITMQ_VHOST=${RABBITMQ_VHOST}
EOF
}

run_setup() {
  ssh_setup
  net_setup
  relay_start redis "${REDIS_PORT}"
  relay_start rabbitmq "${RABBITMQ_PORT}"
  rabbitmq_user_setup
}

cmd_env() {
  [[ -f "${RUN_DIR}/services.env" ]] || die "no hosts are up (hosts.sh up NAME first)"
  printf 'SSH_CONFIG=%s\n' "${RUN_DIR}/ssh/config"
  printf 'SSH_KEY=%s\n' "${RUN_DIR}/ssh/id_ed25519"
  printf 'SSH_KNOWN_HOSTS=%s\n' "${RUN_DIR}/ssh/known_hosts"
  printf 'GATEWAY=%s\n' "${GATEWAY}"
  cat "${RUN_DIR}/services.env"
}

# ---- registries ----------------------------------------------------------------------------------

# mirror_host_port: the Debian mirror's name and port, from MIRROR (the hosts' sources.list names it).
mirror_host_port() {
  local rest="${MIRROR#*://}" host port
  host="${rest%%/*}"
  case "${MIRROR}" in
    https://*) port=443 ;;
    http://*) port=80 ;;
    *) die "MIRROR=${MIRROR}: not an http(s) URL" ;;
  esac
  if [[ "${host}" == *:* ]]; then
    port="${host##*:}"
    host="${host%:*}"
  fi
  printf '%s %s\n' "${host}" "${port}"
}

# registries_relays: under the run lock: SUBNET.1:443 -> Maven Central, SUBNET.1:PORT -> the mirror;
# plain TCP, so TLS and its SNI pass through untouched.
registries_relays() {
  local mirror mirror_host mirror_port
  mirror="$(mirror_host_port)"
  read -r mirror_host mirror_port <<<"${mirror}"
  [[ "${mirror_port}" != "${MAVEN_CENTRAL_PORT}" ]] ||
    die "MIRROR=${MIRROR} uses port ${MAVEN_CENTRAL_PORT}, which relays Maven Central already: use an http:// mirror"
  relay_start maven-central "${MAVEN_CENTRAL_PORT}" "${MAVEN_CENTRAL}:${MAVEN_CENTRAL_PORT}"
  relay_start debian-mirror "${mirror_port}" "${mirror_host}:${mirror_port}"
  relay_wait maven-central "${MAVEN_CENTRAL_PORT}"
  relay_wait debian-mirror "${mirror_port}"
}

# relay_wait NAME PORT: the relay listens (socat exits at once when the port is taken on this machine).
relay_wait() {
  wait_until 5 relay_listening "$2" ||
    die "the $1 relay does not listen on ${GATEWAY}:$2 (is the port taken on this machine?): $(tail -n 2 "${RUN_DIR}/relay-$1.log" 2>/dev/null | tr '\n' ' ')"
}

# registries_trust NAME: the host trusts the certificate authorities this machine added to its own
# (/usr/local/share/ca-certificates): behind a TLS-inspecting proxy, the registries' certificates are
# signed by one of them. None on a machine without one.
registries_trust() {
  local name="$1" dir certs
  mapfile -t certs < <(find "${LOCAL_CA_DIR}" -name '*.crt' -type f 2>/dev/null)
  ((${#certs[@]})) || return 0
  dir="$(host_data_dir "${name}")/root${LOCAL_CA_DIR}/machine"
  mkdir -p "${dir}"
  cp -t "${dir}" "${certs[@]}"
  # Once ca-certificates is installed (a JDK brings it); otherwise its installation takes them in.
  host_ssh "${name}" 'if command -v update-ca-certificates >/dev/null; then update-ca-certificates >/dev/null; fi'
}

# registries NAME: the host reaches the registries by their own names, through the relays.
cmd_registries() {
  local name="$1" hosts_file mirror
  host_address "${name}" >/dev/null
  mirror="$(mirror_host_port)"
  with_run_lock registries_relays
  hosts_file="$(host_data_dir "${name}")/root/etc/hosts"
  sed -i '/# hosts.sh registries$/d' "${hosts_file}"
  printf '%s %s %s # hosts.sh registries\n' "${GATEWAY}" "${MAVEN_CENTRAL}" "${mirror%% *}" >>"${hosts_file}"
  registries_trust "${name}"
}

# ---- one host ------------------------------------------------------------------------------------

host_run_dir() { printf '%s/hosts/%s\n' "${RUN_DIR}" "$1"; }
host_data_dir() { printf '%s/hosts/%s\n' "${DATA_DIR}" "$1"; }

host_address() {
  local file
  file="$(host_run_dir "$1")/address"
  [[ -f "${file}" ]] || die "no host named $1 is up"
  printf '%s\n' "$(<"${file}")"
}

# allocate NAME: the lowest free address of .10 to .250, recorded in the host's run dir.
allocate() {
  local name="$1" dir i
  dir="$(host_run_dir "${name}")"
  [[ -e "${dir}" ]] && die "a host named ${name} is up already"
  for ((i = 10; i <= 250; i++)); do
    if ! grep -qsxF "${SUBNET}.${i}" "${RUN_DIR}"/hosts/*/address; then
      mkdir -p "${dir}"
      printf '%s\n' "${SUBNET}.${i}" >"${dir}/address"
      return 0
    fi
  done
  die "no free address left in ${SUBNET}.0/24"
}

snapshot_root() {
  local root="${DATA_DIR}/snapshots/$1/root"
  [[ -d "${root}" ]] || die "no snapshot named $1"
  printf '%s\n' "${root}"
}

# root_setup NAME SOURCE: the host's root, a copy of SOURCE (reflinks where the filesystem has them; an
# overlayfs root was seen failing dbus-daemon's inotify watches); then what makes the host itself:
# hostname, SSH host key, the run's authorized key.
root_setup() {
  local name="$1" source="$2" data root
  data="$(host_data_dir "${name}")"
  root="${data}/root"
  remove_tree "${data}"
  mkdir -p "${data}"
  cp -a --reflink=auto "${source}" "${root}"
  printf '%s\n' "${name}" >"${root}/etc/hostname"
  printf '127.0.0.1 localhost\n127.0.1.1 %s\n::1 localhost ip6-localhost ip6-loopback\n' "${name}" >"${root}/etc/hosts"
  rm -f "${root}"/etc/ssh/ssh_host_*
  ssh-keygen -q -t ed25519 -N '' -C "root@${name}" -f "${root}/etc/ssh/ssh_host_ed25519_key"
  mkdir -p "${root}/root/.ssh"
  chmod 0700 "${root}/root/.ssh"
  install -m 0600 "${RUN_DIR}/ssh/id_ed25519.pub" "${root}/root/.ssh/authorized_keys"
}

known_host_add() {
  local name="$1" address="$2" root key_type key
  root="$(host_data_dir "${name}")/root"
  read -r key_type key _ <"${root}/etc/ssh/ssh_host_ed25519_key.pub"
  known_host_remove "${name}"
  printf '%s,%s %s %s\n' "${name}" "${address}" "${key_type}" "${key}" >>"${RUN_DIR}/ssh/known_hosts"
  printf 'Host %s\n  HostName %s\n' "${name}" "${address}" >>"${RUN_DIR}/ssh/config"
}

known_host_remove() {
  local name="$1" file="${RUN_DIR}/ssh/known_hosts" config="${RUN_DIR}/ssh/config"
  [[ -f "${file}" ]] && sed -i "/^${name},/d" "${file}"
  [[ -f "${config}" ]] && sed -i "/^Host ${name}\$/,+1d" "${config}"
  return 0
}

netns_setup() {
  local name="$1" address="$2" ns="${PREFIX}$1"
  ip netns add "${ns}"
  ip link add "${ns}" type veth peer name eth0 netns "${ns}"
  ip link set "${ns}" master "${BRIDGE}" up
  ip -n "${ns}" link set lo up
  ip -n "${ns}" addr add "${address}/24" dev eth0
  ip -n "${ns}" link set eth0 up
}

netns_remove() {
  local ns="${PREFIX}$1"
  ip link delete "${ns}" 2>/dev/null || true
  ip netns delete "${ns}" 2>/dev/null || true
}

# The cgroup trees systemd-nspawn --keep-unit uses: the named systemd one and the unified one (hybrid
# layout), or the unified one alone.
cgroup_dirs() {
  local hierarchy
  for hierarchy in /sys/fs/cgroup/systemd /sys/fs/cgroup/unified /sys/fs/cgroup; do
    [[ -f "${hierarchy}/cgroup.procs" ]] && printf '%s/bluegreen-test-hosts/%s\n' "${hierarchy}" "$1"
  done
  return 0
}

# cgroup_enter NAME: the calling process moves into a cgroup of the host's own. Each host's systemd
# manages the cgroup it starts in; two hosts sharing one would move each other's services around.
cgroup_enter() {
  local dir
  for dir in $(cgroup_dirs "$1"); do
    mkdir -p "${dir}"
    printf '%s\n' "${BASHPID}" >"${dir}/cgroup.procs"
  done
}

cgroup_pids() {
  local dir
  for dir in $(cgroup_dirs "$1"); do
    [[ -d "${dir}" ]] && find "${dir}" -name cgroup.procs -exec cat {} +
  done
  return 0
}

cgroup_remove() {
  local dir
  for dir in $(cgroup_dirs "$1"); do
    [[ -d "${dir}" ]] && find "${dir}" -depth -type d -exec rmdir {} + 2>/dev/null
  done
  return 0
}

# supervise NAME: runs detached for the host's lifetime: boots it, and boots it again (same root) when
# it reboots; ends when the host powers off or is stopped.
cmd_supervise() {
  local name="$1" dir root rc boots=0
  dir="$(host_run_dir "${name}")"
  root="$(host_data_dir "${name}")/root"
  cgroup_enter "${name}"
  while :; do
    boots=$((boots + 1))
    printf '%s\n' "${boots}" >"${dir}/boots"
    systemd-nspawn --quiet --directory="${root}" --boot --register=no --keep-unit \
      --machine="${name}" --network-namespace-path="/run/netns/${PREFIX}${name}" \
      --console=read-only --resolv-conf=off --timezone=off --link-journal=no &
    printf '%s\n' "$!" >"${dir}/nspawn.pid"
    rc=0
    wait "$!" || rc=$?
    printf '%s\n' "${rc}" >"${dir}/exit-code"
    [[ "${rc}" -eq "${EXIT_REBOOT}" && ! -e "${dir}/stopping" ]] || break
    printf '==> %s rebooted; booting it again\n' "${name}"
  done
  rm -f "${dir}/nspawn.pid"
}

boot() {
  local name="$1" dir
  dir="$(host_run_dir "${name}")"
  rm -f "${dir}/stopping" "${dir}/exit-code"
  setsid "${SELF}" _supervise "${name}" </dev/null >>"${dir}/console.log" 2>&1 &
  printf '%s\n' "$!" >"${dir}/supervisor.pid"
}

host_ssh() {
  local name="$1"
  shift
  ssh -F "${RUN_DIR}/ssh/config" "${name}" "$@"
}

# wait_running NAME STARTED_MS: bounded wait for sshd, then for systemd's `running`; says how long each took.
wait_running() {
  local name="$1" started="$2" deadline state ssh_ms
  deadline=$((started + BOOT_TIMEOUT * 1000))
  until host_ssh "${name}" true 2>/dev/null; do
    supervisor_alive "${name}" || die "${name} stopped while booting: $(console_tail "${name}")"
    (($(now_ms) < deadline)) || die "${name}: sshd did not answer within ${BOOT_TIMEOUT} s: $(console_tail "${name}")"
    sleep 0.2
  done
  ssh_ms=$(($(now_ms) - started))
  # Polled (not `is-system-running --wait`), so that a boot stuck in `starting` ends with its pending jobs.
  while :; do
    state="$(host_ssh "${name}" systemctl is-system-running 2>/dev/null)" || true
    case "${state}" in
      running) break ;;
      initializing | starting | "") ;;
      *) die "${name} is ${state}, not running; failed units: $(failed_units "${name}")" ;;
    esac
    (($(now_ms) < deadline)) || die "${name} is ${state:-unknown}, not running after ${BOOT_TIMEOUT} s; jobs: $(host_ssh "${name}" systemctl list-jobs --plain --no-legend 2>/dev/null | tr '\n' ' ')"
    sleep 0.2
  done
  log "${name} is running at $(host_address "${name}"): sshd after ${ssh_ms} ms, running after $(($(now_ms) - started)) ms"
}

failed_units() { host_ssh "$1" systemctl --failed --plain --no-legend 2>/dev/null | cut -d' ' -f1 | tr '\n' ' '; }

console_tail() { tail -n 3 "$(host_run_dir "$1")/console.log" 2>/dev/null | tr '\n' ' '; }

pid_of() {
  local file
  file="$(host_run_dir "$1")/$2.pid"
  [[ -f "${file}" ]] && cat "${file}"
}

supervisor_alive() {
  local pid
  pid="$(pid_of "$1" supervisor)" && kill -0 "${pid}" 2>/dev/null
}

# wait_until SECONDS CMD...: true once CMD is true; false when SECONDS passed.
wait_until() {
  local deadline=$(($(now_ms) + $1 * 1000))
  shift
  until "$@"; do
    (($(now_ms) < deadline)) || return 1
    sleep 0.2
  done
}

not() { ! "$@"; }

# stop NAME: a clean poweroff (SIGTERM makes nspawn halt the host's systemd), killed after STOP_TIMEOUT.
stop() {
  local name="$1" dir pid ns_pids
  dir="$(host_run_dir "${name}")"
  [[ -d "${dir}" ]] || return 0
  touch "${dir}/stopping"
  if supervisor_alive "${name}"; then
    pid="$(pid_of "${name}" nspawn)" && kill -TERM "${pid}" 2>/dev/null
    if ! wait_until "${STOP_TIMEOUT}" not supervisor_alive "${name}"; then
      warn "${name} did not power off within ${STOP_TIMEOUT} s; killing it"
      pid="$(pid_of "${name}" nspawn)" && kill -KILL "${pid}" 2>/dev/null
      wait_until 10 not supervisor_alive "${name}" || kill -KILL "$(pid_of "${name}" supervisor)" 2>/dev/null
    fi
  fi
  # Whatever still runs in the host's cgroup or namespace (nothing, after a clean poweroff), by pid.
  mapfile -t ns_pids < <(cgroup_pids "${name}"
    [[ -e "/run/netns/${PREFIX}${name}" ]] && ip netns pids "${PREFIX}${name}" 2>/dev/null)
  ((${#ns_pids[@]} == 0)) || kill -KILL "${ns_pids[@]}" 2>/dev/null || true
}

cmd_up() {
  local name="$1" from="" lower started
  shift
  valid_name "${name}"
  if [[ $# -gt 0 ]]; then
    [[ $# -eq 2 && "$1" == --from ]] || { usage; exit 2; }
    from="$2"
  fi
  check_tools
  check_kernel
  if [[ -n "${from}" ]]; then
    lower="$(snapshot_root "${from}")"
  else
    lower="$(image_path)"
  fi
  started="$(now_ms)"
  with_run_lock run_setup
  with_run_lock allocate "${name}"
  # From here on, a failed start leaves nothing behind.
  trap 'up_failed "${name}"' EXIT
  root_setup "${name}" "${lower}"
  with_run_lock host_network "${name}"
  boot "${name}"
  wait_running "${name}" "${started}"
  trap - EXIT
}

# host_network NAME: under the run lock: the host's SSH entries, namespace and veth on the bridge.
host_network() {
  local name="$1" address
  address="$(host_address "${name}")"
  known_host_add "${name}" "${address}"
  netns_setup "${name}" "${address}"
}

up_failed() {
  local rc=$?
  if [[ -f "$(host_run_dir "$1")/console.log" ]]; then
    warn "$1's console (last lines):"
    tail -n 20 "$(host_run_dir "$1")/console.log" >&2
  fi
  host_remove "$1"
  exit "${rc}"
}

cmd_ssh() {
  local user=()
  if [[ "$1" == --user ]]; then
    user=(-l "$2")
    shift 2
  fi
  local name="$1"
  shift
  host_address "${name}" >/dev/null
  ssh -F "${RUN_DIR}/ssh/config" ${user[@]+"${user[@]}"} "${name}" "$@"
}

cmd_copy() {
  host_address "$1" >/dev/null
  scp -q -F "${RUN_DIR}/ssh/config" "$2" "$1:$3"
}

cmd_reboot() {
  local name="$1" dir boots started
  dir="$(host_run_dir "${name}")"
  host_address "${name}" >/dev/null
  boots="$(<"${dir}/boots")"
  started="$(now_ms)"
  # The connection may drop before ssh gets the exit status.
  host_ssh "${name}" systemctl reboot || true
  wait_until "${BOOT_TIMEOUT}" booted_since "${name}" "${boots}" ||
    die "${name} did not reboot within ${BOOT_TIMEOUT} s: $(console_tail "${name}")"
  wait_running "${name}" "${started}"
}

booted_since() { [[ "$(<"$(host_run_dir "$1")/boots")" -gt "$2" ]]; }

cmd_snapshot() {
  local name="$1" snap="$2" dir tmp
  [[ "${snap}" =~ ^[a-z0-9][a-z0-9._-]*$ ]] || die "bad snapshot name '${snap}'"
  dir="${DATA_DIR}/snapshots/${snap}"
  [[ -e "${dir}" ]] && die "a snapshot named ${snap} exists already"
  host_address "${name}" >/dev/null
  local data started
  data="$(host_data_dir "${name}")"
  started="$(now_ms)"
  stop "${name}"
  mkdir -p "${DATA_DIR}/snapshots"
  tmp="$(mktemp -d "${DATA_DIR}/snapshots/.${snap}.XXXXXX")"
  cp -a --reflink=auto "${data}/root" "${tmp}/root"
  # Hosts started from it get a machine id and an SSH host key of their own.
  rm -f "${tmp}"/root/etc/ssh/ssh_host_*
  : >"${tmp}/root/etc/machine-id"
  mv -T "${tmp}" "${dir}"
  log "snapshot ${snap} of ${name} taken"
  boot "${name}"
  wait_running "${name}" "${started}"
}

# memory NAME: the PSS of the host's processes (every process in its network namespace), in KiB.
cmd_memory() {
  local name="$1" pid total=0 kib
  host_address "${name}" >/dev/null
  for pid in $(ip netns pids "${PREFIX}${name}"); do
    kib="$(awk '/^Pss:/ { print $2 }' "/proc/${pid}/smaps_rollup" 2>/dev/null)" || kib=0
    total=$((total + ${kib:-0}))
  done
  printf '%s\n' "${total}"
}

host_remove() {
  stop "$1"
  with_run_lock host_teardown "$1"
}

host_teardown() {
  local name="$1"
  netns_remove "${name}"
  cgroup_remove "${name}"
  remove_tree "$(host_data_dir "${name}")"
  known_host_remove "${name}"
  rm -rf "$(host_run_dir "${name}")"
}

cmd_down() {
  valid_name "$1"
  check_tools
  host_remove "$1"
}

# down-all: every host of this harness (also those a crashed run left behind), then the run's shared state.
cmd_down_all() {
  local name names=() ns
  check_tools
  for name in "${RUN_DIR}"/hosts/* "${DATA_DIR}"/hosts/*; do
    [[ -e "${name}" ]] && names+=("$(basename "${name}")")
  done
  while read -r ns _; do
    [[ "${ns}" == "${PREFIX}"* ]] && names+=("${ns#"${PREFIX}"}")
  done < <(ip netns list 2>/dev/null)
  for name in $(printf '%s\n' "${names[@]}" | sort -u); do
    host_remove "${name}"
  done
  remove_tree "${DATA_DIR}"
  relay_stop redis
  relay_stop rabbitmq
  relay_stop maven-central
  relay_stop debian-mirror
  if [[ -f "${RUN_DIR}/services.env" ]]; then
    rabbitmqctl -q delete_user "${RABBITMQ_USER}" >/dev/null 2>&1 || warn "could not delete the RabbitMQ user ${RABBITMQ_USER}"
    rabbitmqctl -q delete_vhost "${RABBITMQ_VHOST}" >/dev/null 2>&1 || warn "could not delete the RabbitMQ virtual host ${RABBITMQ_VHOST}"
  fi
  ip link delete "${BRIDGE}" 2>/dev/null || true
  local dir
  for dir in $(cgroup_dirs ""); do
    [[ -d "${dir}" ]] && rmdir "${dir}" 2>/dev/null
  done
  rm -rf "${RUN_DIR}"
}

relay_stop() {
  local pid_file="${RUN_DIR}/relay-$1.pid" pid
  [[ -f "${pid_file}" ]] || return 0
  pid="$(<"${pid_file}")"
  # socat's fork children (open connections) are in its process group (setsid made it the leader).
  kill -TERM -- "-${pid}" 2>/dev/null || true
  wait_until 5 not kill -0 "${pid}" 2>/dev/null || kill -KILL -- "-${pid}" 2>/dev/null || true
}

main() {
  [[ $# -ge 1 ]] || { usage; exit 2; }
  local command="$1"
  shift
  case "${command}" in
    check) cmd_check ;;
    image) cmd_image ;;
    up) [[ $# -ge 1 ]] || { usage; exit 2; }; cmd_up "$@" ;;
    ssh) [[ $# -ge 1 ]] || { usage; exit 2; }; cmd_ssh "$@" ;;
    copy) [[ $# -eq 3 ]] || { usage; exit 2; }; cmd_copy "$@" ;;
    link) [[ $# -eq 2 && ( "$2" == up || "$2" == down ) ]] || { usage; exit 2; }; host_address "$1" >/dev/null
      ip link set "${PREFIX}$1" "$2" ;;
    reboot) [[ $# -eq 1 ]] || { usage; exit 2; }; cmd_reboot "$1" ;;
    registries) [[ $# -eq 1 ]] || { usage; exit 2; }; cmd_registries "$1" ;;
    snapshot) [[ $# -eq 2 ]] || { usage; exit 2; }; cmd_snapshot "$1" "$2" ;;
    address) [[ $# -eq 1 ]] || { usage; exit 2; }; host_address "$1" ;;
    env) cmd_env ;;
    memory) [[ $# -eq 1 ]] || { usage; exit 2; }; cmd_memory "$1" ;;
    down) [[ $# -eq 1 ]] || { usage; exit 2; }; cmd_down "$1" ;;
    down-all) [[ $# -eq 0 ]] || { usage; exit 2; }; cmd_down_all ;;
    _supervise) cmd_supervise "$1" ;;
    -h | --help | help) usage ;;
    *) usage; exit 2 ;;
  esac
}

main "$@"
