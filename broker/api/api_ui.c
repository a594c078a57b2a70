/* api_ui.c: the dashboard (docs/dashboard.md): GET / serves dashboard/index.html and
 * GET /ui/:file the other files of dashboard/, embedded in the binary at build time
 * (broker/api/embed_dir.cmake), or read from server.dashboard_dir when it is set (an installed
 * or edited copy). Only plain names of the served kinds are answered (no '/', no leading dot),
 * so no path reaches anything else. Every file is sent with the page security headers of
 * send_reply (api_server.c): a Content-Security-Policy without inline script,
 * frame-ancestors 'none', nosniff. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker/api/handlers.h"
#include "broker/api/ui_assets.h"
#include "common/gb.h"

#define UI_FILE_MAX (4 << 20) /* a dashboard file read from a directory: at most 4 MiB */

static const struct {
    const char *ext, *type;
} TYPES[] = {
    /* the same kinds as broker/api/embed_dir.cmake */
    {".html", "text/html; charset=utf-8"},
    {".css", "text/css; charset=utf-8"},
    {".js", "text/javascript; charset=utf-8"},
    {".svg", "image/svg+xml"},
    {".json", "application/json"},
};

/* The Content-Type of a servable name, or NULL when the name is not one. */
static const char *servable(const char *name)
{
    size_t n = name ? strlen(name) : 0;
    if (n == 0 || n > 100 || name[0] == '.') return NULL;
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-'))
            return NULL;
    }
    for (size_t i = 0; i < sizeof(TYPES) / sizeof(TYPES[0]); i++) {
        size_t e = strlen(TYPES[i].ext);
        if (n > e && strcmp(name + n - e, TYPES[i].ext) == 0) return TYPES[i].type;
    }
    return NULL;
}

/* name's bytes from dir (NUL-terminated, malloc'd), or NULL when absent or too large. */
static char *read_from(const char *dir, const char *name)
{
    char path[4096];
    if (snprintf(path, sizeof(path), "%s/%s", dir, name) >= (int)sizeof(path)) return NULL;
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    char *buf = malloc(UI_FILE_MAX + 1);
    size_t n = buf ? fread(buf, 1, UI_FILE_MAX + 1, f) : 0;
    int bad = !buf || ferror(f) || n > UI_FILE_MAX || memchr(buf, 0, n) != NULL;
    fclose(f);
    if (bad) {
        free(buf);
        return NULL;
    }
    buf[n] = '\0';
    return buf;
}

static char *embedded(const char *name)
{
    for (size_t i = 0; i < ui_assets_count; i++)
        if (strcmp(ui_assets[i].name, name) == 0) {
            char *copy = malloc(ui_assets[i].len + 1);
            if (copy) memcpy(copy, ui_assets[i].data, ui_assets[i].len + 1);
            return copy;
        }
    return NULL;
}

static void serve(api_req *rq, api_resp *rs, const char *name)
{
    const char *type = servable(name);
    const char *dir = rq->app->cfg.dashboard_dir;
    char *body = !type ? NULL : dir && dir[0] ? read_from(dir, name) : embedded(name);
    if (!body) {
        api_error(rs, 404, "NOT_FOUND", "No such dashboard file");
        return;
    }
    api_text(rs, 200, type, body);
    rs->page = 1;
}

void h_ui_index(api_req *rq, api_resp *rs)
{
    serve(rq, rs, "index.html");
}

void h_ui_asset(api_req *rq, api_resp *rs)
{
    serve(rq, rs, rq->params[0]);
}
