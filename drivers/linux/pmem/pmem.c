// SPDX-License-Identifier: GPL-2.0
/*
 * pmem: read-only access to physical RAM through a character device.
 *
 * read() at file offset N returns the byte at physical address N. Only bytes
 * that are RAM are ever touched: a byte is read only if
 *
 *   - pfn_valid(pfn) (the kernel has a struct page for its page),
 *   - it lies in a "System RAM" resource (the kernel's own resource walk,
 *     walk_iomem_res_desc(), byte-exact), and
 *   - region_intersects(piece, IORESOURCE_SYSTEM_RAM, ...) is
 *     REGION_INTERSECTS (every top-level /proc/iomem resource the piece
 *     overlaps is "System RAM", so RAM nested under a device region, such as
 *     hot-plugged persistent memory, is left alone).
 *
 * Everything else (holes, MMIO, ACPI tables, the non-RAM part of a page that
 * is only partly RAM, anything above the highest RAM address up to the end of
 * the device) reads as zeros and is never touched: reading device memory can
 * hang or crash a machine. Imagers read only the "System RAM" ranges of
 * /proc/iomem anyway.
 *
 * Mapping: a page with RAM in it is mapped with kmap_local_page() (page_address() on
 * 64-bit kernels, a short-lived per-CPU mapping for highmem on 32-bit ones)
 * and copied with copy_from_kernel_nofault() into a bounce page, which is then
 * copied to user space with copy_to_user() after the mapping is dropped. The
 * nofault copy turns a page that was removed from the direct map (memfd_secret,
 * DEBUG_PAGEALLOC, ...) into -EIO instead of an oops; memremap(MEMREMAP_WB)
 * was not used because it warns on partly-RAM ranges and falls back to
 * ioremap for RAM outside the direct map, which is exactly what we avoid.
 * Hardware-poisoned pages give -EIO without being read.
 *
 * No locks are held by this driver; the iomem checks take the kernel's
 * resource lock only for the duration of each check.
 */

#include <linux/capability.h>
#include <linux/fs.h>
#include <linux/highmem.h>
#include <linux/ioport.h>
#include <linux/kernel.h>
#include <linux/miscdevice.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/sched.h>
#include <linux/sched/signal.h>
#include <linux/security.h>
#include <linux/uaccess.h>
#include <linux/version.h>

#ifndef PMEM_DEVICE_NAME
#define PMEM_DEVICE_NAME "pmem"
#endif

/* Older kernels: map with kmap() (it may sleep, which is fine here). */
#if LINUX_VERSION_CODE < KERNEL_VERSION(5, 11, 0)
#define kmap_local_page(page) kmap(page)
#define kunmap_local(addr) kunmap(virt_to_page(addr))
#endif
#if LINUX_VERSION_CODE < KERNEL_VERSION(5, 8, 0)
#define copy_from_kernel_nofault(dst, src, len) probe_kernel_read(dst, src, len)
#endif

static int pmem_ram_end_cb(struct resource *res, void *arg)
{
	u64 *end = arg;

	if ((u64)res->end + 1 > *end)
		*end = (u64)res->end + 1;
	return 0;
}

/* One past the last byte of the highest "System RAM" resource. */
static u64 pmem_ram_end(void)
{
	u64 end = 0;

	walk_iomem_res_desc(IORES_DESC_NONE, IORESOURCE_SYSTEM_RAM | IORESOURCE_BUSY,
			    0, (u64)-1, &end, pmem_ram_end_cb);
	return end;
}

struct pmem_span {
	u64 start;
	u64 end; /* inclusive, as in struct resource */
	bool found;
};

static int pmem_span_cb(struct resource *res, void *arg)
{
	struct pmem_span *span = arg;

	span->start = res->start;
	span->end = res->end;
	span->found = true;
	return 1; /* the first one is enough */
}

/*
 * Fills bounce[0..len) with the bytes at physical address addr (the range does
 * not cross a page boundary): bytes of "System RAM" are copied, anything else
 * is zeros. The "System RAM" resources the range overlaps are found with the
 * kernel's resource walk (clipped to the range), and each piece is read only
 * if region_intersects() says it lies entirely in top-level "System RAM". So a
 * page that is only partly RAM (the page holding the end of the first RAM
 * range below 640 KiB, say 0x9f000-0x9fbff) gives its RAM bytes and zeros for
 * the rest, and the non-RAM part is never touched.
 */
static int pmem_fill(void *bounce, u64 addr, size_t len)
{
	unsigned long pfn = (unsigned long)(addr >> PAGE_SHIFT);
	u64 pos = addr, end = addr + len;
	struct page *page;
	void *vaddr = NULL;
	int err = 0;

	memset(bounce, 0, len);
	if ((addr >> PAGE_SHIFT) != pfn || !pfn_valid(pfn))
		return 0;
	page = pfn_to_page(pfn);
	while (pos < end) {
		struct pmem_span span = { 0 };
		u64 piece_end;

		/* The walk refuses start >= end: search at least two bytes (the
		 * result is clipped to the search, and to the request below). */
		walk_iomem_res_desc(IORES_DESC_NONE, IORESOURCE_SYSTEM_RAM | IORESOURCE_BUSY,
				    pos, max_t(u64, end - 1, pos + 1), &span, pmem_span_cb);
		if (!span.found || span.start >= end || span.end < pos)
			break;
		piece_end = min_t(u64, span.end + 1, end);
		if (span.start < pos)
			span.start = pos;
		if (region_intersects(span.start, (size_t)(piece_end - span.start),
				      IORESOURCE_SYSTEM_RAM, IORES_DESC_NONE) == REGION_INTERSECTS) {
			if (PageHWPoison(page)) {
				err = -EIO;
				break;
			}
			if (!vaddr)
				vaddr = kmap_local_page(page);
			if (copy_from_kernel_nofault(bounce + (span.start - addr),
						     vaddr + offset_in_page(span.start),
						     (size_t)(piece_end - span.start))) {
				err = -EIO;
				break;
			}
		}
		pos = piece_end;
	}
	if (vaddr)
		kunmap_local(vaddr);
	return err;
}

static int pmem_open(struct inode *inode, struct file *file)
{
	if (!capable(CAP_SYS_RAWIO))
		return -EPERM;
	if (file->f_mode & FMODE_WRITE)
		return -EPERM;
#if LINUX_VERSION_CODE >= KERNEL_VERSION(5, 4, 0)
	/* Reading all of RAM is what lockdown=confidentiality forbids (as for kcore). */
	if (security_locked_down(LOCKDOWN_KCORE))
		return -EPERM;
#endif
	return 0;
}

static ssize_t pmem_read(struct file *file, char __user *buf, size_t count, loff_t *ppos)
{
	u64 end = pmem_ram_end();
	u64 pos;
	size_t done = 0;
	ssize_t err = 0;
	void *bounce;

	if (*ppos < 0)
		return -EINVAL;
	pos = (u64)*ppos;
	if (pos >= end || count == 0)
		return 0;
	if (count > end - pos)
		count = (size_t)(end - pos);

	bounce = (void *)__get_free_page(GFP_KERNEL);
	if (!bounce)
		return -ENOMEM;

	while (done < count) {
		u64 addr = pos + done;
		size_t len = min_t(size_t, PAGE_SIZE - offset_in_page(addr), count - done);

		if (fatal_signal_pending(current)) {
			err = -EINTR;
			break;
		}
		err = pmem_fill(bounce, addr, len);
		if (err)
			break;
		if (copy_to_user(buf + done, bounce, len)) {
			err = -EFAULT;
			break;
		}
		done += len;
		cond_resched();
	}

	free_page((unsigned long)bounce);
	if (done) {
		*ppos = (loff_t)(pos + done);
		return (ssize_t)done;
	}
	return err;
}

static loff_t pmem_llseek(struct file *file, loff_t offset, int whence)
{
	return fixed_size_llseek(file, offset, whence, (loff_t)pmem_ram_end());
}

static const struct file_operations pmem_fops = {
	.owner = THIS_MODULE,
	.open = pmem_open,
	.read = pmem_read,
	.llseek = pmem_llseek,
};

static struct miscdevice pmem_dev = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = PMEM_DEVICE_NAME,
	.fops = &pmem_fops,
	.mode = 0400,
};

static int __init pmem_init(void)
{
	int rc = misc_register(&pmem_dev);

	if (rc) {
		pr_err("%s: cannot register /dev/%s: %d\n", KBUILD_MODNAME, PMEM_DEVICE_NAME, rc);
		return rc;
	}
	pr_info("%s: /dev/%s ready (RAM ends at %#llx)\n", KBUILD_MODNAME, PMEM_DEVICE_NAME,
		(unsigned long long)pmem_ram_end());
	return 0;
}

static void __exit pmem_exit(void)
{
	misc_deregister(&pmem_dev);
}

module_init(pmem_init);
module_exit(pmem_exit);

MODULE_LICENSE("GPL");
MODULE_AUTHOR("pmem-aff4 authors");
MODULE_DESCRIPTION("Read-only access to physical RAM (read at offset N = physical address N)");
