/*
 * fakepmem.sys: a TEST-ONLY kernel driver that speaks the WinPmem user-space protocol over
 * synthetic "physical memory", so that tests/windows/run can drive the real pmem-aff4.exe
 * end to end under Wine (which has no physical memory). Written for this project from the
 * documented protocol facts (../shared/ACQUISITION-DESIGNS.md §3); no WinPmem code.
 *
 * Build with -DGENERATION=2 for the WinPmem 2.0+ interface (METHOD_NEITHER codes, 64-KPCR
 * info layout, 20 runs at most, PTE read mode accepted) or -DGENERATION=1 for the 1.x one
 * (METHOD_BUFFERED codes, 32-KPCR layout, 100 runs, DO_BUFFERED_IO, PTE mode refused so the
 * imager must fall back to PhysicalMemory). The other generation's codes are refused with
 * STATUS_INVALID_PARAMETER, as the real 2.0+ driver does.
 *
 * Memory: RUNS below, with holes between them. The byte at physical address p is
 * pattern(p); the pages in BAD fail to read: a read stops there and returns what it read
 * before with STATUS_IO_DEVICE_ERROR, leaving the rest of the buffer untouched. The test
 * (tests/windows/check_fake.py) recomputes all of it.
 */
#include <ddk/ntddk.h>

#ifndef GENERATION
#define GENERATION 2
#endif

#define PAGE 4096ULL
#define CTL(fn, method) (0x220000u | 0xC000u | ((fn) << 2) | (method))
#if GENERATION == 2
#define METHOD 3 /* METHOD_NEITHER */
#define KPCR_SLOTS 64
#define MAX_RUNS 20
#define FAKE_CR3 0x1aa000ULL
#else
#define METHOD 0 /* METHOD_BUFFERED */
#define KPCR_SLOTS 32
#define MAX_RUNS 100
#define FAKE_CR3 0x2bb000ULL
#endif
#define IOCTL_SET_MODE CTL(0x101, METHOD)
#define IOCTL_GET_INFO CTL(0x103, METHOD)

#pragma pack(push, 2)
typedef struct {
    ULONGLONG base, len;
} RUN;
typedef struct {
    ULONGLONG cr3, nt_build_number, kern_base, kdbg;
    ULONGLONG kpcr[KPCR_SLOTS];
    ULONGLONG pfn_database, ps_loaded_module_list, ps_active_process_head;
    ULONGLONG nt_build_number_addr;
    ULONGLONG padding[0xFE];
    ULONGLONG number_of_runs;
    RUN run[MAX_RUNS];
} MEMORY_INFO;
#pragma pack(pop)

static const RUN RUNS[] = {
    {0x1000, 0x9f000},     /* 0x1000-0xa0000: low memory, page 0 a hole */
    {0x100000, 0x80000},   /* 0x100000-0x180000 */
    {0x200000, 0x10000},   /* 0x200000-0x210000 */
};
#define NRUNS (sizeof(RUNS) / sizeof(RUNS[0]))
static const ULONGLONG BAD[] = {0x105000, 0x106000, 0x20f000};
#define NBAD (sizeof(BAD) / sizeof(BAD[0]))

static ULONG mode = 0xffffffff;

static UCHAR pattern(ULONGLONG p)
{
    ULONGLONG x = (p >> 3) * 0x9E3779B97F4A7C15ULL;
    return (UCHAR)((x >> 56) ^ (p & 7) ^ (p >> 12));
}

static BOOLEAN readable(ULONGLONG page)
{
    ULONG i;
    for (i = 0; i < NBAD; i++)
        if (BAD[i] == page)
            return FALSE;
    for (i = 0; i < NRUNS; i++)
        if (page >= RUNS[i].base && page + PAGE <= RUNS[i].base + RUNS[i].len)
            return TRUE;
    return FALSE;
}

static NTSTATUS complete(PIRP irp, NTSTATUS status, ULONG_PTR info)
{
    irp->IoStatus.Status = status;
    irp->IoStatus.Information = info;
    IoCompleteRequest(irp, IO_NO_INCREMENT);
    return status;
}

static NTSTATUS on_create_close(PDEVICE_OBJECT dev, PIRP irp)
{
    (void)dev;
    return complete(irp, STATUS_SUCCESS, 0);
}

static NTSTATUS on_read(PDEVICE_OBJECT dev, PIRP irp)
{
    PIO_STACK_LOCATION sp = IoGetCurrentIrpStackLocation(irp);
    ULONG len = sp->Parameters.Read.Length, done = 0;
    ULONGLONG off = (ULONGLONG)sp->Parameters.Read.ByteOffset.QuadPart;
    UCHAR *out;
    if (irp->MdlAddress)
        out = MmGetSystemAddressForMdlSafe(irp->MdlAddress, NormalPagePriority);
    else if (dev->Flags & DO_BUFFERED_IO)
        out = irp->AssociatedIrp.SystemBuffer;
    else
        out = irp->UserBuffer;
    if (!out)
        return complete(irp, STATUS_INVALID_PARAMETER, 0);
    /* Page by page, as the real driver: stop at the first page that cannot be read. */
    while (done < len) {
        ULONGLONG p = off + done, page = p & ~(PAGE - 1);
        ULONG n = (ULONG)(page + PAGE - p), k;
        if (n > len - done)
            n = len - done;
        if (!readable(page))
            return complete(irp, STATUS_IO_DEVICE_ERROR, done);
        for (k = 0; k < n; k++)
            out[done + k] = pattern(p + k);
        done += n;
    }
    return complete(irp, STATUS_SUCCESS, done);
}

static NTSTATUS on_ioctl(PDEVICE_OBJECT dev, PIRP irp)
{
    PIO_STACK_LOCATION sp = IoGetCurrentIrpStackLocation(irp);
    ULONG code = sp->Parameters.DeviceIoControl.IoControlCode;
    ULONG in_len = sp->Parameters.DeviceIoControl.InputBufferLength;
    ULONG out_len = sp->Parameters.DeviceIoControl.OutputBufferLength;
    void *in, *out;
    (void)dev;
#if METHOD == 3
    in = sp->Parameters.DeviceIoControl.Type3InputBuffer;
    out = irp->UserBuffer;
#else
    in = out = irp->AssociatedIrp.SystemBuffer;
#endif
    if (code == IOCTL_SET_MODE) {
        ULONG m;
        if (in_len < sizeof(ULONG) || !in)
            return complete(irp, STATUS_INFO_LENGTH_MISMATCH, 0);
        m = *(ULONG *)in;
#if GENERATION == 2
        if (m != 1 && m != 2) /* PhysicalMemory or PTE */
            return complete(irp, STATUS_NOT_SUPPORTED, 0);
#else
        if (m != 1) /* this one offers PhysicalMemory only */
            return complete(irp, STATUS_NOT_SUPPORTED, 0);
#endif
        mode = m;
        return complete(irp, STATUS_SUCCESS, 0);
    }
    if (code == IOCTL_GET_INFO) {
        MEMORY_INFO *info = out;
        ULONG i;
        if (out_len < sizeof(MEMORY_INFO) || !out)
            return complete(irp, STATUS_INFO_LENGTH_MISMATCH, 0);
        RtlZeroMemory(info, sizeof(MEMORY_INFO));
        info->cr3 = FAKE_CR3;
        info->nt_build_number = 0xF0004A65ULL; /* 19045, free build */
        info->kern_base = 0xfffff80212345000ULL;
        info->kpcr[0] = 0xfffff8020f1a0000ULL;
        info->kpcr[1] = 0xffffa00123450000ULL;
        info->nt_build_number_addr = 0xfffff80212abc440ULL;
        info->number_of_runs = NRUNS;
        for (i = 0; i < NRUNS; i++)
            info->run[i] = RUNS[i];
        return complete(irp, STATUS_SUCCESS, sizeof(MEMORY_INFO));
    }
    return complete(irp, STATUS_INVALID_PARAMETER, 0);
}

static void on_unload(PDRIVER_OBJECT drv)
{
    UNICODE_STRING link;
    RtlInitUnicodeString(&link, L"\\DosDevices\\pmem");
    IoDeleteSymbolicLink(&link);
    if (drv->DeviceObject)
        IoDeleteDevice(drv->DeviceObject);
}

NTSTATUS NTAPI DriverEntry(PDRIVER_OBJECT drv, PUNICODE_STRING reg)
{
    UNICODE_STRING name, link;
    PDEVICE_OBJECT dev;
    NTSTATUS st;
    (void)reg;
    RtlInitUnicodeString(&name, L"\\Device\\pmem");
    RtlInitUnicodeString(&link, L"\\DosDevices\\pmem");
    st = IoCreateDevice(drv, 0, &name, FILE_DEVICE_UNKNOWN, FILE_DEVICE_SECURE_OPEN, FALSE, &dev);
    if (!NT_SUCCESS(st))
        return st;
    st = IoCreateSymbolicLink(&link, &name);
    if (!NT_SUCCESS(st)) {
        IoDeleteDevice(dev);
        return st;
    }
#if GENERATION == 1
    dev->Flags |= DO_BUFFERED_IO;
#endif
    dev->Flags &= ~DO_DEVICE_INITIALIZING;
    drv->MajorFunction[IRP_MJ_CREATE] = on_create_close;
    drv->MajorFunction[IRP_MJ_CLOSE] = on_create_close;
    drv->MajorFunction[IRP_MJ_READ] = on_read;
    drv->MajorFunction[IRP_MJ_DEVICE_CONTROL] = on_ioctl;
    drv->DriverUnload = on_unload;
    return STATUS_SUCCESS;
}
