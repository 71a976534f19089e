# Thin wrapper over CMake: the build lives in CMakeLists.txt. Builds made
# here (and so by .ci/run) treat warnings as errors (ETL_WERROR=ON); a plain
# `cmake` build does not.
BUILD ?= build
JOBS ?= $(shell nproc)
CMAKE_FLAGS ?=

.PHONY: all build deps test test-asan test-tsan valgrind fuzz demo bench lint format coverage clean \
	lambda-package

all: build

deps:
	@scripts/install-deps --build

build: deps
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DETL_WERROR=ON \
		$(CMAKE_FLAGS) >/dev/null
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

# dist/function.zip (LAMBDA_ZIP) for AWS Lambda (provided.al2023), from a
# build of its own in $(BUILD)-lambda-package; fails if anything in the zip
# needs a glibc newer than Amazon Linux 2023's 2.34.
LAMBDA_ZIP ?= dist/function.zip
lambda-package: deps
	@scripts/lambda-package --build $(BUILD)-lambda-package \
		--out $(LAMBDA_ZIP) --jobs $(JOBS)

# valgrind memcheck on a run over the samples (also part of `make test`).
valgrind:
	@scripts/install-deps
	@$(MAKE) --no-print-directory build BUILD=build-valgrind
	@cd build-valgrind && ctest --output-on-failure -L valgrind

# libFuzzer targets (tests/fuzz), FUZZ_SECONDS each (default 60), with clang,
# ASan and UBSan; FUZZ_TARGETS="pdf sigv4" picks some, FUZZ_JOBS=N runs N at
# once. See scripts/fuzz.
FUZZ_SECONDS ?= 60
fuzz:
	@scripts/install-deps --dev
	@FUZZ_SECONDS=$(FUZZ_SECONDS) scripts/fuzz build-fuzz

demo: build
	@scripts/demo $(BUILD)/bpecg-etl

# Speed and memory against the original pipeline and the MuPDF floor, in a
# release build of its own (bench/run; BENCH_PDFS=N scales the corpus).
bench:
	@scripts/install-deps
	@cmake -S . -B build-bench -DCMAKE_BUILD_TYPE=Release \
		-DCMAKE_C_FLAGS_RELEASE="-O2 -DNDEBUG" -DBUILD_TESTING=OFF >/dev/null
	@cmake --build build-bench -j $(JOBS) --target bpecg-etl bench_floor
	@bench/run --build build-bench --readme

lint:
	@scripts/install-deps --dev
	@scripts/lint $(BUILD)

format:
	@git ls-files '*.c' '*.h' | xargs clang-format -i

coverage:
	@scripts/install-deps
	@scripts/install-deps --dev
	@$(MAKE) --no-print-directory build BUILD=build-coverage \
		CMAKE_FLAGS="-DETL_COVERAGE=ON -DCMAKE_BUILD_TYPE=Debug"
	@scripts/coverage build-coverage

clean:
	rm -rf build build-*
