#!/usr/bin/env bash
# make test: runs the Criterion suite as root, then the shell tests that real
# tools drive (scripts/test-*.sh: restore, systemd, Prometheus; tests/shell/
# test_*.sh: install, ABI, man pages, completion), then removes whatever a
# test process that died before its cleanup may have left (netns, registry
# roots and scratch directories named nmrt-<pid>-<n> whose pid is gone).
# Fails if any test failed; its last line counts them all.
set -u
tests=${1:-build/nmr-tests}
bin=$(dirname "$tests")

if [ "$(id -u)" -ne 0 ]; then
	echo "make test: needs root (BPF programs, network namespaces): sudo make test" >&2
	exit 1
fi
mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf

log=$(mktemp)
NMR_TEST_BIN=$bin "$tests" --jobs "$(nproc)" --short-filename 2>&1 | tee "$log"
rc=${PIPESTATUS[0]}
# then the tests that real tools drive (restore, systemd, Prometheus, ...)
for t in "$(dirname "$0")"/test-*.sh; do
	"$t" "$bin" 2>&1 | tee -a "$log"
	[ "${PIPESTATUS[0]}" -eq 0 ] || rc=1
done
# each of these prints nothing on success and why on failure; at most 60 s each
for t in tests/shell/test_*.sh; do
	out=$(OUT=$bin timeout 60 "$t" 2>&1)
	trc=$?
	if [ $trc -eq 0 ]; then
		echo "[PASS] shell-sh: $t" | tee -a "$log"
	else
		echo "[FAIL] shell-sh: $t (exit $trc)" | tee -a "$log"
		[ -n "$out" ] && echo "$out" | sed 's/^/    /'
		rc=1
	fi
done
# one closing line for the whole run: Criterion's counts and the shell tests'
c_pass=$(sed -n 's/.*Synthesis: .*Passing: \([0-9]*\).*/\1/p' "$log" | tail -1)
c_fail=$(sed -n 's/.*Synthesis: .*Failing: \([0-9]*\) | Crashing: \([0-9]*\).*/\1 \2/p' "$log" |
	 tail -1 | awk '{print $1 + $2}')
s_pass=$(grep -c '^\[PASS\] .*-sh: ' "$log")
s_fail=$(grep -c '^\[FAIL\] .*-sh: ' "$log")
rm -f "$log"

sweep() {
	local name=$1 pid
	pid=$(echo "$name" | sed -n 's/^nmrt-\([0-9]*\)-[0-9]*[a-z]*$/\1/p')
	[ -n "$pid" ] && ! kill -0 "$pid" 2>/dev/null
}
for ns in $(ip netns list 2>/dev/null | awk '{print $1}' | grep '^nmrt-'); do
	sweep "$ns" && echo "run-tests: removing leftover netns $ns" && ip netns del "$ns"
done
for root in /sys/fs/bpf/nmrt-*; do
	[ -e "$root" ] || continue
	if sweep "$(basename "$root")"; then
		echo "run-tests: removing leftover registry $root"
		"$bin/nmr-bpf" --root "$root" registry destroy >/dev/null 2>&1
		rm -rf "$root"
	fi
done
for dir in /tmp/nmrt-*; do
	[ -d "$dir" ] && sweep "$(basename "$dir")" && rm -rf "$dir"
done
echo "tests: $(( ${c_pass:-0} + s_pass )) passed, $(( ${c_fail:-0} + s_fail )) failed"
exit $rc
