# SPDX-License-Identifier: BSD-2-Clause
# Mutation testing of mmu/ (mmu/mutant.h, tests/host/mutants.py): the host
# tests of the shadow and TDP MMUs built once more with every MUTANT()
# point compiled in; each mutant is switched on by name when they run.

MUTANT_OBJ	:= $(BUILD)/host-mutant
MUTANT_CFLAGS	:= $(HOST_CFLAGS) -DUMBRA_MUTANTS
MUTANT_SHADOW	:= test_shadow_states test_shadow_dirty test_shadow_large test_shadow_tlb \
		   test_shadow_budget
MUTANT_TDP	:= test_tdp test_tdp_stress
MUTANT_PROGS	:= $(addprefix $(MUTANT_OBJ)/,$(MUTANT_SHADOW) $(MUTANT_TDP))
MUTANT_DEPS	:= tests/host/mutant.c $(wildcard mmu/*.h mmu/*/*.h) \
		   tests/host/host_env.h tests/host/gmem.h

$(addprefix $(MUTANT_OBJ)/,$(MUTANT_SHADOW)): $(MUTANT_OBJ)/%: \
		tests/host/shadow/%.c $(SHADOW_LIB_SRCS) $(MUTANT_DEPS) \
		tests/host/shadow/model.h
	@mkdir -p $(dir $@)
	$(CC) $(MUTANT_CFLAGS) -o $@ $< $(SHADOW_LIB_SRCS) tests/host/mutant.c

$(addprefix $(MUTANT_OBJ)/,$(MUTANT_TDP)): $(MUTANT_OBJ)/%: \
		tests/host/%.c $(HOST_LIB_SRCS) $(MUTANT_DEPS)
	@mkdir -p $(dir $@)
	$(CC) $(MUTANT_CFLAGS) -o $@ $< $(HOST_LIB_SRCS) tests/host/mutant.c

.PHONY: mutant-test
mutant-test: $(MUTANT_PROGS)
	@$(PYTHON) tests/host/mutants.py $(MUTANT_OBJ)
