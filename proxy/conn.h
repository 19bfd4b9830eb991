/*
 * proxy/conn.h - one redirected client connection, as a state machine.
 *
 *   PEEKING --decided allow--> CONNECTING --connected--> RELAYING
 *      |                           |                        |
 *      +--deny-------------------> CLOSED <--failed---------+--both done
 *
 * Every path ends in conn_close(), which writes the connection's final
 * audit event (deny, error or end) exactly once.
 */
#ifndef EGRESS_CONN_H
#define EGRESS_CONN_H

#include <stdint.h>
#include <sys/socket.h>
#include <time.h>

struct listen_addr;
struct worker;

/*
 * Descriptors one relayed connection holds: its two sockets.  Pipes are
 * held only while bytes are in flight and are budgeted per worker
 * (proxy/pipe_pool.h).
 */
#define CONN_FDS	2

/* Takes <fd>, a freshly accepted client socket. */
/* <la>: the listener it came through (a TPROXY one, or not). */
void	conn_accept(struct worker *w, int fd, const struct sockaddr *peer,
	    socklen_t peerlen, const struct listen_addr *la);
/* Closes connections idle since before <idle_before> (monotonic s). */
void	conn_sweep(struct worker *w, time_t idle_before);
/*
 * Moves every connection of <w> to the current policy snapshot; those it
 * no longer allows end with reason "revoked".
 */
void	conn_revalidate_all(struct worker *w);
/* Closes every connection of <w> (end of a drain). */
void	conn_close_all(struct worker *w);
/* Monotonic seconds, the clock of conn_sweep(). */
time_t	conn_now(void);

#endif /* EGRESS_CONN_H */
