/*
 * Test helper run inside the guest: fills N page-aligned pages with a known
 * pattern derived from a nonce, locks them in RAM, prints the physical address
 * of each page (from /proc/self/pagemap) and then sleeps forever, so that the
 * pages stay resident while memory is acquired.
 *
 * Usage: marker NONCE PAGES   (1..65536)
 * Output: "page K 0xPHYS" per page, then "MARKER-READY".
 *
 * Page K consists of 64 lines of 64 bytes: "PMEM-AFF4 MARKER <nonce> p<K> l<L>"
 * padded with '.' and ended by '\n' (tests/vm/vmtool.py builds the same bytes).
 *
 * Usage: marker NONCE PAGES free   (1..262144)
 * Fills PAGES pages with "PMEM-AFF4 FREED <nonce> p<K> l<L>" lines the same way,
 * prints "FREED-MARKERS PAGES" and exits: the pages go back to the kernel's free
 * lists with their contents, like the freed memory of a process an examiner wants to
 * recover (the footprint test counts how many survive the acquisition).
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define PAGE 4096
#define LINE 64

static void fill_page(unsigned char *p, const char *tag, const char *nonce, int k)
{
	for (int l = 0; l < PAGE / LINE; l++) {
		char line[LINE + 1];
		int n = snprintf(line, sizeof(line), "PMEM-AFF4 %s %s p%d l%d", tag, nonce, k, l);

		if (n < 0 || n > LINE - 1)
			n = LINE - 1;
		memset(line + n, '.', LINE - 1 - n);
		line[LINE - 1] = '\n';
		memcpy(p + l * LINE, line, LINE);
	}
}

int main(int argc, char **argv)
{
	int freed = argc == 4 && strcmp(argv[3], "free") == 0;

	if ((argc != 3 && !freed) || strlen(argv[1]) > 32) {
		fprintf(stderr, "usage: marker NONCE(<=32 chars) PAGES [free]\n");
		return 2;
	}
	int pages = atoi(argv[2]);
	if (freed) {
		if (pages < 1 || pages > 262144) {
			fprintf(stderr, "marker: PAGES must be 1..262144\n");
			return 2;
		}
		unsigned char *m = mmap(NULL, (size_t)pages * PAGE, PROT_READ | PROT_WRITE,
					MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
		if (m == MAP_FAILED) {
			perror("marker: mmap");
			return 1;
		}
		for (int k = 0; k < pages; k++)
			fill_page(m + (size_t)k * PAGE, "FREED", argv[1], k);
		printf("FREED-MARKERS %d\n", pages);
		return 0;
	}
	if (pages < 1 || pages > 65536) {
		fprintf(stderr, "marker: PAGES must be 1..65536\n");
		return 2;
	}
	unsigned char *buf = mmap(NULL, (size_t)pages * PAGE, PROT_READ | PROT_WRITE,
				  MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	if (buf == MAP_FAILED) {
		perror("marker: mmap");
		return 1;
	}
	for (int k = 0; k < pages; k++)
		fill_page(buf + (size_t)k * PAGE, "MARKER", argv[1], k);
	if (mlock(buf, (size_t)pages * PAGE) != 0) {
		perror("marker: mlock");
		return 1;
	}
	int fd = open("/proc/self/pagemap", O_RDONLY);
	if (fd < 0) {
		perror("marker: open pagemap");
		return 1;
	}
	for (int k = 0; k < pages; k++) {
		uint64_t entry = 0;
		off_t off = (off_t)(((uintptr_t)buf / PAGE) + (uintptr_t)k) * 8;

		if (pread(fd, &entry, sizeof(entry), off) != (ssize_t)sizeof(entry)) {
			perror("marker: read pagemap");
			return 1;
		}
		if (!(entry >> 63) || (entry & ((1ULL << 55) - 1)) == 0) {
			fprintf(stderr, "marker: page %d not present or PFN hidden\n", k);
			return 1;
		}
		printf("page %d 0x%llx\n", k,
		       (unsigned long long)(entry & ((1ULL << 55) - 1)) * PAGE);
	}
	close(fd);
	printf("MARKER-READY\n");
	fflush(stdout);
	for (;;)
		pause();
}
