# Thin wrapper over CMake: the build lives in CMakeLists.txt.
BUILD ?= build
JOBS ?= $(shell nproc)
CMAKE_FLAGS ?=

.PHONY: all build deps test test-asan test-tsan demo lint format coverage clean

all: build

deps:
	@scripts/install-deps --build

build: deps
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo $(CMAKE_FLAGS) >/dev/null
	@cmake --build $(BUILD) -j $(JOBS)

test:
	@scripts/install-deps
	@$(MAKE) --no-print-directory build
	@cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

# The whole suite under AddressSanitizer + UBSan (any finding aborts).
test-asan:
	@scripts/install-deps
	@$(MAKE) --no-print-directory build BUILD=build-asan \
		CMAKE_FLAGS="-DETL_SANITIZE=asan -DCMAKE_BUILD_TYPE=Debug"
	@cd build-asan && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
		UBSAN_OPTIONS=print_stacktrace=1 ctest --output-on-failure -j $(JOBS)

# The tests that exercise threads, under ThreadSanitizer.
test-tsan:
	@scripts/install-deps
	@$(MAKE) --no-print-directory build BUILD=build-tsan \
		CMAKE_FLAGS="-DETL_SANITIZE=tsan -DCMAKE_BUILD_TYPE=Debug"
	@cd build-tsan && TSAN_OPTIONS=halt_on_error=1 \
		ctest --output-on-failure -j $(JOBS) -L concurrency

demo: build
	@scripts/demo $(BUILD)/bpecg-etl

lint:
	@scripts/lint $(BUILD)

format:
	@git ls-files '*.c' '*.h' | xargs clang-format -i

coverage:
	@scripts/install-deps
	@$(MAKE) --no-print-directory build BUILD=build-coverage \
		CMAKE_FLAGS="-DETL_COVERAGE=ON -DCMAKE_BUILD_TYPE=Debug"
	@scripts/coverage build-coverage

clean:
	rm -rf build build-*
