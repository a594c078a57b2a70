/* outbox_int.h: what outbox_store.c shares with outbox_record.c (not for other modules). */
#ifndef GB_WEBHOOKS_OUTBOX_INT_H
#define GB_WEBHOOKS_OUTBOX_INT_H

#include "common/dbq.h"
#include "webhooks/outbox.h"

/* The claim of due messages: ?1 owner, ?2 now (ms), ?3 lease (ms), ?4 at most; EXCEPT is SQL
 * appended to the candidates' conditions ("" for none). It returns id, account_id,
 * endpoint_id ('' for none), url, payload, attempts, lease_token, as wh_claimed_add reads. */
#define WH_CLAIM_SQL(EXCEPT)                                                                       \
    "UPDATE wh_messages SET lease_owner = ?1, lease_until = ?2 + CAST(?3 AS BIGINT),"              \
    " lease_token = lease_token + 1 WHERE id IN"                                                   \
    " (SELECT m.id FROM wh_messages m WHERE m.status = 'pending'"                                  \
    "  AND m.next_attempt_at <= ?2 AND m.lease_until <= ?2" EXCEPT " AND (m.endpoint_id IS NULL"   \
    "  OR EXISTS (SELECT 1 FROM wh_endpoints p WHERE p.id = m.endpoint_id"                         \
    "  AND p.enabled = 1)) ORDER BY m.next_attempt_at, m.id LIMIT ?4"                              \
    "  FOR UPDATE SKIP LOCKED)"                                                                    \
    " RETURNING id, account_id, coalesce(endpoint_id, '') AS endpoint_id, url, payload,"           \
    " attempts, lease_token"

/* Appends the claimed message in s's current row, its columns from first on (as WH_CLAIM_SQL
 * returns them), to *out (*n of them). GB_ERR_NOMEM leaves what was appended before. */
gb_err wh_claimed_add(gb_q *s, int first, wh_claimed **out, size_t *n);

#endif
