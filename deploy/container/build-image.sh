#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
#
# Build sowatch's container image with buildah, from a Debian 12 minbase root with sowatch's
# .deb installed in it. See --help.
set -euo pipefail

usage() {
	cat <<'EOF'
Usage: deploy/container/build-image.sh [OPTIONS]

Build the container image localhost/sowatch:VERSION (and localhost/sowatch:latest) with
buildah: a Debian 12 root made by `debootstrap --variant=minbase bookworm`, sowatch's .deb
installed in it with apt-get (so that its dependencies and recommended libraries, for the
webhook, NATS and SCC outputs and the metrics server, come from Debian), apt's lists,
caches, documentation (but for the copyright files) and manual pages removed, then committed as one layer with
the entrypoint ["/usr/sbin/sowatch", "run"]. The image runs as root: the capabilities the
container is given (see deploy/kubernetes/sowatch.yaml) are what limits it.

The debootstrap root is cached between runs, in
  /var/cache/sowatch-tests/rootfs/bookworm-minbase-ARCH/
(one directory per suite, variant and architecture; ARCH is dpkg's, amd64 here). It is made
when missing; each build copies it into a fresh work root, so the cache itself never
changes. Refresh it with --refresh-rootfs, or by removing that directory. Packages are
upgraded from the mirror at every build, so a stale cache costs time, not security fixes.

Options:
  --deb PATH          sowatch's .deb (default: the newest build/deb/sowatch_*.deb of the
                      repository, as `make deb` makes it)
  --version V         the image tag (default: the .deb's version without its Debian revision)
  --name NAME         the image name (default: localhost/sowatch)
  --no-latest         do not also tag NAME:latest
  --mirror URL        the Debian mirror (default: the first Debian URI of
                      /etc/apt/sources.list.d/*.sources or /etc/apt/sources.list, else
                      http://deb.debian.org/debian)
  --cache-dir DIR     where the debootstrap roots are cached
                      (default: /var/cache/sowatch-tests/rootfs)
  --refresh-rootfs    make the cached root anew
  --iidfile PATH      write the image id to PATH
  --keep-work         keep the work root (under /var/tmp) for inspection
  -h, --help          this help

buildah's own options (its storage, for instance) come from its configuration and its
environment: set CONTAINERS_STORAGE_CONF to build into another store.
Must run as root (debootstrap and chroot).
EOF
}

SUITE=bookworm
VARIANT=minbase
DEB=
VERSION=
NAME=localhost/sowatch
LATEST=1
MIRROR=
CACHE_DIR=/var/cache/sowatch-tests/rootfs
REFRESH=0
IIDFILE=
KEEP=0
REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)

while [ $# -gt 0 ]; do
	case "$1" in
	--deb) DEB=$2; shift 2 ;;
	--version) VERSION=$2; shift 2 ;;
	--name) NAME=$2; shift 2 ;;
	--no-latest) LATEST=0; shift ;;
	--mirror) MIRROR=$2; shift 2 ;;
	--cache-dir) CACHE_DIR=$2; shift 2 ;;
	--refresh-rootfs) REFRESH=1; shift ;;
	--iidfile) IIDFILE=$2; shift 2 ;;
	--keep-work) KEEP=1; shift ;;
	-h|--help) usage; exit 0 ;;
	*) echo "build-image.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
	esac
done

die() { echo "build-image.sh: $*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "must run as root (debootstrap, chroot)"
for tool in debootstrap buildah dpkg-deb chroot; do
	command -v "$tool" >/dev/null || die "$tool is missing (scripts/install-deps.sh --test installs it)"
done

if [ -z "$DEB" ]; then
	DEB=$(ls -t "$REPO_ROOT"/build/deb/sowatch_*.deb 2>/dev/null | head -n1 || true)
	[ -n "$DEB" ] || die "no build/deb/sowatch_*.deb: run 'make deb' first, or give --deb"
fi
[ -f "$DEB" ] || die "$DEB: no such file"
DEB=$(realpath "$DEB")
[ "$(dpkg-deb -f "$DEB" Package)" = sowatch ] || die "$DEB is not sowatch's package"
if [ -z "$VERSION" ]; then
	VERSION=$(dpkg-deb -f "$DEB" Version)
	VERSION=${VERSION%-*}
fi
ARCH=$(dpkg-deb -f "$DEB" Architecture)

if [ -z "$MIRROR" ]; then
	# The machine's own Debian mirror: deb822 sources first, then one-line ones
	MIRROR=$(cat /etc/apt/sources.list.d/*.sources 2>/dev/null |
		 awk '/^URIs:/ { for (i = 2; i <= NF; i++) if ($i ~ /\/debian\/?$/) { print $i; exit } }')
	if [ -z "$MIRROR" ]; then
		MIRROR=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null |
			 awk '$1 == "deb" { for (i = 2; i <= NF; i++) if ($i ~ /\/debian\/?$/) { print $i; exit } }')
	fi
	MIRROR=${MIRROR:-http://deb.debian.org/debian}
fi
MIRROR=${MIRROR%/}
# The security archive sits beside the main one on Debian's mirrors (deb.debian.org)
SECURITY=${MIRROR%/debian}/debian-security
[ "$SECURITY" != "$MIRROR/debian-security" ] || SECURITY=http://deb.debian.org/debian-security

# Each step's time, printed when the next one starts
T0=$EPOCHREALTIME
STEP_T=$T0
STEP_NAME=
elapsed() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }'; }
step() {
	[ -z "$STEP_NAME" ] || printf 'build-image.sh: %-30s %6s s\n' "$STEP_NAME" "$(elapsed "$STEP_T")"
	STEP_NAME=$1
	STEP_T=$EPOCHREALTIME
}

# -- 1. the cached debootstrap root
step "debootstrap (cached root)"
ROOTFS_KEY=$SUITE-$VARIANT-$ARCH
CACHED=$CACHE_DIR/$ROOTFS_KEY
mkdir -p "$CACHE_DIR"
exec 9>"$CACHE_DIR/.$ROOTFS_KEY.lock"
flock 9 # one build at a time makes or copies the cache
if [ "$REFRESH" = 1 ] || [ ! -f "$CACHED/.sowatch-rootfs-complete" ]; then
	STEP_NAME="debootstrap (cold)"
	rm -rf "$CACHED" "$CACHED.new"
	echo "build-image.sh: debootstrap --variant=$VARIANT $SUITE from $MIRROR into $CACHED" >&2
	debootstrap --variant="$VARIANT" --arch="$ARCH" "$SUITE" "$CACHED.new" "$MIRROR" \
		>"$CACHE_DIR/$ROOTFS_KEY.log" 2>&1 ||
		die "debootstrap failed; see $CACHE_DIR/$ROOTFS_KEY.log"
	rm -rf "$CACHED.new/var/cache/apt/archives/"*.deb
	echo "$SUITE $VARIANT $ARCH $MIRROR $(date -u +%Y-%m-%dT%H:%M:%SZ)" \
		>"$CACHED.new/.sowatch-rootfs-complete"
	mv "$CACHED.new" "$CACHED"
fi

# -- 2. a fresh work root with the .deb installed
step "copy the cached root"
WORK=$(mktemp -d /var/tmp/sowatch-image.XXXXXX)
ROOT=$WORK/root
CTR=
cleanup() {
	local rc=$?
	for m in "$ROOT/dev/pts" "$ROOT/dev" "$ROOT/proc"; do
		mountpoint -q "$m" 2>/dev/null && umount -l "$m"
	done
	[ -z "$CTR" ] || buildah rm "$CTR" >/dev/null 2>&1 || true
	if [ "$KEEP" = 1 ]; then
		echo "build-image.sh: keeping $WORK" >&2
	else
		rm -rf --one-file-system "$WORK"
	fi
	exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM
cp -a "$CACHED" "$ROOT"
flock -u 9
exec 9>&-
rm -f "$ROOT/.sowatch-rootfs-complete"

step "apt-get install the .deb"
cat >"$ROOT/etc/apt/sources.list" <<EOF
deb $MIRROR $SUITE main
deb $MIRROR $SUITE-updates main
deb $SECURITY $SUITE-security main
EOF
cp /etc/resolv.conf "$ROOT/etc/resolv.conf"
# No service starts in the build root
printf '#!/bin/sh\nexit 101\n' >"$ROOT/usr/sbin/policy-rc.d"
chmod 755 "$ROOT/usr/sbin/policy-rc.d"
mount -t proc proc "$ROOT/proc"
mount --bind /dev "$ROOT/dev"
cp "$DEB" "$ROOT/tmp/sowatch.deb"
in_root() {
	chroot "$ROOT" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin DEBIAN_FRONTEND=noninteractive \
		LC_ALL=C "$@"
}
APT_OPTS=(-y -q -o Dpkg::Use-Pty=0 --no-install-recommends)
in_root apt-get -q -o Dpkg::Use-Pty=0 update >"$WORK/apt.log" 2>&1 ||
	{ cat "$WORK/apt.log" >&2; die "apt-get update failed"; }
in_root apt-get "${APT_OPTS[@]}" upgrade >>"$WORK/apt.log" 2>&1 ||
	{ cat "$WORK/apt.log" >&2; die "apt-get upgrade failed"; }
# With its Recommends (libcurl4, libnats3.4, libmicrohttpd12): the outputs and the metrics
# server that a configuration may turn on
in_root apt-get -y -q -o Dpkg::Use-Pty=0 install /tmp/sowatch.deb >>"$WORK/apt.log" 2>&1 ||
	{ cat "$WORK/apt.log" >&2; die "apt-get install $DEB failed"; }
in_root /usr/sbin/sowatch --version >/dev/null || die "sowatch does not run in the image root"

step "trim the root"
in_root apt-get clean
umount "$ROOT/dev" "$ROOT/proc"
rm -f "$ROOT/tmp/sowatch.deb" "$ROOT/usr/sbin/policy-rc.d" "$ROOT/etc/resolv.conf"
rm -rf "$ROOT"/var/lib/apt/lists/* "$ROOT"/var/cache/apt/*.bin "$ROOT"/var/cache/debconf/*-old \
	"$ROOT"/var/lib/dpkg/*-old "$ROOT"/var/log/* "$ROOT"/tmp/* "$ROOT"/var/tmp/*
# Documentation goes, but not the packages' copyright files (their licences ask for them)
find "$ROOT/usr/share/doc" -mindepth 1 \( -type f -o -type l \) ! -name copyright -delete
find "$ROOT/usr/share/doc" -mindepth 1 -type d -empty -delete
rm -rf "$ROOT"/usr/share/man/* "$ROOT"/usr/share/info/* \
	"$ROOT"/usr/share/locale/* "$ROOT"/usr/share/lintian "$ROOT"/usr/share/linda
# The container runtime provides these
: >"$ROOT/etc/hostname"
: >"$ROOT/etc/resolv.conf"
ROOT_SIZE=$(du -sm "$ROOT" | cut -f1)

# -- 3. the image
step "buildah from/copy/config"
CTR=$(buildah from --quiet scratch)
buildah copy --quiet "$CTR" "$ROOT" / >/dev/null
SOURCE_URL=$(git -C "$REPO_ROOT" config --get remote.origin.url 2>/dev/null || true)
REVISION=$(git -C "$REPO_ROOT" rev-parse HEAD 2>/dev/null || true)
buildah config \
	--entrypoint '["/usr/sbin/sowatch", "run"]' \
	--env PATH=/usr/sbin:/usr/bin:/sbin:/bin \
	--env LC_ALL=C.UTF-8 \
	--workingdir / \
	--stop-signal SIGTERM \
	--os linux --arch "$ARCH" \
	--label org.opencontainers.image.title=sowatch \
	--label org.opencontainers.image.description="sowatch: reports OpenSSL loading an untrusted shared object" \
	--label org.opencontainers.image.version="$VERSION" \
	--label org.opencontainers.image.licenses=Apache-2.0 \
	--label org.opencontainers.image.source="${SOURCE_URL:-sowatch}" \
	--label org.opencontainers.image.revision="${REVISION:-unknown}" \
	--label org.opencontainers.image.base.name="debian:$SUITE ($VARIANT, debootstrap)" \
	--label io.sowatch.deb="$(basename "$DEB")" \
	"$CTR"

step "buildah commit"
TAGS=("$NAME:$VERSION")
[ "$LATEST" = 0 ] || TAGS+=("$NAME:latest")
IID=$(buildah commit --quiet --rm --squash "$CTR" "${TAGS[0]}")
CTR=
for t in "${TAGS[@]:1}"; do buildah tag "$IID" "$t"; done
[ -z "$IIDFILE" ] || echo "$IID" >"$IIDFILE"
step ""

SIZE=$(buildah images --noheading --format '{{.Size}}' "$IID" | awk 'NR == 1')
echo "build-image.sh: total $(elapsed "$T0") s"
echo "build-image.sh: root ${ROOT_SIZE} MiB, image ${SIZE:-?}"
echo "build-image.sh: image id $IID"
echo "build-image.sh: tagged ${TAGS[*]}"
