/* fuzz_retry_after.c: what a provider (or a webhook receiver) sends in Retry-After: delta
 * seconds or an IMF-fixdate, through gb_http_retry_after_ms, and the RFC 3339 parser the date
 * form ends in (gb_time_parse). The result must be -1 or a wait >= 0. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/http_client.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    if (!s) return 0;
    memcpy(s, data, size);
    s[size] = '\0';
    static const int64_t nows[] = {0, 784111777000, INT64_C(1774692000000), INT64_MAX / 2};
    for (size_t i = 0; i < sizeof(nows) / sizeof(nows[0]); i++) {
        int64_t ms = gb_http_retry_after_ms(s, nows[i]);
        if (ms < -1) abort(); /* a negative wait would hasten a retry */
    }
    int64_t at = 0;
    if (gb_time_parse(s, &at) == 0) {
        char back[64];
        gb_time_format(at, back, sizeof(back));
    }
    free(s);
    return 0;
}
