# iw-admin: one static library (common/), one FastCGI program per route (fcgi/),
# tools, and tests. `make SAN=1` builds with AddressSanitizer+UBSan into build-san/.
SAN      ?= 0
# `make FUZZ=1 fuzz-build`: clang, libFuzzer instrumentation + ASan/UBSan, in build-fuzz/.
FUZZ     ?= 0
BUILD    ?= $(if $(filter 1,$(FUZZ)),build-fuzz,$(if $(filter 1,$(SAN)),build-san,build))
CC       ?= cc
ifeq ($(FUZZ),1)
CC        = clang
OPT       = -O1
endif
PKGS      = json-c libcurl libzip libpq openssl
OPT      ?= -O2
CFLAGS   += -std=c17 -D_GNU_SOURCE $(OPT) -g -Wall -Wextra -Werror -Wshadow \
            -Wformat=2 -Icommon $(shell pkg-config --cflags $(PKGS))
LDLIBS   += -lfcgi $(shell pkg-config --libs $(PKGS)) -lz -lm
ifeq ($(SAN),1)
CFLAGS   += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
LDFLAGS  += -fsanitize=address,undefined
endif
ifeq ($(FUZZ),1)
CFLAGS   += -fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer \
            -fno-sanitize-recover=undefined
LDFLAGS  += -fsanitize=fuzzer,address,undefined
endif

LIB_SRC   = $(sort $(wildcard common/*/*.c))
LIB_OBJ   = $(LIB_SRC:%.c=$(BUILD)/obj/%.o)
LIB       = $(BUILD)/libiw.a
PROGS     = $(patsubst fcgi/%.c,$(BUILD)/bin/%,$(sort $(wildcard fcgi/*.c)))
TOOLS     = $(BUILD)/bin/iw-migrate
UNITS     = $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(sort $(wildcard tests/unit/test_*.c)))
BENCHES   = $(patsubst tests/bench/%.c,$(BUILD)/bench/%,$(sort $(wildcard tests/bench/*.c)))
TESTTOOLS = $(patsubst tests/tools/%.c,$(BUILD)/testtools/%,$(sort $(wildcard tests/tools/*.c)))
MIGRATE_SRC = $(sort $(wildcard tools/migrate/*.c))
# One fuzz target per parser (tests/fuzz/fuzz_*.c): a libFuzzer binary in
# build-fuzz/fuzz/, and in every build a replay binary (replay_main.c) that
# runs the committed corpus once (make test).
FUZZ_SRC  = $(sort $(wildcard tests/fuzz/fuzz_*.c))
FUZZERS   = $(patsubst tests/fuzz/%.c,$(BUILD)/fuzz/%,$(FUZZ_SRC))
REPLAYS   = $(patsubst tests/fuzz/%.c,$(BUILD)/fuzz-replay/%,$(FUZZ_SRC))
FUZZ_SECONDS ?= 60

.PHONY: all deps run stop test unit bench install clean check-layers fuzz fuzz-build
.SECONDARY:
all: $(LIB) $(PROGS) $(TOOLS) $(UNITS) $(BENCHES) $(TESTTOOLS) $(REPLAYS)

# -MMD -MP: each object depends on the headers it includes (build/obj/**/*.d).
$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -MMD -MP -c -o $@ $<

# Modules in different folders may share a base name (smt/csv.o, ercot/csv.o):
# the archive is written afresh so that neither replaces the other.
$(LIB): $(LIB_OBJ)
	@mkdir -p $(dir $@)
	@rm -f $@
	$(AR) rcs $@ $^

$(BUILD)/bin/%: $(BUILD)/obj/fcgi/%.o $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/bin/iw-migrate: $(MIGRATE_SRC:%.c=$(BUILD)/obj/%.o) $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/tests/%: $(BUILD)/obj/tests/unit/%.o $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/bench/%: $(BUILD)/obj/tests/bench/%.o $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/testtools/%: $(BUILD)/obj/tests/tools/%.o $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/fuzz-replay/%: $(BUILD)/obj/tests/fuzz/%.o $(BUILD)/obj/tests/fuzz/replay_main.o $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/fuzz/%: $(BUILD)/obj/tests/fuzz/%.o $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

fuzz-build: $(FUZZERS)

# Every target for FUZZ_SECONDS each, growing tests/fuzz/corpus/<target>/.
fuzz:
	@$(MAKE) -s -j2 --no-print-directory FUZZ=1 fuzz-build
	@FUZZ_SECONDS=$(FUZZ_SECONDS) tests/fuzz/run.sh build-fuzz

deps:
	@tools/deps.sh

# Start the local stack in the background (Postgres, programs, nginx); returns once /healthz answers.
# `make run PGBOUNCER=1`: the programs reach Postgres through pgbouncer (transaction pooling).
# Settings given once (SMT_PROXY_URL=... make run) persist in var/env and are listed by name at
# each start; `make run RESET=1` drops them (generated secrets, databases and var/storage kept).
PGBOUNCER ?= 0
RESET     ?= 0
run: deps
	@$(MAKE) -s -j2 --no-print-directory all
	@IW_PGBOUNCER=$(PGBOUNCER) IW_RESET=$(RESET) tools/stack.sh run

stop:
	@tools/stack.sh stop

unit: all
	@tests/run.sh unit

# Includes go one way between the layers of common/ (see docs/architecture.md).
check-layers:
	@tools/check-layers.sh

test:
	@tools/check-layers.sh
	@IW_DEPS_TEST=1 tools/deps.sh
	@$(MAKE) -s -j2 --no-print-directory all
	@$(MAKE) -s -j2 --no-print-directory SAN=1 all
	@tests/fuzz/replay.sh build-san
	@tests/run.sh all

bench: deps
	@$(MAKE) -s -j2 --no-print-directory all
	@tests/bench/run.sh

install: all
	@tools/install.sh "$(DESTDIR)" "$(BUILD)"

clean:
	rm -rf build build-san build-fuzz

-include $(wildcard $(BUILD)/obj/*/*.d $(BUILD)/obj/*/*/*.d $(BUILD)/obj/*/*/*/*.d)
