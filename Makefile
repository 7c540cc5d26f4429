# rollguard — one non-recursive Makefile.
#   make            build/rollguard (release build)
#   make test       sanitizer build (ASan+UBSan), unit tests, integration tests
#   make demo       deploy → bad release → automatic rollback, on 127.0.0.1
#   make bench      benchmarks in bench/
#   make torture    every refused store write along a deploy/rollback story
#   make install PREFIX=/usr/local

CC      ?= gcc
PREFIX  ?= /usr/local
PKGS    := libuv libmicrohttpd libcurl sqlite3 jansson yaml-0.1 libsodium
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)

# Messages are cut to fixed buffers on purpose (snprintf), so gcc's guess
# that a long value "may be truncated" is noise, not a finding.
WARN    := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wno-unused-parameter \
           -Wno-format-truncation
BASE_CFLAGS := -std=c11 -D_GNU_SOURCE $(WARN) -Isrc $(PKG_CFLAGS) -MMD -MP
REL_CFLAGS  := $(BASE_CFLAGS) -O2 -g
# The test build alone carries the test hooks (ROLLGUARD_CRASH_AT).
SAN_CFLAGS  := $(BASE_CFLAGS) -O1 -g -fno-omit-frame-pointer -DRG_TEST_HOOKS \
               -fsanitize=address,undefined -fno-sanitize-recover=undefined
LIBS    := $(PKG_LIBS) -lpthread -lm

SRC      := $(sort $(wildcard src/*.c src/*/*.c))
LIB_SRC  := $(filter-out src/main.c,$(SRC))
UNIT_SRC := $(sort $(wildcard tests/unit/*/*.c))
DEMO_SRC := $(sort $(wildcard examples/demo-app/*.c))

# The dashboard's files (web/) become one generated source, compiled into
# every build of the server like the rest of src/.
WEB_FILES := $(sort $(shell find web -type f ! -name '.*' 2>/dev/null))
GEN_SRC  := build/gen/assets.c

REL_OBJ  := $(SRC:%.c=build/obj/%.o) build/obj/gen/assets.o
SAN_OBJ  := $(SRC:%.c=build/asan/obj/%.o) build/asan/obj/gen/assets.o
SAN_LIB  := $(LIB_SRC:%.c=build/asan/obj/%.o) build/asan/obj/gen/assets.o
UNIT_OBJ := $(UNIT_SRC:%.c=build/asan/obj/%.o)

.PHONY: all deps test unit integration demo bench install clean fuzz torture

all: build/rollguard build/demo-app

deps:
	@bash scripts/install-deps.sh

build/rollguard: $(REL_OBJ)
	$(CC) -o $@ $^ $(LIBS)

# The test binary also carries the allocation torture (tests/torture/alloc.c):
# rollguard's own malloc, calloc, realloc, strdup and strndup go through it.
TORTURE_WRAP := -Wl,--wrap=malloc,--wrap=calloc,--wrap=realloc,--wrap=strdup,--wrap=strndup
build/asan/rollguard: $(SAN_OBJ) build/asan/obj/tests/torture/alloc.o
	$(CC) -fsanitize=address,undefined $(TORTURE_WRAP) -o $@ $^ $(LIBS)

build/asan/unit-tests: $(SAN_LIB) $(UNIT_OBJ)
	$(CC) -fsanitize=address,undefined -o $@ $^ $(LIBS) -lcriterion

build/demo-app: $(DEMO_SRC)
	@mkdir -p $(dir $@)
	$(CC) $(REL_CFLAGS) -o $@ $^ -lpthread

$(GEN_SRC): scripts/embed-assets.sh $(WEB_FILES) $(shell find web -type d 2>/dev/null)
	@mkdir -p $(dir $@)
	bash scripts/embed-assets.sh $@ web

build/obj/gen/assets.o: $(GEN_SRC)
	@mkdir -p $(dir $@)
	$(CC) $(REL_CFLAGS) -c -o $@ $<

build/asan/obj/gen/assets.o: $(GEN_SRC)
	@mkdir -p $(dir $@)
	$(CC) $(SAN_CFLAGS) -c -o $@ $<

build/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(REL_CFLAGS) -c -o $@ $<

build/asan/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(SAN_CFLAGS) -c -o $@ $<

# The test build uses the sanitizer binary everywhere, so a memory error in
# any integration path fails the suite rather than passing silently.
test: deps
	@$(MAKE) --no-print-directory build/asan/rollguard build/asan/unit-tests build/demo-app build/rollguard
	@bash tests/run.sh

# Every refused store write along deploy → bad release → rollback →
# restart (make test runs a fixed sample of them: t_torture.sh).
torture: deps
	@$(MAKE) --no-print-directory build/asan/rollguard build/demo-app
	@RG_TORTURE_SWEEP=1 RG_TEST_TIMEOUT=3600 RG_BIN=$(CURDIR)/build/asan/rollguard \
		bash tests/integration/run.sh torture

unit: build/asan/unit-tests build/demo-app
	@build/asan/unit-tests

integration: build/asan/rollguard build/demo-app
	@RG_BIN=$(CURDIR)/build/asan/rollguard bash tests/integration/run.sh

demo: deps
	@$(MAKE) --no-print-directory all
	@bash examples/demo.sh

bench:
	@bash scripts/install-deps.sh bench
	@$(MAKE) --no-print-directory all build/proxy-bench build/detect-bench build/figures-bench
	@for b in bench/*.sh; do bash "$$b" || exit 1; done

# The proxy benchmark's driver (bench/proxy.sh): the proxy engine and the
# routing table without the control plane.
BENCH_OBJ := $(filter build/obj/src/proxy/% build/obj/src/util/%,$(REL_OBJ)) \
             build/obj/src/analysis/histogram.o build/obj/src/analysis/stats.o
build/proxy-bench: bench/proxy_bench.c $(BENCH_OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(REL_CFLAGS) -o $@ $(filter %.c %.o,$^) $(LIBS)

# The detection benchmark's driver (bench/detect.sh): the sequential test
# (src/analysis/sprt.c) alone, on simulated request streams.
build/detect-bench: bench/detect.c build/obj/src/analysis/sprt.o
	@mkdir -p $(dir $@)
	$(CC) $(REL_CFLAGS) -o $@ $(filter %.c %.o,$^) -lm

# The figures benchmark's driver (bench/figures.sh): the sampler's readings
# of a built-in proxy and the store's batch write, without serve.
FIGURES_BENCH_OBJ := $(filter-out build/obj/src/main.o build/obj/src/cmd/%,$(REL_OBJ))
build/figures-bench: bench/figures.c $(FIGURES_BENCH_OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(REL_CFLAGS) -o $@ $(filter %.c %.o,$^) $(LIBS)

# libFuzzer drivers (tests/fuzz/fuzz_*.c), run by hand. Needs clang (Debian:
# clang, which brings libFuzzer); gcc-only warnings are left out on purpose.
FUZZ_CC     ?= clang
FUZZ_TIME   ?= 300
FUZZ_CFLAGS := -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes \
               -Wno-unused-parameter -Isrc -O1 -g -fno-omit-frame-pointer \
               -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined

build/fuzz/fuzz_http1: tests/fuzz/fuzz_http1.c src/proxy/http1.c src/proxy/http1.h
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -o $@ tests/fuzz/fuzz_http1.c src/proxy/http1.c

# New inputs go to build/fuzz/corpus/http1; the seeds in tests/ stay as committed.
fuzz: build/fuzz/fuzz_http1
	@mkdir -p build/fuzz/corpus/http1
	build/fuzz/fuzz_http1 -max_total_time=$(FUZZ_TIME) -max_len=4096 -print_final_stats=1 \
		build/fuzz/corpus/http1 tests/fuzz/corpus/http1

install: build/rollguard
	install -d $(DESTDIR)$(PREFIX)/bin
	install -m 0755 build/rollguard $(DESTDIR)$(PREFIX)/bin/rollguard

clean:
	rm -rf build

-include $(REL_OBJ:.o=.d) $(SAN_OBJ:.o=.d) $(UNIT_OBJ:.o=.d) build/proxy-bench.d build/detect-bench.d
