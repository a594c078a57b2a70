/* fuzz_sshkey.c: OpenSSH public key lines as users upload them: sshkey_parse (type, base64
 * blob, the blob's own structure, fingerprint) on the input as a NUL-terminated string. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vault/sshkey.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *line = malloc(size + 1);
    if (!line) return 0;
    memcpy(line, data, size);
    line[size] = '\0';
    char type[32], fp[SSHKEY_FP_MAX], err[SSHKEY_ERR_MAX];
    (void)sshkey_parse(line, type, fp, err);
    free(line);
    return 0;
}
