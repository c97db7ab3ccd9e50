#!/usr/bin/env bash
# Each man page renders without a warning from man/groff, and says what it is.
. "$(dirname "$0")/common.sh"
pages=("$OUT"/man/*.[0-9])
[ ${#pages[@]} -ge 3 ] && [ -e "${pages[0]}" ] || fail "no man pages in $OUT/man (make doc)"
for p in "${pages[@]}"; do
	warn=$(MANWIDTH=80 man -l --warnings=w "$p" 2>&1 >/dev/null)
	[ -z "$warn" ] || fail "$p: $warn"
	text=$(MANWIDTH=80 man -l "$p" 2>/dev/null)
	grep -q '^NAME' <<<"$text" || fail "$p has no NAME section"
	grep -q '^SEE ALSO' <<<"$text" || fail "$p has no SEE ALSO section"
done
# Every object and command of the CLI's help is in nmr-bpf(8).
text=$(MANWIDTH=200 man -l "$OUT/man/nmr-bpf.8" 2>/dev/null)
for w in "npi register" "provider register" "provider replace" "client register" \
	 "binding list" "binding show" "registry show" "registry destroy" "--root" "--json"; do
	grep -qF -- "$w" <<<"$text" || fail "nmr-bpf.8 does not mention '$w'"
done
exit 0
