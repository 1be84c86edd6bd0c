#   stemx - convenience wrapper around the CMake build.
#
#   make demo            install packages, build, run broker + 4 agents on loopback
#   make demo ARGS=--once    the same, exit 0 once the five nodes converge
#   make test            install packages, build, run the whole test suite
#   make test SANITIZE=1 the same under AddressSanitizer + UBSan (in build-asan/)
#   make test FUZZ=0     the same without the fuzz stage that follows the suite
#   make test BUILDS=0   the same without the build stage that follows (see builds)
#   make builds          compile, not test, as Release with gcc (build-release/) and
#                        with clang (build-clang/): warnings are errors in both
#   make fuzz            clang + libFuzzer: each fuzz target for FUZZ_SECONDS (in build-fuzz/)
#   make bench           Release build in build/, then stemx-bench at full sizes (< 10 min)
#   make bench QUICK=1   the same at QUICK sizes (about a minute); results also in BENCH_JSON
#   make deps            only install the Debian packages (as root)

SANITIZE ?=
ifeq ($(SANITIZE),1)
BUILD ?= build-asan
CMAKE_FLAGS += -DSTEMX_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug
else
BUILD ?= build
endif
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
CTEST_ARGS ?=
FUZZ ?= 1
BUILDS ?= 1
FUZZ_BUILD ?= build-fuzz
FUZZ_SECONDS ?= 20
QUICK ?=
BENCH_JSON ?= build/bench.json
BENCH_ARGS ?=
MAKEFLAGS += --no-print-directory

.PHONY: all deps build test fuzz builds demo bench clean

all: build

deps:
	@./scripts/install-deps

build: deps
	@cmake -S . -B $(BUILD) $(CMAKE_FLAGS) >/dev/null
	@cmake --build $(BUILD) -j $(JOBS)

test: build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS) $(CTEST_ARGS)
ifneq ($(FUZZ),0)
	@$(MAKE) fuzz
endif
ifneq ($(BUILDS),0)
	@$(MAKE) builds
endif

#   A warning only one compiler or optimisation level gives must not slip
#   in: the tree is also compiled as Release (-O3, what packagers use) with
#   gcc, and with clang. Nothing is run; -Werror does the judging.
builds: deps
	@cmake -S . -B build-release -DCMAKE_BUILD_TYPE=Release >/dev/null
	@cmake --build build-release -j $(JOBS)
	@CC=clang cmake -S . -B build-clang >/dev/null
	@cmake --build build-clang -j $(JOBS)

#   The fuzz stage: only the three fuzzers and the modules they test are
#   built; the three run side by side, each FUZZ_SECONDS over a scratch
#   copy of its seed corpus, so the stage takes about FUZZ_SECONDS plus
#   the build.
fuzz: deps
	@CC=clang cmake -S . -B $(FUZZ_BUILD) -DSTEMX_FUZZ=ON -DBUILD_TESTING=ON \
	    -DSTEMX_FUZZ_SECONDS=$(FUZZ_SECONDS) >/dev/null
	@cmake --build $(FUZZ_BUILD) -j $(JOBS) --target fuzz_targets
	cd $(FUZZ_BUILD) && ctest --output-on-failure -j 3 -L fuzz

#   Only the programs the benchmark drives are built: a Release build of
#   the whole tree is not needed for it
bench: deps
	@cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
	@cmake --build build -j $(JOBS) --target stemx-bench
	build/stemx-bench --bin build --source . --json $(BENCH_JSON) \
	    $(if $(filter 1,$(QUICK)),--quick) $(BENCH_ARGS)

demo: build
	@./scripts/demo --bin $(BUILD) $(ARGS)

clean:
	rm -rf build build-asan build-fuzz build-release build-clang
