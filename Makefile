# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# nmr-bpf: `make` builds the CLI, libnmrbpf and the BPF objects;
# `make demo` runs the demo, `make test` the tests, `make bench` the benchmarks; `make doc`
# the man pages, `make install`/`make uninstall` (PREFIX, DESTDIR, ...), `make deb` the
# Debian packages. Only `make deps`, `make test`, `make demo` and `make bench` install packages.
# Quiet by default; V=1 prints full commands.

OUT      := build
# The BPF target architecture, from the machine (its name in the kernel's arch/ tree).
MACHINE  := $(shell uname -m)
ARCH     := $(or $(patsubst x86_64,x86,$(patsubst i%86,x86,$(patsubst aarch64%,arm64,\
	    $(patsubst arm%,arm,$(patsubst ppc64%,powerpc,$(patsubst riscv%,riscv,\
	    $(patsubst s390%,s390,$(patsubst loongarch%,loongarch,$(MACHINE))))))))),$(MACHINE))
CLANG    ?= clang
BPFTOOL  ?= bpftool
CC       ?= cc
VERSION  := 0.2.0
# The shared library's ABI number (its SONAME, libnmrbpf.so.$(SOVERSION)): raised only when
# the ABI breaks. Its file is named by the library's version (LIBNMRBPF_*_VERSION).
SOVERSION := 1
LIBVERSION := $(VERSION)
RST2MAN  ?= $(shell command -v rst2man || command -v rst2man.py || echo rst2man)

# Where `make install` puts things (DESTDIR is prepended to each).
PREFIX     ?= /usr/local
SBINDIR    ?= $(PREFIX)/sbin
LIBDIR     ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
DATADIR    ?= $(PREFIX)/share
MANDIR     ?= $(DATADIR)/man
BPFOBJDIR  ?= $(DATADIR)/nmr-bpf/bpf
PKGCONFIGDIR ?= $(LIBDIR)/pkgconfig
BASH_COMPDIR ?= $(or $(shell pkg-config --variable=completionsdir bash-completion 2>/dev/null),\
		     /usr/share/bash-completion/completions)
SYSTEMDUNITDIR ?= $(or $(shell pkg-config --variable=systemdsystemunitdir systemd 2>/dev/null),\
		       /lib/systemd/system)
INSTALL    ?= install

ifeq ($(V),1)
Q :=
msg :=
else
Q := @
msg = @printf '  %-8s %s\n' "$(1)" "$(2)";
endif

MULTIARCH  ?= $(shell $(CC) -dumpmachine)
INCLUDES   := -Iinclude -I$(OUT)/skel -Iuser/lib
CFLAGS     ?= -g -O2
CFLAGS     += -Wall -Wextra -Wno-unused-parameter -Wno-format-truncation -std=gnu11 -D_GNU_SOURCE \
	      -DNMR_BPF_VERSION='"$(VERSION)"' $(INCLUDES) $(SANITIZE)
LDLIBS     := $(shell pkg-config --libs libbpf 2>/dev/null || echo -lbpf -lelf -lz) -lyaml -lpthread
# only the CLI serves HTTP (metrics --listen): the library does not link libmicrohttpd
CLI_LDLIBS := -lmicrohttpd
BPF_CFLAGS := -g -O2 -target bpf -D__TARGET_ARCH_$(ARCH) -Wall -Wno-unused-function \
	      -I/usr/include/$(MULTIARCH) \
	      -Iinclude -Ivmlinux/$(ARCH)

LIB_SRCS  := $(wildcard user/lib/*/*.c)
CLI_SRCS  := $(wildcard user/cli/*.c)
TEST_SRCS := $(wildcard tests/*.c tests/lib/*.c)
LIB_OBJS  := $(patsubst user/lib/%.c,$(OUT)/lib/%.o,$(LIB_SRCS))
CLI_OBJS  := $(patsubst user/cli/%.c,$(OUT)/cli/%.o,$(CLI_SRCS))
TEST_OBJS := $(patsubst tests/%.c,$(OUT)/tests/%.o,$(TEST_SRCS))

# BPF objects embedded in the registrar as skeletons.
SKEL_BPF  := registry
SKELS     := $(patsubst %,$(OUT)/skel/%.skel.h,$(SKEL_BPF))
# BPF objects users register as providers: the examples and the tests' own.
PROVIDERS := $(patsubst bpf/%.bpf.c,$(OUT)/bpf/%.bpf.o,$(filter-out $(SKEL_BPF:%=bpf/%.bpf.c),$(wildcard bpf/*.bpf.c)))
TEST_BPF  := $(patsubst tests/bpf/%.bpf.c,$(OUT)/tests/bpf/%.bpf.o,$(wildcard tests/bpf/*.bpf.c))
BENCH_BPF := $(patsubst bench/bpf/%.bpf.c,$(OUT)/bench/bpf/%.bpf.o,$(wildcard bench/bpf/*.bpf.c))
HEADERS   := $(wildcard include/*.h) $(wildcard user/lib/*.h) $(wildcard user/lib/*/*.h)
PUBLIC_HEADERS := include/libnmrbpf.h include/nmr_abi.h include/nmr_provider.h \
		  include/nmr_maps.bpf.h
# The example providers, installed for users to register (not the registry's own maps).
SHARE_BPF := $(PROVIDERS)
MANPAGES  := $(patsubst docs/%.rst,$(OUT)/man/%,$(wildcard docs/*.[0-9].rst))
UNIT      := $(wildcard deploy/nmr-bpf.service)

CLI  := $(OUT)/nmr-bpf
LIB  := $(OUT)/libnmrbpf.a
SOLIB := $(OUT)/libnmrbpf.so.$(LIBVERSION)
SONAME := libnmrbpf.so.$(SOVERSION)
LIBMAP := user/lib/libnmrbpf.map
PCFILE := $(OUT)/libnmrbpf.pc
TESTS := $(OUT)/nmr-tests
PKTGEN := $(OUT)/nmr-pktgen
BENCH := $(OUT)/nmr-bench
EXAMPLES := $(patsubst examples/%.c,$(OUT)/examples/%,$(wildcard examples/*.c))

.DELETE_ON_ERROR:
.SECONDARY:
.PHONY: all deps vmlinux demo test test-asan fuzz fuzz-run bench clean install uninstall doc deb

all: $(CLI) $(LIB) $(SOLIB) $(PROVIDERS) $(PKTGEN) $(EXAMPLES)

# Installs the missing packages (Debian/Ubuntu) that building, the tests and the docs need.
deps:
	$(Q)scripts/install-deps.sh test

vmlinux:
	$(call msg,BTF,vmlinux/$(ARCH)/vmlinux.h)
	$(Q)$(BPFTOOL) btf dump file /sys/kernel/btf/vmlinux format c > vmlinux/$(ARCH)/vmlinux.h

$(OUT)/bpf/%.bpf.o: bpf/%.bpf.c $(HEADERS)
	$(call msg,BPF,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(OUT)/tests/bpf/%.bpf.o: tests/bpf/%.bpf.c $(HEADERS)
	$(call msg,BPF,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(OUT)/bench/bpf/%.bpf.o: bench/bpf/%.bpf.c $(HEADERS)
	$(call msg,BPF,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(OUT)/skel/%.skel.h: $(OUT)/bpf/%.bpf.o
	$(call msg,SKEL,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(BPFTOOL) gen skeleton $< name $*_bpf > $@

# Hidden by default: the shared library exports only what libnmrbpf.h marks NMR_API.
$(OUT)/lib/%.o: user/lib/%.c $(HEADERS) $(SKELS)
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) -fPIC -fvisibility=hidden -c $< -o $@

$(OUT)/cli/%.o: user/cli/%.c $(HEADERS) $(wildcard user/cli/*.h)
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) -Iuser/cli -c $< -o $@

$(LIB): $(LIB_OBJS)
	$(call msg,AR,$@)
	$(Q)rm -f $@ && $(AR) rcs $@ $^

$(SOLIB): $(LIB_OBJS) $(LIBMAP)
	$(call msg,LD,$@)
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) -shared -Wl,-soname,$(SONAME) \
		-Wl,--version-script=$(LIBMAP) -Wl,-z,defs $(LIB_OBJS) $(LDLIBS) -o $@
	$(Q)ln -sf $(notdir $@) $(OUT)/$(SONAME)
	$(Q)ln -sf $(SONAME) $(OUT)/libnmrbpf.so

$(PCFILE): libnmrbpf.pc.in Makefile
	$(call msg,GEN,$@)
	$(Q)mkdir -p $(@D)
	$(Q)sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@LIBDIR@|$(LIBDIR)|' \
		-e 's|@INCLUDEDIR@|$(INCLUDEDIR)|' -e 's|@VERSION@|$(LIBVERSION)|' $< > $@

doc: $(MANPAGES)

$(OUT)/man/%: docs/%.rst
	$(call msg,MAN,$@)
	$(Q)mkdir -p $(@D)
	$(Q)command -v $(RST2MAN) >/dev/null || \
		{ echo "rst2man not found: make deps (python3-docutils)" >&2; exit 1; }
	$(Q)$(RST2MAN) --halt=warning $< $@

$(CLI): $(CLI_OBJS) $(LIB)
	$(call msg,LD,$@)
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) $(LDFLAGS) $^ $(LDLIBS) $(CLI_LDLIBS) -o $@

$(PKTGEN): user/tools/pktgen.c
	$(call msg,LD,$@)
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) $(LDFLAGS) $^ $(LDLIBS) -o $@

$(OUT)/tests/%.o: tests/%.c $(HEADERS) $(wildcard tests/*.h tests/lib/*.h) $(SKELS)
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) -Itests -c $< -o $@

$(TESTS): $(TEST_OBJS) $(LIB)
	$(call msg,LD,$@)
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) $^ $(LDLIBS) -lcriterion -o $@

$(OUT)/examples/%: examples/%.c $(LIB)
	$(call msg,LD,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) $(LDFLAGS) $^ $(LDLIBS) -o $@

# The bench shares the tests' network helpers (namespace, veth, frames: tests/lib).
$(BENCH): bench/bench.c $(wildcard tests/lib/*.c) $(LIB) $(wildcard tests/lib/*.h)
	$(call msg,LD,$@)
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) -Itests/lib $(LDFLAGS) $(filter %.c %.a,$^) $(LDLIBS) \
		-lm -lpthread -o $@

# The demo and the tests need root (BPF, netns); both clean up after themselves. They
# install the packages they need first, then build.
demo: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)scripts/demo.sh

test: deps
	$(Q)$(MAKE) --no-print-directory all doc $(TESTS) $(TEST_BPF)
	$(Q)scripts/run-tests.sh $(TESTS)

# The suite again with the library, CLI and tests built with ASan and UBSan, in their own
# build directory; any sanitizer report fails the test that caused it.
ASAN_FLAGS := -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
test-asan:
	$(Q)LSAN_OPTIONS=suppressions=$(CURDIR)/tests/lsan.supp UBSAN_OPTIONS=print_stacktrace=1 \
		$(MAKE) --no-print-directory OUT=build-asan SANITIZE="$(ASAN_FLAGS)" test

# Fuzz targets (tests/fuzz/fuzz_NAME.c), built with clang's libFuzzer, ASan and UBSan in their
# own build directory; each runs FUZZ_SECONDS from its seeds (tests/fuzz/corpus/NAME, and the
# BPF objects for "object"). A crash, a leak or a sanitizer report fails make fuzz.
FUZZ_SECONDS ?= 20
FUZZ_SAN  := -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
FUZZERS   := $(patsubst tests/fuzz/%.c,$(OUT)/fuzz/%,$(wildcard tests/fuzz/fuzz_*.c))
fuzz:
	$(Q)scripts/install-deps.sh fuzz
	$(Q)$(MAKE) --no-print-directory OUT=build-fuzz CC=clang MULTIARCH=$(MULTIARCH) \
		SANITIZE="$(FUZZ_SAN) -fsanitize=fuzzer-no-link -Wno-unknown-warning-option" \
		fuzz-run

fuzz-run: $(FUZZERS) $(PROVIDERS) $(TEST_BPF)
	$(Q)for f in $(FUZZERS); do \
		t=$${f##*/fuzz_}; c=$(OUT)/fuzz/corpus/$$t; mkdir -p $$c; \
		cp tests/fuzz/corpus/$$t/* $$c/ 2>/dev/null; \
		[ $$t = object ] && cp $(PROVIDERS) $(TEST_BPF) $$c/; \
		printf '  %-8s %s (%ss)\n' FUZZ $$t $(FUZZ_SECONDS); \
		$$f -max_total_time=$(FUZZ_SECONDS) -timeout=30 -rss_limit_mb=4096 \
			-artifact_prefix=$(OUT)/fuzz/$$t- $$c > $(OUT)/fuzz/$$t.log 2>&1 || \
			{ tail -40 $(OUT)/fuzz/$$t.log; \
			  echo "fuzz $$t failed: $(OUT)/fuzz/$$t.log"; exit 1; }; \
		grep -h '^Done' $(OUT)/fuzz/$$t.log | sed 's/^/           /'; \
	done

$(OUT)/fuzz/cli_main.o: user/cli/main.c $(HEADERS) $(wildcard user/cli/*.h) 
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) -Iuser/cli -Dmain=nmr_cli_main -c $< -o $@

$(OUT)/fuzz/fuzz_cli: tests/fuzz/fuzz_cli.c $(OUT)/fuzz/cli_main.o \
		      $(filter-out $(OUT)/cli/main.o,$(CLI_OBJS)) $(LIB)
	$(call msg,FUZZ,$@)
	$(Q)$(CC) $(CFLAGS) -Iuser/cli -fsanitize=fuzzer $^ $(LDLIBS) $(CLI_LDLIBS) -o $@

$(OUT)/fuzz/fuzz_%: tests/fuzz/fuzz_%.c $(LIB)
	$(call msg,FUZZ,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) -fsanitize=fuzzer $^ $(LDLIBS) -o $@

# The Debian packages (nmr-bpf, libnmrbpf1, libnmrbpf-dev) into $(OUT)/deb, built from a
# copy of the tree, and lintian on them; slow (a minute or two), so not part of `make test`.
deb:
	$(Q)scripts/install-deps.sh deb
	$(Q)tests/shell/deb.sh $(OUT)/deb

# At most 5 minutes (QUICK=1: 60 s); writes bench/results.json, docs/BENCHMARKS.md and its plot.
bench:
	$(Q)scripts/install-deps.sh bench
	$(Q)$(MAKE) --no-print-directory all $(BENCH) $(BENCH_BPF) $(TEST_BPF)
	$(Q)$(BENCH) $(if $(QUICK),--quick) --out bench
	$(Q)gnuplot bench/plot.gp

# Installs what `make` and `make doc` built; builds and installs no package.
install: all doc $(PCFILE)
	$(INSTALL) -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(LIBDIR) $(DESTDIR)$(PKGCONFIGDIR) \
		$(DESTDIR)$(INCLUDEDIR)/nmr $(DESTDIR)$(BPFOBJDIR) $(DESTDIR)$(BASH_COMPDIR)
	$(INSTALL) -m 0755 $(CLI) $(DESTDIR)$(SBINDIR)/nmr-bpf
	$(INSTALL) -m 0644 $(LIB) $(DESTDIR)$(LIBDIR)/libnmrbpf.a
	$(INSTALL) -m 0644 $(SOLIB) $(DESTDIR)$(LIBDIR)/
	ln -sf $(notdir $(SOLIB)) $(DESTDIR)$(LIBDIR)/$(SONAME)
	ln -sf $(SONAME) $(DESTDIR)$(LIBDIR)/libnmrbpf.so
	$(INSTALL) -m 0644 $(PCFILE) $(DESTDIR)$(PKGCONFIGDIR)/libnmrbpf.pc
	$(INSTALL) -m 0644 $(PUBLIC_HEADERS) $(DESTDIR)$(INCLUDEDIR)/nmr/
	$(INSTALL) -m 0644 $(SHARE_BPF) $(DESTDIR)$(BPFOBJDIR)/
	$(INSTALL) -m 0644 bash-completion/nmr-bpf $(DESTDIR)$(BASH_COMPDIR)/nmr-bpf
	$(foreach m,$(MANPAGES),$(INSTALL) -D -m 0644 $(m) \
		$(DESTDIR)$(MANDIR)/man$(subst .,,$(suffix $(m)))/$(notdir $(m));)
ifneq ($(UNIT),)
	$(INSTALL) -d $(DESTDIR)$(SYSTEMDUNITDIR)
	sed 's|/usr/local/sbin|$(SBINDIR)|g' $(UNIT) > $(DESTDIR)$(SYSTEMDUNITDIR)/nmr-bpf.service
	$(INSTALL) -D -m 0755 deploy/nmr-bpf-restore $(DESTDIR)$(SBINDIR)/nmr-bpf-restore
endif

uninstall:
	rm -f $(DESTDIR)$(SBINDIR)/nmr-bpf $(DESTDIR)$(LIBDIR)/libnmrbpf.a \
		$(DESTDIR)$(LIBDIR)/libnmrbpf.so.$(LIBVERSION) $(DESTDIR)$(LIBDIR)/$(SONAME) \
		$(DESTDIR)$(LIBDIR)/libnmrbpf.so $(DESTDIR)$(PKGCONFIGDIR)/libnmrbpf.pc \
		$(addprefix $(DESTDIR)$(INCLUDEDIR)/nmr/,$(notdir $(PUBLIC_HEADERS))) \
		$(addprefix $(DESTDIR)$(BPFOBJDIR)/,$(notdir $(SHARE_BPF))) \
		$(DESTDIR)$(BASH_COMPDIR)/nmr-bpf $(DESTDIR)$(SYSTEMDUNITDIR)/nmr-bpf.service \
		$(DESTDIR)$(SBINDIR)/nmr-bpf-restore \
		$(foreach m,$(MANPAGES),\
			$(DESTDIR)$(MANDIR)/man$(subst .,,$(suffix $(m)))/$(notdir $(m)))
	-rmdir $(DESTDIR)$(INCLUDEDIR)/nmr $(DESTDIR)$(BPFOBJDIR) $(DESTDIR)$(DATADIR)/nmr-bpf \
		2>/dev/null

clean:
	$(call msg,CLEAN,$(OUT))
	$(Q)rm -rf $(OUT)
