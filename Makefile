#   stemx - convenience wrapper around the CMake build.
#
#   make demo            install packages, build, run broker + 4 agents on loopback
#   make demo ARGS=--once    the same, exit 0 once the five nodes converge
#   make test            install packages, build, run the whole test suite
#   make test SANITIZE=1 the same under AddressSanitizer + UBSan (in build-asan/)
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
MAKEFLAGS += --no-print-directory

.PHONY: all deps build test demo clean

all: build

deps:
	@./scripts/install-deps

build: deps
	@cmake -S . -B $(BUILD) $(CMAKE_FLAGS) >/dev/null
	@cmake --build $(BUILD) -j $(JOBS)

test: build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS) $(CTEST_ARGS)

demo: build
	@./scripts/demo --bin $(BUILD) $(ARGS)

clean:
	rm -rf build build-asan
