# raftlab's build. Read top to bottom: variables, the library, test programs,
# then the targets people run.
#
#   make                 build everything (default variant)
#   make test            run the graded Raft suites (3A-3D)
#   make check           run every test suite
#   make SAN=thread ...  ThreadSanitizer build, in build/thread
#   make SAN=address ... AddressSanitizer + UBSan build, in build/address
#   make RAFT=skeleton   build the suites against the student skeleton
#   make bench           benchmarks          make fuzz   fuzz the codec

CC      ?= cc
SAN     ?=
RAFT    ?= reference
# Extra options for the test programs, e.g. RUN='-run 3A' or RUN='-v'.
RUN     ?=
FUZZ_SECONDS ?= 60

# One output folder per variant: build/default, build/thread, build/address,
# with -skeleton and -clang (or another compiler's name) appended when used.
COMPILER := $(notdir $(firstword $(CC)))
VARIANT := $(if $(SAN),$(SAN),default)$(if $(filter skeleton,$(RAFT)),-skeleton)$(if $(filter-out cc gcc,$(COMPILER)),-$(COMPILER))
B       := build/$(VARIANT)

CUNIT_CFLAGS := $(shell pkg-config --cflags cunit 2>/dev/null)
CUNIT_LIBS   := $(or $(shell pkg-config --libs cunit 2>/dev/null),-lcunit)

WARN    := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes
CFLAGS  := -std=c11 -D_DEFAULT_SOURCE -D_POSIX_C_SOURCE=200809L -pthread -I. $(WARN)
LDFLAGS := -pthread
ifeq ($(SAN),thread)
  CFLAGS  += -O1 -g -fsanitize=thread -DRAFTLAB_SANITIZER=1
  LDFLAGS += -fsanitize=thread
else ifeq ($(SAN),address)
  CFLAGS  += -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined \
             -fno-sanitize-recover=all -DRAFTLAB_SANITIZER=1
  LDFLAGS += -fsanitize=address,undefined
else ifeq ($(SAN),)
  CFLAGS  += -O2 -g
else
  $(error SAN must be thread or address, not '$(SAN)')
endif
ifeq ($(filter reference skeleton,$(RAFT)),)
  $(error RAFT must be reference or skeleton, not '$(RAFT)')
endif

# ---- sources ----
LIB_SRCS    := labtime/labtime.c prng/prng.c chan/chan.c codec/codec.c \
               labrpc/labrpc.c raft/persister.c raft/apply_msg.c
RAFT_SRC    := $(if $(filter skeleton,$(RAFT)),raft/skeleton/raft.c,raft/raft.c)
CONFIG_SRCS := $(wildcard config/*.c)
RUNNER_SRC  := tests/runner.c

obj = $(patsubst %.c,$(B)/obj/%.o,$(1))
LIB_OBJS    := $(call obj,$(LIB_SRCS))
RAFT_OBJS   := $(call obj,$(RAFT_SRC) $(CONFIG_SRCS))
RUNNER_OBJ  := $(call obj,$(RUNNER_SRC))

UNIT_TESTS  := codec_test chan_test persister_test labrpc_test
GRADED      := raft_test
PROGRAMS    := $(addprefix $(B)/,$(UNIT_TESTS) $(GRADED) labrpc_bench codec_replay runner_selftest)

.PHONY: all deps test check unit selftest graded bench fuzz clean
all: $(PROGRAMS)

$(B)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(CUNIT_CFLAGS) -MMD -MP -c $< -o $@

$(addprefix $(B)/,$(UNIT_TESTS)): $(B)/%: $(B)/obj/tests/%.o $(RUNNER_OBJ) $(LIB_OBJS)
	$(CC) $(LDFLAGS) $^ $(CUNIT_LIBS) -o $@

$(B)/raft_test: $(B)/obj/tests/raft_test.o $(RAFT_OBJS) $(RUNNER_OBJ) $(LIB_OBJS)
	$(CC) $(LDFLAGS) $^ $(CUNIT_LIBS) -o $@

# The runner's own test program: most of its tests fail on purpose, and
# tests/runner_selftest.sh checks how the runner reports them.
$(B)/runner_selftest: $(B)/obj/tests/runner_selftest.o $(RUNNER_OBJ) $(LIB_OBJS)
	$(CC) $(LDFLAGS) $^ $(CUNIT_LIBS) -o $@

$(B)/labrpc_bench: $(B)/obj/tests/labrpc_bench.o $(LIB_OBJS)
	$(CC) $(LDFLAGS) $^ -o $@

# The fuzz target's input replayer: runs tests/fuzz/corpus through the same
# LLVMFuzzerTestOneInput that `make fuzz` drives with libFuzzer.
$(B)/codec_replay: $(B)/obj/tests/fuzz/codec_fuzz.o $(B)/obj/tests/fuzz/replay_main.o $(LIB_OBJS)
	$(CC) $(LDFLAGS) $^ -o $@

-include $(shell find $(B)/obj -name '*.d' 2>/dev/null)

# ---- what people run ----
deps:
	@scripts/deps.sh

# The graded tests: the Raft lab, parts 3A-3D.
test: deps
	@$(MAKE) --no-print-directory graded

graded: $(B)/raft_test
	$(B)/raft_test $(RUN)

unit: $(addprefix $(B)/,$(UNIT_TESTS) codec_replay)
	@set -e; for t in $(UNIT_TESTS); do $(B)/$$t $(RUN); done
	$(B)/codec_replay tests/fuzz/corpus

selftest: $(B)/runner_selftest
	tests/runner_selftest.sh $(B)/runner_selftest

# Every suite: unit tests, the fuzz corpus, the runner's own test, then the
# graded suites.
check: deps
	@$(MAKE) --no-print-directory unit selftest graded

bench: deps
	@$(MAKE) --no-print-directory $(B)/labrpc_bench
	$(B)/labrpc_bench

fuzz:
	@scripts/deps.sh && scripts/fuzz.sh $(FUZZ_SECONDS)

clean:
	rm -rf build
