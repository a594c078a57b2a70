/* ready_store.h: whether the database takes writes now, seen through a connection of its
 * own (the daemon's open ones keep writing to a file made read-only after they opened it). */
#ifndef GB_READY_STORE_H
#define GB_READY_STORE_H

#include <stdbool.h>

/* True when a write in a rolled-back transaction succeeds (or waits on another writer);
 * *detail gets a static sentence saying what was found. path is the SQLite file (or
 * "sqlite:PATH"), or a PostgreSQL URL (postgresql://...: probed through a new connection). */
bool ready_store_probe_write(const char *path, const char **detail);

#endif
