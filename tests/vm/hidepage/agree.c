/*
 * Test helper run inside the guest: reads every page of top-level System RAM
 * (from /proc/iomem) through /dev/pmem with both read methods at once, on two
 * descriptors set with PMEM_IOC_SET_READ_METHOD, and compares them page by
 * page. A page that differs is read again (see the loop) to tell a page that
 * was changing from a disagreement of the methods.
 *
 * Output: "kmap-eio 0xADDR remap=ok|err" for each page kmap cannot read,
 * "small 0xADDR (N bytes differ)" for each page that never agrees but differs in
 * at most SMALL bytes, "differ 0xADDR (N bytes differ)" for each disagreement
 * (first 32), then
 * "AGREE pages=N same=S changing=C small=M differ=D kmap_eio=K remap_err=R".
 * Exit 0 if the comparison ran (the host judges the counts), 1 otherwise.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "pmem_ioctl.h"

#define PAGE 4096
#define SMALL 2048 /* at most this many bytes differ: the reader's own state */

static int open_with(const char *dev, __u32 method)
{
	__u32 got = 99;
	int fd = open(dev, O_RDONLY);

	if (fd < 0 || ioctl(fd, PMEM_IOC_SET_READ_METHOD, &method) != 0 ||
	    ioctl(fd, PMEM_IOC_GET_READ_METHOD, &got) != 0 || got != method) {
		fprintf(stderr, "agree: %s with method %u: %s (got %u)\n", dev, method, strerror(errno), got);
		exit(1);
	}
	return fd;
}

int main(void)
{
	static unsigned char a[PAGE], b[PAGE];
	unsigned long long pages = 0, same = 0, changing = 0, small = 0, differ = 0;
	unsigned long long eio = 0, rerr = 0;
	int fr = open_with("/dev/pmem", PMEM_READ_PTE_REMAP);
	int fk = open_with("/dev/pmem", PMEM_READ_KMAP);
	FILE *io = fopen("/proc/iomem", "r");
	char line[256];

	if (!io) {
		perror("agree: /proc/iomem");
		return 1;
	}
	while (fgets(line, sizeof(line), io)) {
		unsigned long long s, e, p;

		if (line[0] == ' ' || !strstr(line, " : System RAM\n") ||
		    sscanf(line, "%llx-%llx", &s, &e) != 2)
			continue;
		e += 1;
		for (p = s; p < e; p = (p / PAGE + 1) * PAGE) {
			size_t n = (size_t)((e < (p / PAGE + 1) * PAGE ? e : (p / PAGE + 1) * PAGE) - p);
			ssize_t ra = pread(fr, a, n, (off_t)p), rk = pread(fk, b, n, (off_t)p);
			int round, agreed;
			size_t mindiff;

			pages++;
			if (rk < 0) {
				eio++;
				printf("kmap-eio 0x%llx remap=%s errno=%d\n", p, ra == (ssize_t)n ? "ok" : "err", errno);
				continue;
			}
			if (ra != (ssize_t)n || rk != (ssize_t)n) {
				rerr++;
				printf("remap-err 0x%llx (%zd, %zd)\n", p, ra, rk);
				continue;
			}
			if (!memcmp(a, b, n)) {
				same++;
				continue;
			}
			/*
			 * Read again: agreement in a later round means the page was
			 * changing. A page that never agrees in 16 rounds but differs in
			 * few bytes holds the reader's own state, which the read
			 * changes and which differs by method: this process's kernel
			 * stack (other call chains), its task (pagefault_disabled is set
			 * only inside kmap's nofault copy), the per-CPU area
			 * (preempt_count is raised only around the remap). A wrong frame
			 * differs in most bytes: that is a disagreement.
			 */
			agreed = 0;
			mindiff = n;
			for (round = 0; round < 16 && !agreed; round++) {
				size_t d = 0, i;

				if (pread(fr, a, n, (off_t)p) != (ssize_t)n ||
				    pread(fk, b, n, (off_t)p) != (ssize_t)n)
					break;
				for (i = 0; i < n; i++)
					d += a[i] != b[i];
				if (d < mindiff)
					mindiff = d;
				agreed = d == 0;
			}
			if (agreed) {
				changing++;
			} else if (mindiff <= SMALL) {
				small++;
				printf("small 0x%llx (%zu bytes differ)\n", p, mindiff);
			} else {
				if (differ < 32)
					printf("differ 0x%llx (%zu bytes differ)\n", p, mindiff);
				differ++;
			}
		}
	}
	printf("AGREE pages=%llu same=%llu changing=%llu small=%llu differ=%llu kmap_eio=%llu remap_err=%llu\n",
	       pages, same, changing, small, differ, eio, rerr);
	return pages ? 0 : 1;
}
