/* fuzz_routes.c: the route matcher on request lines as clients send them: the input is split
 * at its first NUL into a method and a path (the path is matched in place, as the server
 * does). A match must name a route of the table with its parameters inside the path. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "broker/api/routes.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 2);
    if (!s) return 0;
    memcpy(s, data, size);
    s[size] = '\0';
    s[size + 1] = '\0';
    const char *method = s;
    char *path = s + strlen(s) + 1;
    size_t plen = strlen(path);
    api_req rq;
    memset(&rq, 0, sizeof(rq));
    char allow[64];
    int n = 0;
    const route *t = routes_table(&n);
    int i = routes_match(method, path, &rq, allow, sizeof(allow));
    if (i >= n || i < -2) abort();
    if (i >= 0) {
        if (strcmp(t[i].method, method) != 0) abort();
        if (rq.nparams < 0 || rq.nparams > API_MAX_PARAMS) abort();
        for (int k = 0; k < rq.nparams; k++)
            if (rq.params[k] < path || rq.params[k] > path + plen) abort();
    }
    free(s);
    return 0;
}
