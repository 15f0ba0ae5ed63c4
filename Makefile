# The README's two commands: `make test` and `make demo`. Both install what they need
# (scripts/install-deps.sh, idempotent), configure with CMake + Ninja, and build.
BUILD ?= build
BUILD_TYPE ?= RelWithDebInfo
JOBS ?= $(shell nproc)
FUZZ_SECONDS ?= 60
CMAKE_ARGS ?=
# The library and the program in unity batches (see COORDSEG_UNITY in CMakeLists.txt).
UNITY ?= ON
CMAKE_ARGS += -DCOORDSEG_UNITY=$(UNITY)
ifeq ($(CI),true)
  CMAKE_ARGS += -DCOORDSEG_WERROR=ON
endif

.PHONY: all deps build test demo fuzz sanitize clean

all: build

deps:
	@bash scripts/install-deps.sh

build: deps
	cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) $(CMAKE_ARGS)
	cmake --build $(BUILD) -j $(JOBS)

test: build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS) --timeout 900

# The demo builds the coordseg program alone, optimised without debug information, in unity
# batches, in its own folder: 2.5 min on 2 cores (5.4 min file by file; the 20-minute budget
# of make demo).
DEMO_BUILD ?= build-demo
demo: deps
	cmake -S . -B $(DEMO_BUILD) -G Ninja -DCMAKE_BUILD_TYPE=Release $(CMAKE_ARGS)
	cmake --build $(DEMO_BUILD) -j $(JOBS) --target coordseg
	@bash scripts/demo.sh $(DEMO_BUILD)

# libFuzzer on the NIfTI reader (clang-14), seeded from fuzz/corpus; new inputs go to a
# scratch copy so the checked-in corpus stays small. Crashes land in fuzz/crashes/.
fuzz:
	@COORDSEG_FUZZ_DEPS=1 bash scripts/install-deps.sh
	CC=clang-14 CXX=clang++-14 cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	  -DCOORDSEG_FUZZ=ON -DCOORDSEG_WITH_TORCH=OFF -DCOORDSEG_BUILD_TESTS=OFF -DCOORDSEG_BUILD_BENCH=OFF
	cmake --build build-fuzz --target nifti_fuzz
	rm -rf build-fuzz/corpus && mkdir -p build-fuzz/corpus fuzz/crashes && cp fuzz/corpus/* build-fuzz/corpus/
	build-fuzz/fuzz/nifti_fuzz build-fuzz/corpus -max_total_time=$(FUZZ_SECONDS) -rss_limit_mb=2048 \
	  -artifact_prefix=fuzz/crashes/ -print_final_stats=1

# The torch-free tests under AddressSanitizer + UndefinedBehaviorSanitizer (clang-14), at -O1
# as ASan advises (at -O0 one generation-2 phantom test took 279 s).
sanitize:
	@COORDSEG_FUZZ_DEPS=1 bash scripts/install-deps.sh
	CC=clang-14 CXX=clang++-14 cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=Debug \
	  -DCMAKE_CXX_FLAGS_DEBUG="-g -O1" -DCOORDSEG_SANITIZE=ON -DCOORDSEG_WITH_TORCH=OFF -DCOORDSEG_BUILD_BENCH=OFF
	cmake --build build-asan -j $(JOBS)
	cd build-asan && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
	  ctest --output-on-failure -j $(JOBS) -L core

clean:
	rm -rf $(BUILD) $(DEMO_BUILD) build-fuzz build-asan
