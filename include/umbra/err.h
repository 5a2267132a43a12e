/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * umbra's one error convention: a function that can fail returns 0 or a
 * negative code from this list (-UMBRA_ENOMEM, ...), the same in mmu/ and
 * on the host; TRY(call) evaluates to the call's result and, when it
 * fails, logs the call with its file and line and the error's name.
 */
#ifndef UMBRA_ERR_H
#define UMBRA_ERR_H

#define UMBRA_ENOENT	2	/* no such thing (not in the map, no module) */
#define UMBRA_EIO	5	/* the hardware refused (VMXON, VMPTRLD, ...) */
#define UMBRA_ENOMEM	12	/* umbra's pages ran out */
#define UMBRA_EBUSY	16	/* already in use */
#define UMBRA_ENODEV	19	/* the CPU lacks what umbra needs */
#define UMBRA_EINVAL	22	/* invalid argument */

/* "out of memory (ENOMEM)", ...: the cause in words, for messages */
const char *err_name(int err);
/* log "FILE:LINE: CALL failed: NAME" at error level; returns err */
int err_report(int err, const char *call, const char *file, int line);

#define TRY(call)							\
	({								\
		int __err = (call);					\
		__err < 0 ? err_report(__err, #call, __FILE__, __LINE__) \
			  : __err;					\
	})

#endif
