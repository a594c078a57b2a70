/* test_wire_util.h: what the wire contract tests share: loading a fixture written from a
 * platform's public source (tests/fixtures/wire/<platform>/<file>), and checking that a body
 * an adapter built fits the fixture's shape. Header-only (static inline, prefixed wire_). */
#ifndef GB_TEST_WIRE_UTIL_H
#define GB_TEST_WIRE_UTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cjson/cJSON.h>
#include <cmocka.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The fixture's text (caller frees), or NULL when it cannot be read. GB_SOURCE_DIR (set by
 * ctest) locates the source tree. */
static inline char *wire_read(const char *platform, const char *file)
{
    const char *src = getenv("GB_SOURCE_DIR");
    char path[1024];
    snprintf(path, sizeof(path), "%s/tests/fixtures/wire/%s/%s", src ? src : ".", platform, file);
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    char *buf = NULL;
    long n = -1;
    if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0 &&
        (buf = malloc((size_t)n + 1)) != NULL) {
        if (fread(buf, 1, (size_t)n, f) != (size_t)n) {
            free(buf);
            buf = NULL;
        } else {
            buf[n] = '\0';
        }
    }
    fclose(f);
    return buf;
}

/* The fixture parsed (caller deletes), or NULL. */
static inline cJSON *wire_json(const char *platform, const char *file)
{
    char *t = wire_read(platform, file);
    cJSON *j = t ? cJSON_Parse(t) : NULL;
    free(t);
    return j;
}

/* The fixture's text, or the test fails (caller frees). */
static inline char *wire_text_must(const char *platform, const char *file)
{
    char *t = wire_read(platform, file);
    if (!t) fail_msg("fixture %s/%s missing (GB_SOURCE_DIR?)", platform, file);
    return t;
}

/* The fixture parsed, or the test fails (caller deletes). */
static inline cJSON *wire_json_must(const char *platform, const char *file)
{
    cJSON *j = wire_json(platform, file);
    if (!j) fail_msg("fixture %s/%s missing or not JSON (GB_SOURCE_DIR?)", platform, file);
    return j;
}

/* The fixture as compact JSON text, e.g. to serve from a scripted server (caller frees). */
static inline char *wire_compact_must(const char *platform, const char *file)
{
    cJSON *j = wire_json_must(platform, file);
    char *t = cJSON_PrintUnformatted(j);
    cJSON_Delete(j);
    if (!t) fail_msg("out of memory");
    return t;
}

/* The JSON body of a recorded HTTP request (what follows the blank line), or NULL. */
static inline cJSON *wire_request_json(const char *request)
{
    const char *b = request ? strstr(request, "\r\n\r\n") : NULL;
    return b ? cJSON_Parse(b + 4) : NULL;
}

static inline bool wire_shape_fits(const cJSON *produced, const cJSON *fixture, char *why,
                                   size_t n);

/* Fails the test unless produced (non-NULL) fits the fixture's shape, naming the misfit. */
static inline void wire_expect_fits(const cJSON *produced, const char *platform, const char *file)
{
    char why[512];
    if (!produced) fail_msg("%s/%s: nothing was sent to compare", platform, file);
    cJSON *want = wire_json_must(platform, file);
    bool ok = wire_shape_fits(produced, want, why, sizeof(why));
    cJSON_Delete(want);
    if (!ok) fail_msg("%s/%s: %s", platform, file, why);
}

static inline const char *wire_type(const cJSON *j)
{
    if (cJSON_IsString(j)) return "string";
    if (cJSON_IsNumber(j)) return "number";
    if (cJSON_IsBool(j)) return "boolean";
    if (cJSON_IsObject(j)) return "object";
    if (cJSON_IsArray(j)) return "array";
    if (cJSON_IsNull(j)) return "null";
    return "?";
}

/* Copies msg into why (n bytes), cut to fit. */
static inline void wire_why(char *why, size_t n, const char *msg)
{
    size_t l = strlen(msg);
    if (l >= n) l = n - 1;
    memcpy(why, msg, l);
    why[l] = '\0';
}

static inline bool wire_fits_at(const cJSON *p, const cJSON *f, const char *at, char *why, size_t n)
{
    if (cJSON_IsNull(f)) return true; /* the source allows any value here */
    if (strcmp(wire_type(p), wire_type(f)) != 0) {
        char m[700];
        snprintf(m, sizeof(m), "%s: sent %s, the source has %s", at[0] ? at : "(body)",
                 wire_type(p), wire_type(f));
        wire_why(why, n, m);
        return false;
    }
    char sub[512], msg[700];
    if (cJSON_IsObject(f)) {
        /* the source's required keys at this level, as "$required": [...] */
        const cJSON *req = cJSON_GetObjectItemCaseSensitive(f, "$required");
        const cJSON *r;
        cJSON_ArrayForEach(r, req)
        {
            if (cJSON_IsString(r) && !cJSON_GetObjectItemCaseSensitive(p, r->valuestring)) {
                snprintf(msg, sizeof(msg), "%.300s%s%.300s: required by the source, not sent", at,
                         at[0] ? "." : "", r->valuestring);
                wire_why(why, n, msg);
                return false;
            }
        }
        const cJSON *k;
        cJSON_ArrayForEach(k, p)
        {
            snprintf(sub, sizeof(sub), "%s%s%s", at, at[0] ? "." : "", k->string);
            const cJSON *fk = cJSON_GetObjectItemCaseSensitive(f, k->string);
            if (!fk || k->string[0] == '$') {
                snprintf(msg, sizeof(msg), "%s: sent, but the source has no such field", sub);
                wire_why(why, n, msg);
                return false;
            }
            if (!wire_fits_at(k, fk, sub, why, n)) return false;
        }
    } else if (cJSON_IsArray(f) && cJSON_GetArraySize(f) > 0) {
        const cJSON *fe = cJSON_GetArrayItem(f, 0);
        const cJSON *e;
        int i = 0;
        cJSON_ArrayForEach(e, p)
        {
            snprintf(sub, sizeof(sub), "%s[%d]", at, i++);
            if (!wire_fits_at(e, fe, sub, why, n)) return false;
        }
    }
    return true;
}

/* True when produced fits the fixture: every key sent exists in the fixture with the same
 * JSON type (recursively; an array's items are checked against the fixture's first item; a
 * null in the fixture allows anything), and every key the fixture lists in "$required" at
 * that level is sent. why gets the first misfit. */
static inline bool wire_shape_fits(const cJSON *produced, const cJSON *fixture, char *why, size_t n)
{
    if (why && n) why[0] = '\0';
    char scratch[8];
    return wire_fits_at(produced, fixture, "", why ? why : scratch, why ? n : sizeof(scratch));
}

#endif
