#!/usr/bin/env bash
# Installs the Debian/Ubuntu packages nmr-bpf needs when they are missing.
#   install-deps.sh build   what `make` and `make demo` need
#   install-deps.sh test    the same plus what `make test` and `make doc` need: rst2man, man,
#                           bash-completion, prometheus (promtool and a server) (make deps)
#   install-deps.sh deb     the same plus debhelper and lintian for `make deb`
#   install-deps.sh bench   build plus gnuplot for `make bench`
#   install-deps.sh fuzz    build plus clang's libFuzzer runtime for `make fuzz`
set -euo pipefail

need=()
have_cmd() { command -v "$1" >/dev/null 2>&1; }
have_pkg() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }

have_cmd clang       || need+=(clang)
have_cmd llvm-strip  || need+=(llvm)
have_cmd bpftool     || need+=(bpftool)
have_cmd pkg-config  || need+=(pkg-config)
have_cmd ip          || need+=(iproute2)
have_cmd strace      || need+=(strace)
have_cmd make        || need+=(make)
have_cmd cc          || need+=(gcc)
for p in libbpf-dev libelf-dev zlib1g-dev libcriterion-dev libyaml-dev libmicrohttpd-dev; do
	have_pkg "$p" || need+=("$p")
done
mode=${1:-build}
case $mode in
build | test | deb | bench | fuzz) ;;
*) echo "install-deps: unknown mode '$mode' (build, test, deb, bench, fuzz)" >&2; exit 2 ;;
esac
if [ "$mode" = test ] || [ "$mode" = deb ]; then
	have_pkg python3-docutils || need+=(python3-docutils)
	have_cmd man         || need+=(man-db)
	have_pkg bash-completion || need+=(bash-completion)
fi
# prometheus is large: only the tests use it (promtool, and a server that scrapes)
if [ "$mode" = test ]; then
	have_cmd promtool    || need+=(prometheus)
	have_cmd curl        || need+=(curl)
fi
if [ "$mode" = deb ]; then
	for p in debhelper dpkg-dev lintian fakeroot; do
		have_pkg "$p" || need+=("$p")
	done
fi
if [ "$mode" = bench ]; then
	have_cmd gnuplot || need+=(gnuplot-nox)
fi
if [ "${1:-build}" = fuzz ]; then
	have_pkg libclang-rt-14-dev || need+=(libclang-rt-14-dev)
fi

[ ${#need[@]} -eq 0 ] && exit 0

echo "install-deps: installing ${need[*]}"
if [ "$(id -u)" -ne 0 ]; then
	echo "install-deps: missing packages (${need[*]}); run as root or install them" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
