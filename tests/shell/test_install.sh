#!/usr/bin/env bash
# make install into a DESTDIR: the files land where the variables say; a program built
# from there with pkg-config links against the installed shared library and runs (a
# client module on a veth pair of its own, in a private registry, with the installed
# CLI registering its peers); make uninstall removes every file it installed.
. "$(dirname "$0")/common.sh"
dest=$(mktemp -d /tmp/nmrt-install.XXXXXX)
root=/sys/fs/bpf/nmrt-$$-1
ns=nmrt-$$-1
prefix=/usr/local
pid=
cleanup() {
	[ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	[ -e "$root" ] && { "$OUT/nmr-bpf" --root "$root" registry destroy >/dev/null 2>&1
			    rm -rf "$root"; }
	ip netns del "$ns" 2>/dev/null
	rm -rf "$dest"
}
trap cleanup EXIT

make -s --no-print-directory install DESTDIR="$dest" PREFIX=$prefix \
	BASH_COMPDIR=/usr/share/bash-completion/completions >"$dest.log" 2>&1 ||
	{ cat "$dest.log" >&2; rm -f "$dest.log"; fail "make install failed"; }
rm -f "$dest.log"
D=$dest$prefix
for f in sbin/nmr-bpf lib/libnmrbpf.a lib/libnmrbpf.so.0.2.0 lib/libnmrbpf.so.1 lib/libnmrbpf.so \
	 lib/pkgconfig/libnmrbpf.pc include/nmr/libnmrbpf.h include/nmr/nmr_abi.h \
	 include/nmr/nmr_provider.h include/nmr/nmr_maps.bpf.h \
	 share/nmr-bpf/bpf/frame_counter.bpf.o share/man/man8/nmr-bpf.8 \
	 share/man/man3/libnmrbpf.3 share/man/man7/nmr-bpf-registry.7; do
	[ -e "$D/$f" ] || fail "$prefix/$f not installed"
done
[ -e "$dest/usr/share/bash-completion/completions/nmr-bpf" ] || fail "completion not installed"
[ -e "$D/share/nmr-bpf/bpf/registry.bpf.o" ] && fail "registry.bpf.o installed"
[ "$(readlink "$D/lib/libnmrbpf.so.1")" = libnmrbpf.so.0.2.0 ] || fail "libnmrbpf.so.1 link"
grep -qx "libdir=$prefix/lib" "$D/lib/pkgconfig/libnmrbpf.pc" || fail "libnmrbpf.pc: libdir"
[ -e deploy/nmr-bpf.service ] && { [ -e "$dest/lib/systemd/system/nmr-bpf.service" ] ||
	ls "$dest"/*/lib/systemd/system/nmr-bpf.service >/dev/null 2>&1 ||
	fail "nmr-bpf.service not installed"; }

# A program built from the DESTDIR alone, with pkg-config, against the shared library.
export PKG_CONFIG_PATH=$D/lib/pkgconfig PKG_CONFIG_SYSROOT_DIR=$dest
flags=$(pkg-config --cflags --libs libnmrbpf) || fail "pkg-config libnmrbpf"
grep -q -- "-I$D/include/nmr" <<<"$flags" || fail "pkg-config --cflags: $flags"
# a library built with sanitizers (make test-asan) needs a program built with them
san=
ldd "$D/lib/libnmrbpf.so.1" | grep -q libasan && san="-fsanitize=address,undefined"
cc -Wall -Werror $san -o "$dest/version_client" examples/version_client.c $flags ||
	fail "building version_client from $dest"
export LD_LIBRARY_PATH=$D/lib
ldd "$dest/version_client" | grep -q "libnmrbpf.so.1 => $D/lib/libnmrbpf.so.1" ||
	fail "version_client does not use the installed libnmrbpf.so.1"
unset PKG_CONFIG_PATH PKG_CONFIG_SYSROOT_DIR

cli=$D/sbin/nmr-bpf
"$cli" -V | grep -q '^nmr-bpf 0.2.0' || fail "installed nmr-bpf -V: $("$cli" -V)"
ip netns add "$ns" && ip -n "$ns" link add veth0 type veth peer name veth1 &&
	ip -n "$ns" link set veth0 up && ip -n "$ns" link set veth1 up || fail "veth pair"
"$cli" --root "$root" npi register inst --hook xdp >/dev/null || fail "npi register"
"$cli" --root "$root" provider register "$D/share/nmr-bpf/bpf/frame_counter.bpf.o" --npi inst \
	--name v1 --version 1 >/dev/null || fail "provider register v1"
"$cli" --root "$root" provider register "$D/share/nmr-bpf/bpf/frame_counter.bpf.o" --npi inst \
	--name v2 --version 2 >/dev/null || fail "provider register v2"
log=$dest/client.log
"$dest/version_client" --root "$root" --npi inst --dev veth0 --netns "$ns" --version 2 \
	>"$log" 2>&1 &
pid=$!
poll grep -qs '^registered:.*(libnmrbpf 0.2.0)' "$log" || fail "version_client: $(cat "$log")"
grep -q '^attached v2' "$log" || fail "v2 not attached: $(cat "$log")"
grep -q '^declined v1' "$log" || fail "v1 not declined: $(cat "$log")"
"$cli" --root "$root" -j binding list | grep -q '"provider":"v2"' ||
	fail "installed CLI does not list the binding"
kill -TERM "$pid"
wait "$pid" || fail "version_client exited with $?"
pid=
grep -q '^deregistered' "$log" || fail "version_client did not deregister"
rm -f "$log"

make -s --no-print-directory uninstall DESTDIR="$dest" PREFIX=$prefix \
	BASH_COMPDIR=/usr/share/bash-completion/completions >/dev/null 2>&1 || fail "make uninstall"
rm -f "$dest/version_client"
left=$(find "$dest" -type f -o -type l)
[ -z "$left" ] || fail "left after uninstall: $left"
exit 0
