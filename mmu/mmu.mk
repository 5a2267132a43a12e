# SPDX-License-Identifier: BSD-2-Clause
# mmu/: the portable MMU, linked into umbra and into the host tests.

MMU_SRCS	:= mmu/pt.c mmu/walk.c mmu/dirty.c mmu/tdp/mmu.c mmu/tdp/dirty.c
CORE_SRCS	+= $(MMU_SRCS)

# Every mmu/ file must build freestanding; host-test checks it first.
.PHONY: mmu-core-check
mmu-core-check:
	@for f in $(MMU_SRCS); do \
		$(CC) $(CORE_CFLAGS) -c -o /dev/null $$f || exit 1; \
	done; echo "mmu-core-check: $(words $(MMU_SRCS)) files build with CORE_CFLAGS"

host-test: mmu-core-check
