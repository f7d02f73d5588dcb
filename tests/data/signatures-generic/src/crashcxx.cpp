// crashcxx.cpp - C++ programs that crash in distinct, well-known ways (CrashDesk generic-signature evaluation).
//
// Usage: crashcxx HANDLER DATABASE CASE. Each case's crash site is one named function (the label).
#include <cstdio>
#include <cstring>
#include <stdexcept>
#include <vector>

extern "C" void cd_install_crash_handler(const char *handler, const char *database);

volatile int g_bad = 1;
volatile std::size_t g_index = 10;

__attribute__((noinline)) void load_settings() {
    if (g_bad) throw std::runtime_error("settings file is corrupt");
}

__attribute__((noinline)) int pick_element(const std::vector<int> &values) {
    return values.at(g_index);
}

struct Shape {
    Shape() { init(); }
    __attribute__((noinline)) void init() { draw(); }
    virtual void draw() = 0;
    virtual ~Shape() = default;
};

struct Circle : Shape {
    void draw() override { std::puts("circle"); }
};

__attribute__((noinline)) void commit_transaction() noexcept {
    if (g_bad) throw std::logic_error("commit after rollback");
}

int main(int argc, char **argv) {
    if (argc < 4) {
        std::fprintf(stderr, "usage: %s HANDLER DATABASE CASE\n", argv[0]);
        return 2;
    }
    cd_install_crash_handler(argv[1], argv[2]);
    const char *c = argv[3];
    if (!std::strcmp(c, "uncaught-exception")) load_settings();
    else if (!std::strcmp(c, "vector-at")) {
        std::vector<int> values{1, 2, 3};
        std::printf("%d\n", pick_element(values));
    } else if (!std::strcmp(c, "pure-virtual")) {
        Circle circle;
        circle.draw();
    } else if (!std::strcmp(c, "noexcept-terminate")) commit_transaction();
    else {
        std::fprintf(stderr, "unknown case %s\n", c);
        return 2;
    }
    return 0;
}
