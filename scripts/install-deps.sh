#!/usr/bin/env bash
# Install what sowatch needs to build, run and test, from Debian 12's packages only.
# Idempotent: apt-get skips what is already there. Run as root.
#
#   scripts/install-deps.sh          build and run
#   scripts/install-deps.sh --test   also what the test suite uses
#   scripts/install-deps.sh --bench  also what `make bench` compares against and plots with
#   scripts/install-deps.sh --package  also what `make deb` builds the Debian package with
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
	libcurl4-openssl-dev   # the webhook output (HTTP/HTTPS)
	libmicrohttpd-dev      # /metrics and /healthz
	protobuf-c-compiler libprotobuf-c-dev # gVisor's runtime-monitoring messages (proto/gvisor/)
	libnats-dev            # the NATS JetStream output and `sowatch collect` (the C client, 3.4)
	libsystemd-dev         # sd_notify: readiness and the watchdog under systemd (Type=notify)
	openssl                # the program we watch, and its module directories
)
package=(
	dpkg-dev debhelper fakeroot # make deb
	lintian                # the package's checks
)

test=(
	libcmocka-dev          # unit tests
	python3                # end-to-end tests (Debian's /usr/bin/python3, standard library only)
	curl                   # a program other than openssl that loads OpenSSL configuration
	runc                   # real containers
	runsc                  # real gVisor sandboxes (the gvisor source)
	libengine-pkcs11-openssl # a legitimate engine: must give no finding
	nodejs                 # a program with OpenSSL linked in (the machines' own build; Debian's if none)
	gcc-multilib           # 32-bit (-m32) test modules
	libssl3:i386           # a 32-bit libcrypto beside the host's, for a 32-bit openssl
	clang-format           # make format-check
	rsyslog                # a real syslog receiver for the syslog output
	prometheus             # a real Prometheus server that scrapes /metrics
	nats-server            # a real NATS JetStream cluster for the fleet path (tests/e2e/natscluster.py)
	strace                 # the system calls sowatch makes, against the unit's SystemCallFilter=
	# tests/install: the Debian package, the systemd unit, the container image, Kubernetes
	"${package[@]}"
	systemd                # systemd-analyze verify / security on the unit (no systemd as PID 1 here)
	man-db groff-base      # the man page is checked for roff warnings
	bash-completion        # the completion script is run in a real bash
	debootstrap            # the image's Debian 12 root file system (minbase)
	buildah podman         # the image is built with buildah and run with podman
	docker.io containerd   # real Docker and containerd engines (tests/e2e/engines.py)
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
	--package) pkgs+=("${package[@]}") ;;
	*)
		echo "install-deps: unknown option $arg (use --test, --bench and/or --package)" >&2
		exit 2
		;;
	esac
done

export DEBIAN_FRONTEND=noninteractive
# The i386 packages need the architecture before apt-get update.
for p in "${pkgs[@]}"; do
	if [[ $p == *:i386 ]] && ! dpkg --print-foreign-architectures | grep -qx i386; then
		dpkg --add-architecture i386
		break
	fi
done
missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
	apt-get update -q
	apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
echo "install-deps: ${#pkgs[@]} packages present (${#missing[@]} installed now)"

# A 32-bit openssl cannot be installed beside the host's (both are /usr/bin/openssl): the tests
# unpack this copy of Debian's package into their own folder.
if [[ " $* " == *" --test "* ]]; then
	i386_debs=/var/cache/sowatch-test
	if ! compgen -G "$i386_debs/openssl_*_i386.deb" >/dev/null; then
		mkdir -p "$i386_debs"
		(cd "$i386_debs" && apt-get download -q openssl:i386 2>&1 | grep -v '^W: Download is performed unsandboxed' || true)
	fi
	compgen -G "$i386_debs/openssl_*_i386.deb" >/dev/null || {
		echo "install-deps: could not download openssl:i386 into $i386_debs" >&2
		exit 1
	}
fi

# Debian's kubectl (kubernetes-client), for `kubectl create --dry-run=client` on
# deploy/kubernetes/sowatch.yaml. Unpacked into a directory of the tests' own, not installed:
# these machines may carry another kubectl at /usr/bin/kubectl (Google's, package kubectl),
# which kubernetes-client would have to overwrite.
KUBECTL_DIR=/var/cache/sowatch-tests/kubernetes-client
for arg in "$@"; do
	if [[ $arg == --test && ! -x $KUBECTL_DIR/usr/bin/kubectl ]]; then
		dl="$(mktemp -d)" && chmod 755 "$dl" # apt-get download runs as _apt
		(cd "$dl" && apt-get download -q kubernetes-client)
		mkdir -p "$KUBECTL_DIR"
		dpkg-deb -x "$dl"/kubernetes-client_*.deb "$KUBECTL_DIR"
		rm -rf "$dl"
	fi
done
