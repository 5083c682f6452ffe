/*
 * request.h - one request to samlogd over the control socket, and its
 * replies handed to an output backend.
 */
#ifndef SAMLOG_REQUEST_H
#define SAMLOG_REQUEST_H

#include "output.h"
#include "parser.h"
#include "samlog_proto.h"

/*
 * Sends r's command to the daemon of node directory dir and prints the
 * reply through out.  Returns the exit status: 0, 1 (the request failed;
 * one "samlog: ..." line is on stderr) or 2 (the daemon called it wrong
 * usage).
 */
/* Runs r, whose reply is RECORD frames {"data": bin}, and joins their
 * bytes into *out (reset first; the caller frees out->p): at most max
 * bytes, else (or on any other record) out->failed is set.  The exit
 * status request_run gives. */
int request_fetch(const char *dir, bool dir_named,
    const struct parse_result *r, size_t max, struct sl_buf *out);
/* Sends request_run's output to main (NULL: stdout) and, when tee is not
 * NULL, through tee to tf as well. */
void request_sinks(FILE *main, const struct output *tee, FILE *tf);
int request_run(const char *dir, bool dir_named, const struct parse_result *r,
    const struct output *out);

/* Every record of kind ("org", "contact"...), unfiltered, through out in
 * the given mode (OUT_ID: the ids only).  The exit status. */
int request_list(const char *dir, bool dir_named, const char *kind,
    enum out_mode mode, const struct output *out);

/*
 * Connects to the daemon's control socket ($SAMLOG_SOCKET, DIR's, or the
 * system service's when no directory was named and DIR has none); path
 * receives which.  The fd, or -1 with one "samlog: ..." line printed.
 */
int request_connect(const char *dir, bool dir_named, char *path, size_t plen);
/* From now on a request fails when samlogd has not answered (or taken
 * the request) within seconds (0: waits as long as it takes, the
 * default).  The web page sets it: one stuck request must not hold the
 * page for ever. */
void request_set_timeout(int seconds);
/* Whole reads and writes on the socket (replies are read buffered). */
bool read_full(int fd, void *buf, size_t n);
bool write_full(int fd, const void *buf, size_t n);

/* The maps of a reply, each kept with the bytes it points into. */
struct rset {
	msgpack_unpacked *v;
	char **buf;     /* the bytes v[i]'s strings point into */
	size_t n, cap;
	bool failed;
};

void rset_free(struct rset *s);

/* Runs q and keeps every map it answers in s (appended).  The exit
 * status request_run gives (its message printed). */
int request_collect_run(const char *dir, bool dir_named,
    const struct parse_result *q, struct rset *s);

/* The code (SL_OK, SL_EPERM, ...) of the result samlogd sent for the
 * last request made, or -1 if none came (no daemon, a broken reply): a
 * program that explains a refusal in its own words goes by the code,
 * not by the words of the message. */
int request_last_code(void);

/* The same for command name ("org list", "status"), with --as-of asof
 * when not NULL. */
int request_collect(const char *dir, bool dir_named, const char *name,
    const char *asof, struct rset *s);

#endif
