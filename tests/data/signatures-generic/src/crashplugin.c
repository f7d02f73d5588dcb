/* crashplugin.c - a plugin that crashcxx/crashc load with dlopen(); it crashes in its own code. */
char *volatile plugin_target = 0;

__attribute__((noinline)) void plugin_render_frame(int n) {
    plugin_target[n] = 1;
}
