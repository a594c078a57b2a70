/* api_openapi.c: GET /api/volt/openapi.json, the OpenAPI 3.1 document of the whole API
 * (docs/openapi.json, embedded at build time), served without a key. */
#include <stdlib.h>
#include <string.h>

#include "broker/api/handlers.h"
#include "broker/api/openapi_doc.h"
#include "common/gb.h"

void h_openapi(api_req *rq, api_resp *rs)
{
    GB_UNUSED(rq);
    char *copy = malloc(api_openapi_doc_len + 1);
    if (!copy) {
        api_error(rs, 500, "INTERNAL_ERROR", "Internal server error");
        return;
    }
    memcpy(copy, api_openapi_doc, api_openapi_doc_len + 1);
    api_text(rs, 200, "application/json", copy);
}
