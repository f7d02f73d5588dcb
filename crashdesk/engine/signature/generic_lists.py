"""Lists of the built-in "generic" profile (version 2), for any Breakpad/Crashpad application.

Written for CrashDesk from what the frames are (not taken from siggen). Frame strings are *normalised*
(arguments removed, templates collapsed to ``<T>``, glibc's ``__GI_`` alias prefix dropped by the generic
walk) and matched with ``re.match`` (anchored at the start). How the generic walk uses them
(:mod:`crashdesk.engine.signature.appwalk`):

* ``module_rules.txt`` decides which modules are the system's (``-app``) and which the application's;
* a frame matching ``irrelevant`` is skipped and never shown;
* a frame matching ``prefix`` is library code even when it is compiled into the application (templates,
  static CRT, the crash reporter): it is never the application frame, but it may be the one *kind* prefix;
* the signature is ``<kind> | <first application frame>``, where the kind is the system/library frame the
  application called (the frame just above the first app frame), if any.

Each entry has a comment saying why it is there.
"""

from __future__ import annotations

VERSION = "2"

MODULE_RULES = r"""
# Which modules are the system's (-app) and which the application's (+app). First match wins; a module no
# rule matches is application code. A glob with / or \ is matched against the module's path, any other
# against its file name; case-insensitive. Add "+app ..." lines ABOVE these to claim a module as yours.

# -- Linux (glibc, musl), by path: everything the distribution installs under /lib*, /usr/lib*
-app /lib*/*
-app /usr/lib*/*
# glibc's C library, math, threads, dl and rt libraries, by file name (dumps often carry only the name)
-app libc.so*
-app libc-*.so
-app libm.so*
-app libm-*.so
-app libpthread.so*
-app libpthread-*.so
-app libdl.so*
-app libdl-*.so
-app librt.so*
-app librt-*.so
-app libresolv.so*
# the dynamic loader (glibc and musl)
-app ld-linux*
-app ld-*.so*
-app ld-musl-*
# the kernel's vDSO (32-bit name, 64-bit name, and the bracketed mapping name)
-app linux-gate.so*
-app linux-vdso.so*
-app vdso
-app [vdso]
# C++ runtimes and the unwinder: GNU libstdc++, LLVM libc++/libc++abi, libgcc_s, libunwind
-app libstdc++.so*
-app libc++.so*
-app libc++abi.so*
-app libgcc_s.so*
-app libunwind.so*

# -- Android (bionic and the platform live under /system and /apex)
-app /system/*
-app /apex/*
-app /vendor/lib*/*

# -- Windows: anything under the Windows folder of a drive (System32, SysWOW64, WinSxS) or \SystemRoot\
# (anchored at the drive: a build tree such as C:\src\client\windows\crash.exe is not the system's)
-app [a-z]:\windows\*
-app \systemroot\*
# ... and the core DLLs by name, for dumps that carry no path
-app ntdll.dll
-app kernel32.dll
-app kernelbase.dll
-app user32.dll
-app win32u.dll
-app gdi32*.dll
-app combase.dll
-app rpcrt4.dll
-app ole32.dll
-app ucrtbase*.dll
-app msvcrt.dll
# the Visual C++ runtimes an application ships next to itself are still not its code
-app vcruntime*.dll
-app msvcp*.dll
-app msvcr*.dll
-app concrt*.dll

# -- Qt, by file name: an application ships it in its own folder, but it is not the application's code
-app libQt5*
-app libQt6*
-app Qt5*.dll
-app Qt6*.dll
-app QtCore
-app QtGui
-app QtWidgets

# -- macOS / iOS
-app /usr/lib/*
-app /System/Library/*
-app libsystem_*.dylib
-app libc++.*dylib
-app libc++abi.dylib
-app libobjc*.dylib
-app dyld
-app libdyld.dylib
"""

SENTINELS = """
# Literal frame strings that mark the real top of the stack: frames above them are dropped.
# the C++ runtime's handler for a call of a pure virtual function; above it is only terminate/abort
__cxa_pure_virtual
# MSVC's equivalent of __cxa_pure_virtual
_purecall
# macOS signal trampoline: frames above it belong to a signal handler, not to the crash
_sigtramp
# glibc's signal return trampoline on Linux, same reason
__restore_rt
# the Rust panic entry point: above it is only the panic runtime
rust_begin_unwind
"""

IRRELEVANT = r"""
# Frames skipped entirely: never part of a signature.
# a bare address (no module, no symbol): says nothing stable about the crash
@0x
# the signal trampolines (see the sentinels)
_sigtramp
__restore_rt
__kernel_rt_sigreturn
__kernel_vsyscall
# glibc's raise/pthread_kill chain that delivers SIGABRT: same for every abort
raise$
gsignal$
__pthread_kill_implementation
__pthread_kill_internal
pthread_kill$
tgkill$
# glibc: prints the "*** ... ***: terminated" message before abort, for every libc-detected error
__libc_message
__libc_fatal
# glibc: the common path of the _FORTIFY_SOURCE checks; the checked function the app called is the kind
__fortify_fail
__chk_fail$
# glibc: reports heap corruption; the allocator call the app made (free, malloc...) is the kind
malloc_printerr
# glibc: formats an assertion message; __assert_fail (what the app called) is the kind
__assert_fail_base
# macOS: the kernel side of pthread_kill
__pthread_kill
# libunwind/libgcc unwinder and the C++ personality routine: exception plumbing of every throw
_Unwind_
__gxx_personality
__gcc_personality
# Windows: exception dispatch inside ntdll, the same for every exception
KiUserExceptionDispatcher
RtlDispatchException
RtlpExecuteHandlerForException
RtlRaiseException
# Windows: thread and process start-up below the application's code
RtlUserThreadStart
BaseThreadInitThunk
# MSVC CRT start-up compiled into the application: below main, never the crash site
__scrt_common_main
__tmainCRTStartup
invoke_main
mainCRTStartup
WinMainCRTStartup
wmainCRTStartup
# glibc/musl start-up and thread entry, below the application's code
_start$
__libc_start_main
__libc_start_call_main
start_thread$
__clone
clone3?$
# the crash reporters themselves, often compiled into the application: their frames are never the crash
google_breakpad::
crashpad::
sentry__
sentry_handle_exception
# Rust's panic runtime hand-off (the sentinel itself and what follows it): the same for every panic
rust_begin_unwind
__rust_start_panic
rust_panic$
__rust_end_short_backtrace
__rust_begin_short_backtrace
"""

PREFIX = r"""
# Library code (also when compiled into the application): never "the application frame"; the one just
# above the first application frame is kept as the kind of crash.
# C: abort() called by the application
abort$
# MSVC / macOS spellings of abort's internals
_abort$
__abort$
# C assert(): glibc, musl, macOS, bionic, MSVC entry points
__assert_fail$
__assert_perror_fail
__assert_rtn
__assert2
_wassert
_assert$
# stack protector: the canary check the compiler inserted into the application's function failed
__stack_chk_fail
# _FORTIFY_SOURCE: the checked variant of a string/memory function (__memcpy_chk, __strcpy_chk, ...)
__\w+_chk$
# C allocator entry points: heap corruption and double frees are detected inside them
malloc$
calloc$
realloc$
free$
cfree$
__libc_(malloc|calloc|realloc|free)$
_int_(malloc|free|realloc)
posix_memalign
aligned_alloc
# other allocators often linked statically (jemalloc, tcmalloc, mimalloc)
je_
tc_
mi_(malloc|free|realloc|calloc)
# C++ allocation
operator new
operator delete
new$
new\[\]$
delete$
delete\[\]$
# memory and string functions: the crash is in them, the caller passed the bad pointer
mem(cpy|move|set|cmp|chr)$
__mem(cpy|move|set|cmp|chr)
wmem(cpy|move|set|cmp)$
str(len|nlen|cpy|ncpy|cat|ncat|cmp|ncmp|chr|rchr|str|dup|ndup|casecmp|ncasecmp)$
__(str|stp|wcs|raw)
wcs(len|nlen|cpy|ncpy|cat|ncat|cmp|ncmp|chr|rchr|str)$
_platform_mem
_platform_str
# printf family (a bad format argument crashes inside them)
_?_?(v?s?n?printf|vfprintf)(_chk)?$
# C++ standard library (libstdc++, libc++, MSVC STL), also its templates instantiated in the application
std::
__gnu_cxx::
__cxxabiv1::
# the C++ ABI runtime: __cxa_throw (uncaught exception), __cxa_call_terminate (noexcept violated), ...
__cxa_
# MSVC's throw and the STL's out-of-range / length errors
_CxxThrowException
CxxThrowException
RaiseException
# MSVC CRT: invalid parameter handler and /GS stack-cookie failure
_invalid_parameter
_invoke_watson
__report_gsfailure
__security_check_cookie
__fastfail
_CrtDbgReport
# Windows fail-fast and critical-failure reporting
RtlReportCriticalFailure
RaiseFailFastException
# Windows heap functions (heap corruption is detected there)
RtlAllocateHeap
RtlFreeHeap
RtlReAllocateHeap
HeapAlloc
HeapFree
HeapReAlloc
# Objective-C: an uncaught NSException is raised here
objc_exception_throw
objc_exception_rethrow
# Rust core and alloc crates (panics, unwrap/expect failures, bounds checks, allocation failure)
core::
alloc::
__rust_alloc
__rust_dealloc
__rust_realloc
__rust_alloc_error_handler
__rdl_
__rg_
# Qt: qFatal() and Q_ASSERT end in these (qAbort is Qt's own abort)
qAbort
qFatal
QMessageLogger::fatal
qt_message_fatal
qt_assert
qt_assert_x
# Chromium/Electron fatal paths: LOG(FATAL)/CHECK, the debugger break and the out-of-memory handlers
logging::LogMessage::
logging::CheckError::
logging::LogMessageFatal::
base::debug::BreakDebugger
base::ImmediateCrash
base::internal::OnNoMemory
base::TerminateBecauseOutOfMemory
partition_alloc::
# unsymbolicated frames in a system module merge into the module name; the module is the kind
<unknown in
<name omitted>
"""

LINE_NUMBERS = """
# Regexes of frames that get ":<line>" appended (none by default for generic applications).
"""


def texts() -> dict[str, str]:
    """``{list name: file text}`` for the generic profile (the four siggen-style lists + module rules)."""
    return {
        "sentinels": SENTINELS.lstrip("\n"),
        "irrelevant": IRRELEVANT.lstrip("\n"),
        "prefix": PREFIX.lstrip("\n"),
        "line_numbers": LINE_NUMBERS.lstrip("\n"),
        "module_rules": MODULE_RULES.lstrip("\n"),
    }
