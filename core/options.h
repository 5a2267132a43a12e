/* SPDX-License-Identifier: BSD-2-Clause */
/* umbra's command line (options.c); struct umbra_options is umbra/core.h's. */
#ifndef UMBRA_CORE_OPTIONS_H
#define UMBRA_CORE_OPTIONS_H

/* the option table, as the README shows it (the debug shell's `help`) */
void options_print_help(void);

#endif
