#!/usr/bin/env bash
# make demo: nmr-bpf end to end on a veth pair in its own network namespace.
# Registers an NPI, a provider (a frame counter) and a client (veth0's XDP
# hook), sends frames from the peer, shows what the registry and bpftool see,
# and removes everything it created, on failure too.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" -ne 0 ]; then
	echo "make demo: needs root (BPF programs, network namespaces): sudo make demo" >&2
	exit 1
fi
ns=nmr-demo-$$
export NMR_BPF_ROOT=/sys/fs/bpf/nmr-demo-$$
PATH=$PWD/build:$PATH

cleanup() {
	nmr-bpf registry destroy >/dev/null 2>&1 || true
	rm -rf "$NMR_BPF_ROOT"
	ip netns del "$ns" 2>/dev/null || true
}
trap cleanup EXIT

run() {
	printf '\n\033[1m$ %s\033[0m\n' "$*"
	"$@"
}

echo "== nmr-bpf demo: registry $NMR_BPF_ROOT, veth0 <-> veth1 in netns $ns"
ip netns add "$ns"
ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
ip -n "$ns" link add veth0 type veth peer name veth1
ip -n "$ns" link set veth0 up
ip -n "$ns" link set veth1 up

run nmr-bpf npi register demo --hook xdp
run nmr-bpf provider register build/bpf/frame_counter.bpf.o --npi demo
run nmr-bpf client register --npi demo --dev veth0 --netns "$ns" --name demo-client
run nmr-pktgen --netns "$ns" veth1 1000
# frames are processed on the peer's NAPI: wait (bounded) until all are counted
for _ in $(seq 50); do
	nmr-bpf -j binding list | grep -q '"packets":1000' && break
	sleep 0.1
done
run nmr-bpf binding list
run nmr-bpf client show demo-client
prov=$(nmr-bpf -j provider show frame_counter | sed -n 's/^{"id":"\([^"]*\)".*/\1/p')
run bpftool map dump pinned "$NMR_BPF_ROOT/provider/$prov/maps/frame_counts"
run ip -n "$ns" link show veth0
client=$(nmr-bpf -j client show demo-client | sed -n 's/^{"id":"\([^"]*\)".*/\1/p')
echo
echo "# the hook runs the client's dispatcher; its chain table holds the chain:"
run bpftool prog show pinned "$NMR_BPF_ROOT/client/$client/dispatcher"
run bpftool map dump pinned "$NMR_BPF_ROOT/client/$client/chain_table"
run nmr-bpf registry check
run nmr-bpf client deregister demo-client
run nmr-bpf provider deregister frame_counter
echo
echo "== done: the trap removes the registry and the namespace"
