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
 * Read methods (module parameter read_method, and per open file the ioctls
 * of pmem_ioctl.h):
 *
 *   pte-remap (the default on x86-64): each page is mapped through a rogue
 *     page of our own, one per CPU, whose 4 KiB PTE is pointed at the frame
 *     (pte_remap.c: no kernel mapping service is used, so a page a rootkit
 *     removed from or redirected in the direct map is still read as it is).
 *     Remap, INVLPG, the copy into a kernel bounce page (copy_mc_to_kernel:
 *     a machine check on bad RAM becomes -EIO) and the restore of the
 *     original PTE all run with preemption, hence migration, disabled; the
 *     copy to user space comes after. So the PTE is the original one whenever
 *     this driver is not inside that short section, whatever path is taken
 *     (error, signal, unload). Refused, with the reason in the kernel log,
 *     under memory encryption (SME/SEV/TDX: the rogue PTE has no C-bit and
 *     would read ciphertext) and on Xen PV (page tables owned by Xen);
 *     read_method=auto (the default) then falls back to kmap.
 *   kmap: a page is mapped with kmap_local_page() (page_address() on 64-bit
 *     kernels, a short-lived per-CPU mapping for highmem on 32-bit ones) and
 *     copied with copy_from_kernel_nofault() into the bounce page. The
 *     nofault copy turns a page that was removed from the direct map
 *     (memfd_secret, DEBUG_PAGEALLOC, a rootkit) into -EIO instead of an
 *     oops. memremap(MEMREMAP_WB) was not used because it warns on partly-RAM
 *     ranges and falls back to ioremap for RAM outside the direct map, which
 *     is exactly what we avoid.
 *
 * Hardware-poisoned pages give -EIO without being read, by either method.
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

#include "pmem_ioctl.h"

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

static const char *const pmem_method_names[] = {
	[PMEM_READ_KMAP] = "kmap",
	[PMEM_READ_PTE_REMAP] = "pte-remap",
};
#define PMEM_READ_AUTO (-1)

/* Why the pte-remap method cannot be used here (NULL: it can). */
static const char *pmem_remap_off = "needs x86-64";

#ifdef CONFIG_X86_64
#include <linux/slab.h>
#include <linux/smp.h>
#include <linux/vmalloc.h>
#include <asm/cpufeature.h>
#include <asm/tlbflush.h>
#if LINUX_VERSION_CODE >= KERNEL_VERSION(5, 16, 0)
#include <linux/cc_platform.h>
#endif
#include "pte_remap.c"

/* One rogue page per possible CPU: concurrent readers need no lock. */
static struct pte_remap *pmem_slots;
static void **pmem_rogue_pages;

static bool pmem_mem_encrypted(void)
{
#if LINUX_VERSION_CODE >= KERNEL_VERSION(5, 16, 0)
	return cc_platform_has(CC_ATTR_MEM_ENCRYPT) || cc_platform_has(CC_ATTR_GUEST_MEM_ENCRYPT);
#elif defined(CONFIG_AMD_MEM_ENCRYPT)
	return sme_me_mask != 0;
#else
	return false;
#endif
}

/*
 * On each CPU: INVLPG of every rogue page, then a full flush. With PCID (and
 * page-table isolation) INVLPG reaches only the current address space's
 * entries, and a stale one may sit under another PCID.
 */
static void pmem_remap_flush_all(void *unused)
{
	unsigned int cpu;

	for_each_possible_cpu(cpu)
		if (pmem_slots[cpu].va)
			pte_remap_flush(&pmem_slots[cpu]);
	__flush_tlb_all();
}

static void pmem_remap_teardown(void)
{
	unsigned int cpu;

	if (!pmem_slots)
		return;
	for_each_possible_cpu(cpu) {
		struct pte_remap *r = &pmem_slots[cpu];

		if (r->va && !pte_remap_is_restored(r)) {
			pr_warn("%s: rogue PTE of CPU %u was not restored; restoring it\n",
				KBUILD_MODNAME, cpu);
			pte_remap_unmap(r);
		}
	}
	/* No CPU may keep a TLB entry for a virtual address vfree() hands out again. */
	on_each_cpu(pmem_remap_flush_all, NULL, 1);
	for_each_possible_cpu(cpu)
		vfree(pmem_rogue_pages[cpu]);
	kfree(pmem_rogue_pages);
	kfree(pmem_slots);
	pmem_slots = NULL;
	pmem_rogue_pages = NULL;
}

/* Sets pmem_remap_off to NULL if the pte-remap method works here. */
static void pmem_remap_setup(void)
{
	static const char *const why[] = {
		[-PTE_REMAP_ERR_ALIGN] = "its rogue page is not page-aligned",
		[-PTE_REMAP_ERR_ABSENT] = "the page-table walk to its rogue page found a missing level",
		[-PTE_REMAP_ERR_LARGE] = "its rogue page is mapped by a large page, not a 4 KiB PTE",
		[-PTE_REMAP_ERR_ENCRYPT] = "kernel mappings carry the memory-encryption C-bit",
	};
	unsigned int cpu;

	if (boot_cpu_has(X86_FEATURE_XENPV)) {
		pmem_remap_off = "this is a Xen PV guest (Xen owns the page tables)";
		return;
	}
	if (pmem_mem_encrypted()) {
		pmem_remap_off = "memory encryption (AMD SME/SEV or Intel TDX) is active: a rogue PTE without the C-bit would read ciphertext";
		return;
	}
	pmem_slots = kcalloc(nr_cpu_ids, sizeof(*pmem_slots), GFP_KERNEL);
	pmem_rogue_pages = kcalloc(nr_cpu_ids, sizeof(*pmem_rogue_pages), GFP_KERNEL);
	if (!pmem_slots || !pmem_rogue_pages) {
		kfree(pmem_slots);
		kfree(pmem_rogue_pages);
		pmem_slots = NULL;
		pmem_rogue_pages = NULL;
		pmem_remap_off = "out of memory for its rogue pages";
		return;
	}
	for_each_possible_cpu(cpu) {
		int rc;

		/* vmalloc maps a single page with a 4 KiB PTE (the walk checks it). */
		pmem_rogue_pages[cpu] = vzalloc(PAGE_SIZE);
		if (!pmem_rogue_pages[cpu]) {
			pmem_remap_off = "out of memory for its rogue pages";
			pmem_remap_teardown();
			return;
		}
		rc = pte_remap_init(&pmem_slots[cpu], pmem_rogue_pages[cpu], PAGE_OFFSET);
		if (rc) {
			pmem_slots[cpu].va = 0;
			pmem_remap_off = (rc < 0 && -rc < (int)ARRAY_SIZE(why)) ? why[-rc] : "unknown error";
			pmem_remap_teardown();
			return;
		}
	}
	pmem_remap_off = NULL;
}

/*
 * Copies len bytes at phys (inside one page of System RAM) into dst through
 * this CPU's rogue page. Preemption (and so migration) is off from the remap
 * to the restore: INVLPG is local, and nothing else may use this CPU's slot.
 */
static int pmem_copy_remap(void *dst, u64 phys, size_t len)
{
	struct pte_remap *r;
	const u8 *va;
	unsigned long left;

	preempt_disable();
	r = &pmem_slots[smp_processor_id()];
	va = pte_remap_map(r, phys & PAGE_MASK);
	if (!va) {
		preempt_enable();
		return -EIO;
	}
#if LINUX_VERSION_CODE >= KERNEL_VERSION(5, 10, 0)
	left = copy_mc_to_kernel(dst, va + offset_in_page(phys), len);
#else
	memcpy(dst, va + offset_in_page(phys), len);
	left = 0;
#endif
	pte_remap_unmap(r);
	preempt_enable();
	return left ? -EIO : 0;
}
#else
static void pmem_remap_setup(void)
{
}

static void pmem_remap_teardown(void)
{
}

static int pmem_copy_remap(void *dst, u64 phys, size_t len)
{
	return -EIO;
}
#endif

/* Requested (before init) or effective read method; module parameter read_method. */
static int pmem_method = PMEM_READ_AUTO;
static bool pmem_ready;

/* The method a request resolves to here, or -EOPNOTSUPP (with the reason logged). */
static int pmem_resolve(int m)
{
	if (m == PMEM_READ_AUTO)
		return pmem_remap_off ? PMEM_READ_KMAP : PMEM_READ_PTE_REMAP;
	if (m == PMEM_READ_PTE_REMAP && pmem_remap_off) {
		pr_err("%s: the pte-remap read method is refused: %s\n", KBUILD_MODNAME, pmem_remap_off);
		return -EOPNOTSUPP;
	}
	return m;
}

static int pmem_method_set(const char *val, const struct kernel_param *kp)
{
	int m;

	if (sysfs_streq(val, "auto"))
		m = PMEM_READ_AUTO;
	else if (sysfs_streq(val, "pte-remap") || sysfs_streq(val, "remap"))
		m = PMEM_READ_PTE_REMAP;
	else if (sysfs_streq(val, "kmap"))
		m = PMEM_READ_KMAP;
	else
		return -EINVAL;
	if (pmem_ready) {
		m = pmem_resolve(m);
		if (m < 0)
			return m;
	}
	WRITE_ONCE(pmem_method, m);
	return 0;
}

static int pmem_method_get(char *buf, const struct kernel_param *kp)
{
	int m = READ_ONCE(pmem_method);

	return scnprintf(buf, PAGE_SIZE, "%s\n", m < 0 ? "auto" : pmem_method_names[m]);
}

static const struct kernel_param_ops pmem_method_ops = {
	.set = pmem_method_set,
	.get = pmem_method_get,
};
module_param_cb(read_method, &pmem_method_ops, NULL, 0644);
MODULE_PARM_DESC(read_method,
		 "auto (default: pte-remap where it works, else kmap), pte-remap or kmap; files opened later use it");

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
 * the rest, and the non-RAM part is never touched. Each piece is copied with
 * `method` (PMEM_READ_KMAP or PMEM_READ_PTE_REMAP).
 */
static int pmem_fill(void *bounce, u64 addr, size_t len, int method)
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
			if (method == PMEM_READ_PTE_REMAP) {
				err = pmem_copy_remap(bounce + (span.start - addr), span.start,
						      (size_t)(piece_end - span.start));
				if (err)
					break;
			} else {
				if (!vaddr)
					vaddr = kmap_local_page(page);
				if (copy_from_kernel_nofault(bounce + (span.start - addr),
							     vaddr + offset_in_page(span.start),
							     (size_t)(piece_end - span.start))) {
					err = -EIO;
					break;
				}
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
	/* Each open file keeps the read method in force when it was opened. */
	file->private_data = (void *)(long)READ_ONCE(pmem_method);
	return 0;
}

static long pmem_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	u32 __user *p = (u32 __user *)arg;
	u32 m;
	int r;

	switch (cmd) {
	case PMEM_IOC_GET_READ_METHOD:
		m = (u32)(long)file->private_data;
		return put_user(m, p);
	case PMEM_IOC_SET_READ_METHOD:
		if (get_user(m, p))
			return -EFAULT;
		if (m != PMEM_READ_KMAP && m != PMEM_READ_PTE_REMAP)
			return -EINVAL;
		r = pmem_resolve((int)m);
		if (r < 0)
			return r;
		file->private_data = (void *)(long)r;
		return 0;
	default:
		return -ENOTTY;
	}
}

static ssize_t pmem_read(struct file *file, char __user *buf, size_t count, loff_t *ppos)
{
	u64 end = pmem_ram_end();
	u64 pos;
	size_t done = 0;
	ssize_t err = 0;
	void *bounce;
	int method = (int)(long)file->private_data;

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
		err = pmem_fill(bounce, addr, len, method);
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
	.unlocked_ioctl = pmem_ioctl,
#if LINUX_VERSION_CODE >= KERNEL_VERSION(5, 5, 0)
	.compat_ioctl = compat_ptr_ioctl,
#endif
};

static struct miscdevice pmem_dev = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = PMEM_DEVICE_NAME,
	.fops = &pmem_fops,
	.mode = 0400,
};

static int __init pmem_init(void)
{
	int requested = pmem_method, rc;

	pmem_remap_setup();
	rc = pmem_resolve(requested);
	if (rc < 0) {
		pmem_remap_teardown();
		return rc;
	}
	pmem_method = rc;
	if (requested == PMEM_READ_AUTO && pmem_remap_off)
		pr_warn("%s: reading with kmap: the pte-remap method is refused: %s\n",
			KBUILD_MODNAME, pmem_remap_off);
	pmem_ready = true;
	rc = misc_register(&pmem_dev);
	if (rc) {
		pr_err("%s: cannot register /dev/%s: %d\n", KBUILD_MODNAME, PMEM_DEVICE_NAME, rc);
		pmem_remap_teardown();
		return rc;
	}
	pr_info("%s: /dev/%s ready (RAM ends at %#llx, read method %s%s)\n", KBUILD_MODNAME,
		PMEM_DEVICE_NAME, (unsigned long long)pmem_ram_end(), pmem_method_names[pmem_method],
#ifdef CONFIG_X86_64
		pmem_slots ? (pmem_slots[0].levels == 5 ? ", 5-level paging" : ", 4-level paging") :
#endif
		"");
	return 0;
}

static void __exit pmem_exit(void)
{
	misc_deregister(&pmem_dev);
	pmem_remap_teardown();
}

module_init(pmem_init);
module_exit(pmem_exit);

MODULE_LICENSE("GPL");
MODULE_AUTHOR("pmem-aff4 authors");
MODULE_DESCRIPTION("Read-only access to physical RAM (read at offset N = physical address N)");
