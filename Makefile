# Thin wrapper over CMake: the build lives in CMakeLists.txt.
BUILD ?= build
JOBS ?= $(shell nproc)
CMAKE_FLAGS ?=

.PHONY: all build deps test demo lint format coverage clean

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
