/* json.h: bounded JSON parsing and field access over cJSON, with error messages that name
 * the offending field, plus writers for the project's money and time formats. */
#ifndef GB_JSON_H
#define GB_JSON_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/gb.h"
#include "common/money.h"

/* The size of every err buffer below: the project's one error-message size (common/gb.h). */
#define GB_JSON_ERR_MAX GB_ERRMSG_MAX

/* Parses len bytes. GB_ERR_LIMIT when nesting is deeper than max_depth; GB_ERR_INVALID on
 * malformed JSON, on text gb_json_text_ok refuses (NUL, invalid UTF-8, raw control
 * characters in strings) and on a field named twice in one object. err (a gb_errmsg) gets a
 * message naming the field. Caller frees *out. */
gb_err gb_json_parse(const char *text, size_t len, int max_depth, cJSON **out, gb_errmsg err);

/* The text hygiene gb_json_parse applies (json_text.c): every string UTF-8, with no NUL (raw
 * or \u0000) and no raw control character; GB_ERR_INVALID naming the field otherwise. */
gb_err gb_json_text_ok(const char *text, size_t len, gb_errmsg err);
/* GB_ERR_INVALID ("field 'x' appears twice") when any object in j names a field twice. */
gb_err gb_json_no_duplicates(const cJSON *j, gb_errmsg err);

/* Field readers. absent + !required -> GB_ERR_NOT_FOUND (out untouched), null counts as absent;
 * absent + required -> GB_ERR_INVALID "field 'x' is required"; wrong type or out of bounds ->
 * GB_ERR_INVALID with a message naming the field. Returned strings point into obj. */
gb_err gb_json_str(const cJSON *obj, const char *key, size_t min_len, size_t max_len, bool required,
                   const char **out, gb_errmsg err);
gb_err gb_json_int(const cJSON *obj, const char *key, int64_t min, int64_t max, bool required,
                   int64_t *out, gb_errmsg err);
gb_err gb_json_bool(const cJSON *obj, const char *key, bool required, bool *out, gb_errmsg err);
gb_err gb_json_money(const cJSON *obj, const char *key, gb_money min, gb_money max, bool required,
                     gb_money *out, gb_errmsg err);
/* An array (or absent); checks the length bound. */
gb_err gb_json_array(const cJSON *obj, const char *key, size_t max_items, bool required,
                     const cJSON **out, gb_errmsg err);
/* Rejects keys of obj not in the NULL-terminated list: "unknown field 'x'". */
gb_err gb_json_only_keys(const cJSON *obj, const char *const *allowed, gb_errmsg err);

/* Lenient getters for reading other services' answers (no error message): the value when the
 * key holds the right type, else NULL / dflt. gb_jpath follows a dotted path ("a.b.c")
 * through nested objects. Returned strings and items point into o. */
const char *gb_jstr(const cJSON *o, const char *key);
int64_t gb_jint(const cJSON *o, const char *key, int64_t dflt);
double gb_jnum(const cJSON *o, const char *key, double dflt);
const cJSON *gb_jpath(const cJSON *o, const char *dotted);

/* Writers; all return the added item or NULL on allocation failure. */
cJSON *gb_json_add_money(cJSON *obj, const char *key, gb_money m); /* 2.49 as a JSON number */
cJSON *gb_json_add_time(cJSON *obj, const char *key, int64_t ms);  /* RFC 3339, null if 0 */
cJSON *gb_json_add_str_or_null(cJSON *obj, const char *key, const char *s);
/* Unformatted print; caller frees with free(). */
char *gb_json_print(const cJSON *item);

#endif
