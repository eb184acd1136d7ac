// SPDX-License-Identifier: GPL-2.0
/*
 * Test-only module: the pmem driver registered as /dev/crash, so that an
 * imager's /dev/crash source (Red Hat's crash driver: read at offset N =
 * physical address N) can be exercised on kernels without that driver.
 */
#define PMEM_DEVICE_NAME "crash"
#include "../../../drivers/linux/pmem/pmem.c"
