#!/usr/bin/env bash
# Creates a private Wine prefix in $1 that runs Go >= 1.24 Windows binaries:
#   scripts/wine/prefix.sh DIR
# - wineboot -i initialises it (about 10 s here);
# - processprng.c is built with mingw into bcryptprimitives.dll and copied to
#   system32 (Wine 8 lacks ProcessPrng; see the comment in processprng.c);
# - the prefix reports Windows 10 (Wine's default is Windows 7 SP1), as the
#   laptops vcguard runs on do.
# Callers set WINEDEBUG=-all and stop the prefix with `wineserver -k`.
set -euo pipefail
prefix="$1"
here="$(cd "$(dirname "$0")" && pwd)"
mkdir -p "$prefix"
prefix="$(cd "$prefix" && pwd)"
export WINEPREFIX="$prefix" WINEDEBUG="${WINEDEBUG:--all}"

# No display: keep Wine from asking to install Mono and Gecko.
export WINEDLLOVERRIDES="${WINEDLLOVERRIDES:-mscoree,mshtml=}"
wine wineboot -i >"$prefix/wineboot.log" 2>&1 || { cat "$prefix/wineboot.log" >&2; exit 1; }
wineserver -w

x86_64-w64-mingw32-gcc -O2 -shared -o "$prefix/bcryptprimitives.dll" "$here/processprng.c" -ladvapi32
cp "$prefix/bcryptprimitives.dll" "$prefix/drive_c/windows/system32/bcryptprimitives.dll"

# What `winecfg -v win10` writes, without a display.
wine reg add 'HKLM\Software\Microsoft\Windows NT\CurrentVersion' /v CurrentVersion /d 6.3 /f >/dev/null
wine reg add 'HKLM\Software\Microsoft\Windows NT\CurrentVersion' /v CurrentMajorVersionNumber /t REG_DWORD /d 10 /f >/dev/null
wine reg add 'HKLM\Software\Microsoft\Windows NT\CurrentVersion' /v CurrentMinorVersionNumber /t REG_DWORD /d 0 /f >/dev/null
wine reg add 'HKLM\Software\Microsoft\Windows NT\CurrentVersion' /v CurrentBuild /d 19045 /f >/dev/null
wine reg add 'HKLM\Software\Microsoft\Windows NT\CurrentVersion' /v CurrentBuildNumber /d 19045 /f >/dev/null
wine reg add 'HKLM\Software\Microsoft\Windows NT\CurrentVersion' /v ProductName /d 'Windows 10 Pro' /f >/dev/null
wine reg add 'HKLM\Software\Microsoft\Windows NT\CurrentVersion' /v CSDVersion /d '' /f >/dev/null
wine reg add 'HKLM\Software\Microsoft\Windows NT\CurrentVersion' /v DisplayVersion /d 22H2 /f >/dev/null
wine reg add 'HKLM\Software\Microsoft\Windows NT\CurrentVersion' /v UBR /t REG_DWORD /d 5371 /f >/dev/null
wine reg add 'HKCU\Software\Wine' /v Version /d win10 /f >/dev/null
wineserver -w
