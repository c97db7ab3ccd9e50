#!/usr/bin/env bash
# make test: runs the Criterion suite as root, then the shell tests
# (tests/shell/test_*.sh: install, ABI, man pages, completion), then removes
# whatever a test process that died before its cleanup may have left (netns,
# registry roots named nmrt-<pid>-<n> whose pid is gone). Fails if any failed.
set -u
tests=${1:-build/nmr-tests}
bin=$(dirname "$tests")

if [ "$(id -u)" -ne 0 ]; then
	echo "make test: needs root (BPF programs, network namespaces): sudo make test" >&2
	exit 1
fi
mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf

NMR_TEST_BIN=$bin "$tests" --jobs "$(nproc)" --short-filename
rc=$?

# Each shell test prints nothing on success and why on failure; at most 60 s each.
passed=0 failed=0
for t in tests/shell/test_*.sh; do
	out=$(OUT=$bin timeout 60 "$t" 2>&1)
	trc=$?
	if [ $trc -eq 0 ]; then
		echo "PASS $t"
		passed=$((passed + 1))
	else
		echo "FAIL $t (exit $trc)"
		[ -n "$out" ] && echo "$out" | sed 's/^/    /'
		failed=$((failed + 1))
	fi
done
echo "shell tests: $passed passed, $failed failed"
[ $failed -eq 0 ] || [ $rc -ne 0 ] || rc=1

sweep() {
	local name=$1 pid
	pid=$(echo "$name" | sed -n 's/^nmrt-\([0-9]*\)-[0-9]*$/\1/p')
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
exit $rc
