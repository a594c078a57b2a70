/* json_text.c: the text hygiene of a JSON request, checked on its raw bytes before it is
 * parsed (cJSON would silently cut a string at a NUL and keep invalid UTF-8): every string must
 * be UTF-8, hold no NUL (raw or \u0000) and no raw control character (RFC 8259 section 7), and
 * no object may name a field twice. Errors name the field. */
#include <stdio.h>
#include <string.h>

#include "common/json.h"
#include "common/utf8.h"

#define STACK_MAX 256
#define NAME_MAX_SHOWN 64

typedef struct {
    bool object;                  /* an object (else an array) */
    bool expect_key;              /* in an object, the next string is a field name */
    char key[NAME_MAX_SHOWN + 1]; /* the last field name seen at this level */
} level;

static int hex4(const char *p, const char *end)
{
    if (end - p < 4) return -1;
    int v = 0;
    for (int i = 0; i < 4; i++) {
        char c = p[i];
        int d = c >= '0' && c <= '9'   ? c - '0'
                : c >= 'a' && c <= 'f' ? c - 'a' + 10
                : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                       : -1;
        if (d < 0) return -1;
        v = v * 16 + d;
    }
    return v;
}

/* Scans the string starting after its opening quote at *pp; leaves *pp after the closing
 * quote. Returns NULL when it is clean, else what is wrong with it. name (if not NULL) gets the
 * string's text, cut to NAME_MAX_SHOWN bytes, for a field name. */
static const char *scan_string(const char **pp, const char *end, char *name)
{
    const unsigned char *p = (const unsigned char *)*pp, *e = (const unsigned char *)end;
    size_t nl = 0;
    const char *why = NULL;
    while (p < e && *p != '"') {
        uint32_t cp = 0;
        size_t l = 1;
        if (*p == '\\' && p + 1 < e) {
            if (p[1] == 'u') {
                int v = hex4((const char *)p + 2, end);
                if (v == 0 && !why) why = "contains a NUL character (\\u0000)";
                l = 6;
            } else {
                l = 2;
            }
        } else if (*p < 0x20) {
            if (!why) why = *p ? "contains a raw control character" : "contains a NUL byte";
        } else if (*p >= 0x80) {
            l = gb_utf8_next(p, (size_t)(e - p), &cp);
            if (l == 0) {
                if (!why) why = "is not valid UTF-8";
                l = 1;
            }
        }
        if (name && nl + l <= NAME_MAX_SHOWN && *p != '\\') {
            memcpy(name + nl, p, l);
            nl += l;
        }
        p += l;
    }
    if (name) name[nl] = '\0';
    *pp = (const char *)(p < e ? p + 1 : e);
    return why;
}

gb_err gb_json_text_ok(const char *text, size_t len, gb_errmsg err)
{
    level st[STACK_MAX];
    int depth = -1;
    const char *p = text, *end = text + len;
    while (p < end) {
        char c = *p;
        if (c == '"') {
            p++;
            level *lv = depth >= 0 ? &st[depth] : NULL;
            bool is_key = lv && lv->object && lv->expect_key;
            char name[NAME_MAX_SHOWN + 1];
            const char *why = scan_string(&p, end, is_key ? name : NULL);
            if (why) {
                if (is_key)
                    snprintf(err, GB_ERRMSG_MAX, "a field name %s", why);
                else if (lv && lv->key[0])
                    snprintf(err, GB_ERRMSG_MAX, "field '%s' %s", lv->key, why);
                else
                    snprintf(err, GB_ERRMSG_MAX, "a string value %s", why);
                return GB_ERR_INVALID;
            }
            if (is_key) {
                memcpy(lv->key, name, sizeof(lv->key));
                lv->expect_key = false;
            }
            continue;
        }
        if (c == '{' || c == '[') {
            if (depth + 1 >= STACK_MAX) {
                snprintf(err, GB_ERRMSG_MAX, "JSON nesting is too deep");
                return GB_ERR_LIMIT;
            }
            level *parent = depth >= 0 ? &st[depth] : NULL;
            st[++depth] = (level){.object = c == '{', .expect_key = c == '{'};
            /* an array's strings are named by the field that holds the array */
            if (c == '[' && parent) memcpy(st[depth].key, parent->key, sizeof(st[depth].key));
        } else if ((c == '}' || c == ']') && depth >= 0) {
            depth--;
        } else if (c == ',' && depth >= 0 && st[depth].object) {
            st[depth].expect_key = true;
        }
        p++;
    }
    return GB_OK;
}

/* Depth-first: the first object that names a field twice. */
static const char *duplicate_in(const cJSON *j)
{
    for (const cJSON *a = j ? j->child : NULL; a; a = a->next) {
        if (cJSON_IsObject(j) && a->string)
            for (const cJSON *b = a->next; b; b = b->next)
                if (b->string && strcmp(a->string, b->string) == 0) return a->string;
        const char *d = duplicate_in(a);
        if (d) return d;
    }
    return NULL;
}

gb_err gb_json_no_duplicates(const cJSON *j, gb_errmsg err)
{
    const char *d = duplicate_in(j);
    if (!d) return GB_OK;
    snprintf(err, GB_ERRMSG_MAX, "field '%.64s' appears twice", d);
    return GB_ERR_INVALID;
}
