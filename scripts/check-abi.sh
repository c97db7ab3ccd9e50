#!/usr/bin/env bash
# The shared library's ABI check: every function libnmrbpf.h marks NMR_API is in the
# version script (user/lib/libnmrbpf.map) and exported by the .so with a version, and
# the .so exports nothing else.
#   check-abi.sh [HEADER MAP SO]
set -euo pipefail
header=${1:-include/libnmrbpf.h}
map=${2:-user/lib/libnmrbpf.map}
so=${3:-build/libnmrbpf.so.1}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# The name before the first '(' of each declaration that starts with NMR_API.
awk '/^NMR_API/ { d = $0; while (d !~ /;/ && (getline l) > 0) d = d " " l; print d }' "$header" |
	sed -E 's/\(.*//; s/.*[ *]([A-Za-z_][A-Za-z0-9_]*)$/\1/' | sort -u > "$tmp/header"
# Symbols listed under global: in the version script.
sed -e 's/#.*//' "$map" | tr -s ' \t;' '\n' | grep -E '^nmr_[A-Za-z0-9_]+$' | sort -u \
	> "$tmp/map"
# Defined, exported symbols of the library, without their version.
nm -D --defined-only "$so" | awk '$2 ~ /^[TDBRVWiu]$/ { print $3 }' |
	grep -v '^LIBNMRBPF_' | sed 's/@.*//' | sort -u > "$tmp/so"
nm -D --defined-only --with-symbol-versions "$so" 2>/dev/null |
	awk '$2 ~ /^[TDBRVWiu]$/ && $3 !~ /@@?LIBNMRBPF_/ && $3 !~ /^LIBNMRBPF_/ { print $3 }' \
	> "$tmp/unversioned"

fail=0
report() {
	local what=$1 file=$2
	if [ -s "$file" ]; then
		echo "check-abi: $what:" >&2
		sed 's/^/  /' "$file" >&2
		fail=1
	fi
}
[ -s "$tmp/header" ] || { echo "check-abi: no NMR_API function in $header" >&2; exit 1; }
comm -23 "$tmp/header" "$tmp/map" > "$tmp/a"; report "NMR_API, missing from $map" "$tmp/a"
comm -13 "$tmp/header" "$tmp/map" > "$tmp/b"; report "in $map, not NMR_API in $header" "$tmp/b"
comm -23 "$tmp/header" "$tmp/so" > "$tmp/c"; report "NMR_API, not exported by $so" "$tmp/c"
comm -13 "$tmp/header" "$tmp/so" > "$tmp/d"; report "exported by $so, not NMR_API" "$tmp/d"
report "exported without a LIBNMRBPF_ symbol version" "$tmp/unversioned"
soname=$(readelf -d "$so" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
[ "$soname" = libnmrbpf.so.1 ] || { echo "check-abi: SONAME is '$soname'" >&2; fail=1; }
[ $fail -eq 0 ] && echo "check-abi: $(wc -l < "$tmp/header") functions, all in the map" \
	"and exported, nothing else exported (SONAME $soname)"
exit $fail
