/* gb.c: the descriptions and default API answers of the project-wide error codes, as data
 * from the one list GB_ERRORS in gb.h. */
#include "common/gb.h"

static const struct {
    const char *text;
    gb_err_http http;
} ERRORS[] = {
#define GB_ERR_ROW_(id, text, status, code, message) [id] = {text, {status, code, message}},
    GB_ERRORS(GB_ERR_ROW_)
#undef GB_ERR_ROW_
};

static int valid(gb_err e)
{
    return (int)e >= 0 && (size_t)e < GB_ARRAY_LEN(ERRORS);
}

const char *gb_strerror(gb_err e)
{
    return valid(e) ? ERRORS[e].text : "unknown error";
}

const gb_err_http *gb_err_to_http(gb_err e)
{
    return &ERRORS[valid(e) ? e : GB_ERR_INTERNAL].http;
}
