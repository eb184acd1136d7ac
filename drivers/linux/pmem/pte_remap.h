/* SPDX-License-Identifier: GPL-2.0 */
/*
 * pte_remap: read any physical page through one virtual page whose page-table
 * entry we own (x86-64). The technique of "Anti-forensic resilient memory
 * acquisition" (Stüttgen & Cohen, DFRWS 2013): no kernel mapping service is
 * used, so a rootkit that unmaps or redirects a page in the kernel's direct
 * map (or hooks kmap/memremap/ioremap) does not change what is read.
 *
 * Freestanding: this header and pte_remap.c include nothing, use no kernel
 * type, macro or function, and touch nothing but the CPU (CR3, CR4, CPUID,
 * INVLPG) and the page tables, read and written through a linear map of
 * physical memory whose base the caller gives. So the same two files build
 * inside pmem.ko and inside a parasite injected into another module without
 * kernel headers (drivers/linux/lmap, next).
 *
 * Interface (one struct pte_remap per rogue page; one rogue page per CPU that
 * reads concurrently):
 *
 *   pte_remap_init(r, page, direct_map)   once, in kernel context: finds the
 *                                         4 KiB PTE of `page`, saves it
 *   pte_remap_map(r, phys)                 the frame at phys appears at
 *                                         r->va (read-only, write-back)
 *   ...copy from r->va...
 *   pte_remap_unmap(r)                     the original PTE is back
 *   pte_remap_flush(r)                     INVLPG r->va on this CPU
 *
 * What the CALLER must guarantee (the core cannot, without the kernel):
 *   - map, the copy and unmap run on one CPU with preemption (hence
 *     migration) disabled, and nothing else uses r concurrently: INVLPG only
 *     flushes the local TLB. Copy into a kernel buffer there and to user
 *     space only after unmap.
 *   - phys is a page of System RAM (never MMIO or a device range: the rogue
 *     PTE is write-back, and a WB read of a device can hang or machine-check
 *     the machine), and not hardware-poisoned.
 *   - memory encryption (AMD SME/SEV, Intel TDX) is not active: the rogue PTE
 *     carries no C-bit, so an encrypted page would read as ciphertext.
 *     pte_remap_init() also refuses when the rogue page's own PTE carries the
 *     C-bit (CPUID 0x8000001F names its position: SME and SEV set it on
 *     kernel mappings) or any frame bit above MAXPHYADDR, but Intel TDX marks
 *     shared, not private, pages, so only the caller can rule TDX out.
 *   - page tables are writable (not Xen PV, where the hypervisor owns them).
 *   - before the page itself is freed, every PTE is restored (unmap) and
 *     every CPU's TLB is flushed of r->va: pte_remap_flush() on each CPU, and
 *     with PCID a flush of all address spaces (Linux: __flush_tlb_all()), since
 *     INVLPG reaches only the current PCID's non-global entries. Otherwise a
 *     CPU may keep a stale entry for a virtual address the kernel hands out
 *     again. (While reading, PCID needs nothing more: every access to r->va
 *     follows an INVLPG on the same CPU in the same address space, with
 *     preemption off in between.)
 */
#ifndef PTE_REMAP_H
#define PTE_REMAP_H

/* Errors of pte_remap_init() (negative; 0 is success). */
#define PTE_REMAP_ERR_ALIGN (-1)   /* page is not 4 KiB aligned */
#define PTE_REMAP_ERR_ABSENT (-2)  /* a paging level is not present */
#define PTE_REMAP_ERR_LARGE (-3)   /* page is mapped by a 2 MiB or 1 GiB page */
#define PTE_REMAP_ERR_ENCRYPT (-4) /* its PTE has the C-bit or bits above MAXPHYADDR */

/* One rogue page. Fields are read-only for the caller. */
struct pte_remap {
	unsigned long va;                  /* the rogue page's virtual address */
	volatile unsigned long long *pte;  /* its PTE, through the direct map */
	unsigned long long orig;           /* the PTE as found */
	unsigned long long rogue;          /* orig without frame, RW and cache bits */
	unsigned long long max_phys;       /* 1 << MAXPHYADDR (CPUID 0x80000008) */
	int levels;                        /* 4, or 5 with CR4.LA57 */
};

/*
 * Finds the PTE of `page` by walking the page tables from CR3 (five levels if
 * CR4.LA57 is set, else four); tables are read at direct_map + their physical
 * address (Linux: page_offset_base, i.e. PAGE_OFFSET). Fails, touching
 * nothing, unless every level is present and the last one is a 4 KiB PTE.
 */
int pte_remap_init(struct pte_remap *r, void *page, unsigned long direct_map);

/*
 * Points the rogue PTE at the page-aligned physical address phys (frame bits
 * 51:12; the present, NX, global and accessed bits of the original PTE kept;
 * RW, PWT, PCD and PAT cleared, so the mapping is read-only and write-back,
 * PAT entry 0) and INVLPGs it. Returns r->va, or 0 (PTE untouched) if phys is
 * not page-aligned or beyond the CPU's physical address width.
 */
const void *pte_remap_map(struct pte_remap *r, unsigned long long phys);

/* Writes the original PTE back and INVLPGs r->va (this CPU). */
void pte_remap_unmap(struct pte_remap *r);

/* INVLPG r->va on this CPU (run it on every CPU before freeing the page). */
void pte_remap_flush(const struct pte_remap *r);

/* Whether the PTE is the original one (pte_remap_unmap() ran after map). */
int pte_remap_is_restored(const struct pte_remap *r);

#endif /* PTE_REMAP_H */
