/* SPDX-License-Identifier: BSD-2-Clause */
/* Stands in for the unit tests when configure found no check library: SKIP with the reason. */
#include "config.h"

#include <stdio.h>

int
main(void)
{
	puts("SKIP: the unit tests need the check library: install the Debian package check "
	    "and run configure again");
	return 77;
}
