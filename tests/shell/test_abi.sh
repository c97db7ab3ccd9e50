#!/usr/bin/env bash
# The shared library exports exactly the NMR_API functions of libnmrbpf.h, each in the
# version script; and the check itself notices a function missing from the map.
. "$(dirname "$0")/common.sh"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

so=$OUT/libnmrbpf.so.1
[ "$(readlink "$so")" = libnmrbpf.so.0.2.0 ] || fail "$so does not point to the versioned file"
[ "$(readlink "$OUT/libnmrbpf.so")" = libnmrbpf.so.1 ] ||
	fail "libnmrbpf.so -> $(readlink "$OUT/libnmrbpf.so")"
scripts/check-abi.sh include/libnmrbpf.h user/lib/libnmrbpf.map "$so" || fail "check-abi failed"

# An internal function the static library has must not be exported.
nm "$OUT/libnmrbpf.a" 2>/dev/null | grep -q ' T nmr_error$' || fail "nmr_error not in libnmrbpf.a"
nm -D --defined-only "$so" | grep -q ' nmr_error' && fail "nmr_error is exported"

# A map without nmr_npi_register: the check must refuse it.
grep -v 'nmr_npi_register;' user/lib/libnmrbpf.map > "$tmp/short.map"
if scripts/check-abi.sh include/libnmrbpf.h "$tmp/short.map" "$so" 2>"$tmp/err"; then
	fail "check-abi accepted a map without nmr_npi_register"
fi
grep -q nmr_npi_register "$tmp/err" || fail "check-abi did not name the missing function"
exit 0
