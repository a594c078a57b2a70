/* placement.h: placement by live price ("provider":"auto" and GET /api/volt/offers). */
#ifndef GB_PLACEMENT_H
#define GB_PLACEMENT_H

#include <cjson/cJSON.h>

#include "broker/placement/rank.h"

/* Reads the placement fields of a POST /api/volt/pods body (gpu_type, max_price_per_hour,
 * min_vram_gb, confidential, tier, providers, exclude_providers, location) into f. -1 with
 * err naming the field. */
int placement_filter_from_body(const cJSON *body, int gpu_count, rank_filter *f, char *err);

#endif
