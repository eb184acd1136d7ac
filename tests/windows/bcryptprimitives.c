/* Test-only stand-in for bcryptprimitives.dll, which Wine 8.0 lacks and Rust >= 1.78's std
 * imports ProcessPrng from. ProcessPrng is implemented over RtlGenRandom
 * (advapi32!SystemFunction036). Built by tests/windows/run; never shipped. */
#include <windows.h>

BOOLEAN WINAPI SystemFunction036(PVOID buffer, ULONG length);

__declspec(dllexport) BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T len)
{
    while (len > 0) {
        ULONG n = len > 0x40000000 ? 0x40000000 : (ULONG)len;
        if (!SystemFunction036(data, n))
            return FALSE;
        data += n;
        len -= n;
    }
    return TRUE;
}
