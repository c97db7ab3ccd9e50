#!/usr/bin/env bash
# libnmrbpf's files call only downward (base, store, bpf, engine, api, live) and
# never in a cycle; and the checker itself finds a call up when there is one.
. "$(dirname "$0")/common.sh"
python3 scripts/layers.py -q || fail "the library's layering is broken (scripts/layers.py -v)"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cp -r user "$tmp/"
mkdir -p "$tmp/scripts"
cp scripts/layers.py "$tmp/scripts/"
# a store file that calls the engine: must be refused
printf '\nvoid nmr_layers_probe(struct nmr_registry *reg) { nmr_recover(reg); }\n' \
	>> "$tmp/user/lib/store/paths.c"
out=$(python3 "$tmp/scripts/layers.py" -q 2>&1) && fail "a call up into the engine was not found"
grep -q "store/paths.c calls up into engine/recover.c: nmr_recover" <<<"$out" ||
	fail "unexpected report: $out"
exit 0
