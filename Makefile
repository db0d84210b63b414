# A thin front for CMake. The two commands a student needs: `make lab1` and `make test`.
BUILD ?= build
CMAKE_BUILD_TYPE ?= RelWithDebInfo
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
MAKEFLAGS += --no-print-directory

.PHONY: all deps configure test bench clean format asan

all: configure
	cmake --build $(BUILD) -j $(JOBS)

deps:
	@scripts/install-deps.sh

configure: deps
	@test -f $(BUILD)/CMakeCache.txt || cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=$(CMAKE_BUILD_TYPE)

# Twice as many tests as cores at once: most of the suite waits on real deadlines (a whole run uses well under one
# core on average), so this halves the wall time without crowding the CPU.
TEST_JOBS ?= $(shell echo $$(( $(JOBS) * 2 )))
test: all
	ctest --test-dir $(BUILD) --output-on-failure -j $(TEST_JOBS) --timeout 300

# Snapshot cost of the harness's capture paths, what recording a timeline costs, how fast program output is taken
# in, what the grading sandbox costs a program start (Google Benchmark), batch grading with and without it, and lab 7's
# anchors: echo_bench's round trip and throughput beside a minimal ping-pong, sockperf and iperf3.
bench: all
	$(BUILD)/bin/socklab_bench
	$(BUILD)/bin/timeline_bench
	$(BUILD)/bin/output_bench
	$(BUILD)/bin/sandbox_bench
	bench/grade_batch.sh
	bench/echo_anchors.sh $(BUILD)

# Build and run one lab's experiments with the socklab harness (text report): every folder of experiments/ with a
# lab.xml is a lab, so `make lab1` ... `make lab6`, and any lab a course adds. TIMELINE=1 adds each experiment's
# TCP state timeline and packet ladder; HTML=1 also writes build/labN-report.html (and, without SUBMISSION, the
# packets as build/labN-pcap/). SUBMISSION=DIR checks your own programs exactly as `socklab grade` will.
lab%: all
	@if [ ! -f experiments/$@/lab.xml ]; then \
	  echo "$@: no such lab (the labs are the folders of experiments/ with a lab.xml: $$(cd experiments && ls -d */ | tr -d / | tr '\n' ' '))"; exit 2; \
	elif [ -n "$(SUBMISSION)" ]; then \
	  $(BUILD)/bin/socklab grade --lab $@ "$(SUBMISSION)" $(if $(TIMELINE),--timeline) $(if $(HTML),--html $(BUILD)/$@-report.html); \
	else \
	  $(BUILD)/bin/socklab run experiments/$@/ $(if $(TIMELINE),--timeline) \
	    $(if $(HTML),--html $(BUILD)/$@-report.html --pcap $(BUILD)/$@-pcap); \
	fi

# Sanitizer build of everything, tests included, in its own build directory.
asan: deps
	cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DSOCKLAB_SANITIZE=ON
	cmake --build build-asan -j $(JOBS)
	ctest --test-dir build-asan --output-on-failure -j $(JOBS) --timeout 300

format:
	clang-format -i $$(git ls-files '*.cc' '*.h')

clean:
	rm -rf $(BUILD) build-asan
