#!/usr/bin/env bash
# make deb (and CI): builds the Debian packages from a copy of the tree (dpkg-buildpackage
# writes into the parent directory), checks what each holds, and runs lintian, which must
# report no error or warning that debian/*.lintian-overrides does not explain.
#   tests/shell/deb.sh [OUTDIR]   the .deb files are left in OUTDIR (default build/deb)
set -u
cd "$(dirname "$0")/../.."
outdir=${1:-build/deb}
tmp=$(mktemp -d /tmp/nmrt-deb.XXXXXX)
trap '[ -n "${KEEP:-}" ] || rm -rf "$tmp"' EXIT
fail() {
	echo "FAIL deb: $*" >&2
	exit 1
}

# The tracked and the new, not ignored files: what a clean clone of this tree holds.
mkdir "$tmp/nmr-bpf" && git ls-files -z -co --exclude-standard |
	xargs -0 sh -c 'for f; do [ -e "$f" ] && printf "%s\0" "$f"; done' sh |
	tar -c --null -T - | tar -x -C "$tmp/nmr-bpf" || fail "copying the tree"
(cd "$tmp/nmr-bpf" && dpkg-buildpackage -b -us -uc) >"$tmp/build.log" 2>&1 ||
	{ tail -40 "$tmp/build.log" >&2; fail "dpkg-buildpackage failed ($tmp/build.log)"; }

arch=$(dpkg-architecture -qDEB_HOST_ARCH)
ma=$(dpkg-architecture -qDEB_HOST_MULTIARCH)
ver=$(dpkg-parsechangelog -l debian/changelog -S Version)
has() {	# has PACKAGE PATH...
	local deb=$tmp/${1}_${ver}_$arch.deb p
	[ -e "$deb" ] || fail "$1 was not built"
	shift
	dpkg -c "$deb" | awk '{ print $6 }' >"$tmp/list"
	for p in "$@"; do
		grep -qx -- "./$p" "$tmp/list" || fail "$(basename "$deb") has no $p"
	done
}
has nmr-bpf usr/sbin/nmr-bpf usr/share/man/man8/nmr-bpf.8.gz \
	usr/share/man/man7/nmr-bpf-registry.7.gz usr/share/bash-completion/completions/nmr-bpf \
	usr/share/nmr-bpf/bpf/frame_counter.bpf.o
has libnmrbpf1 "usr/lib/$ma/libnmrbpf.so.1" "usr/lib/$ma/libnmrbpf.so.0.2.0"
has libnmrbpf-dev usr/include/nmr/libnmrbpf.h usr/include/nmr/nmr_provider.h \
	"usr/lib/$ma/libnmrbpf.so" "usr/lib/$ma/libnmrbpf.a" "usr/lib/$ma/pkgconfig/libnmrbpf.pc" \
	usr/share/man/man3/libnmrbpf.3.gz
dpkg -I "$tmp/libnmrbpf1_${ver}_$arch.deb" shlibs >"$tmp/shlibs"
grep -q '^libnmrbpf 1 libnmrbpf1' "$tmp/shlibs" || fail "libnmrbpf1: no shlibs for libnmrbpf.so.1"
dpkg -I "$tmp/libnmrbpf1_${ver}_$arch.deb" symbols >"$tmp/symbols"
grep -q 'nmr_npi_register@LIBNMRBPF_0.1.0' "$tmp/symbols" || fail "libnmrbpf1: no symbols file"
dpkg --fsys-tarfile "$tmp/libnmrbpf-dev_${ver}_$arch.deb" |
	tar -xO "./usr/lib/$ma/pkgconfig/libnmrbpf.pc" >"$tmp/pc" || fail "no libnmrbpf.pc"
grep -qx "libdir=/usr/lib/$ma" "$tmp/pc" || fail "libnmrbpf.pc: wrong libdir"

changes=$tmp/nmr-bpf_${ver}_$arch.changes
lintian --fail-on error,warning --display-info "$changes" >"$tmp/lintian" 2>&1
lrc=$?
cat "$tmp/lintian"
[ $lrc -eq 0 ] || fail "lintian reported errors or warnings (above)"

mkdir -p "$outdir"
cp "$tmp"/*.deb "$outdir"/
echo "PASS deb: $(cd "$tmp" && ls ./*.deb | tr '\n' ' ')-> $outdir"
