// SPDX-License-Identifier: GPL-2.0
/*
 * Test-only module: plays a rootkit that hides one page of RAM from the
 * kernel's direct map while memory is acquired (tests/vm/hidepage/README.md).
 *
 * On load it allocates a page, fills it with a marker made from the module
 * parameter `nonce` (64 lines of 64 bytes, "PMEM-AFF4 HIDDEN <nonce> l<L>"
 * padded with '.' and ended by '\n'), makes sure the direct map maps it with
 * a 4 KiB PTE (set_pages_uc() + set_pages_wb() split a large page, as any
 * change of a single page's attributes does), clears that PTE's present bit
 * and flushes every CPU's TLB. Reading the page's direct-map address now
 * faults: /proc/kcore and pmem's kmap method cannot see it, while the frame is
 * still System RAM holding the marker. Its physical address is in
 * /sys/module/hidepage/parameters/phys and the kernel log. On unload the PTE is
 * restored, the TLBs flushed again and the page freed.
 *
 * The exported page-attribute API (set_memory_np, set_direct_map_*) is not
 * available to modules on 6.1, so the PTE is written directly, as a rootkit
 * would.
 */
#include <linux/gfp.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/smp.h>
#include <linux/uaccess.h>
#include <asm/pgtable.h>
#include <asm/set_memory.h>
#include <asm/tlbflush.h>

static char *nonce = "none";
module_param(nonce, charp, 0444);
MODULE_PARM_DESC(nonce, "text in every line of the marker (<= 32 characters)");

static unsigned long phys;
module_param(phys, ulong, 0444);
MODULE_PARM_DESC(phys, "physical address of the hidden page (read-only)");

static struct page *hidden;
static pte_t *hidden_pte;
static pte_t saved_pte;

static void hidepage_flush(void *unused)
{
	__flush_tlb_all();
}

static int __init hidepage_init(void)
{
	unsigned int level;
	unsigned long va;
	char probe[16];
	int l, rc;

	if (strlen(nonce) > 32)
		return -EINVAL;
	hidden = alloc_page(GFP_KERNEL);
	if (!hidden)
		return -ENOMEM;
	va = (unsigned long)page_address(hidden);
	for (l = 0; l < PAGE_SIZE / 64; l++) {
		char *line = (char *)va + l * 64;
		int n = snprintf(line, 64, "PMEM-AFF4 HIDDEN %s l%d", nonce, l);

		memset(line + n, '.', 63 - n);
		line[63] = '\n';
	}
	hidden_pte = lookup_address(va, &level);
	if (hidden_pte && level != PG_LEVEL_4K) {
		/* Changing one page's cache type splits the large page around it. */
		rc = set_pages_uc(hidden, 1);
		if (!rc)
			rc = set_pages_wb(hidden, 1);
		if (rc) {
			pr_err("hidepage: cannot split the direct map around the page: %d\n", rc);
			__free_page(hidden);
			return rc;
		}
		hidden_pte = lookup_address(va, &level);
	}
	if (!hidden_pte || level != PG_LEVEL_4K || !pte_present(*hidden_pte)) {
		pr_err("hidepage: the page's direct map entry is not a present 4 KiB PTE\n");
		__free_page(hidden);
		return -EOPNOTSUPP;
	}
	saved_pte = *hidden_pte;
	set_pte(hidden_pte, pte_clear_flags(saved_pte, _PAGE_PRESENT));
	on_each_cpu(hidepage_flush, NULL, 1);
	phys = (unsigned long)PFN_PHYS(page_to_pfn(hidden));
	rc = copy_from_kernel_nofault(probe, (void *)va, sizeof(probe));
	pr_info("hidepage: marker page at physical %#lx removed from the direct map (a direct-map read now %s)\n",
		phys, rc ? "faults" : "STILL WORKS");
	return 0;
}

static void __exit hidepage_exit(void)
{
	set_pte(hidden_pte, saved_pte);
	on_each_cpu(hidepage_flush, NULL, 1);
	__free_page(hidden);
	pr_info("hidepage: page at physical %#lx restored and freed\n", phys);
}

module_init(hidepage_init);
module_exit(hidepage_exit);

MODULE_LICENSE("GPL");
MODULE_AUTHOR("pmem-aff4 authors");
MODULE_DESCRIPTION("Test only: hides a marker page from the kernel's direct map (a rootkit's trick)");
