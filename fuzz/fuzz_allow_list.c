/* fuzz_allow_list.c: the webhook SSRF guard and its allow-list (webhooks.allow_cidrs, a comma
 * list of CIDRs from the config): the input is split at its first NUL into an address and a
 * list. A blocked address (loopback, private, ...) must stay blocked under an empty list. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "webhooks/outbox.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 2);
    if (!s) return 0;
    memcpy(s, data, size);
    s[size] = '\0';
    s[size + 1] = '\0';
    const char *ip = s;
    const char *list = s + strlen(s) + 1; /* "" when there was no NUL */
    (void)wh_address_allowed(ip, list);
    (void)wh_address_allowed(list, ip);
    (void)wh_address_allowed(ip, NULL);
    (void)wh_address_allowed(list, list);
    if (wh_address_allowed("127.0.0.1", "") || wh_address_allowed("::1", ",, ,")) abort();
    free(s);
    return 0;
}
