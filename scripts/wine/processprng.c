/*
 * bcryptprimitives.dll for Wine 8, test tooling only.
 *
 * Why: since Go 1.24 the Windows runtime gets its random numbers from
 * ProcessPrng in bcryptprimitives.dll and aborts at start
 * ("fatal error: bcryptprimitives.dll not found") where it is missing.
 * Wine 8.0 (Debian 12's wine64) has no such DLL; Wine 9 added one. This DLL
 * exports ProcessPrng on top of RtlGenRandom (advapi32 SystemFunction036),
 * which Wine implements, so that Go test binaries and vcguard-agent.exe run
 * under Wine in CI. It is copied into the private Wine prefix's system32 by
 * scripts/wine/prefix.sh and never shipped.
 */
#include <windows.h>

BOOLEAN WINAPI SystemFunction036(PVOID buffer, ULONG length);

__declspec(dllexport) BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T len)
{
    /* RtlGenRandom takes a ULONG: fill larger requests in pieces. */
    while (len > 0) {
        ULONG n = len > 0x40000000 ? 0x40000000 : (ULONG)len;
        if (!SystemFunction036(data, n))
            return FALSE;
        data += n;
        len -= n;
    }
    return TRUE;
}
