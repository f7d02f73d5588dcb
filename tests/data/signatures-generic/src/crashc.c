/* crashc.c - C programs that crash in distinct, well-known ways (CrashDesk generic-signature evaluation).
 *
 * Usage: crashc HANDLER DATABASE CASE [PLUGIN]. Every case's crash site is one named function of this file
 * (or of crashplugin.c); that function is the label the generic signature must be led by (see LABELS in
 * ../labels.json). Built with -O1 -fno-inline -fno-optimize-sibling-calls so every function keeps its
 * frame, -D_FORTIFY_SOURCE=2 (needs optimisation) and -fstack-protector-all.
 */
#define _GNU_SOURCE
#include <assert.h>
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void cd_install_crash_handler(const char *handler, const char *database);

/* values the compiler cannot see through */
volatile size_t g_size = 64;
volatile int g_zero = 0;
char *volatile g_null = NULL;
volatile int g_state = 3;

__attribute__((noinline)) void shutdown_on_bad_state(void) {
    if (g_state != 0) abort();
}

__attribute__((noinline)) void validate_header(int magic) {
    assert(magic == 0x4d44);
}

__attribute__((noinline)) void release_buffer_twice(void) {
    char *volatile p = malloc(32);
    free(p);
    free(p);
}

__attribute__((noinline)) void overrun_heap_block(void) {
    /* larger than the tcache sizes, so free() checks the next chunk's header, which we overwrote */
    char *volatile block = malloc(0x500);
    char *volatile guard = malloc(0x500);
    for (size_t i = 0; i < 0x500 + g_size; i++) ((volatile char *)block)[i] = 'A';
    free(block);
    free(guard);
}

__attribute__((noinline)) void copy_name(const char *src) {
    char name[8];
    strcpy(name, src); /* fortified: __strcpy_chk sees the 8-byte destination */
    printf("%s\n", name);
}

__attribute__((noinline)) void smash_local_array(size_t n) {
    char local[8];
    for (size_t i = 0; i < n; i++) ((volatile char *)local)[i] = 'x';
}

__attribute__((noinline)) void copy_record(const char *src) {
    memcpy(g_null, src, g_size);
}

__attribute__((noinline)) size_t measure_label(void) {
    return strlen(g_null) + 1;
}

__attribute__((noinline)) int divide_totals(int total) {
    return total / g_zero;
}

__attribute__((noinline)) void *worker_consume_queue(void *arg) {
    (void)arg;
    *(volatile int *)g_null = 7;
    return NULL;
}

__attribute__((noinline)) void run_worker(void) {
    pthread_t t;
    pthread_create(&t, NULL, worker_consume_queue, NULL);
    pthread_join(t, NULL);
}

__attribute__((noinline)) void call_plugin(const char *path) {
    void *lib = dlopen(path, RTLD_NOW);
    if (!lib) {
        fprintf(stderr, "dlopen: %s\n", dlerror());
        exit(3);
    }
    void (*render)(int) = (void (*)(int))dlsym(lib, "plugin_render_frame");
    render(1);
}

int main(int argc, char **argv) {
    if (argc < 4) {
        fprintf(stderr, "usage: %s HANDLER DATABASE CASE [PLUGIN]\n", argv[0]);
        return 2;
    }
    cd_install_crash_handler(argv[1], argv[2]);
    const char *c = argv[3];
    char source[64];
    memset(source, 'n', sizeof source - 1);
    source[sizeof source - 1] = 0;
    if (!strcmp(c, "abort")) shutdown_on_bad_state();
    else if (!strcmp(c, "assert")) validate_header(argc);
    else if (!strcmp(c, "double-free")) release_buffer_twice();
    else if (!strcmp(c, "heap-overflow")) overrun_heap_block();
    else if (!strcmp(c, "fortify")) copy_name(source);
    else if (!strcmp(c, "stack-protector")) smash_local_array(g_size);
    else if (!strcmp(c, "memcpy-null")) copy_record(source);
    else if (!strcmp(c, "strlen-null")) printf("%zu\n", measure_label());
    else if (!strcmp(c, "sigfpe")) printf("%d\n", divide_totals(argc));
    else if (!strcmp(c, "worker-thread")) run_worker();
    else if (!strcmp(c, "plugin") && argc > 4) call_plugin(argv[4]);
    else {
        fprintf(stderr, "unknown case %s\n", c);
        return 2;
    }
    return 0;
}
