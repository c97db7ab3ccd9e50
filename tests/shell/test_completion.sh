#!/usr/bin/env bash
# The completion offers objects, commands, options and the names registered in the
# registry given by --root or NMR_BPF_ROOT (a private one, removed at the end).
. "$(dirname "$0")/common.sh"
root=/sys/fs/bpf/nmrt-$$-1
other=/sys/fs/bpf/nmrt-$$-2
cli=$PWD/$OUT/nmr-bpf
cleanup() {
	for r in "$root" "$other"; do
		[ -e "$r" ] && { "$cli" --root "$r" registry destroy >/dev/null 2>&1; rm -rf "$r"; }
	done
}
trap cleanup EXIT

"$cli" --root "$root" npi register blue_npi --hook xdp >/dev/null || fail "npi register"
"$cli" --root "$root" npi register green_npi --hook tc-ingress >/dev/null || fail "npi register"
"$cli" --root "$root" provider register "$OUT/bpf/frame_counter.bpf.o" --npi blue_npi \
	--name counter_prov >/dev/null || fail "provider register"
"$cli" --root "$other" npi register other_npi --hook xdp >/dev/null || fail "npi register"

# Completes the words given (the last one being completed); prints COMPREPLY, one a line.
complete_line() {
	bash -c '
		[ -r /usr/share/bash-completion/bash_completion ] &&
			. /usr/share/bash-completion/bash_completion
		. bash-completion/nmr-bpf
		complete -p nmr-bpf >/dev/null || exit 3
		COMP_WORDS=("$@")
		COMP_CWORD=$(($# - 1))
		COMP_LINE="$*"
		COMP_POINT=${#COMP_LINE}
		_nmr_bpf nmr-bpf "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}"
		printf "%s\n" "${COMPREPLY[@]}"
	' completion "$@"
}
expect() {	# expect WORD... -- LINE...: each WORD is offered
	local words=() w got
	while [ "$1" != -- ]; do words+=("$1"); shift; done
	shift
	got=$(complete_line "$@") || fail "completion of '$*' failed"
	for w in "${words[@]}"; do
		grep -qx -- "$w" <<<"$got" || fail "'$*': '$w' not offered (got: $(echo $got))"
	done
	echo "$got"
}
refuse() {	# refuse WORD -- LINE...: WORD is not offered
	local w=$1 got
	shift 2
	got=$(complete_line "$@")
	grep -qx -- "$w" <<<"$got" && fail "'$*': '$w' offered"
	return 0
}

expect npi provider client binding registry -- "$cli" "" >/dev/null
expect register replace list show deregister -- "$cli" prov "" >/dev/null
expect blue_npi green_npi -- "$cli" --root "$root" npi show "" >/dev/null
refuse other_npi -- "$cli" --root "$root" npi show ""
got=$(expect blue_npi -- "$cli" --root "$root" npi show bl)
[ "$got" = blue_npi ] || fail "'npi show bl' offered: $got"
expect blue_npi green_npi -- "$cli" --root "$root" client register --npi "" >/dev/null
expect counter_prov -- "$cli" "--root=$root" provider deregister "" >/dev/null
expect --npi --dev --netns --mode --expect-gen -- "$cli" client register -- >/dev/null
expect xdp tc-ingress tc-egress -- "$cli" npi register x --hook "" >/dev/null
# NMR_BPF_ROOT, when no --root is given.
NMR_BPF_ROOT=$other expect other_npi -- "$cli" npi deregister "" >/dev/null
NMR_BPF_ROOT=$other refuse blue_npi -- "$cli" npi deregister ""
# A root that does not exist is not created by completing.
refuse blue_npi -- "$cli" --root /sys/fs/bpf/nmrt-$$-3 npi show ""
if [ -e /sys/fs/bpf/nmrt-$$-3 ]; then
	rm -rf /sys/fs/bpf/nmrt-$$-3
	fail "completion created a registry"
fi
exit 0
