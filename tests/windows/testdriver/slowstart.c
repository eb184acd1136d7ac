/*
 * slowstart.sys: a TEST-ONLY kernel driver whose DriverEntry takes 8 s and does nothing
 * else. While the service manager starts it, it holds its service start lock, so that
 * tests/windows/run can check that pmem-aff4.exe waits out ERROR_SERVICE_DATABASE_LOCKED
 * (1055) instead of failing at once.
 */
#include <ddk/ntddk.h>

static void on_unload(PDRIVER_OBJECT drv)
{
    (void)drv;
}

NTSTATUS NTAPI DriverEntry(PDRIVER_OBJECT drv, PUNICODE_STRING reg)
{
    LARGE_INTEGER delay;
    (void)reg;
    delay.QuadPart = -8LL * 10 * 1000 * 1000; /* relative, in 100 ns units */
    KeDelayExecutionThread(KernelMode, FALSE, &delay);
    drv->DriverUnload = on_unload;
    return STATUS_SUCCESS;
}
