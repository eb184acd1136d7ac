/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * ioctls of /dev/pmem (user-space API). Every open file has its own read
 * method, taken from the module parameter read_method when it is opened.
 *
 *   __u32 m;
 *   ioctl(fd, PMEM_IOC_GET_READ_METHOD, &m);   which method this fd reads with
 *   m = PMEM_READ_KMAP;
 *   ioctl(fd, PMEM_IOC_SET_READ_METHOD, &m);   change it for this fd
 *                                              (EOPNOTSUPP: not on this host,
 *                                               the kernel log says why)
 *
 * The numbers are fixed (pmem-aff4's drivers/src/sources.rs has them too):
 * GET = 0x800470e0, SET = 0x400470e1 (_IOR/_IOW('p', 0xe0/0xe1, __u32)).
 */
#ifndef PMEM_IOCTL_H
#define PMEM_IOCTL_H

#include <linux/ioctl.h>
#include <linux/types.h>

/* Read methods. */
#define PMEM_READ_KMAP 0      /* the kernel's direct map (kmap_local_page) */
#define PMEM_READ_PTE_REMAP 1 /* a rogue PTE of our own (pte_remap.h) */

#define PMEM_IOC_GET_READ_METHOD _IOR('p', 0xe0, __u32)
#define PMEM_IOC_SET_READ_METHOD _IOW('p', 0xe1, __u32)

#endif /* PMEM_IOCTL_H */
