# iogap — see README.md. `make` builds, `make check` tests, `make demo` shows.
OUTPUT := $(if $(filter 1,$(SANITIZE)),.output-asan,.output)
CLANG ?= clang
CC ?= cc
BPFTOOL ?= bpftool
ARCH := x86
PKG_LIBS := libbpf libelf zlib libcjson
CFLAGS ?= -g -O2
CFLAGS += -Wall -Wextra -Wno-unused-parameter -Wno-missing-field-initializers -std=gnu11 -MMD -MP
INCLUDES := -I$(OUTPUT) -I$(OUTPUT)/gen -Ibpf -Iuser -Itools/iogap
BPF_CFLAGS := -g -O2 -target bpf -D__TARGET_ARCH_$(ARCH) -Wall -Wno-unused-function -MMD -MP -I. -Ibpf
LDLIBS := $(shell pkg-config --libs $(PKG_LIBS) 2>/dev/null || echo -lbpf -lelf -lz -lcjson) -lm

ifeq ($(V),1)
Q =
msg =
else
Q = @
msg = @printf '  %-8s %s\n' "$(1)" "$(2)";
endif

BPF_SRCS := $(wildcard bpf/*.bpf.c)
BPF_OBJS := $(patsubst bpf/%.bpf.c,$(OUTPUT)/bpf/%.bpf.o,$(BPF_SRCS))
SKELS := $(patsubst bpf/%.bpf.c,$(OUTPUT)/%.skel.h,$(BPF_SRCS))
LIB_SRCS := $(wildcard user/*/*.c)
LIB_OBJS := $(patsubst %.c,$(OUTPUT)/%.o,$(LIB_SRCS))
CLI_SRCS := $(wildcard tools/iogap/*.c)
CLI_OBJS := $(patsubst %.c,$(OUTPUT)/%.o,$(CLI_SRCS))
UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(patsubst tests/unit/%.c,$(OUTPUT)/tests/%,$(UNIT_SRCS))
WORKLOADS := $(patsubst tests/bpf/%.c,$(OUTPUT)/tests/%,$(filter-out tests/bpf/sqlite_%.c,$(wildcard tests/bpf/*.c))) \
	$(OUTPUT)/tests/sqlite_workload $(OUTPUT)/tests/sqlite_workload_static $(OUTPUT)/tests/sqlite_httpd
SYSNAMES := $(OUTPUT)/gen/syscall_names.h
UNISTD := $(firstword $(wildcard /usr/include/x86_64-linux-gnu/asm/unistd_64.h /usr/include/asm/unistd_64.h))

# make SANITIZE=1: iogap and the unit tests built with ASan+UBSan into .output-asan (make
# check-asan runs them); the static test workloads cannot be, the tests use the normal build's.
ifeq ($(SANITIZE),1)
CFLAGS += -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
WORKLOADS :=
endif

# Debian packages the build, the tests and the demo need.
DEPS := make gcc clang llvm libbpf-dev bpftool libelf-dev zlib1g-dev libcjson-dev pkg-config libclang-rt-14-dev \
	libcmocka-dev libsqlite3-dev sqlite3 strace python3 libbpf-tools bpftrace wrk \
	python3-django python3-fastapi python3-uvicorn gunicorn python3-gunicorn python3-aiosqlite \
	python3-aiofiles libc6-dev util-linux iproute2 procps prometheus chromium

.PHONY: all deps check test vmlinux clean bench bench-overhead demo install fuzz
.SECONDARY:
all: $(OUTPUT)/iogap tests-build

$(OUTPUT) $(OUTPUT)/bpf $(OUTPUT)/gen $(OUTPUT)/tests:
	$(Q)mkdir -p $@

$(OUTPUT)/bpf/%.bpf.o: bpf/%.bpf.c vmlinux.h | $(OUTPUT)/bpf
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(OUTPUT)/%.skel.h: $(OUTPUT)/bpf/%.bpf.o
	$(call msg,GEN-SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name $*_bpf > $@.tmp && mv $@.tmp $@

$(SYSNAMES): $(UNISTD) | $(OUTPUT)/gen
	$(call msg,GEN,$@)
	$(Q)awk '/^#define __NR_/ { sub("__NR_", "", $$2); printf "\t[%s] = \"%s\",\n", $$3, $$2 }' $< > $@

$(OUTPUT)/user/%.o: user/%.c $(SKELS) $(SYSNAMES)
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) $(INCLUDES) -c $< -o $@

$(OUTPUT)/tools/%.o: tools/%.c $(SKELS) $(SYSNAMES)
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) $(INCLUDES) -c $< -o $@

$(OUTPUT)/libiogap.a: $(LIB_OBJS)
	$(call msg,AR,$@)
	$(Q)$(AR) rcs $@ $^

$(OUTPUT)/iogap: $(CLI_OBJS) $(OUTPUT)/libiogap.a
	$(call msg,LINK,$@)
	$(Q)$(CC) $(CFLAGS) $(filter %.o %.a,$^) $(LDLIBS) -o $@

# Unit tests link the CLI's option parser too (argument errors are tested without root).
$(OUTPUT)/tests/test_%: tests/unit/test_%.c $(filter-out %/main.o,$(CLI_OBJS)) $(OUTPUT)/libiogap.a | $(OUTPUT)/tests
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) $(INCLUDES) $(filter %.c %.o %.a,$^) $(LDLIBS) -lcmocka -o $@

# Test workloads: static, so no dynamic loader adds syscalls of its own...
$(OUTPUT)/tests/%: tests/bpf/%.c | $(OUTPUT)/tests
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) -static $< -o $@

# ...except the SQLite one, built both ways: SQLite from libsqlite3.so and linked in.
$(OUTPUT)/tests/sqlite_workload: tests/bpf/sqlite_workload.c | $(OUTPUT)/tests
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) $< -lsqlite3 -o $@

$(OUTPUT)/tests/sqlite_workload_static: tests/bpf/sqlite_workload.c | $(OUTPUT)/tests
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) -static $< -lsqlite3 -lm -Wl,--no-warnings -o $@

$(OUTPUT)/tests/sqlite_httpd: tests/bpf/sqlite_httpd.c | $(OUTPUT)/tests
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) $< -lsqlite3 -pthread -o $@

.PHONY: tests-build
tests-build: $(UNIT_BINS) $(WORKLOADS)

vmlinux:
	$(BPFTOOL) btf dump file /sys/kernel/btf/vmlinux format c > vmlinux.h

deps:
	@missing=$$(for p in $(DEPS); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q '^install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "  DEPS     installing:" $$missing; \
		apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q $$missing >/dev/null || \
		{ echo "iogap: cannot install packages: $$missing (run as root with apt sources reachable)" >&2; exit 1; }; \
	fi

# make check: every test, then the tests of CHECK_ASAN again with iogap built with ASan+UBSan
# (leaks checked; each also fails on its own sanitizer reports): the unit tests and the BPF tests
# of the paths where user space does the most with input it does not control (error paths,
# signals, corrupt recordings, explain's comparisons).
CHECK_ASAN := unit test_reliability.sh test_record.sh test_explain.sh test_lifecycle.sh
check: deps
	$(Q)$(MAKE) --no-print-directory all asan-build
	$(Q)tests/run --asan '$(CHECK_ASAN)'

test: all
	$(Q)tests/run

# The ASan+UBSan build of iogap and the unit tests, in .output-asan (tests/run --asan runs them)
.PHONY: asan-build check-asan soak
asan-build:
	$(Q)$(MAKE) --no-print-directory SANITIZE=1 OUTPUT=.output-asan .output-asan/iogap \
		$(patsubst $(OUTPUT)/%,.output-asan/%,$(UNIT_BINS))

# make check-asan: the unit tests and every BPF test that runs iogap with the sanitized build
# alone (tests/run --asan-only all; not test_bench_tools.sh, whose bench scripts run the
# normal build).
check-asan:
	$(Q)[ "$$(id -u)" -eq 0 ] || { echo "iogap: check-asan needs root (its BPF tests skip without it)" >&2; exit 1; }
	$(Q)$(MAKE) --no-print-directory all asan-build
	$(Q)tests/run --asan-only all

# make soak [SOAK_MINUTES=30]: the bench under iogap record with load, RSS sampled (tests/soak)
SOAK_MINUTES ?= 30
soak: all
	$(Q)SOAK_MINUTES='$(SOAK_MINUTES)' bash tests/soak/soak.sh

# iogap's overhead (README, "Overhead"): syscalls vs peer tracers, sqlite3_step, the bench apps at
# saturation (against a floor of empty programs on the same hooks), rich events without drops,
# context switches, BPF run time per program, and last issue 10's goals against those figures
# (tools/bench/overhead/goals). Root; about 10 minutes.
bench-overhead: all
	$(Q)tools/bench/overhead/run
	$(Q)echo
	$(Q)tools/bench/overhead/sqlite_run
	$(Q)echo
	$(Q)tools/bench/overhead/apps
	$(Q)echo
	$(Q)tools/bench/overhead/events
	$(Q)echo
	$(Q)tools/bench/overhead/switches
	$(Q)echo
	$(Q)tools/bench/overhead/profile
	$(Q)echo
	$(Q)tools/bench/overhead/goals

# The seed benchmark (tools/bench): make bench [DURATION=20] [CONNS="5 10 20"] [OUT=DIR] [BROKEN=django|fastapi]
DURATION ?= 20
CONNS ?= 5 10 20
OUT ?=
BROKEN ?=
.PHONY: bench-up bench-load bench-down
bench: deps
	DURATION='$(DURATION)' CONNS='$(CONNS)' OUT='$(OUT)' BROKEN='$(BROKEN)' tools/bench/run
bench-up bench-load bench-down:
	DURATION='$(DURATION)' CONNS='$(CONNS)' OUT='$(OUT)' BROKEN='$(BROKEN)' tools/bench/run $(@:bench-%=%)

demo: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)DURATION='$(if $(filter command line,$(origin DURATION)),$(DURATION),10)' \
		CONNS='$(if $(filter command line,$(origin CONNS)),$(CONNS),10)' OUT='$(OUT)' tools/bench/demo

# Fuzz targets (libFuzzer): make fuzz [FUZZ_SECONDS=60]. The model sources are compiled again
# with the sanitizers into .output/fuzz; each target runs on a copy of its seed corpus there.
FUZZ_SECONDS ?= 60
FUZZ_TARGETS := recording sql http
FUZZ_CFLAGS := -g -O1 -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all \
	-Wall -Wextra -Wno-unused-parameter -Wno-missing-field-initializers -std=gnu11 -MMD -MP
FUZZ_LIB_SRCS := user/model/hist.c user/model/model.c user/model/sql.c user/model/http.c \
	user/model/serialize.c user/model/recording.c
FUZZ_LIB_OBJS := $(patsubst %.c,$(OUTPUT)/fuzz/%.o,$(FUZZ_LIB_SRCS))
FUZZ_LDLIBS := $(shell pkg-config --libs zlib libcjson 2>/dev/null || echo -lz -lcjson) -lm

$(OUTPUT)/fuzz/user/%.o: user/%.c $(SYSNAMES)
	$(call msg,FUZZ-CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CLANG) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link $(INCLUDES) -c $< -o $@

$(OUTPUT)/fuzz/fuzz_%: tests/fuzz/fuzz_%.c $(FUZZ_LIB_OBJS)
	$(call msg,FUZZ-LD,$@)
	$(Q)$(CLANG) $(FUZZ_CFLAGS) -fsanitize=fuzzer $(INCLUDES) $< $(FUZZ_LIB_OBJS) $(FUZZ_LDLIBS) -o $@

fuzz: $(patsubst %,$(OUTPUT)/fuzz/fuzz_%,$(FUZZ_TARGETS))
	$(Q)failed=; for t in $(FUZZ_TARGETS); do \
		dir=$(OUTPUT)/fuzz/corpus-$$t art=$(OUTPUT)/fuzz/crash-$$t; \
		rm -rf $$dir $$art && mkdir -p $$dir $$art && cp tests/fuzz/corpus/$$t/* $$dir/; \
		printf '  %-8s %s\n' FUZZ "$$t for $(FUZZ_SECONDS) s"; \
		if $(OUTPUT)/fuzz/fuzz_$$t -max_total_time=$(FUZZ_SECONDS) -timeout=25 -print_final_stats=1 \
			-artifact_prefix=$$art/ $$dir >$(OUTPUT)/fuzz/$$t.log 2>&1; then \
			awk '/^stat::number_of_executed_units/ { n = $$2 } /^Done/ { t = $$0 } \
				END { printf "           %s executions (%s)\n", n, t }' $(OUTPUT)/fuzz/$$t.log; \
		else \
			grep -A30 -E '^==[0-9]+==|runtime error|^SUMMARY' $(OUTPUT)/fuzz/$$t.log | head -60; \
			echo "iogap: fuzz_$$t found a failure: input in $$art/, log $(OUTPUT)/fuzz/$$t.log" >&2; \
			failed="$$failed $$t"; \
		fi; \
	done; \
	if [ -n "$$failed" ]; then echo "iogap: fuzzing failed:$$failed" >&2; exit 1; fi

install: $(OUTPUT)/iogap
	install -m 0755 $(OUTPUT)/iogap /usr/local/sbin/iogap

clean:
	rm -rf $(OUTPUT)

-include $(wildcard $(OUTPUT)/bpf/*.d $(OUTPUT)/user/*/*.d $(OUTPUT)/tools/*/*.d $(OUTPUT)/tests/*.d)
-include $(wildcard $(OUTPUT)/fuzz/*.d $(OUTPUT)/fuzz/user/*/*.d)
