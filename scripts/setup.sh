#!/usr/bin/env bash
# Idempotent set-up of a fresh Debian 12 machine for building, running and
# testing sstrace. Run as root. Installs only from Debian's archive.
set -euo pipefail

packages=(
  # build
  build-essential cmake ninja-build pkg-config git
  clang llvm libbpf-dev bpftool libelf-dev zlib1g-dev
  libcli11-dev nlohmann-json3-dev googletest libgtest-dev libgmock-dev
  clang-format
  # --metrics: Debian's Prometheus client library and its exposer, so that
  # sstrace serves /metrics without an HTTP server of its own
  prometheus-cpp-dev
  # sstrace top's interactive screen
  libncurses-dev
  # the privilege check and drop (libcap); the tests run sstrace without
  # CAP_BPF through setpriv (util-linux) and capsh (libcap2-bin)
  libcap-dev libcap2-bin util-linux
  # tests: the peers we compare against and the traffic we make
  iproute2 nftables iperf3 procps kmod
  # the metrics tests: a real Prometheus scrapes sstrace; curl reads
  # /metrics and Prometheus's query API
  prometheus curl
  # the top e2e test drives the interactive screen in a detached terminal
  tmux
  # tests/docs/check_troubleshooting.py: every message in src/ documented
  python3
  # the log-pipeline tests: --output under a real logrotate (create with
  # SIGHUP, copytruncate) and shipped by rsyslog (imfile -> TCP -> omfile)
  logrotate rsyslog
  # packaging (scripts/package.sh, the `package` tests): CPack's .deb asks
  # dpkg-shlibdeps (dpkg-dev) for Depends; the tests check the unit with
  # systemd-analyze (systemd), the man page with man and groff (man-db,
  # groff-base; col from bsdextrautils), the completion with
  # bash-completion's helpers, the rotation with logrotate, forward
  # sstrace's lines through two rsyslogds (rsyslog), and run the package's
  # postinst, which calls adduser
  dpkg-dev systemd man-db groff-base bsdextrautils bash-completion logrotate rsyslog adduser
  # benchmarks: the eBPF peers
  libbpf-tools bpftrace hyperfine
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  if [[ $(id -u) -ne 0 ]]; then
    echo "setup: need root to install: ${missing[*]}" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

if [[ $(id -u) -eq 0 ]]; then
  # Classic tracepoints (the accept() owner tracking, fallbacks on kernels
  # without tp_btf) need tracefs; sstrace mounts it itself when missing, this
  # only saves it the step.
  if [[ -d /sys/kernel/tracing ]] && ! mountpoint -q /sys/kernel/tracing; then
    mount -t tracefs nodev /sys/kernel/tracing 2>/dev/null || true
  fi
  # The e2e tests create namespaces under /run/netns (ip netns).
  mkdir -p /run/netns
fi
echo "setup: ok"
