#!/usr/bin/env bash
# Install what sowatch needs to build, run and test, from Debian 12's packages only.
# Idempotent: apt-get skips what is already there. Run as root.
#
#   scripts/install-deps.sh          build and run
#   scripts/install-deps.sh --test   also what the test suite uses
#   scripts/install-deps.sh --bench  also what `make bench` compares against and plots with
set -euo pipefail

if [[ $(id -u) -ne 0 ]]; then
	echo "install-deps: run as root (apt-get installs packages)" >&2
	exit 1
fi

build=(
	make gcc pkg-config
	clang llvm             # BPF target
	bpftool                # skeletons, BTF dump
	libbpf-dev libelf-dev zlib1g-dev
	libssl-dev             # SHA-256, OpenSSL's module directories
	libyaml-dev            # configuration
	libjansson-dev         # OCI runtime state and config.json (container names, pods)
	libsqlite3-dev         # the findings store
	protobuf-c-compiler libprotobuf-c-dev # gVisor's runtime-monitoring messages (proto/gvisor/)
	openssl                # the program we watch, and its module directories
)
test=(
	libcmocka-dev          # unit tests
	python3                # end-to-end tests (Debian's /usr/bin/python3, standard library only)
	curl                   # a program other than openssl that loads OpenSSL configuration
	runc                   # real containers
	runsc                  # real gVisor sandboxes (the gvisor source)
	libengine-pkcs11-openssl # a legitimate engine: must give no finding
	clang-format           # make format-check
)

bench=(
	python3                # bench/run.py (Debian's /usr/bin/python3, standard library only)
	auditd                 # a configuration to compare with: auditd with an execve rule
	bpftrace               # another: a bpftrace script tracing execs and executable mappings
	gnuplot-nox            # the plot of slowdown ratios (docs/bench.png)
)

pkgs=("${build[@]}")
for arg in "$@"; do
	case $arg in
	--test) pkgs+=("${test[@]}") ;;
	--bench) pkgs+=("${bench[@]}") ;;
	*)
		echo "install-deps: unknown option $arg (use --test and/or --bench)" >&2
		exit 2
		;;
	esac
done

export DEBIAN_FRONTEND=noninteractive
missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
	apt-get update -q
	apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
echo "install-deps: ${#pkgs[@]} packages present (${#missing[@]} installed now)"
