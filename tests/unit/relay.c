/*
 * relay.c - a misbehaving TCP relay for the fault tests (relay.h).
 *
 * The listener is a child process leading its own process group; each
 * accepted connection is handled by a child of its own with blocking
 * I/O, so one connection's stall never holds up another.  Every handler
 * draws its connection's fate from the seeded dice when it starts and
 * appends one line saying what it did to the stats file.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "relay.h"

static volatile sig_atomic_t calm, down;

static void
on_signal(int sig)
{
	if (sig == SIGUSR1)
		calm = 1;
	else if (sig == SIGUSR2)
		down = 1;
	else if (sig == SIGHUP)
		down = 0;
}

static int
dial(const char *target)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	const char *colon = strrchr(target, ':');
	char host[64];
	int fd;

	if (colon == NULL || (size_t)(colon - target) >= sizeof host)
		return -1;
	snprintf(host, sizeof host, "%.*s", (int)(colon - target), target);
	sa.sin_port = htons((uint16_t)atoi(colon + 1));
	if (inet_pton(AF_INET, host, &sa.sin_addr) != 1 ||
	    (fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static int
write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Closes with a reset instead of an orderly FIN. */
static void
reset(int fd)
{
	struct linger l = { 1, 0 };

	setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
	close(fd);
}

static void
note(const char *stats, const char *what, unsigned long long bytes)
{
	FILE *f = fopen(stats, "a");

	if (f != NULL) {
		fprintf(f, "%s %llu\n", what, bytes);
		fclose(f);
	}
}

/* One connection, a to the dialer and b to the target, until either
 * side closes or its fate comes. */
static void
handle(int a, const char *target, unsigned flags, unsigned seed,
    const char *stats)
{
	int b = dial(target);
	unsigned long long moved = 0, limit = ~0ull;
	int fate = 0; /* 0 faithful, else one of the RELAY_ bits */
	bool rst;
	char buf[16384];

	if (b < 0) {
		close(a);
		note(stats, "nodial", 0);
		_exit(0);
	}
	srandom(seed);
	rst = random() % 2;
	if (!calm) {
		unsigned pick[5], n = 0;

		for (unsigned bit = RELAY_CUT; bit <= RELAY_STALL; bit <<= 1)
			if ((flags & bit) && (bit & (RELAY_CUT | RELAY_DROP |
			    RELAY_STALL)))
				pick[n++] = bit;
		/* Every connection breaks sooner or later; each still
		 * carries something, and sync resumes where the last left
		 * off, so the nodes get there. */
		if (n > 0) {
			fate = (int)pick[random() % n];
			/* Mostly after the handshake, sometimes inside it. */
			limit = random() % 10 == 0 ?
			    (unsigned long long)(random() % 4096) :
			    4096 + (unsigned long long)(random() % (400 << 10));
		}
	}
	struct pollfd p[2] = { { a, POLLIN, 0 }, { b, POLLIN, 0 } };

	for (;;) {
		if (down) {
			note(stats, "partition", moved);
			reset(a);
			reset(b);
			_exit(0);
		}
		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		int from = (p[0].revents & (POLLIN | POLLHUP | POLLERR)) ? 0 :
		    (p[1].revents & (POLLIN | POLLHUP | POLLERR)) ? 1 : -1;

		if (from < 0)
			continue;
		int src = from == 0 ? a : b, dst = from == 0 ? b : a;
		ssize_t got = read(src, buf, sizeof buf);

		if (got <= 0)
			break;
		if (fate != 0 && moved + (unsigned long long)got >= limit) {
			if (fate == RELAY_DROP) {
				/* This chunk vanishes; the next goes on, so
				 * the receiver sees a hole in the stream. */
				note(stats, "drop", moved);
				fate = RELAY_CUT;
				limit = moved + (unsigned long long)got +
				    (unsigned long long)(random() % 65536);
				moved += (unsigned long long)got;
				continue;
			}
			if (fate == RELAY_STALL) {
				/* Silence: read and swallow for a while with
				 * both sockets open, then cut. */
				note(stats, "stall", moved);
				sleep(3);
			} else {
				note(stats, rst ? "cut-rst" : "cut-fin", moved);
			}
			if (rst) {
				reset(a);
				reset(b);
			} else {
				close(a);
				close(b);
			}
			_exit(0);
		}
		if (flags & RELAY_DELAY && !calm)
			usleep((useconds_t)(random() % 20000));
		size_t off = 0;

		while (off < (size_t)got) {
			size_t n = (size_t)got - off;

			if (flags & RELAY_SPLIT && !calm && n > 1)
				n = 1 + (size_t)random() % (n < 700 ? n : 700);
			if (write_all(dst, buf + off, n) != 0)
				goto done;
			off += n;
		}
		moved += (unsigned long long)got;
	}
done:
	note(stats, "closed", moved);
	close(a);
	close(b);
	_exit(0);
}

static void
listener(int lfd, const char *target, unsigned flags, unsigned seed,
    const char *stats)
{
	/* No SA_RESTART: a signal must wake a handler blocked in poll. */
	struct sigaction sa = { .sa_handler = on_signal };

	sigaction(SIGUSR1, &sa, NULL);
	sigaction(SIGUSR2, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGCHLD, SIG_IGN); /* handlers are reaped by the kernel */
	for (unsigned k = 0;; k++) {
		int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);

		if (fd < 0) {
			if (errno == EINTR)
				continue;
			_exit(1);
		}
		if (down) {
			reset(fd);
			continue;
		}
		pid_t pid = fork();

		if (pid == 0) {
			close(lfd);
			handle(fd, target, flags, seed * 7919u + k, stats);
		}
		close(fd);
	}
}

int
relay_start(struct relay *r, const char *target, unsigned flags,
    unsigned seed, const char *stats)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t len = sizeof sa;
	int lfd;

	memset(r, 0, sizeof *r);
	snprintf(r->stats, sizeof r->stats, "%s", stats);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		return -1;
	if (bind(lfd, (struct sockaddr *)&sa, sizeof sa) != 0 ||
	    listen(lfd, 64) != 0 ||
	    getsockname(lfd, (struct sockaddr *)&sa, &len) != 0) {
		close(lfd);
		return -1;
	}
	snprintf(r->addr, sizeof r->addr, "127.0.0.1:%u",
	    (unsigned)ntohs(sa.sin_port));
	if ((r->pid = fork()) < 0) {
		close(lfd);
		return -1;
	}
	if (r->pid == 0) {
		setpgid(0, 0);
		listener(lfd, target, flags, seed, stats);
	}
	setpgid(r->pid, r->pid);
	close(lfd);
	return 0;
}

void
relay_calm(struct relay *r)
{
	if (r->pid > 0)
		kill(r->pid, SIGUSR1);
}

void
relay_down(struct relay *r)
{
	/* The whole group: the listener and every connection's handler. */
	if (r->pid > 0)
		kill(-r->pid, SIGUSR2);
}

void
relay_up(struct relay *r)
{
	if (r->pid > 0)
		kill(r->pid, SIGHUP);
}

void
relay_stop(struct relay *r)
{
	if (r->pid <= 0)
		return;
	kill(-r->pid, SIGKILL);
	waitpid(r->pid, NULL, 0);
	r->pid = 0;
}

int
relay_broken(const struct relay *r)
{
	FILE *f = fopen(r->stats, "r");
	char line[128];
	int n = 0;

	if (f == NULL)
		return 0;
	while (fgets(line, sizeof line, f) != NULL)
		n += strncmp(line, "cut", 3) == 0 ||
		    strncmp(line, "drop", 4) == 0 ||
		    strncmp(line, "stall", 5) == 0;
	fclose(f);
	return n;
}
