# SPDX-License-Identifier: BSD-2-Clause
# Host tests and benchmark of the shadow MMU.

SHADOW_TESTS	:= test_shadow_tlb test_shadow_states test_shadow_budget test_shadow_dirty \
		   test_shadow_large
SHADOW_LIB_SRCS	:= $(SHADOW_SRCS) mmu/walk.c mmu/pt.c mmu/dirty.c tests/host/env_host.c \
		   tests/host/check.c tests/host/gmem.c tests/host/shadow/check.c
HOST_TESTS	+= $(addprefix $(HOST_OBJ)/shadow/,$(SHADOW_TESTS))
BENCH_PROGS	+= $(BENCH_OBJ)/shadow/bench_shadow

$(HOST_OBJ)/shadow/%: tests/host/shadow/%.c $(SHADOW_LIB_SRCS) \
		mmu/shadow/shadow.h mmu/shadow/internal.h tests/host/shadow/model.h \
		tests/host/shadow/check.h
	@mkdir -p $(dir $@)
	$(CC) $(HOST_CFLAGS) -o $@ $< $(SHADOW_LIB_SRCS)

$(BENCH_OBJ)/shadow/bench_shadow: tests/host/shadow/bench_shadow.c \
		$(SHADOW_LIB_SRCS) mmu/shadow/shadow.h mmu/shadow/internal.h
	@mkdir -p $(dir $@)
	$(CC) $(HOST_BENCH_CFLAGS) -o $@ $< $(SHADOW_LIB_SRCS)
