# Sourced by the shell tests: run from the top of the tree after `make all doc`.
# Registry roots and network namespaces are named nmrt-<pid>-<n>, as the Criterion
# tests' are, so that run-tests.sh removes what a killed test left behind.
set -u
cd "$(dirname "$0")/../.."
OUT=${OUT:-build}
name=$(basename "$0" .sh)

fail() {
	echo "$name: $*" >&2
	exit 1
}

# Polls CMD until it succeeds, at most about 10 s.
poll() {
	local i
	for ((i = 0; i < 200; i++)); do
		"$@" && return 0
		sleep 0.05
	done
	return 1
}
