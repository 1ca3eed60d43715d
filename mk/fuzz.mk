# Fuzzing: one libFuzzer target per parser of outside input, tests/fuzz/fuzz_<name>.c, with its
# seed corpus in tests/fuzz/corpus/<name>/ and kept crash inputs in tests/fuzz/regressions/<name>/.
#
#   make fuzz                         build every target with clang -fsanitize=fuzzer,address,undefined and
#                                     run each for FUZZ_SECONDS (default 60); prints executions and crashes
#   make fuzz FUZZ_TARGETS="query flow" FUZZ_SECONDS=600
#   make fuzz-replay                  tests/fuzz/run.sh: the corpora and regressions replayed through a gcc
#                                     build of the targets (no clang needed); part of make test
#
# make fuzz installs clang and the libFuzzer runtime from Debian's archive (clang, libclang-rt-dev) when this
# machine lacks them; nothing else does. Inputs the fuzzer finds go to build/fuzz/work/<name>/, crashes to
# build/fuzz/crashes/; copy a crash into tests/fuzz/regressions/<name>/ once it is fixed.

FUZZ_SECONDS ?= 60
FUZZ_TARGETS ?= $(patsubst tests/fuzz/fuzz_%.c,%,$(sort $(wildcard tests/fuzz/fuzz_*.c)))
FUZZ_CC      ?= clang
FUZZ_FLAGS   := $(WARN) -g -O1 -I. -Imodules -Itests/fuzz -I$(INCLUDEDIR) $(APR_CFLAGS)
FUZZ_LIBS    := $(LIBS) $(APR_LIBS) -ldl -lpthread
FUZZ_SUPPORT := tests/fuzz/fuzz.h tests/fuzz/pool_shim.c

# --- libFuzzer build (clang) -------------------------------------------------------------------------
FUZZ_LF_SAN := -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer

build/fuzz/libfuzzer/fuzz_%: tests/fuzz/fuzz_%.c $(FUZZ_SUPPORT) $(CORE_SRC) $(CORE_HDR)
	@mkdir -p $(@D)
	@echo "  CLANG $@"
	@$(FUZZ_CC) $(FUZZ_FLAGS) $(FUZZ_LF_SAN) -o $@ $< tests/fuzz/pool_shim.c $(CORE_SRC) $(FUZZ_LIBS)

.PHONY: fuzz fuzz-deps fuzz-build fuzz-replay fuzz-replay-build

# clang and libFuzzer's runtime (libclang_rt.fuzzer, in libclang-rt-dev), installed only when missing.
fuzz-deps:
	@if ! echo 'int LLVMFuzzerTestOneInput(const char *d, unsigned long n) { return 0; }' | \
	     $(FUZZ_CC) -x c -fsanitize=fuzzer,address,undefined -o /dev/null - >/dev/null 2>&1; then \
	    echo "fuzz: installing clang and the libFuzzer runtime (clang libclang-rt-dev)"; \
	    sudo=""; [ "$$(id -u)" = 0 ] || sudo=sudo; \
	    $$sudo apt-get update -qq && \
	    DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -qq --no-install-recommends clang libclang-rt-dev >/dev/null; \
	fi

fuzz-build: fuzz-deps
	@$(MAKE) --no-print-directory $(addprefix build/fuzz/libfuzzer/fuzz_,$(FUZZ_TARGETS))

fuzz: fuzz-build
	@FUZZ_SECONDS=$(FUZZ_SECONDS) tests/fuzz/fuzz.sh $(FUZZ_TARGETS)

# --- corpus replay build (gcc, no libFuzzer) ----------------------------------------------------------
# tests/fuzz/run.sh sets REPLAY_SAN (AddressSanitizer + UBSan when $(REPLAY_CC) has them) and REPLAY_DIR.
REPLAY_CC  ?= gcc
REPLAY_SAN ?=
REPLAY_DIR ?= build/fuzz/replay
REPLAY_OBJ := $(patsubst modules/%.c,$(REPLAY_DIR)/obj/%.o,$(CORE_SRC)) $(REPLAY_DIR)/obj/pool_shim.o \
              $(REPLAY_DIR)/obj/replay_main.o

$(REPLAY_DIR)/obj/%.o: modules/%.c $(CORE_HDR)
	@mkdir -p $(@D)
	@$(REPLAY_CC) $(FUZZ_FLAGS) $(REPLAY_SAN) -c -o $@ $<

$(REPLAY_DIR)/obj/%.o: tests/fuzz/%.c tests/fuzz/fuzz.h
	@mkdir -p $(@D)
	@$(REPLAY_CC) $(FUZZ_FLAGS) $(REPLAY_SAN) -c -o $@ $<

$(REPLAY_DIR)/fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/fuzz.h $(CORE_HDR) $(REPLAY_OBJ)
	@echo "  $(REPLAY_CC)   $@"
	@$(REPLAY_CC) $(FUZZ_FLAGS) $(REPLAY_SAN) -o $@ $< $(REPLAY_OBJ) $(FUZZ_LIBS)

.SECONDARY: $(REPLAY_OBJ)

fuzz-replay-build:
	@$(MAKE) --no-print-directory $(addprefix $(REPLAY_DIR)/fuzz_,$(FUZZ_TARGETS))

fuzz-replay:
	@tests/fuzz/run.sh
