// SPDX-License-Identifier: BSD-2-Clause
/*
 * libFuzzer target for arch/x86/emul/decode.c (make decode-fuzz).  The first
 * byte chooses the mode; the rest is the instruction buffer, exactly as
 * long as the fuzzer made it.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "arch/x86/emul/decode.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const enum x86_mode modes[] = { X86_MODE_16, X86_MODE_32,
					       X86_MODE_64 };
	struct x86_insn in, in2;
	struct x86_regs regs;
	uint8_t *buf;
	uint64_t lin;
	int r;

	if (!size)
		return 0;
	buf = malloc(size - 1 ? size - 1 : 1);
	memcpy(buf, data + 1, size - 1);
	r = x86_decode(buf, size - 1, modes[data[0] % 3], &in);
	if (r == X86_DEC_OK) {
		if (in.len == 0 || in.len > size - 1 || in.len > 15)
			abort();
		if (x86_decode(buf, in.len - 1, modes[data[0] % 3], &in2) !=
		    X86_DEC_TRUNCATED)
			abort();
		if (in.has_mem) {
			memset(&regs, 0xa5, sizeof(regs));
			x86_mem_linear(&in, &in.mem, &regs, &lin);
		}
	}
	free(buf);
	return 0;
}
