/* ui_assets.h: the dashboard's files (dashboard/ in the repository), embedded at build time by
 * broker/api/embed_dir.cmake and served by broker/api/api_ui.c. */
#ifndef GB_UI_ASSETS_H
#define GB_UI_ASSETS_H

#include <stddef.h>

typedef struct {
    const char *name;          /* "index.html" (one level, no '/') */
    const char *type;          /* its Content-Type */
    const unsigned char *data; /* its bytes, followed by one NUL that is not part of them */
    size_t len;
} ui_asset;

/* ui_assets_count entries, then one of NULLs */
extern const ui_asset ui_assets[];
extern const size_t ui_assets_count;

#endif
