# raftlab's build. Read top to bottom: settings, sources, programs, then the
# targets people run.
#
#   make                  build everything (default variant, build/default)
#   make test             the graded tests: Raft, parts 3A-3D
#   make test-kv          the key/value lab's graded tests, parts 4A-4B
#   make test-3e          part 3E (optional): cluster membership changes
#   make check            every test suite
#   make SAN=thread ...   ThreadSanitizer build, in build/thread
#   make SAN=address ...  AddressSanitizer + UBSan build, in build/address
#   make SIM=1 ...        simulation mode: virtual time, one thread at a
#                         time, exact replay (build/sim; with SAN=address,
#                         build/sim-address)
#   make RAFT=skeleton    build against the student Raft skeleton
#   make KV=skeleton      build against the student key/value skeleton
#   make bench            benchmarks          make fuzz     fuzz the codec
#   make figure16         the Raft paper's Figure 16, docs/figure16.svg
#   make handout          the student handout  make grade    grade all parts
#   make autograder       build/autograder.zip, for Gradescope
#   make format           the house style (.clang-format) applied to every C
#                         file; make format-check says which differ
#   RUN='-run 3A -v'      options for the test programs (see their -h)
#   T='^TestBackup3B$'    the tests to run, a -run pattern that needs no
#                         escaping for make (RUN's needs $$ for $)

CC      ?= cc
SAN     ?=
SIM     ?=
RAFT    ?= reference
KV      ?= reference
RUN     ?=
T       ?=
FUZZ_SECONDS ?= 60
GRADE_RUNS       ?= 1
GRADE_TEST_LIMIT ?= 120
GRADE_LAB_LIMIT  ?= 600
# (add 3E to grade the optional membership part too)
GRADE_PARTS      ?= 3A 3B 3C 3D 4A 4B

# One output folder per variant: build/default, build/thread, build/address,
# with -skeleton, -kvskeleton and -clang (or another compiler) appended.
COMPILER := $(notdir $(firstword $(CC)))
VARIANT  := $(if $(SIM),sim$(if $(SAN),-$(SAN)),$(if $(SAN),$(SAN),default))$(if $(filter skeleton,$(RAFT)),-skeleton)$(if $(filter skeleton,$(KV)),-kvskeleton)$(if $(filter-out cc gcc,$(COMPILER)),-$(COMPILER))
B        := build/$(VARIANT)

CUNIT_CFLAGS := $(shell pkg-config --cflags cunit 2>/dev/null)
CUNIT_LIBS   := $(or $(shell pkg-config --libs cunit 2>/dev/null),-lcunit)

WARN    := -Wall -Wextra -Wpedantic -Wformat=2 -Werror -Wshadow -Wstrict-prototypes \
           -Wmissing-prototypes
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
ifneq ($(filter-out 1,$(SIM)),)
  $(error SIM must be 1 or empty, not '$(SIM)')
endif
ifeq ($(SIM)$(SAN),1thread)
  $(error ThreadSanitizer is a real-mode tool: with one thread running at a time there are no races to see. Use SIM=1 SAN=address, or SAN=thread alone)
endif
ifeq ($(filter reference skeleton,$(RAFT)),)
  $(error RAFT must be reference or skeleton, not '$(RAFT)')
endif
ifeq ($(filter reference skeleton,$(KV)),)
  $(error KV must be reference or skeleton, not '$(KV)')
endif
# The handout has the skeletons in the reference's place and no skeleton
# folders: RAFT=skeleton and KV=skeleton mean nothing there.
ifeq ($(RAFT)$(wildcard raft/skeleton/raft.c),skeleton)
  $(error RAFT=skeleton: there is no raft/skeleton/ here (in the handout, raft/raft.c is the skeleton already): run make without it)
endif
ifeq ($(KV)$(wildcard kvraft/skeleton/server.c),skeleton)
  $(error KV=skeleton: there is no kvraft/skeleton/ here (in the handout, kvraft/client.c and server.c are the skeletons already): run make without it)
endif

# The repository has the skeleton folders; the handout has neither them nor
# the framework's own tests and tools (scripts/handout.sh leaves them out).
REPO := $(wildcard raft/skeleton/raft.c)
NOT_IN_HANDOUT = @echo "make $@: the framework's own tests and tools are in the raftlab repository, not in the handout" >&2; exit 2

# ---- sources ----
# The framework every program links: clock, PRNG, channels, codec, network,
# persister, apply messages, debug log.
LIB_SRCS    := labtime/labtime.c prng/prng.c chan/chan.c codec/codec.c \
               labrpc/labrpc.c labrpc/name_map.c labrpc/timer_heap.c \
               labrpc/pool.c labrpc/spin_wait.c raft/persister.c \
               raft/apply_msg.c rlog/rlog.c
RAFT_SRC    := $(if $(filter skeleton,$(RAFT)),raft/skeleton/raft.c,raft/raft.c)
KV_SRCS     := kvraft/rpc.c $(if $(filter skeleton,$(KV)),kvraft/skeleton/client.c kvraft/skeleton/server.c,kvraft/client.c kvraft/server.c)
LIN_SRCS    := lincheck/lincheck.c lincheck/kv_model.c lincheck/register_model.c \
               lincheck/visualize.c

# Simulation mode: the scheduler, and every call it takes over by the
# linker's --wrap (sim/wrap.c; README, Simulation mode, lists them).
SIM_WRAPS := pthread_create pthread_join pthread_tryjoin_np \
             pthread_timedjoin_np pthread_detach pthread_exit pthread_cancel \
             pthread_mutex_init pthread_mutex_destroy pthread_mutex_lock \
             pthread_mutex_trylock pthread_mutex_timedlock \
             pthread_mutex_clocklock pthread_mutex_unlock \
             pthread_cond_init pthread_cond_destroy pthread_cond_wait \
             pthread_cond_timedwait pthread_cond_clockwait \
             pthread_cond_signal pthread_cond_broadcast \
             pthread_rwlock_init pthread_rwlock_destroy pthread_rwlock_rdlock \
             pthread_rwlock_wrlock pthread_rwlock_tryrdlock \
             pthread_rwlock_trywrlock pthread_rwlock_timedrdlock \
             pthread_rwlock_timedwrlock pthread_rwlock_unlock \
             pthread_spin_lock pthread_spin_trylock pthread_spin_unlock \
             pthread_barrier_init pthread_barrier_destroy pthread_barrier_wait \
             pthread_once sem_init sem_destroy sem_wait sem_trywait \
             sem_timedwait sem_clockwait sem_post sem_getvalue sem_open \
             nanosleep clock_nanosleep usleep sleep sched_yield \
             clock_gettime gettimeofday time timespec_get clock \
             getrandom getentropy poll ppoll select pselect epoll_wait \
             pause sigwait sigsuspend thrd_create
# The linker reads the --wrap options from a file, to keep link lines short.
SIM_WRAP_FILE := $(B)/sim-wraps.txt
ifeq ($(SIM),1)
  CFLAGS   += -DRAFTLAB_SIM=1
  LDFLAGS  += -Wl,@$(SIM_WRAP_FILE)
  LIB_SRCS += sim/sched.c sim/wrap.c
endif

obj = $(patsubst %.c,$(B)/obj/%.o,$(1))
LIB_OBJS    := $(call obj,$(LIB_SRCS))
# The test runner every test program links (runner/runner.h).
RUNNER_OBJ  := $(call obj,runner/runner.c runner/options.c runner/supervise.c \
               runner/diagnose.c runner/report.c runner/buf.c)
LIN_OBJS    := $(call obj,$(LIN_SRCS))
RAFT_TEST_OBJS := $(call obj,tests/raft_test.c config/raft_config.c config/stale_replay.c config/cmdvalue.c config/tester.c $(RAFT_SRC))
MEMBERSHIP_TEST_OBJS := $(call obj,tests/membership_test.c config/raft_config.c config/stale_replay.c config/cmdvalue.c config/tester.c $(RAFT_SRC))
KV_TEST_OBJS   := $(call obj,tests/kvraft_test.c config/kv_config.c config/tester.c $(KV_SRCS) $(RAFT_SRC)) $(LIN_OBJS)

# Unit-test programs: tests/unit/NAME.c on the runner and the framework.
UNIT_TESTS  := codec_test chan_test persister_test labrpc_test lincheck_test \
               $(if $(SIM),sim_test)
PROGRAMS    := $(addprefix $(B)/,$(UNIT_TESTS) raft_test kvraft_test membership_test \
               lincheck labrpc_bench lincheck_bench \
               $(if $(REPO),runner_selftest codec_replay kv_bench figure16) \
               $(if $(SIM),sim_bench $(if $(REPO),sim_trouble)))

.PHONY: all deps test test-kv test-3e check unit selftest tooling-test sim-check \
        graded graded-kv graded-3e \
        bench sim-measure mutants fuzz handout grade autograder kv-measure print-builddir \
        figure16 figure16-here format format-check clean
all: $(PROGRAMS) $(B)/liblincheck.a

$(B)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(CUNIT_CFLAGS) -MMD -MP -c $< -o $@

ifeq ($(SIM),1)
$(PROGRAMS) $(addprefix $(B)/,sim_test sim_trouble): | $(SIM_WRAP_FILE)
$(SIM_WRAP_FILE): Makefile
	@mkdir -p $(dir $@)
	@printf -- '--wrap=%s\n' $(SIM_WRAPS) >$@
endif

# ---- programs ----
$(B)/lincheck_test: $(call obj,tests/unit/lin_history.c) $(LIN_OBJS)
$(addprefix $(B)/,$(UNIT_TESTS)): $(B)/%: $(B)/obj/tests/unit/%.o $(RUNNER_OBJ) $(LIB_OBJS)
	$(CC) $(LDFLAGS) $^ $(CUNIT_LIBS) -o $@

# The runner's own test program, and what the scheduler stops (SIM=1):
# programs whose tests misbehave on purpose, for their scripts to check
# the reports.
$(B)/runner_selftest: $(call obj,runner/selftest.c) $(RUNNER_OBJ) $(LIB_OBJS)
	$(CC) $(LDFLAGS) $^ $(CUNIT_LIBS) -o $@

$(B)/sim_trouble: $(B)/obj/tests/unit/sim_trouble.o $(RUNNER_OBJ) $(LIB_OBJS)
	$(CC) $(LDFLAGS) $^ $(CUNIT_LIBS) -o $@

$(B)/raft_test: $(RAFT_TEST_OBJS) $(RUNNER_OBJ) $(LIB_OBJS)
	$(CC) $(LDFLAGS) $^ $(CUNIT_LIBS) -o $@

$(B)/kvraft_test: $(KV_TEST_OBJS) $(RUNNER_OBJ) $(LIB_OBJS)
	$(CC) $(LDFLAGS) $^ $(CUNIT_LIBS) -o $@

# Part 3E, membership changes: optional, a program of its own.
$(B)/membership_test: $(MEMBERSHIP_TEST_OBJS) $(RUNNER_OBJ) $(LIB_OBJS)
	$(CC) $(LDFLAGS) $^ $(CUNIT_LIBS) -o $@

# Replays tests/fuzz/corpus through the LLVMFuzzerTestOneInput that
# `make fuzz` drives with libFuzzer.
$(B)/codec_replay: $(call obj,tests/fuzz/codec_fuzz.c tests/fuzz/replay_main.c) $(LIB_OBJS)
	$(CC) $(LDFLAGS) $^ -o $@

# The linearizability checker as a library: lincheck/lincheck.h and this,
# linked with -pthread and nothing else (build/default's; the sim build's
# objects call the scheduler).
$(B)/liblincheck.a: $(LIN_OBJS)
	rm -f $@
	$(AR) rcs $@ $^

# Checks a history file for linearizability (lincheck/README.md): the
# library's first user, linked with nothing else of raftlab.
$(B)/lincheck: $(call obj,tools/lincheck.c tools/histories.c) $(B)/liblincheck.a $(if $(SIM),$(LIB_OBJS))
	$(CC) $(LDFLAGS) $^ -o $@

$(B)/labrpc_bench: $(call obj,tests/bench/labrpc_bench.c) $(LIB_OBJS)
	$(CC) $(LDFLAGS) $^ -o $@

$(B)/lincheck_bench: $(call obj,tests/bench/lincheck_bench.c tests/unit/lin_history.c) $(LIN_OBJS) $(LIB_OBJS)
	$(CC) $(LDFLAGS) $^ -o $@

# Reads without the log against reads through it, on the reference service
# whatever RAFT= and KV= say (the repository only: kvraft/settings.h).
$(B)/kv_bench: $(call obj,tests/bench/kv_bench.c kvraft/rpc.c kvraft/client.c kvraft/server.c raft/raft.c) $(LIB_OBJS)
	$(CC) $(LDFLAGS) $^ -o $@

# The Raft paper's Figure 16 on the reference Raft, whichever RAFT= says.
$(B)/figure16: $(call obj,tests/bench/figure16.c raft/raft.c) $(LIB_OBJS)
	$(CC) $(LDFLAGS) $^ -o $@

# The scheduler's costs in real time (SIM=1 only).
$(B)/sim_bench: $(call obj,tests/bench/sim_bench.c) $(LIB_OBJS)
	$(CC) $(LDFLAGS) $^ -o $@

-include $(shell find $(B)/obj -name '*.d' 2>/dev/null)

# ---- what people run ----
deps:
	@scripts/deps.sh

# The graded tests: the Raft lab, parts 3A-3D.
test: deps
	@$(MAKE) --no-print-directory graded

# The key/value lab's graded tests, parts 4A-4B.
test-kv: deps
	@$(MAKE) --no-print-directory graded-kv

# T reaches the shell through the environment, so that its $ and quotes
# are the program's, not make's or the shell's.
export T
SELECT = $(if $(value T),-run="$$T")

graded: $(B)/raft_test
	$(B)/raft_test $(SELECT) $(RUN)

graded-kv: $(B)/kvraft_test
	$(B)/kvraft_test $(SELECT) $(RUN)

# Part 3E (optional): cluster membership changes.
test-3e: deps
	@$(MAKE) --no-print-directory graded-3e

graded-3e: $(B)/membership_test
	$(B)/membership_test $(SELECT) $(RUN)

# Unit tests of every module, the fuzz corpus, the lincheck tool's tests.
unit: $(addprefix $(B)/,$(UNIT_TESTS) $(if $(REPO),codec_replay lincheck))
	@set -e; for t in $(UNIT_TESTS); do $(B)/$$t $(RUN); done
ifneq ($(REPO),)
	$(B)/codec_replay tests/fuzz/corpus
	tools/lincheck_cli_test.sh $(B)/lincheck
endif

# The runner's own test: most of runner_selftest's tests fail on purpose, and
# the script checks how the runner reports them. In the sim build: what the
# scheduler stops and how it says so, and that a seed replays a run byte for
# byte (the runner's own tests are of real mode).
ifeq ($(REPO),)
selftest tooling-test fuzz sim-measure figure16 figure16-here:
	$(NOT_IN_HANDOUT)
else ifeq ($(SIM),1)
selftest: $(addprefix $(B)/,sim_trouble raft_test kvraft_test)
	tests/unit/sim_trouble_test.sh $(B)/sim_trouble
	tests/unit/sim_determinism_test.sh $(B)
else
selftest: $(B)/runner_selftest
	runner/selftest.sh $(B)/runner_selftest
endif

ifneq ($(REPO),)
# The stress runner's, the grading script's, the Gradescope autograder's and
# the log viewer's tests, the handout's own, and lincheck's page in headless
# Chromium.
tooling-test: $(B)/runner_selftest $(B)/lincheck $(B)/figure16
	scripts/check_format.sh
	scripts/run_tests_test.sh $(B)/runner_selftest
	scripts/grade_test.sh $(B)/runner_selftest
	scripts/autograder_test.sh
	tools/logview_test.sh
	scripts/handout_test.sh
	scripts/mutants_test.sh
	tools/lincheck_html_test.sh $(B)/lincheck
	tests/bench/figure16_test.sh $(B)/figure16
endif

# Simulation mode's tests, in the sim build of this variant: every unit test
# on the scheduler (the scheduler's own among them), and the sim selftest.
# Not under ThreadSanitizer, which is a real-mode tool.
sim-check:
ifeq ($(SAN),thread)
	@echo "sim-check: skipped: simulation mode does not build with ThreadSanitizer"
else
	@$(MAKE) --no-print-directory SIM=1 unit $(if $(REPO),selftest)
endif

# Every suite: unit tests, the runner and tooling tests, simulation mode's
# tests, then both labs (in the handout: the unit tests, sim mode's and
# both labs).
check:
	@scripts/deps.sh --check
	@$(MAKE) --no-print-directory unit $(if $(REPO),selftest tooling-test) sim-check graded graded-3e graded-kv

bench: deps
	@$(MAKE) --no-print-directory $(B)/labrpc_bench $(B)/lincheck_bench $(if $(REPO),$(B)/kv_bench) $(if $(SIM),$(B)/sim_bench)
	$(B)/labrpc_bench
	$(B)/lincheck_bench
	$(if $(REPO),$(B)/kv_bench)
	$(if $(SIM),$(B)/sim_bench)

# The Raft paper's Figure 16 (README, Figure 16): tests/bench/figure16.c in
# simulation mode (build/sim, whatever SAN says: about two minutes for 1000
# trials a line), its samples in build/sim/figure16.csv, drawn into
# docs/figure16.svg. FIGURE16_ARGS passes options, e.g. '--trials 100'. In
# real mode, run $(B)/figure16 itself (README says how long it takes).
FIGURE16_ARGS ?=
ifneq ($(REPO),)
figure16:
	@command -v python3 >/dev/null || { echo "make figure16: python3 draws the figure; install it (sudo apt-get install python3)" >&2; exit 2; }
	@$(MAKE) --no-print-directory SIM=1 SAN= figure16-here

# (the benchmark and the plot, in this variant's build)
figure16-here: $(B)/figure16
	$(B)/figure16 --csv $(B)/figure16.csv $(FIGURE16_ARGS)
	@mkdir -p docs
	python3 scripts/figure16.py $(B)/figure16.csv docs/figure16.svg
endif

# Real mode against simulation mode: each suite's wall time and every
# test's counts in both (scripts/sim_measure.sh; PARTS="3A 3B" for fewer).
ifneq ($(REPO),)
sim-measure: deps
	scripts/sim_measure.sh $(PARTS)

fuzz:
	@scripts/deps.sh && scripts/fuzz.sh $(FUZZ_SECONDS)
endif

# Wall and CPU time of parts 4A and 4B and the speed tests' ms/op.
kv-measure: $(B)/kvraft_test
	scripts/kv_measure.sh $(B)/kvraft_test $(RUN)

# The mutation harness: each classic bug of mutants/ alone against the
# graded suites, a table and build/mutants/report.json (scripts/mutants.sh
# -h; MUTANTS="name ..." for some, MUTANT_ARGS for its options).
MUTANTS     ?=
MUTANT_ARGS ?=
mutants: deps
	@test -x scripts/mutants.sh || { echo "make mutants: the mutation harness is an instructors' tool, not part of the handout" >&2; exit 2; }
	scripts/mutants.sh $(MUTANT_ARGS) $(MUTANTS)

# handout/ and handout.tar.gz: the framework with the student skeletons in
# place of the reference code, checked to contain none of it.
handout:
	@test -d raft/skeleton || { echo "make handout: this is a handout already (no raft/skeleton/); make it in the raftlab repository" >&2; exit 2; }
	scripts/handout.sh handout

# Runs every part GRADE_RUNS times under the handout's limits (120 s per
# test, 600 s per lab) and writes build/grade/report.json and junit.xml.
grade: $(B)/raft_test $(B)/kvraft_test $(B)/membership_test
	scripts/grade.sh --build $(B) --runs $(GRADE_RUNS) \
	    --test-limit $(GRADE_TEST_LIMIT) --lab-limit $(GRADE_LAB_LIMIT) \
	    --parts "$(GRADE_PARTS)"

# build/autograder.zip for Gradescope: setup.sh, run_autograder, the handout
# and the parts to grade (AUTOGRADER_PARTS; GRADE_RUNS and the limits).
AUTOGRADER_PARTS ?= $(GRADE_PARTS)
autograder:
	@test -d raft/skeleton || { echo "make autograder: build it in the raftlab repository, not in a handout" >&2; exit 2; }
	scripts/autograder.sh "$(AUTOGRADER_PARTS)" $(GRADE_RUNS) $(GRADE_TEST_LIMIT) $(GRADE_LAB_LIMIT)

# The house style, .clang-format (scripts/check_format.sh; needs
# clang-format): format rewrites every C file in it, format-check names
# those that differ and shows how.
format:
	scripts/check_format.sh --fix

format-check:
	scripts/check_format.sh

# run-tests.sh asks for the build folder of its variant.
print-builddir:
	@echo $(B)

clean:
	rm -rf build
