/* openapi_doc.h: docs/openapi.json, embedded at build time (broker/api/embed_file.cmake) so
 * GET /api/volt/openapi.json serves the repository's document byte for byte. */
#ifndef GB_OPENAPI_DOC_H
#define GB_OPENAPI_DOC_H

#include <stddef.h>

/* the document's bytes, followed by one NUL that is not part of it */
extern const unsigned char api_openapi_doc[];
/* its length without that NUL */
extern const size_t api_openapi_doc_len;

#endif
