/* sshkey.h: validation of OpenSSH public key lines and their SHA256 fingerprints, exactly as
 * `ssh-keygen -lf` prints them. */
#ifndef GB_SSHKEY_H
#define GB_SSHKEY_H

#include <stddef.h>

#include "common/gb.h"

#define SSHKEY_FP_MAX 64             /* "SHA256:" + 43 base64 chars + NUL fits */
#define SSHKEY_ERR_MAX GB_ERRMSG_MAX /* the size of err (common/gb.h) */

/* Parses "TYPE BASE64 [comment]" (ssh-ed25519, ssh-rsa with >= 2048-bit modulus,
 * ecdsa-sha2-nistp256/384/521), checking that the decoded blob is well formed and names the
 * same type. On success writes the type (e.g. "ssh-ed25519") and "SHA256:..." fingerprint.
 * GB_ERR_INVALID with a message for people otherwise. Input is at most 16 KiB. */
gb_err sshkey_parse(const char *line, char type_out[32], char fp_out[SSHKEY_FP_MAX], gb_errmsg err);

#endif
