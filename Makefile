# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# nmr-bpf: `make` builds the CLI, libnmrbpf and the BPF objects;
# `make demo` runs the demo, `make test` the Criterion tests, `make bench` the benchmarks.
# Quiet by default; V=1 prints full commands.

OUT      := build
ARCH     := x86
CLANG    ?= clang
BPFTOOL  ?= bpftool
CC       ?= cc
VERSION  := 0.1.0

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

LIB_SRCS  := $(wildcard user/lib/*.c)
CLI_SRCS  := $(wildcard user/cli/*.c)
TEST_SRCS := $(wildcard tests/*.c)
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
HEADERS   := $(wildcard include/*.h) $(wildcard user/lib/*.h)
DEPS_OK   := $(OUT)/.deps-ok

CLI  := $(OUT)/nmr-bpf
LIB  := $(OUT)/libnmrbpf.a
TESTS := $(OUT)/nmr-tests
PKTGEN := $(OUT)/nmr-pktgen
BENCH := $(OUT)/nmr-bench
EXAMPLES := $(patsubst examples/%.c,$(OUT)/examples/%,$(wildcard examples/*.c))

.DELETE_ON_ERROR:
.SECONDARY:
.PHONY: all deps vmlinux demo test test-asan fuzz fuzz-run bench clean install

all: $(CLI) $(LIB) $(PROVIDERS) $(PKTGEN) $(EXAMPLES)

# Installs missing build packages (Debian/Ubuntu) once; rerun when the list changes.
$(DEPS_OK): scripts/install-deps.sh
	$(Q)mkdir -p $(OUT)
	$(Q)scripts/install-deps.sh build
	$(Q)touch $@
deps: $(DEPS_OK)

vmlinux:
	$(call msg,BTF,vmlinux/$(ARCH)/vmlinux.h)
	$(Q)$(BPFTOOL) btf dump file /sys/kernel/btf/vmlinux format c > vmlinux/$(ARCH)/vmlinux.h

$(OUT)/bpf/%.bpf.o: bpf/%.bpf.c $(HEADERS) | $(DEPS_OK)
	$(call msg,BPF,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(OUT)/tests/bpf/%.bpf.o: tests/bpf/%.bpf.c $(HEADERS) | $(DEPS_OK)
	$(call msg,BPF,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(OUT)/bench/bpf/%.bpf.o: bench/bpf/%.bpf.c $(HEADERS) | $(DEPS_OK)
	$(call msg,BPF,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(OUT)/skel/%.skel.h: $(OUT)/bpf/%.bpf.o | $(DEPS_OK)
	$(call msg,SKEL,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(BPFTOOL) gen skeleton $< name $*_bpf > $@

$(OUT)/lib/%.o: user/lib/%.c $(HEADERS) $(SKELS) | $(DEPS_OK)
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) -fPIC -c $< -o $@

$(OUT)/cli/%.o: user/cli/%.c $(HEADERS) $(wildcard user/cli/*.h) | $(DEPS_OK)
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) -Iuser/cli -c $< -o $@

$(LIB): $(LIB_OBJS)
	$(call msg,AR,$@)
	$(Q)$(AR) rcs $@ $^

$(CLI): $(CLI_OBJS) $(LIB)
	$(call msg,LD,$@)
	$(Q)$(CC) $(CFLAGS) $^ $(LDLIBS) $(CLI_LDLIBS) -o $@

$(PKTGEN): user/tools/pktgen.c
	$(call msg,LD,$@)
	$(Q)$(CC) $(CFLAGS) $^ $(LDLIBS) -o $@

$(OUT)/tests/%.o: tests/%.c $(HEADERS) $(wildcard tests/*.h) $(SKELS) | $(DEPS_OK)
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) -Itests -c $< -o $@

$(TESTS): $(TEST_OBJS) $(LIB)
	$(call msg,LD,$@)
	$(Q)$(CC) $(CFLAGS) $^ $(LDLIBS) -lcriterion -o $@

$(OUT)/examples/%: examples/%.c $(LIB)
	$(call msg,LD,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) $^ $(LDLIBS) -o $@

$(BENCH): bench/bench.c $(LIB)
	$(call msg,LD,$@)
	$(Q)$(CC) $(CFLAGS) $^ $(LDLIBS) -lm -lpthread -o $@

# The demo and the tests need root (BPF, netns); both clean up after themselves.
demo: all
	$(Q)scripts/demo.sh

test: all $(TESTS) $(TEST_BPF)
	$(Q)scripts/install-deps.sh test
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

$(OUT)/fuzz/cli_main.o: user/cli/main.c $(HEADERS) $(wildcard user/cli/*.h) | $(DEPS_OK)
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

# At most 5 minutes (QUICK=1: 60 s); writes bench/results.json, docs/BENCHMARKS.md and its plot.
bench: all $(BENCH) $(BENCH_BPF) $(TEST_BPF)
	$(Q)scripts/install-deps.sh bench
	$(Q)$(BENCH) $(if $(QUICK),--quick) --out bench
	$(Q)gnuplot bench/plot.gp

install: all
	install -D -m 0755 $(CLI) $(DESTDIR)/usr/local/sbin/nmr-bpf
	install -D -m 0644 $(LIB) $(DESTDIR)/usr/local/lib/libnmrbpf.a
	install -D -m 0644 include/libnmrbpf.h $(DESTDIR)/usr/local/include/nmr/libnmrbpf.h
	install -D -m 0644 include/nmr_abi.h $(DESTDIR)/usr/local/include/nmr/nmr_abi.h
	install -D -m 0644 include/nmr_maps.bpf.h $(DESTDIR)/usr/local/include/nmr/nmr_maps.bpf.h
	install -D -m 0644 include/nmr_provider.h $(DESTDIR)/usr/local/include/nmr/nmr_provider.h
	install -D -m 0755 deploy/nmr-bpf-restore $(DESTDIR)/usr/local/sbin/nmr-bpf-restore
	install -D -m 0644 deploy/nmr-bpf.service $(DESTDIR)/usr/local/lib/systemd/system/nmr-bpf.service

clean:
	$(call msg,CLEAN,$(OUT))
	$(Q)rm -rf $(filter-out $(DEPS_OK),$(wildcard $(OUT)/*))
