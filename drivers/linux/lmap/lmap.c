// SPDX-License-Identifier: GPL-2.0
/*
 * lmap parasite: read-only access to physical RAM, injected into a module that
 * is already installed for the running kernel (see docs/LMAP.md and
 * drivers/src/lmap/). Built ONCE, without kernel headers, by drivers/build.rs;
 * the injector links it into the host module at run time.
 *
 * Kernel-independent by construction:
 *   - no kernel header: the few kernel functions used are declared below with
 *     signatures that have not changed since Linux 5.10 (all exported);
 *   - no kernel structure: `struct file` is never touched (user space reads
 *     with pread(), offset = physical address), and the file_operations
 *     registered is the HOST's own object (lmap_host_fops, bound by the
 *     injector), whose .read relocation the injector points at lmap_read, so
 *     its layout is the target kernel's whatever it is;
 *   - no function pointer is called and no switch is compiled to a jump
 *     table, so the object needs none of the special sections (.return_sites,
 *     .retpoline_sites, .altinstructions, __ex_table...) a kernel build
 *     makes; build.rs checks the object's sections and imports.
 *
 * Reading: NSLOTS slots, each a rogue page (a page of this module's .bss:
 * module memory is vmalloc'ed with 4 KiB PTEs; pte_remap_init() checks it)
 * and a bounce page. A reader claims a free slot; the remap, INVLPG, the
 * machine-check-safe copy into the bounce page and the restore of the PTE
 * run with interrupts off on one CPU (so no preemption, no migration: INVLPG
 * is local), then the bounce page is copied to user space. Every page piece
 * read must lie in top-level "System RAM" (region_intersects(), which takes
 * the kernel's resource lock); anything else is refused with -ENXIO and never
 * touched. A page whose copy raises a machine check gives -EIO. Nothing is
 * ever zero-filled: read() returns what was copied before the failing page,
 * or the error if it is the first one.
 */
#include "../pmem/pte_remap.c"

#define LMAP_DEVICE_NAME "pmem_lmap"
#define LMAP_NSLOTS 8
#define LMAP_PAGE 4096UL

#define LMAP_EINVAL 22
#define LMAP_EIO 5
#define LMAP_ENXIO 6
#define LMAP_EFAULT 14
#define LMAP_EFBIG 27
#define LMAP_EDOM 33
#define LMAP_EMEDIUMTYPE 124

/* IORESOURCE_MEM | IORESOURCE_SYSRAM (include/linux/ioport.h, unchanged since 4.6). */
#define LMAP_IORESOURCE_SYSTEM_RAM 0x01000200UL
#define LMAP_IORES_DESC_NONE 0UL
#define LMAP_REGION_INTERSECTS 0

/* Kernel imports (exported by vmlinux; the injector adds them to the host). */
extern int __register_chrdev(unsigned int major, unsigned int baseminor, unsigned int count,
			     const char *name, const void *fops);
extern void __unregister_chrdev(unsigned int major, unsigned int baseminor, unsigned int count,
				const char *name);
extern unsigned long _copy_to_user(void *to, const void *from, unsigned long n);
extern unsigned long copy_mc_to_kernel(void *dst, const void *src, unsigned int len);
extern int region_intersects(unsigned long long start, unsigned long size, unsigned long flags,
			     unsigned long desc);
extern void msleep(unsigned int msecs);
extern unsigned long page_offset_base;

/* The host module's own file_operations object (bound by the injector). */
extern const char lmap_host_fops[];

struct lmap_slot {
	unsigned char rogue[LMAP_PAGE];
	unsigned char bounce[LMAP_PAGE];
	struct pte_remap remap;
	int busy;
} __attribute__((aligned(4096)));

static struct lmap_slot lmap_slots[LMAP_NSLOTS];
static int lmap_major;

static unsigned long lmap_irq_save(void)
{
	unsigned long flags;

	asm volatile("pushfq; popq %0; cli" : "=r"(flags) : : "memory");
	return flags;
}

static void lmap_irq_restore(unsigned long flags)
{
	asm volatile("pushq %0; popfq" : : "r"(flags) : "memory", "cc");
}

/* A free slot; sleeps 1 ms while all are taken (a reader may sleep in _copy_to_user). */
static struct lmap_slot *lmap_claim(void)
{
	for (;;) {
		int i;

		for (i = 0; i < LMAP_NSLOTS; i++)
			if (!__atomic_exchange_n(&lmap_slots[i].busy, 1, __ATOMIC_ACQUIRE))
				return &lmap_slots[i];
		msleep(1);
	}
}

static void lmap_release(struct lmap_slot *s)
{
	__atomic_store_n(&s->busy, 0, __ATOMIC_RELEASE);
}

/* Copies len bytes at phys (inside one page) into s->bounce; 0 or -errno. */
static int lmap_copy_page(struct lmap_slot *s, unsigned long long phys, unsigned long len)
{
	unsigned long flags, left;
	const unsigned char *va;

	flags = lmap_irq_save();
	va = pte_remap_map(&s->remap, phys & ~(unsigned long long)(LMAP_PAGE - 1));
	if (!va) {
		lmap_irq_restore(flags);
		return -LMAP_EIO;
	}
	left = copy_mc_to_kernel(s->bounce, va + (phys & (LMAP_PAGE - 1)), (unsigned int)len);
	pte_remap_unmap(&s->remap);
	lmap_irq_restore(flags);
	return left ? -LMAP_EIO : 0;
}

/* The host's .read slot points here: ssize_t (*read)(struct file *, char __user *, size_t, loff_t *). */
long lmap_read(void *file, char *buf, unsigned long count, long long *ppos)
{
	unsigned long long pos;
	unsigned long done = 0;
	long err = 0;
	struct lmap_slot *s;

	(void)file;
	if (*ppos < 0)
		return -LMAP_EINVAL;
	pos = (unsigned long long)*ppos;
	if (count == 0)
		return 0;
	s = lmap_claim();
	while (done < count) {
		unsigned long long addr = pos + done;
		unsigned long len = LMAP_PAGE - (unsigned long)(addr & (LMAP_PAGE - 1));

		if (len > count - done)
			len = count - done;
		if (region_intersects(addr, len, LMAP_IORESOURCE_SYSTEM_RAM, LMAP_IORES_DESC_NONE) !=
		    LMAP_REGION_INTERSECTS) {
			err = -LMAP_ENXIO;
			break;
		}
		err = lmap_copy_page(s, addr, len);
		if (err)
			break;
		if (_copy_to_user(buf + done, s->bounce, len)) {
			err = -LMAP_EFAULT;
			break;
		}
		done += len;
	}
	lmap_release(s);
	if (done) {
		*ppos = (long long)(pos + done);
		return (long)done;
	}
	return err;
}

/* module init (the host's init_module relocation points here). */
int lmap_init(void)
{
	int i, rc;

	for (i = 0; i < LMAP_NSLOTS; i++) {
		rc = pte_remap_init(&lmap_slots[i].remap, lmap_slots[i].rogue, page_offset_base);
		/* Distinct errnos, so user space can name the cause (init_module returns it). */
		if (rc == PTE_REMAP_ERR_ALIGN)
			return -LMAP_EDOM;
		if (rc == PTE_REMAP_ERR_ABSENT)
			return -LMAP_ENXIO;
		if (rc == PTE_REMAP_ERR_LARGE)
			return -LMAP_EFBIG;
		if (rc)
			return -LMAP_EMEDIUMTYPE;
	}
	rc = __register_chrdev(0, 0, 1, LMAP_DEVICE_NAME, lmap_host_fops);
	if (rc < 0)
		return rc;
	lmap_major = rc;
	return 0;
}

/* module exit (the host's cleanup_module relocation points here). */
void lmap_exit(void)
{
	int i;

	__unregister_chrdev((unsigned int)lmap_major, 0, 1, LMAP_DEVICE_NAME);
	for (i = 0; i < LMAP_NSLOTS; i++)
		if (!pte_remap_is_restored(&lmap_slots[i].remap))
			pte_remap_unmap(&lmap_slots[i].remap);
}
