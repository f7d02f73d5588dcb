"""Lists of the built-in "generic" profile, version 1 (kept as the built-in ``generic-v1`` profile, so a
regeneration can show what version 2 changes), for any Breakpad/Crashpad application.

Written for CrashDesk (not taken from siggen): C and C++ runtimes (glibc, musl, bionic, libc++, libstdc++,
MSVC CRT), Windows, macOS and Linux system plumbing, the crash reporters themselves, and Rust panics.
Entries are matched against *normalised* frame strings (arguments removed, templates collapsed to ``<T>``,
``operator new(...)`` reduced to ``new``).
"""

from __future__ import annotations

VERSION = "1"

SENTINELS = """
# Literal frame strings that mark the real top of the stack: everything above them is dropped.
_purecall
__cxa_pure_virtual
_sigtramp
__restore_rt
google_breakpad::ExceptionHandler::HandleInvalidParameter
rust_begin_unwind
core::panicking::panic
core::panicking::panic_fmt
core::panicking::panic_bounds_check
core::panicking::panic_nounwind
core::result::unwrap_failed
core::option::unwrap_failed
core::option::expect_failed
std::panicking::begin_panic
std::panicking::begin_panic<T>
std::panicking::begin_panic_fmt
alloc::alloc::handle_alloc_error
"""

IRRELEVANT = r"""
# Frames skipped entirely: signal/exception delivery, waiting, crash-reporter plumbing, bare addresses.
@0x[0-9a-fA-F]{2,}
_sigtramp
__restore_rt
__kernel_rt_sigreturn
__kernel_vsyscall
__pthread_kill_implementation
__pthread_kill_internal
pthread_kill
__GI_raise
raise$
gsignal
tgkill
__libc_message
__libc_fatal
__fortify_fail
__chk_fail
__stack_chk_fail
_dl_sigreturn
abort_message
__abort_message
__gnu_cxx::__verbose_terminate_handler
__cxxabiv1::
std::__terminate
std::terminate
terminate$
__cxa_(?!pure_virtual)
std::rethrow_exception
std::__exception_ptr::
std::__1::__exception_ptr::
_Unwind_
__gxx_personality
__gcc_personality
demangling_terminate_handler
KiUserExceptionDispatcher
KiUserCallbackDispatcher
KiRaiseUserExceptionDispatcher
RtlDispatchException
RtlpExecuteHandlerForException
RtlRaiseException
RtlUserThreadStart
BaseThreadInitThunk
RaiseException
RaiseFailFastException
_CxxThrowException
CxxThrowException
__CxxFrameHandler
_CallSettingFrame
UnhandledExceptionFilter
NtWaitFor
ZwWaitFor
NtDelayExecution
ZwDelayExecution
WaitForSingleObject
WaitForMultipleObjects
SleepEx$
Sleep$
__psynch_cvwait
__psynch_mutexwait
_pthread_cond_wait
pthread_cond_wait
pthread_cond_timedwait
__futex_abstimed_wait
futex_wait
__GI___futex
syscall$
mach_msg_trap
mach_msg2_trap
mach_msg$
mach_msg_overwrite
__pthread_kill
_pthread_start
thread_start
start_thread
__clone
clone3?$
_start$
__libc_start_main
__libc_start_call_main
libc_start_main
google_breakpad::
crashpad::
CrashpadClient
sentry__
sentry_handle_exception
std::panicking::
core::ptr::(?!drop_in_place)
core::intrinsics::
core::panicking::panic_nounwind_fmt
rust_panic$
rust_begin_unwind
__rust_start_panic
__rust_begin_short_backtrace
__rust_end_short_backtrace
std::sys::backtrace::
std::rt::lang_start
__scrt_common_main
__tmainCRTStartup
invoke_main
mainCRTStartup
WinMainCRTStartup
wmainCRTStartup
"""

PREFIX = r"""
# Frames kept in the signature, but the walk continues to the next frame: they say "how", not "where".
abort$
_abort$
__GI_abort
std::abort
std::__throw_
std::__1::__throw_
std::_Xout_of_range
std::_Xlength_error
std::_Xbad_alloc
std::_Throw_
__assert_fail
__assert_perror_fail
__assert_rtn
__assert2
_wassert
_assert$
_invalid_parameter
_invoke_watson
__report_gsfailure
__fastfail
__security_check_cookie
_CrtDbgReport
malloc
calloc
realloc
free$
_free_base
_free_dbg
_malloc_base
_realloc_base
_calloc_base
__libc_malloc
__libc_free
__libc_realloc
__libc_calloc
cfree
posix_memalign
aligned_alloc
_aligned_malloc
_aligned_free
je_
tc_
mi_
HeapAlloc
HeapFree
HeapReAlloc
RtlAllocateHeap
RtlFreeHeap
RtlReAllocateHeap
new$
new\[\]$
delete$
delete\[\]$
mem(cpy|move|set|cmp|chr)
__mem(cpy|move|set|cmp|chr)
wmem(cpy|move|set|cmp)
_platform_mem
_platform_str
__(str|wcs)
str(len|nlen|cpy|ncpy|cat|ncat|cmp|ncmp|chr|rchr|str|dup|ndup|casecmp|ncasecmp)
wcs(len|nlen|cpy|ncpy|cat|ncat|cmp|ncmp|chr|rchr|str)
_?(v?s?n?printf|vfprintf|snprintf_chk|sprintf_chk)
std::basic_string<T>::
std::__1::basic_string<T>::
std::__cxx11::basic_string<T>::
std::vector<T>::
std::__1::vector<T>::
std::_Vector_base<T>::
std::allocator<T>::
std::__1::allocator<T>::
std::unique_ptr<T>::
std::shared_ptr<T>::
std::__shared_ptr<T>::
std::_Sp_counted_
std::__1::__shared_weak_count::
std::function<T>::
std::__1::function<T>::
std::_Function_handler<T>::
std::__invoke
std::__1::__invoke
std::_Func_impl
std::invoke
std::__1::__function::
std::thread::_State_impl<T>::
std::__1::__thread_proxy
alloc::alloc::
alloc::raw_vec::
alloc::vec::
alloc::string::
core::ptr::drop_in_place
core::result::unwrap_failed
core::option::unwrap_failed
core::option::expect_failed
core::panicking::
alloc::alloc::handle_alloc_error
__rust_alloc
__rust_dealloc
__rust_realloc
__rdl_
__rg_
<unknown in
<name omitted>
(?i:ntdll|kernelbase|kernel32|user32|win32u|ucrtbase|msvcrt|combase|rpcrt4)\.dll$
(?i:vcruntime|msvcp|msvcr)[0-9_]*d?\.dll$
(libc|libm|libdl|libpthread|librt|libgcc_s|libstdc\+\+|libc\+\+|libc\+\+abi|libunwind)\.so(\.[0-9]+)*$
ld-linux.*\.so(\.[0-9]+)*$
(libc|libm|libdl|libpthread|librt|ld)-[0-9.]+\.so$
ld-musl.*\.so(\.[0-9]+)*$
linux-vdso\.so
vdso$
libsystem_.*\.dylib$
libc\+\+(abi)?(\.[0-9]+)?\.dylib$
libdyld\.dylib$
libobjc\.A\.dylib$
\(unloaded
@0x0$
"""

LINE_NUMBERS = """
# Regexes of frames that get ":<line>" appended (none by default for generic applications).
"""


def texts() -> dict[str, str]:
    """``{list name: file text}`` for the generic profile."""
    return {
        "sentinels": SENTINELS.lstrip("\n"),
        "irrelevant": IRRELEVANT.lstrip("\n"),
        "prefix": PREFIX.lstrip("\n"),
        "line_numbers": LINE_NUMBERS.lstrip("\n"),
    }
