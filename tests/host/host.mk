# SPDX-License-Identifier: BSD-2-Clause
# Host tests (ASan + UBSan) and benchmarks of mmu/.

HOST_OBJ	:= $(BUILD)/host
BENCH_OBJ	:= $(BUILD)/bench
HOST_LIB_SRCS	:= $(MMU_SRCS) tests/host/env_host.c tests/host/check.c \
		   tests/host/gmem.c tests/host/tdp_extra.c
HOST_LIB_OBJS	:= $(patsubst %.c,$(HOST_OBJ)/%.o,$(HOST_LIB_SRCS))
BENCH_LIB_OBJS	:= $(patsubst %.c,$(BENCH_OBJ)/%.o,$(HOST_LIB_SRCS))

MMU_TESTS	:= test_pt test_walk test_walk_random test_tdp test_tdp_stress
HOST_TESTS	+= $(addprefix $(HOST_OBJ)/,$(MMU_TESTS))
BENCH_PROGS	+= $(BENCH_OBJ)/bench_mmu

$(HOST_OBJ)/mmu/%.o: mmu/%.c
	@mkdir -p $(dir $@)
	$(CC) $(HOST_CFLAGS) -MMD -MP -c -o $@ $<

$(HOST_OBJ)/tests/host/%.o: tests/host/%.c
	@mkdir -p $(dir $@)
	$(CC) $(HOST_CFLAGS) -MMD -MP -c -o $@ $<

$(addprefix $(HOST_OBJ)/,$(MMU_TESTS)): $(HOST_OBJ)/%: \
		$(HOST_OBJ)/tests/host/%.o $(HOST_LIB_OBJS)
	$(CC) $(HOST_CFLAGS) -o $@ $^

$(BENCH_OBJ)/mmu/%.o: mmu/%.c
	@mkdir -p $(dir $@)
	$(CC) $(HOST_BENCH_CFLAGS) -MMD -MP -c -o $@ $<

$(BENCH_OBJ)/tests/host/%.o: tests/host/%.c
	@mkdir -p $(dir $@)
	$(CC) $(HOST_BENCH_CFLAGS) -MMD -MP -c -o $@ $<

$(BENCH_OBJ)/bench_mmu: $(BENCH_OBJ)/tests/host/bench_mmu.o $(BENCH_LIB_OBJS)
	$(CC) $(HOST_BENCH_CFLAGS) -o $@ $^

-include $(shell find $(BUILD)/host $(BUILD)/bench -name '*.d' 2>/dev/null)

# Optional: the concurrent tests under ThreadSanitizer (not part of
# host-test: TSan and ASan cannot share a binary).
TSAN_TESTS	:= test_tdp test_tdp_stress
.PHONY: mmu-tsan
mmu-tsan:
	@mkdir -p $(BUILD)/tsan
	@for t in $(TSAN_TESTS); do \
		$(CC) -std=c11 -O1 -g -I. -Iinclude -pthread -D_GNU_SOURCE \
			-fsanitize=thread -o $(BUILD)/tsan/$$t tests/host/$$t.c \
			$(HOST_LIB_SRCS) || exit 1; \
	done
	@$(PYTHON) tests/run-host-tests.py $(addprefix $(BUILD)/tsan/,$(TSAN_TESTS))

# issue 14: the DMAR parser and the ACPI table finder (drivers/)
HOST_TESTS	+= $(HOST_OBJ)/test_dmar
$(HOST_OBJ)/drivers/%.o: drivers/%.c
	@mkdir -p $(dir $@)
	$(CC) $(HOST_CFLAGS) -MMD -MP -c -o $@ $<

$(HOST_OBJ)/test_dmar: $(HOST_OBJ)/tests/host/test_dmar.o \
		$(HOST_OBJ)/drivers/iommu/dmar.o $(HOST_OBJ)/drivers/acpi.o \
		$(HOST_OBJ)/tests/host/check.o
	$(CC) $(HOST_CFLAGS) -o $@ $^

# the IVRS parser and AMD-Vi event decoding (drivers/iommu/ivrs.c)
HOST_TESTS	+= $(HOST_OBJ)/test_ivrs
$(HOST_OBJ)/test_ivrs: $(HOST_OBJ)/tests/host/test_ivrs.o \
		$(HOST_OBJ)/drivers/iommu/ivrs.o $(HOST_OBJ)/drivers/acpi.o \
		$(HOST_OBJ)/tests/host/check.o
	$(CC) $(HOST_CFLAGS) -o $@ $^

# issue 22: the GDB remote protocol core (shell/gdb.c)
HOST_TESTS	+= $(HOST_OBJ)/test_gdb
$(HOST_OBJ)/shell/%.o: shell/%.c
	@mkdir -p $(dir $@)
	$(CC) $(HOST_CFLAGS) -MMD -MP -c -o $@ $<

$(HOST_OBJ)/test_gdb: $(HOST_OBJ)/tests/host/test_gdb.o $(HOST_OBJ)/shell/gdb.o \
		$(HOST_OBJ)/tests/host/check.o
	$(CC) $(HOST_CFLAGS) -o $@ $^
