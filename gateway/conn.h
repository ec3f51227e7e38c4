/*
 * conn.h - one client connection, shared by its lifecycle (conn.c) and the
 * two ways of proxying it (http.c, tcp.c).
 *
 * conn.c owns accepting, the per-address and global limits, the handshake,
 * the identity decision, the timer and freeing.  Once the handshake is done
 * it hands the connection to its mode through a gw_mode_ops table; the mode
 * keeps its own state in c->mode and frees it in release().
 */
#ifndef MTK_GW_CONN_H
#define MTK_GW_CONN_H

#include "gw.h"

#include <netinet/in.h>

#include <event2/bufferevent.h>

typedef struct gw_mode_ops {
	/* the handshake is done and the client may pass: take over c->bev */
	void (*start)(gw_conn *c);
	/* c->timer fired */
	void (*timeout)(gw_conn *c);
	/* true when the connection is between requests (closed on drain) */
	bool (*idle)(const gw_conn *c);
	/* frees c->mode */
	void (*release)(gw_conn *c);
} gw_mode_ops;

extern const gw_mode_ops gw_http_ops, gw_tcp_ops;

struct gw_conn {
	gw_worker *w;
	gw_conn *prev, *next;
	gw_state *st;
	struct bufferevent *bev;
	struct event *timer;
	const gw_mode_ops *ops; /* NULL during the handshake */
	void *mode;
	char peer[64];        /* "ADDR:PORT" */
	char ip[64];          /* "ADDR" */
	struct sockaddr_storage peer_ss, local_ss;
	struct timespec t_accept;
	bool hs_timed_out;
	bool ip_counted;
	/* identity */
	const mtk_usermap_entry *ent; /* borrowed from st->map */
	gw_reason deny;               /* R__COUNT when allowed */
	char fp[65];                  /* lower-case hex SHA-256 of the leaf */
	gw_leaf_md leaf;              /* its digest; the SSL's verify step may fill it */
	char *subject;                /* RFC 2253, whole */
};

/* Frees the connection and everything it holds (mode state included). */
void gw_conn_free(gw_conn *c);
/* Re-arms the connection's timer. */
void gw_conn_arm(gw_conn *c, const struct timeval *tv);
/* Closes once what is queued for the client is written. */
void gw_conn_close_after_write(gw_conn *c);
/* peer, sha256, subject, user: the common fields of every log line. */
json_t *gw_conn_json(const gw_conn *c);
double gw_since(const struct timespec *t0);

#endif
