/* crashpad_glue.c - start Crashpad's crashpad_handler when this process takes a fatal signal
 * (written for CrashDesk's generic-signature evaluation set).
 *
 * cd_install_crash_handler(HANDLER, DATABASE) installs handlers for the fatal signals. On a signal the
 * handler fills Crashpad's packed ExceptionInformation record (siginfo address, ucontext address, thread
 * id), forks and execs "crashpad_handler --database=DATABASE --no-rate-limit
 * --trace-parent-with-exception=&record", waits for it (it ptraces us and writes the minidump), then
 * restores the default action so the process dies of the original signal.
 */
#define _GNU_SOURCE
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#pragma pack(push, 1)
struct cd_exception_record {
    uint64_t siginfo_address;
    uint64_t context_address;
    int32_t thread_id;
};
#pragma pack(pop)

static struct cd_exception_record cd_record;
static char *cd_argv[8];
static char cd_database[4096];
static char cd_trace[64];
static volatile int cd_busy;

static void cd_on_fatal(int sig, siginfo_t *info, void *context) {
    if (__sync_lock_test_and_set(&cd_busy, 1) == 0) {
        cd_record.siginfo_address = (uint64_t)(uintptr_t)info;
        cd_record.context_address = (uint64_t)(uintptr_t)context;
        cd_record.thread_id = (int32_t)syscall(SYS_gettid);
        prctl(PR_SET_DUMPABLE, 1, 0, 0, 0);
        prctl(PR_SET_PTRACER, (unsigned long)getpid(), 0, 0, 0);
        pid_t child = fork();
        if (child == 0) {
            execv(cd_argv[0], cd_argv);
            _exit(127);
        }
        if (child > 0) {
            int status;
            while (waitpid(child, &status, 0) < 0) {
            }
        }
    }
    signal(sig, SIG_DFL);
    if (sig == SIGABRT || info->si_code <= 0) {
        raise(sig); /* sent by raise()/abort(): returning would not re-run a faulting instruction */
    }
}

void cd_install_crash_handler(const char *handler, const char *database) {
    static char alt_stack[65536];
    static char handler_path[4096];
    snprintf(handler_path, sizeof handler_path, "%s", handler);
    snprintf(cd_database, sizeof cd_database, "--database=%s", database);
    snprintf(cd_trace, sizeof cd_trace, "--trace-parent-with-exception=0x%lx", (unsigned long)(uintptr_t)&cd_record);
    cd_argv[0] = handler_path;
    cd_argv[1] = cd_database;
    cd_argv[2] = "--no-rate-limit";
    cd_argv[3] = cd_trace;
    cd_argv[4] = NULL;
    stack_t ss = {.ss_sp = alt_stack, .ss_size = sizeof alt_stack, .ss_flags = 0};
    sigaltstack(&ss, NULL);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = cd_on_fatal;
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
    sigemptyset(&sa.sa_mask);
    int sigs[] = {SIGSEGV, SIGABRT, SIGFPE, SIGILL, SIGBUS, SIGTRAP};
    for (unsigned i = 0; i < sizeof sigs / sizeof sigs[0]; i++) sigaction(sigs[i], &sa, NULL);
}
