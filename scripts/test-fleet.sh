#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# Fleet tests that real tools drive, run by `make test` after the Criterion
# suite: the boot restore command (deploy/nmr-bpf-restore) and its unit
# (systemd-analyze verify), and a real Prometheus server scraping
# `nmr-bpf metrics --listen` and answering a binding's packet count.
# Everything it makes is named nmrt-<pid>-9xx and removed on exit.
#   scripts/test-fleet.sh [BIN_DIR]     (default build)
set -u
bin=$(cd "${1:-build}" && pwd)
nmr=$bin/nmr-bpf
ns=nmrt-$$-901
root=/sys/fs/bpf/nmrt-$$-902
tmp=$(mktemp -d /tmp/nmrt-$$-903.XXXXXX)
pids=()
failed=0

cleanup() {
	for p in "${pids[@]}"; do
		[ -n "$p" ] || continue
		kill "$p" 2>/dev/null && wait "$p" 2>/dev/null
	done
	"$nmr" --root "$root" registry destroy >/dev/null 2>&1
	rm -rf "$root" 2>/dev/null
	ip netns del "$ns" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT

pass() { echo "[PASS] fleet-sh: $1"; }
fail() { echo "[FAIL] fleet-sh: $1" >&2; failed=$((failed + 1)); }
skip() { echo "[SKIP] fleet-sh: $1"; }

# A free TCP port on 127.0.0.1.
free_port() {
	local p
	for _ in $(seq 50); do
		p=$(shuf -i 20000-60000 -n 1)
		ss -Htln "sport = :$p" | grep -q . || { echo "$p"; return; }
	done
	return 1
}

# Waits (at most $1 tenths of a second) until the command in $2... succeeds.
wait_for() {
	local n=$1
	shift
	for _ in $(seq "$n"); do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	return 1
}

if [ "$(id -u)" -ne 0 ]; then
	echo "test-fleet: needs root" >&2
	exit 1
fi
ip netns add "$ns" &&
	ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 \
		net.ipv6.conf.default.disable_ipv6=1 &&
	ip -n "$ns" link add veth0 type veth peer name veth1 &&
	ip -n "$ns" link set veth0 up && ip -n "$ns" link set veth1 up || {
	echo "test-fleet: cannot create netns $ns" >&2
	exit 1
}
export NMR_BPF_ROOT=$root

# ---- the restore command, as nmr-bpf.service runs it ----
mkdir -p "$tmp/etc"
cat >"$tmp/etc/10-fw.yaml" <<YAML
npis:
  - {name: fw, hook: xdp}
providers:
  - {name: a, npi: fw, object: $bin/tests/bpf/stamp.bpf.o, priority: 10}
clients:
  - {name: c0, npi: fw, device: veth0, netns: $ns}
YAML
cat >"$tmp/etc/20-more.yaml" <<YAML
providers:
  - {name: b, npi: fw, object: $bin/tests/bpf/stamp.bpf.o, priority: 20}
YAML
restore() { NMR_BPF_CONFIG_DIR=$tmp/etc NMR_BPF=$nmr "$(dirname "$0")/../deploy/nmr-bpf-restore"; }
if restore >"$tmp/restore.out" 2>&1 &&
	"$nmr" -j binding list --client c0 | grep -q '"position":1' &&
	ip -n "$ns" link show veth0 | grep -q xdp; then
	pass "nmr-bpf-restore applies every file of the directory"
else
	fail "nmr-bpf-restore: $(cat "$tmp/restore.out")"
fi
gen=$("$nmr" -j registry show | sed 's/.*"generation":\([0-9]*\).*/\1/')
if restore >"$tmp/restore.out" 2>&1 && [ "$(grep -c 'nothing to change' "$tmp/restore.out")" = 2 ] &&
	[ "$("$nmr" -j registry show | sed 's/.*"generation":\([0-9]*\).*/\1/')" = "$gen" ]; then
	pass "nmr-bpf-restore run twice changes nothing"
else
	fail "nmr-bpf-restore twice: $(cat "$tmp/restore.out")"
fi
printf 'npis: [{name: bad, hok: xdp}]\n' >"$tmp/etc/15-bad.yaml"
if ! restore >"$tmp/restore.out" 2>&1 && grep -q "unknown key 'hok'" "$tmp/restore.out" &&
	grep -q "applying $tmp/etc/20-more.yaml" "$tmp/restore.out"; then
	pass "nmr-bpf-restore fails on a bad file and still applies the others"
else
	fail "nmr-bpf-restore with a bad file: $(cat "$tmp/restore.out")"
fi
rm -f "$tmp/etc/15-bad.yaml"
if command -v systemd-analyze >/dev/null; then
	mkdir -p "$tmp/unit"
	sed "s#/usr/local/sbin/nmr-bpf-restore#$(cd "$(dirname "$0")/.." && pwd)/deploy/nmr-bpf-restore#;
	     s#NMR_BPF=/usr/local/sbin/nmr-bpf#NMR_BPF=$nmr#" \
		"$(dirname "$0")/../deploy/nmr-bpf.service" >"$tmp/unit/nmr-bpf.service"
	if systemd-analyze verify "$tmp/unit/nmr-bpf.service" >"$tmp/verify.out" 2>&1; then
		pass "systemd-analyze verify nmr-bpf.service"
	else
		fail "systemd-analyze verify: $(cat "$tmp/verify.out")"
	fi
else
	skip "systemd-analyze is not installed"
fi

# ---- a real Prometheus server scrapes metrics --listen ----
if ! command -v prometheus >/dev/null; then
	skip "prometheus is not installed (scripts/install-deps.sh test)"
else
	mport=$(free_port) && pport=$(free_port)
	"$nmr" metrics --listen "127.0.0.1:$mport" 2>"$tmp/metrics.err" &
	pids+=($!)
	cat >"$tmp/prometheus.yml" <<YAML
global:
  scrape_interval: 1s
scrape_configs:
  - job_name: nmr-bpf
    static_configs:
      - targets: ['127.0.0.1:$mport']
YAML
	prometheus --config.file="$tmp/prometheus.yml" --storage.tsdb.path="$tmp/tsdb" \
		--web.listen-address="127.0.0.1:$pport" >"$tmp/prometheus.log" 2>&1 &
	pids+=($!)
	"$bin/nmr-pktgen" --netns "$ns" veth1 25 >/dev/null
	query='sum(nmr_binding_packets_total{provider="a",verdict="pass"})'
	got=
	for _ in $(seq 300); do	# at most 30 s
		got=$(curl -s --max-time 1 "http://127.0.0.1:$pport/api/v1/query" \
			--data-urlencode "query=$query" |
			sed -n 's/.*"value":\[[^,]*,"\([0-9.]*\)".*/\1/p')
		[ "$got" = 25 ] && break
		sleep 0.1
	done
	if [ "$got" = 25 ]; then
		pass "Prometheus scraped metrics --listen: provider a passed 25 packets"
	else
		fail "Prometheus query returned '$got', not 25 ($(tail -3 "$tmp/prometheus.log"))"
	fi
	if curl -s "http://127.0.0.1:$mport/metrics" | promtool check metrics >/dev/null 2>&1; then
		pass "promtool check metrics on what --listen serves"
	else
		fail "promtool check metrics on --listen"
	fi
	# SIGTERM stops the server cleanly
	kill -TERM "${pids[0]}"
	if wait_for 50 sh -c "! kill -0 ${pids[0]}" && wait "${pids[0]}"; then
		pids[0]=
		pass "metrics --listen stops on SIGTERM with status 0"
	else
		fail "metrics --listen did not stop cleanly on SIGTERM"
	fi
fi

echo "fleet-sh: $failed failure(s)"
[ "$failed" -eq 0 ]
