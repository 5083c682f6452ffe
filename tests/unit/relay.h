/*
 * relay.h - a TCP relay for fault injection: it sits between two nodes
 * on loopback and, connection by connection, forwards faithfully or
 * misbehaves the way networks do.
 */
#ifndef SAMLOG_RELAY_H
#define SAMLOG_RELAY_H

#include <sys/types.h>

enum {
	RELAY_CUT = 1 << 0,   /* close (FIN or RST) after a random byte count */
	RELAY_DELAY = 1 << 1, /* hold each chunk 0-20 ms */
	RELAY_SPLIT = 1 << 2, /* pass chunks on in small random pieces */
	RELAY_DROP = 1 << 3,  /* swallow one chunk mid-stream, then cut */
	RELAY_STALL = 1 << 4, /* go silent, keeping the sockets open */
};

struct relay {
	pid_t pid;          /* the listener; it leads its process group */
	char addr[64];      /* 127.0.0.1:PORT to dial */
	char stats[600];    /* one line per connection: its fate */
};

/* Starts a relay to target ("127.0.0.1:PORT") misbehaving as flags say,
 * its dice seeded with seed; stats is a file path it may create.  0 or -1. */
int relay_start(struct relay *r, const char *target, unsigned flags,
    unsigned seed, const char *stats);
/* From now on new connections are forwarded faithfully. */
void relay_calm(struct relay *r);
/* A partition: cuts every connection the relay holds and, until
 * relay_up, closes each new one at once. */
void relay_down(struct relay *r);
void relay_up(struct relay *r);
/* Stops the relay and every connection it holds. */
void relay_stop(struct relay *r);
/* Connections the relay broke on purpose so far (cut, dropped, stalled). */
int relay_broken(const struct relay *r);

#endif
