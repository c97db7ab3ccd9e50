#!/usr/bin/env bash
# Each command's --help is made from the table its parser reads: every option it lists
# is known to the parser (never "unknown option"), and is in the man page nmr-bpf(8) and
# in the bash completion, so that help, parsing, docs and completion cannot drift apart.
. "$(dirname "$0")/common.sh"
cli="$OUT/nmr-bpf"
man=$(MANWIDTH=200 man -l "$OUT/man/nmr-bpf.8" 2>/dev/null)
[ -n "$man" ] || fail "no rendered nmr-bpf.8 (make doc)"
comp=bash-completion/nmr-bpf
n=0
for cmd in "npi register" "provider register" "provider replace" "client register" \
	   "binding list" "registry check" apply dump metrics; do
	help=$("$cli" $cmd --help) || fail "$cmd --help failed"
	grep -q "^Usage: nmr-bpf $cmd" <<<"$help" || fail "$cmd --help: no usage line"
	opts=$(sed -n '/^Options of/,$p' <<<"$help" | grep -o '^  --[a-z-]*' | sed 's/^  //')
	[ -n "$opts" ] || fail "$cmd --help lists no option"
	for o in $opts; do
		n=$((n + 1))
		err=$("$cli" --root /nonexistent-nmr-bpf-test $cmd "$o" 2>&1)
		grep -q "unknown option" <<<"$err" && fail "$cmd: $o is in --help, not in the parser"
		grep -qF -- "$o" <<<"$man" || fail "$cmd: $o is not in nmr-bpf(8)"
		grep -qF -- "$o" "$comp" || fail "$cmd: $o is not in the bash completion"
	done
done
[ "$n" -ge 30 ] || fail "only $n options checked"
exit 0
