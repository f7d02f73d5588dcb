/* crashme.c - a tiny program for the collector's real-crash test (written for CrashDesk).
 *
 * Usage: crashme HANDLER DATABASE URL [ANNOTATION=VALUE ...]
 *
 * On SIGSEGV it starts Crashpad's crashpad_handler in "trace the parent" mode
 * (--trace-parent-with-exception=ADDRESS): the handler ptraces this process, reads the
 * record at ADDRESS (Crashpad's ExceptionInformation: siginfo address, ucontext address,
 * thread id; packed), writes a minidump and uploads it to URL. Then the signal is re-raised.
 */
#define _GNU_SOURCE
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#pragma pack(push, 1)
struct exception_record {
    uint64_t siginfo_address;
    uint64_t context_address;
    int32_t thread_id;
};
#pragma pack(pop)

static struct exception_record g_record;
static char *g_argv[64];
static char g_trace_arg[64];

static void on_fatal(int sig, siginfo_t *info, void *context) {
    g_record.siginfo_address = (uint64_t)(uintptr_t)info;
    g_record.context_address = (uint64_t)(uintptr_t)context;
    g_record.thread_id = (int32_t)syscall(SYS_gettid);
    prctl(PR_SET_DUMPABLE, 1, 0, 0, 0);
    prctl(PR_SET_PTRACER, (unsigned long)getpid(), 0, 0, 0);
    pid_t child = fork();
    if (child == 0) {
        execv(g_argv[0], g_argv);
        _exit(127);
    }
    if (child > 0) {
        int status;
        while (waitpid(child, &status, 0) < 0) {
        }
    }
    signal(sig, SIG_DFL);  /* returning re-runs the faulting instruction: the default action ends us */
}

__attribute__((noinline)) void crash_in_collector_test(volatile int *where) {
    *where = 42;
}

int main(int argc, char **argv) {
    if (argc < 4) {
        fprintf(stderr, "usage: %s HANDLER DATABASE URL [KEY=VALUE...]\n", argv[0]);
        return 2;
    }
    static char database[4096], url[4096];
    int n = 0;
    g_argv[n++] = argv[1];
    snprintf(database, sizeof database, "--database=%s", argv[2]);
    snprintf(url, sizeof url, "--url=%s", argv[3]);
    g_argv[n++] = database;
    g_argv[n++] = url;
    g_argv[n++] = "--no-rate-limit";
    snprintf(g_trace_arg, sizeof g_trace_arg, "--trace-parent-with-exception=0x%lx",
             (unsigned long)(uintptr_t)&g_record);
    g_argv[n++] = g_trace_arg;
    for (int i = 4; i < argc && n < 62; i++) {
        static char annotations[32][512];
        snprintf(annotations[i % 32], sizeof annotations[0], "--annotation=%s", argv[i]);
        g_argv[n++] = annotations[i % 32];
    }
    g_argv[n] = NULL;

    static char alt_stack[65536];
    stack_t ss = {.ss_sp = alt_stack, .ss_size = sizeof alt_stack, .ss_flags = 0};
    sigaltstack(&ss, NULL);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_fatal;
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGSEGV, &sa, NULL);

    crash_in_collector_test((volatile int *)0);
    return 0;
}
