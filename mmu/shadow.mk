# SPDX-License-Identifier: BSD-2-Clause
# mmu/ shadow MMU: built into umbra and tested on the host.

SHADOW_SRCS	:= mmu/shadow/mmu.c mmu/shadow/root.c mmu/shadow/fault.c mmu/shadow/rmap.c mmu/shadow/sync.c mmu/shadow/dirty.c mmu/shadow/large.c
CORE_SRCS	+= $(SHADOW_SRCS)

.PHONY: shadow-core-check
shadow-core-check:
	@for f in $(SHADOW_SRCS); do \
		$(CC) $(CORE_CFLAGS) -c -o /dev/null $$f || exit 1; \
	done; echo "shadow-core-check: $(words $(SHADOW_SRCS)) files build with CORE_CFLAGS"

host-test: shadow-core-check
