// SPDX-License-Identifier: GPL-2.0
/*
 * pte_remap: the PTE-remap core (x86-64). Freestanding: it includes only its
 * own header, so it builds without kernel headers (see pte_remap.h for the
 * interface and what the caller must guarantee).
 */
#include "pte_remap.h"

#define PTE_P (1ULL << 0)
#define PTE_RW (1ULL << 1)
#define PTE_PWT (1ULL << 3)
#define PTE_PCD (1ULL << 4)
#define PTE_A (1ULL << 5)
#define PTE_D (1ULL << 6)
#define PTE_PS (1ULL << 7)  /* in a PDPTE or PDE: 1 GiB or 2 MiB page */
#define PTE_PAT (1ULL << 7) /* in a 4 KiB PTE: PAT index bit 2 */
#define PTE_FRAME 0x000ffffffffff000ULL /* bits 51:12 */
#define CR4_LA57 (1UL << 12)

static unsigned long pte_remap_read_cr3(void)
{
	unsigned long v;

	asm volatile("mov %%cr3, %0" : "=r"(v));
	return v;
}

static unsigned long pte_remap_read_cr4(void)
{
	unsigned long v;

	asm volatile("mov %%cr4, %0" : "=r"(v));
	return v;
}

static void pte_remap_cpuid(unsigned int leaf, unsigned int *a, unsigned int *b)
{
	unsigned int c, d;

	asm volatile("cpuid" : "=a"(*a), "=b"(*b), "=c"(c), "=d"(d) : "a"(leaf), "c"(0));
}

/* INVLPG is serialising: nothing after it uses the old translation. */
static void pte_remap_invlpg(unsigned long va)
{
	asm volatile("invlpg (%0)" : : "r"(va) : "memory");
}

int pte_remap_init(struct pte_remap *r, void *page, unsigned long direct_map)
{
	unsigned long va = (unsigned long)page;
	unsigned long long table, entry = 0, frame_mask;
	volatile unsigned long long *slot = 0;
	unsigned int max_ext, a, b, phys_bits = 36, cbit = 0;
	int level;

	if (va & 0xfffUL)
		return PTE_REMAP_ERR_ALIGN;
	pte_remap_cpuid(0x80000000U, &max_ext, &b);
	if (max_ext >= 0x80000008U) {
		pte_remap_cpuid(0x80000008U, &a, &b);
		phys_bits = a & 0xff;
	}
	/* AMD SME/SEV: EAX bit 0 SME, bit 1 SEV; EBX[5:0] the C-bit's position. */
	if (max_ext >= 0x8000001fU && max_ext < 0x8000ffffU) {
		pte_remap_cpuid(0x8000001fU, &a, &b);
		if (a & 3U)
			cbit = b & 0x3fU;
	}
	if (phys_bits < 32 || phys_bits > 52)
		phys_bits = 52;
	r->max_phys = 1ULL << phys_bits;
	frame_mask = PTE_FRAME & (r->max_phys - 1);
	r->levels = (pte_remap_read_cr4() & CR4_LA57) ? 5 : 4;

	table = (unsigned long long)pte_remap_read_cr3() & frame_mask;
	for (level = r->levels; level >= 1; level--) {
		unsigned int idx = (unsigned int)(va >> (12 + 9 * (level - 1))) & 511U;

		slot = (volatile unsigned long long *)(direct_map + (unsigned long)table) + idx;
		entry = *slot;
		if (!(entry & PTE_P))
			return PTE_REMAP_ERR_ABSENT;
		if (level == 1)
			break;
		if (level <= 3 && (entry & PTE_PS))
			return PTE_REMAP_ERR_LARGE;
		table = entry & frame_mask;
	}
	if ((entry & PTE_FRAME & ~(r->max_phys - 1)) ||
	    (cbit >= 12 && cbit < 52 && (entry >> cbit) & 1ULL))
		return PTE_REMAP_ERR_ENCRYPT;
	r->va = va;
	r->pte = slot;
	r->orig = entry;
	r->rogue = entry & ~(PTE_FRAME | PTE_RW | PTE_PWT | PTE_PCD | PTE_PAT);
	return 0;
}

const void *pte_remap_map(struct pte_remap *r, unsigned long long phys)
{
	if ((phys & 0xfffULL) || phys >= r->max_phys)
		return 0;
	*r->pte = r->rogue | phys;
	pte_remap_invlpg(r->va);
	return (const void *)r->va;
}

void pte_remap_unmap(struct pte_remap *r)
{
	*r->pte = r->orig;
	pte_remap_invlpg(r->va);
}

void pte_remap_flush(const struct pte_remap *r)
{
	pte_remap_invlpg(r->va);
}

int pte_remap_is_restored(const struct pte_remap *r)
{
	/* The CPU may set the accessed and dirty bits of the original mapping. */
	return ((*r->pte ^ r->orig) & ~(PTE_A | PTE_D)) == 0;
}
