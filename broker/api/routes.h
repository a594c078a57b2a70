/* routes.h: the route table: method, path pattern (":x" matches one segment), the scope a
 * key needs, and the handler. */
#ifndef GB_ROUTES_H
#define GB_ROUTES_H

#include "broker/api/api.h"

typedef struct {
    const char *method;
    const char *pattern;
    unsigned scope; /* required scope bit; 0 = any valid key */
    int public_;    /* 1: no API key needed */
    api_handler fn;
    const char *name;         /* "GET /api/volt/pods/:id", for metrics */
    const char *const *query; /* the query parameters it takes (NULL-ended); NULL: none */
} route;

const route *routes_table(int *n);
/* Finds the route for method+path, filling rq->params (pointing into pathbuf, which is
 * modified). Returns the route index, -1 if no pattern matches the path, -2 if a pattern
 * matches but not the method (then allow gets "GET, POST" style list). */
int routes_match(const char *method, char *pathbuf, api_req *rq, char *allow, size_t allow_n);
/* Route names for metrics, in table order. */
const char *const *routes_names(void);

#endif
