// SPDX-License-Identifier: BSD-2-Clause
/* The error codes' names and the failing-call report (umbra/err.h). */
#include "umbra/err.h"
#include "umbra/log.h"

const char *err_name(int err)
{
	switch (err < 0 ? -err : err) {
	case UMBRA_ENOENT: return "not found (ENOENT)";
	case UMBRA_EIO: return "refused by the CPU (EIO)";
	case UMBRA_ENOMEM: return "out of memory (ENOMEM)";
	case UMBRA_EBUSY: return "busy (EBUSY)";
	case UMBRA_ENODEV: return "not supported by this CPU (ENODEV)";
	case UMBRA_EINVAL: return "invalid argument (EINVAL)";
	default: return "unknown error";
	}
}

int err_report(int err, const char *call, const char *file, int line)
{
	pr_err("%s:%d: %s failed: %s", file, line, call, err_name(err));
	return err;
}
