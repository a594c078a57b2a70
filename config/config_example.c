/* config_example.c: generates the commented example config from the key table (the same
 * text as config/gpubroker.example.yaml) and writes it as a new 0600 file. */
#include "config/config_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common/str.h"

static const char header[] =
    "# gpubroker configuration.\n"
    "#\n"
    "# Precedence, lowest first: built-in defaults, then this file, then GPUBROKER_*\n"
    "# environment variables. Each key's variable is GPUBROKER_ followed by its path in\n"
    "# capitals with dots as underscores: server.port -> GPUBROKER_SERVER_PORT.\n"
    "#\n"
    "# Every key is listed with its default value; a key left out keeps its default.\n"
    "# Unknown sections and keys are errors. Integers are decimal; strings are at most\n"
    "# 4096 bytes.\n";

/* A bounded appender into a fixed buffer; overflow is sticky. */
typedef struct {
    char *p;
    size_t cap, len;
    bool overflow;
} textbuf;

static void tb_printf(textbuf *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void tb_printf(textbuf *t, const char *fmt, ...)
{
    if (t->overflow) return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(t->p + t->len, t->cap - t->len, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= t->cap - t->len) {
        t->overflow = true;
        return;
    }
    t->len += (size_t)n;
}

/* s as a double-quoted YAML scalar. */
static void tb_quoted(textbuf *t, const char *s)
{
    tb_printf(t, "\"");
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '"' || ch == '\\')
            tb_printf(t, "\\%c", ch);
        else if (ch < 0x20 || ch == 0x7f)
            tb_printf(t, "\\x%02x", ch);
        else
            tb_printf(t, "%c", ch);
    }
    tb_printf(t, "\"");
}

static void tb_key(textbuf *t, const gb_config_key *k)
{
    char env[128];
    const char *name = k->path + gb_config_key_section_len(k) + 1;
    if (gb_config_key_env_name(k, env, sizeof(env))) {
        t->overflow = true;
        return;
    }
    tb_printf(t, "  # %s\n", k->desc);
    switch (k->type) {
    case GB_CONFIG_T_STRING:
        tb_printf(t, "  # Default ");
        tb_quoted(t, k->def_str);
        tb_printf(t, ". Env: %s.\n  %s: ", env, name);
        tb_quoted(t, k->def_str);
        tb_printf(t, "\n");
        break;
    case GB_CONFIG_T_INT:
    case GB_CONFIG_T_INT64:
        tb_printf(t, "  # Default %lld; from %lld to %lld. Env: %s.\n  %s: %lld\n",
                  (long long)k->def_num, (long long)k->min, (long long)k->max, env, name,
                  (long long)k->def_num);
        break;
    case GB_CONFIG_T_LOGLEVEL: {
        const char *def = gb_config_level_name((int)k->def_num);
        tb_printf(t, "  # Default %s; one of debug, info, warn, error. Env: %s.\n  %s: %s\n",
                  def ? def : "?", env, name, def ? def : "?");
        break;
    }
    }
}

static char example_text[16384];
static pthread_once_t example_once = PTHREAD_ONCE_INIT;

static void build_example(void)
{
    textbuf t = {example_text, sizeof(example_text), 0, false};
    tb_printf(&t, "%s", header);
    for (size_t i = 0; i < gb_config_nkeys; i++) {
        const gb_config_key *k = &gb_config_keys[i];
        size_t seclen = gb_config_key_section_len(k);
        bool new_section = i == 0 || seclen != gb_config_key_section_len(&gb_config_keys[i - 1]) ||
                           memcmp(k->path, gb_config_keys[i - 1].path, seclen) != 0;
        if (new_section)
            tb_printf(&t, "\n%.*s:\n", (int)seclen, k->path);
        else
            tb_printf(&t, "\n");
        tb_key(&t, k);
    }
    if (t.overflow) example_text[0] = '\0'; /* the unit tests catch this */
}

const char *gb_config_example_text(void)
{
    pthread_once(&example_once, build_example);
    return example_text;
}

gb_err gb_config_write_default(const char *path)
{
    const char *text = gb_config_example_text();
    size_t len = strlen(text), off = 0;
    if (!path || !*path) return GB_ERR_INVALID;
    if (!len) return GB_ERR_INTERNAL;
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) return errno == EEXIST ? GB_ERR_CONFLICT : GB_ERR_IO;
    while (off < len) {
        ssize_t n = write(fd, text + off, len - off);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) goto fail;
        off += (size_t)n;
    }
    if (close(fd) != 0) {
        fd = -1;
        goto fail;
    }
    return GB_OK;
fail:
    if (fd >= 0) close(fd);
    unlink(path);
    return GB_ERR_IO;
}
