/* Whether the explorer reads from a hot standby (EXPLORER_DATABASE_URL may
 * name a streaming replica), and how far behind it is: now() minus the commit
 * time of the last transaction it replayed. */
#ifndef IW_EXPLORER_REPLICA_H
#define IW_EXPLORER_REPLICA_H

#include <stddef.h>
#include <libpq-fe.h>

/* Fills OUT with a short note ("replica, 1.2 s behind") when CONN is a
 * standby, else an empty string. CONN holds an open transaction. */
void iw_replica_note(PGconn *conn, char *out, size_t n);
#endif
