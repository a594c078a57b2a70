/* json.c: bounded JSON parsing, validated field access, money/time writers. */
#include "common/json.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/str.h"

#define SETERR(...)                                                                                \
    do {                                                                                           \
        if (err) gb_snprintf_words(err, GB_JSON_ERR_MAX, __VA_ARGS__);                             \
    } while (0)

static int depth_ok(const char *t, size_t len, int max_depth)
{
    int depth = 0, in_str = 0;
    for (size_t i = 0; i < len; i++) {
        char c = t[i];
        if (in_str) {
            if (c == '\\')
                i++;
            else if (c == '"')
                in_str = 0;
        } else if (c == '"') {
            in_str = 1;
        } else if (c == '{' || c == '[') {
            if (++depth > max_depth) return 0;
        } else if (c == '}' || c == ']') {
            depth--;
        }
    }
    return 1;
}

gb_err gb_json_parse(const char *text, size_t len, int max_depth, cJSON **out, gb_errmsg err)
{
    *out = NULL;
    if (!text || len == 0) {
        SETERR("request body is empty; expected a JSON object");
        return GB_ERR_INVALID;
    }
    if (!depth_ok(text, len, max_depth)) {
        SETERR("JSON nesting is deeper than %d levels", max_depth);
        return GB_ERR_LIMIT;
    }
    gb_errmsg why = "";
    gb_err te = gb_json_text_ok(text, len, why);
    if (te) {
        SETERR("%s", why);
        return te;
    }
    const char *end = NULL;
    cJSON *j = cJSON_ParseWithLengthOpts(text, len, &end, 0);
    if (!j) {
        size_t off = end && end >= text ? (size_t)(end - text) : 0;
        SETERR("malformed JSON near byte %zu", off);
        return GB_ERR_INVALID;
    }
    /* Only whitespace may follow the value. */
    for (const char *p = end; p && p < text + len; p++) {
        if (*p != ' ' && *p != '\n' && *p != '\r' && *p != '\t' && *p != '\0') {
            cJSON_Delete(j);
            SETERR("unexpected data after the JSON value at byte %zu", (size_t)(p - text));
            return GB_ERR_INVALID;
        }
    }
    if ((te = gb_json_no_duplicates(j, why))) {
        cJSON_Delete(j);
        SETERR("%s", why);
        return te;
    }
    *out = j;
    return GB_OK;
}

static const cJSON *field(const cJSON *obj, const char *key)
{
    const cJSON *f = obj ? cJSON_GetObjectItemCaseSensitive(obj, key) : NULL;
    return (f && !cJSON_IsNull(f)) ? f : NULL;
}

static gb_err absent(const char *key, bool required, char *err)
{
    if (!required) return GB_ERR_NOT_FOUND;
    SETERR("field '%s' is required", key);
    return GB_ERR_INVALID;
}

gb_err gb_json_str(const cJSON *obj, const char *key, size_t min_len, size_t max_len, bool required,
                   const char **out, gb_errmsg err)
{
    const cJSON *f = field(obj, key);
    if (!f) return absent(key, required, err);
    if (!cJSON_IsString(f) || !f->valuestring) {
        SETERR("field '%s' must be a string", key);
        return GB_ERR_INVALID;
    }
    size_t n = strlen(f->valuestring);
    if (n < min_len) {
        SETERR(min_len == 1 ? "field '%s' must not be empty"
                            : "field '%s' is too short (at least %zu characters)",
               key, min_len);
        return GB_ERR_INVALID;
    }
    if (n > max_len) {
        SETERR("field '%s' is too long (at most %zu characters)", key, max_len);
        return GB_ERR_INVALID;
    }
    for (const unsigned char *p = (const unsigned char *)f->valuestring; *p; p++) {
        if (*p < 0x20 || *p == 0x7f) {
            SETERR("field '%s' contains a control character", key);
            return GB_ERR_INVALID;
        }
    }
    *out = f->valuestring;
    return GB_OK;
}

gb_err gb_json_int(const cJSON *obj, const char *key, int64_t min, int64_t max, bool required,
                   int64_t *out, gb_errmsg err)
{
    const cJSON *f = field(obj, key);
    if (!f) return absent(key, required, err);
    double d = f->valuedouble;
    if (!cJSON_IsNumber(f) || !isfinite(d) || d != floor(d)) {
        SETERR("field '%s' must be an integer", key);
        return GB_ERR_INVALID;
    }
    if (d < (double)min || d > (double)max) {
        SETERR("field '%s' must be between %lld and %lld", key, (long long)min, (long long)max);
        return GB_ERR_INVALID;
    }
    *out = (int64_t)d;
    return GB_OK;
}

gb_err gb_json_bool(const cJSON *obj, const char *key, bool required, bool *out, gb_errmsg err)
{
    const cJSON *f = field(obj, key);
    if (!f) return absent(key, required, err);
    if (!cJSON_IsBool(f)) {
        SETERR("field '%s' must be true or false", key);
        return GB_ERR_INVALID;
    }
    *out = cJSON_IsTrue(f);
    return GB_OK;
}

gb_err gb_json_money(const cJSON *obj, const char *key, gb_money min, gb_money max, bool required,
                     gb_money *out, gb_errmsg err)
{
    const cJSON *f = field(obj, key);
    if (!f) return absent(key, required, err);
    gb_money m;
    int bad = 1;
    if (cJSON_IsNumber(f))
        bad = gb_money_from_double(f->valuedouble, &m);
    else if (cJSON_IsString(f))
        bad = gb_money_parse(f->valuestring, &m);
    if (bad) {
        SETERR("field '%s' must be an amount in dollars", key);
        return GB_ERR_INVALID;
    }
    if (m < min || m > max) {
        char a[32], b[32];
        SETERR("field '%s' must be between %s and %s", key, gb_money_format(min, a, sizeof(a)),
               gb_money_format(max, b, sizeof(b)));
        return GB_ERR_INVALID;
    }
    *out = m;
    return GB_OK;
}

gb_err gb_json_array(const cJSON *obj, const char *key, size_t max_items, bool required,
                     const cJSON **out, gb_errmsg err)
{
    const cJSON *f = field(obj, key);
    if (!f) return absent(key, required, err);
    if (!cJSON_IsArray(f)) {
        SETERR("field '%s' must be an array", key);
        return GB_ERR_INVALID;
    }
    if ((size_t)cJSON_GetArraySize(f) > max_items) {
        SETERR("field '%s' has too many items (at most %zu)", key, max_items);
        return GB_ERR_INVALID;
    }
    *out = f;
    return GB_OK;
}

static int ident_like(const char *s)
{
    size_t n = 0;
    for (; s && s[n]; n++) {
        char c = s[n];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_'))
            return 0;
    }
    return n > 0 && n <= 24;
}

gb_err gb_json_only_keys(const cJSON *obj, const char *const *allowed, gb_errmsg err)
{
    if (!cJSON_IsObject(obj)) {
        SETERR("request body must be a JSON object");
        return GB_ERR_INVALID;
    }
    for (const cJSON *c = obj->child; c; c = c->next) {
        int ok = 0;
        for (const char *const *a = allowed; *a && !ok; a++)
            ok = c->string && !strcmp(*a, c->string);
        if (!ok) {
            /* Echo the name only when it looks like a field name: a value pasted in the
             * wrong place (a password, say) must not come back in the error. */
            gb_buf allowed_list = {0};
            for (const char *const *a = allowed; *a; a++)
                gb_buf_printf(&allowed_list, "%s%s", a == allowed ? "" : ", ", *a);
            if (ident_like(c->string))
                SETERR("unknown field '%s' (allowed: %s)", c->string,
                       allowed_list.data ? allowed_list.data : "none");
            else
                SETERR("unknown field (allowed: %s)",
                       allowed_list.data ? allowed_list.data : "none");
            gb_buf_free(&allowed_list);
            return GB_ERR_INVALID;
        }
    }
    return GB_OK;
}

cJSON *gb_json_add_money(cJSON *obj, const char *key, gb_money m)
{
    char buf[32];
    gb_money_format(m, buf, sizeof(buf));
    return cJSON_AddRawToObject(obj, key, buf);
}

cJSON *gb_json_add_time(cJSON *obj, const char *key, int64_t ms)
{
    if (ms == 0) return cJSON_AddNullToObject(obj, key);
    char buf[32];
    gb_time_format(ms, buf, sizeof(buf));
    return cJSON_AddStringToObject(obj, key, buf);
}

cJSON *gb_json_add_str_or_null(cJSON *obj, const char *key, const char *s)
{
    return s ? cJSON_AddStringToObject(obj, key, s) : cJSON_AddNullToObject(obj, key);
}

char *gb_json_print(const cJSON *item)
{
    return cJSON_PrintUnformatted(item);
}

/* ---- lenient getters ---- */

const char *gb_jstr(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsString(v) && v->valuestring ? v->valuestring : NULL;
}

double gb_jnum(const cJSON *o, const char *key, double dflt)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsNumber(v) && v->valuedouble == v->valuedouble ? v->valuedouble : dflt;
}

int64_t gb_jint(const cJSON *o, const char *key, int64_t dflt)
{
    double d = gb_jnum(o, key, (double)dflt);
    if (d >= 9.2e18 || d <= -9.2e18) return dflt; /* out of int64 range (NaN was refused) */
    return (int64_t)d;
}

const cJSON *gb_jpath(const cJSON *o, const char *dotted)
{
    char part[128];
    const char *p = dotted;
    while (o && p) {
        const char *dot = strchr(p, '.');
        size_t n = dot ? (size_t)(dot - p) : strlen(p);
        if (n == 0 || n >= sizeof(part) || !cJSON_IsObject(o)) return NULL;
        memcpy(part, p, n);
        part[n] = '\0';
        o = cJSON_GetObjectItemCaseSensitive(o, part);
        p = dot ? dot + 1 : NULL;
    }
    return o;
}
