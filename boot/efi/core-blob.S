/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The core's flat image, embedded in umbra.efi.  The build passes its path
 * as CORE_BIN (boot/efi/efi.mk); the loader copies it to its final place.
 */
	.section .rodata.umbra_core, "a"
	.balign 4096
	.globl umbra_core_start
	.hidden umbra_core_start
umbra_core_start:
	.incbin CORE_BIN
	.globl umbra_core_end
	.hidden umbra_core_end
umbra_core_end:

	.section .note.GNU-stack, "", @progbits
