/*
 * samlogd.c - the daemon's main: options, the node directory, the store,
 * and the libuv loop that everything else hangs off.
 *
 * This version owns the node's LMDB store and keeps it open, consistent
 * and verified while it runs; the control socket and peer connections are
 * added to the same loop.  Without --foreground it detaches, and the
 * parent exits only once the child is ready (or has failed, with the
 * child's one-line reason on the terminal), so `samlogd && samlog ...`
 * works in scripts.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <stddef.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <malloc.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>
#include <uv.h>

#include "cmd.h"
#include "config.h"
#include "control.h"
#include "log.h"
#include "project.h"
#include "store.h"
#include "sync.h"

/* Refusals remembered between two looks for fork proofs; more make the
 * next look read all of the evidence. */
#define FORK_QUEUE 16

struct daemon {
	char *dir;
	char *conf_path;
	struct config conf;
	struct sl_key key;
	struct store *store;
	struct project *proj;
	struct cmd_ctx *cmd;
	struct control *ctl;
	struct sync *sync;
	const char *listen_arg, *org_arg, *group_arg, *socket_arg;
	uint64_t skew_arg;      /* --max-skew in ms, 0 if not given */
	uint64_t ckpt_arg;      /* --checkpoint-interval in ms */
	bool ckpt_given;        /* ... given (0 is a value: never) */
	uv_loop_t loop;
	uv_signal_t sig_int, sig_term, sig_hup;
	uv_timer_t idle_timer, due_timer, ckpt_timer, fork_timer;
	/* Fork evidence that may want a proof (PROTOCOL.md 16): the
	 * (origin, seq) of each refusal since the last look, or all. */
	uint8_t fork_origin[FORK_QUEUE][SL_KEY_LEN];
	uint64_t fork_seq[FORK_QUEUE];
	size_t fork_n;
	bool fork_all;
	uint64_t ckpt_ms;       /* the interval the timer runs at */
	uint64_t last_requests, last_events;
	uint64_t renew_commits, renew_events; /* at the last store_renew */
	bool trimmed;
	bool signalled;         /* stopped by SIGINT or SIGTERM */
	int lock_fd;
};

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: samlogd [-d DIR] [--listen HOST:PORT] [--foreground]\n"
	    "               [--org NAME] [--group GROUP] [--socket PATH]\n"
	    "               [--max-skew DURATION] [--checkpoint-interval "
	    "DURATION]\n"
	    "\n"
	    "Runs the samlog node in DIR (default: $SAMLOG_DIR, else\n"
	    "$XDG_DATA_HOME/samlog, else ~/.local/share/samlog).\n"
	    "\n"
	    "  -d, --dir DIR     node directory made by 'samlog init'\n"
	    "  -l, --listen HOST:PORT  accept peers there (overrides 'listen'\n"
	    "                    in samlog.conf; port 0: any free port)\n"
	    "  -o, --org NAME    the organisation this node speaks for\n"
	    "                    (overrides 'org')\n"
	    "  -g, --group GROUP members of GROUP may use the control socket\n"
	    "                    (overrides 'group')\n"
	    "  -s, --socket PATH the control socket (overrides 'socket';\n"
	    "                    default DIR/samlogd.sock)\n"
	    "  -k, --max-skew DURATION  how far ahead a clock may be and still\n"
	    "                    change records at once (overrides 'max_skew';\n"
	    "                    default 10m)\n"
	    "  -c, --checkpoint-interval DURATION  how often, at most, to sign\n"
	    "                    a checkpoint of the tips held (overrides\n"
	    "                    'checkpoint_interval'; default 5m, 0: never)\n"
	    "  -f, --foreground  stay in the foreground, log to stderr\n"
	    "  -h, --help        show this help\n"
	    "  -V, --version     show the version\n");
}

/*
 * Tells systemd (Type=notify) how we are: the datagram protocol of
 * sd_notify(3), a few lines instead of a library.  Does nothing when not
 * started by systemd.
 */
static void
notify(const char *msg)
{
	const char *path = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	size_t n;
	int fd;

	if (path == NULL || (path[0] != '/' && path[0] != '@') ||
	    (n = strlen(path)) >= sizeof sa.sun_path)
		return;
	memcpy(sa.sun_path, path, n);
	if (path[0] == '@')
		sa.sun_path[0] = '\0';   /* abstract namespace */
	if ((fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) < 0)
		return;
	if (sendto(fd, msg, strlen(msg), MSG_NOSIGNAL, (struct sockaddr *)&sa,
	    (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n)) < 0)
		log_warn("cannot notify systemd: %s", strerror(errno));
	close(fd);
}

static char *
dir_file(const char *dir, const char *name)
{
	size_t n = strlen(dir) + strlen(name) + 2;
	char *p = malloc(n);

	if (p == NULL)
		fatal("out of memory");
	snprintf(p, n, "%s/%s", dir, name);
	return p;
}

/* Only one daemon per node: a second one would race the first for the
 * signing chain.  The lock dies with the process. */
static void
daemon_lock(struct daemon *d)
{
	char *path = dir_file(d->dir, "samlogd.lock");
	char pid[32];

	d->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (d->lock_fd < 0)
		fatal("cannot open %s: %s", path, strerror(errno));
	if (flock(d->lock_fd, LOCK_EX | LOCK_NB) != 0) {
		ssize_t n = read(d->lock_fd, pid, sizeof pid - 1);

		pid[n > 0 ? n : 0] = '\0';
		pid[strcspn(pid, "\n")] = '\0';
		fatal("another samlogd is already running on %s (pid %s)",
		    d->dir, pid[0] ? pid : "?");
	}
	snprintf(pid, sizeof pid, "%ld\n", (long)getpid());
	if (ftruncate(d->lock_fd, 0) != 0 ||
	    pwrite(d->lock_fd, pid, strlen(pid), 0) < 0)
		log_warn("cannot write the pid to %s: %s", path,
		    strerror(errno));
	free(path);
}

/* Command-line flags win over the file, at start and at every reload. */
static int
apply_flags(const struct daemon *d, struct config *c, char *err, size_t errlen)
{
	if (d->org_arg != NULL)
		snprintf(c->org, sizeof c->org, "%s", d->org_arg);
	if (d->group_arg != NULL)
		snprintf(c->group, sizeof c->group, "%s", d->group_arg);
	if (d->socket_arg != NULL)
		snprintf(c->socket, sizeof c->socket, "%s", d->socket_arg);
	if (d->listen_arg != NULL)
		snprintf(c->listen, sizeof c->listen, "%s", d->listen_arg);
	if (d->skew_arg != 0)
		c->max_skew_ms = d->skew_arg;
	if (d->ckpt_given)
		c->checkpoint_ms = d->ckpt_arg;
	if (c->group[0] != '\0' && getgrnam(c->group) == NULL) {
		snprintf(err, errlen, "group \"%s\" does not exist", c->group);
		return SL_EINVAL;
	}
	return SL_OK;
}

/* The records over store s, with the node's settings that change what
 * an event folds to (the allowed skew, the erasure policy) in place
 * before anything is folded. */
static struct project *
records_open(struct daemon *d, struct store *s)
{
	char err[512];
	struct project *p;

	if (project_open(&p, s, err, sizeof err) != SL_OK)
		fatal("%s", err);
	project_set_skew(p, d->conf.max_skew_ms != 0 ?
	    d->conf.max_skew_ms : PROJECT_SKEW_DEFAULT_MS);
	project_set_erasure(p, d->conf.erasure_decision);
	return p;
}

/* After a crash: the events written since the store's last checkpoint
 * are taken in again, with the records' fold in place (store_replay). */
static void
replay(struct store *s)
{
	char err[512];
	size_t n;

	if (!store_replay_owed(s))
		return;
	if (store_replay(s, &n, err, sizeof err) != SL_OK)
		fatal("%s", err);
	log_info("took in %zu events written after the store's last "
	    "checkpoint (the last stop was not clean)", n);
}

/*
 * A key rotation (samlog device rotate, PROTOCOL.md 12.3) interrupted by
 * a crash: node.key.next holds the new key.  If the old key's chain
 * already ends with its own revocation, the rotation happened and is
 * finished (the store and node.key take the new key); if not, it never
 * did, and the new key is dropped.  Either way one key signs after.
 */
static void
rotate_finish(struct daemon *d)
{
	char err[512], *next = dir_file(d->dir, SL_NODE_KEY_FILE ".next");
	char *keyp = dir_file(d->dir, SL_NODE_KEY_FILE);
	char *orgp = dir_file(d->dir, "org.key");
	char *store_path = dir_file(d->dir, SL_NODE_STORE_DIR);
	uint8_t node[SL_KEY_LEN], org[SL_KEY_LEN], pending[SL_KEY_LEN];
	struct store *s = NULL;
	struct sl_key nk;
	bool done = false;

	if (next == NULL || keyp == NULL || orgp == NULL || store_path == NULL)
		fatal("out of memory");
	if (access(next, F_OK) != 0)
		goto out;
	if (sl_key_load_file(next, &nk, err, sizeof err) != SL_OK)
		fatal("a key rotation was under way, but %s", err);
	if (store_open(&s, store_path, NULL, NULL, err, sizeof err) != SL_OK)
		fatal("%s", err);
	/* The events written before a crash first: the revocation below
	 * may be among them. */
	if (store_replay_owed(s)) {
		struct project *p = records_open(d, s);

		replay(s);
		project_close(p);
	}
	if (store_meta_key(s, "node", node) == SL_OK &&
	    memcmp(node, nk.pub, SL_KEY_LEN) == 0) {
		done = true; /* the store took it: only the file is left */
	} else if (store_meta_key(s, "next", pending) == SL_OK &&
	    memcmp(pending, nk.pub, SL_KEY_LEN) == 0) {
		const struct store_tip *t = store_tip_of(s, d->key.pub);
		uint8_t *buf = NULL;
		size_t len;
		struct sl_event ev;
		struct sl_mev e;

		if (t != NULL && t->seq > 0 &&
		    store_event_get(s, d->key.pub, t->seq, &buf, &len) ==
		    SL_OK && sl_event_decode(&ev, buf, len) == SL_OK &&
		    sl_mev_decode(&ev, &e) == SL_OK &&
		    e.type == SL_MEV_REVOKE &&
		    memcmp(e.device, d->key.pub, SL_KEY_LEN) == 0)
			done = true;
		free(buf);
		if (done && (store_meta_key_put(s, "node", nk.pub) != SL_OK ||
		    store_meta_key_put(s, "next", NULL) != SL_OK))
			fatal("cannot finish the key rotation in the store");
	}
	if (!done) {
		log_warn("a key rotation was begun and not written: this node "
		    "keeps its key");
		if (store_meta_key_put(s, "next", NULL) != SL_OK ||
		    unlink(next) != 0)
			fatal("cannot drop the unfinished key rotation (%s)",
			    next);
		goto out;
	}
	/* The organisation key stays, in org.key, when it was this node's. */
	if (store_meta_key(s, "org", org) == SL_OK &&
	    memcmp(org, d->key.pub, SL_KEY_LEN) == 0 &&
	    access(orgp, F_OK) != 0 && link(keyp, orgp) != 0)
		fatal("cannot keep the organisation key in %s: %s", orgp,
		    strerror(errno));
	if (rename(next, keyp) != 0)
		fatal("cannot move %s to %s: %s", next, keyp, strerror(errno));
	log_info("finished the key rotation begun before the last stop");
	sl_key_wipe(&d->key);
	if (sl_node_load_key(d->dir, &d->key, err, sizeof err) != SL_OK)
		fatal("%s", err);
out:
	if (s != NULL)
		store_close(s);
	sl_key_wipe(&nk);
	free(next);
	free(keyp);
	free(orgp);
	free(store_path);
}

/* A backup check (cmd_backup.c) a crash cut short leaves a copy of the
 * store, which may hold what was erased since: gone at the next start. */
static void
remove_check_leftovers(const char *dir)
{
	DIR *dh = opendir(dir);
	struct dirent *e;
	char path[PATH_MAX];

	if (dh == NULL)
		return;
	while ((e = readdir(dh)) != NULL) {
		if (strncmp(e->d_name, "backup-check.", 13) != 0)
			continue;
		snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
		if (store_remove_scrubbed(path) == SL_OK)
			log_info("removed %s, a backup check's leftover", path);
	}
	closedir(dh);
}

static void
daemon_open(struct daemon *d)
{
	char err[512];
	char *store_path, *conf_path;
	struct stat st;

	if (stat(d->dir, &st) != 0 || !S_ISDIR(st.st_mode))
		fatal("no node in %s (create one with: samlog init --org NAME"
		    " -d %s)", d->dir, d->dir);
	/* Held in a local until the end: clang's analyzer forgets a pointer
	 * kept in *d when &d->conf is passed to another file's function,
	 * and reports a leak that is not there. */
	conf_path = dir_file(d->dir, SL_NODE_CONF_FILE);
	if (config_load(&d->conf, conf_path, err, sizeof err) != SL_OK ||
	    apply_flags(d, &d->conf, err, sizeof err) != SL_OK)
		fatal("%s", err);
	if (sl_node_load_key(d->dir, &d->key, err, sizeof err) != SL_OK)
		fatal("%s", err);
	daemon_lock(d);
	rotate_finish(d);
	store_path = dir_file(d->dir, SL_NODE_STORE_DIR);
	/* A compaction after an erasure that a stop cut short. */
	bool swapped;

	remove_check_leftovers(d->dir);

	if (store_swap(store_path, &swapped, err, sizeof err) != SL_OK)
		fatal("%s", err);
	if (swapped)
		log_info("finished moving to the compacted store");
	if (store_open(&d->store, store_path, &d->key, NULL, err,
	    sizeof err) != SL_OK)
		fatal("%s", err);
	d->proj = records_open(d, d->store);
	replay(d->store);
	/* An erasure's compaction a crash cut off: now, before serving. */
	if (store_scrub_owed(d->store)) {
		log_info("compacting the store after an erasure (owed since "
		    "before the last stop)");
		if (store_compact(d->store, store_path, err, sizeof err) !=
		    SL_OK) {
			/* Served anyway: the values are out of the live
			 * tree; the next erasure's restart tries again. */
			log_warn("cannot compact the store: %s", err);
		} else {
			project_close(d->proj);
			store_close(d->store);
			if (store_swap(store_path, &swapped, err, sizeof err) !=
			    SL_OK ||
			    store_open(&d->store, store_path, &d->key, NULL, err,
			    sizeof err) != SL_OK)
				fatal("%s", err);
			d->proj = records_open(d, d->store);
		}
	}
	free(store_path);
	d->conf_path = conf_path;
}

static void
daemon_serve(struct daemon *d)
{
	char err[512];
	char *sock = d->conf.socket[0] ? strdup(d->conf.socket) :
	    dir_file(d->dir, SL_CTL_SOCKET);

	if ((d->cmd = cmd_new(&d->loop, d->store, d->proj, d->key.pub,
	    d->conf.org)) == NULL)
		fatal("out of memory");
	if (cmd_announce(d->cmd, d->conf.org, err, sizeof err) != SL_OK ||
	    cmd_members_sync(d->cmd, &d->conf, true, err, sizeof err) != SL_OK)
		fatal("cannot record this node's organisation: %s", err);
	if (sync_new(&d->sync, &d->loop, d->store, &d->key, &d->conf, err,
	    sizeof err) != SL_OK)
		fatal("%s", err);
	sync_set_org(d->sync, d->conf.org);
	sync_set_hold(d->sync, cmd_hold, d->cmd);
	sync_set_members(d->sync, cmd_sync_member, cmd_sync_members, d->cmd);
	sync_set_reader(d->sync, cmd_sync_reader, d->cmd);
	sync_set_moved(d->sync, cmd_sync_moved, d->cmd);
	sync_set_join(d->sync, cmd_sync_join, cmd_invites_open, d->cmd);
	cmd_set_sync(d->cmd, d->sync, d->conf_path);
	cmd_set_erasure(d->cmd, d->conf.erasure_decision);
	cmd_set_dir(d->cmd, d->dir);
	/* Restored from a backup: quiet until caught up (restore_tick). */
	char *mark = dir_file(d->dir, "restored");

	if (mark == NULL)
		fatal("out of memory");
	if (access(mark, F_OK) == 0) {
		log_info("this node was restored from a backup: it takes back "
		    "what its peers hold before it serves or sends");
		cmd_set_restoring(d->cmd, true);
		sync_set_quiet(d->sync, true);
		store_set_no_appends(d->store, true);
	}
	free(mark);
	cmd_set_retention(d->cmd, d->conf.retain, d->conf.nretain);
	if (sock == NULL)
		fatal("out of memory");
	if (d->conf.listen[0] != '\0' && sync_listen(d->sync, d->conf.listen,
	    err, sizeof err) != 0)
		fatal("%s", err);
	if (control_open(&d->ctl, &d->loop, sock, d->conf.group, cmd_request,
	    d->cmd, err, sizeof err) != 0)
		fatal("%s", err);
	free(sock);
}

static void
ckpt_timer_cb(uv_timer_t *h)
{
	struct daemon *d = h->data;
	char err[256];
	bool wrote;

	if (cmd_restoring(d->cmd))
		return; /* it writes nothing yet */
	if (cmd_checkpoint(d->cmd, &wrote, err, sizeof err) != SL_OK)
		log_warn("no checkpoint written: %s", err);
}

/* (Re)starts the checkpoint timer at the configured interval; 0 stops
 * it.  A reload that keeps the interval keeps the timer's phase. */
static void
ckpt_timer_set(struct daemon *d)
{
	uint64_t ms = d->conf.checkpoint_ms;

	if (ms == d->ckpt_ms && uv_is_active((uv_handle_t *)&d->ckpt_timer))
		return;
	uv_timer_stop(&d->ckpt_timer);
	d->ckpt_ms = ms;
	if (ms != 0)
		uv_timer_start(&d->ckpt_timer, ckpt_timer_cb, ms, ms);
}

/*
 * The stop signals (SIGINT, SIGTERM) and SIGHUP are the loop's while it
 * runs.  When the daemon starts itself again (to compact its store, or
 * with a new key) there is a stretch without the loop's handlers: from
 * closing them, through the compaction and execv, to the new image's
 * uv_signal_start.  A signal that came then found the default action and
 * killed the process mid-way.  So the main thread blocks them for that
 * stretch; one that comes waits, pending across execv (POSIX keeps it),
 * and is an orderly stop once the new image unblocks it.  The worker
 * threads (libuv's pool, for name lookups) are started with them blocked
 * from the first, so only the main thread ever takes them.
 */
static void
stop_signals(int how)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	pthread_sigmask(how, &set, NULL);
}

static void
pool_start_work(uv_work_t *req)
{
	(void)req;
}

static void
pool_start_done(uv_work_t *req, int status)
{
	(void)status;
	free(req);
}

/* Starts libuv's worker pool now, while the stop signals are blocked:
 * its threads keep the mask they start with. */
static void
pool_start(uv_loop_t *loop)
{
	uv_work_t *req = malloc(sizeof *req);

	if (req != NULL && uv_queue_work(loop, req, pool_start_work,
	    pool_start_done) != 0)
		free(req);
}

static void
signal_stop_cb(uv_signal_t *h, int signum)
{
	struct daemon *d = h->data;

	log_info("%s: shutting down", strsignal(signum));
	d->signalled = true;
	uv_stop(h->loop);
}

static void
signal_hup_cb(uv_signal_t *h, int signum)
{
	struct daemon *d = h->data;
	struct config c;
	char err[512];

	(void)signum;
	notify("RELOADING=1");
	if (config_load(&c, d->conf_path, err, sizeof err) != SL_OK ||
	    apply_flags(d, &c, err, sizeof err) != SL_OK) {
		log_warn("config not reloaded: %s", err);
		config_free(&c);
		notify("READY=1");
		return;
	}
	if (strcmp(c.org, d->conf.org) != 0) {
		log_info("org is now \"%s\" (was \"%s\")", c.org, d->conf.org);
		if (cmd_announce(d->cmd, c.org, err, sizeof err) != SL_OK)
			log_warn("cannot record the new org: %s", err);
		sync_set_org(d->sync, c.org);
	}
	if (cmd_members_sync(d->cmd, &c, false, err, sizeof err) != SL_OK)
		log_warn("cannot record the members: %s", err);
	/* A new listen address is taken at once; one that cannot be had
	 * leaves the old listener (and the old value, so that the next
	 * reload tries again). */
	if (strcmp(c.listen, d->conf.listen) != 0 &&
	    sync_listen(d->sync, c.listen, err, sizeof err) != 0) {
		log_warn("listen address not changed: %s; still listening on "
		    "%s", err, sync_listen_addr(d->sync)[0] ?
		    sync_listen_addr(d->sync) : "nothing");
		snprintf(c.listen, sizeof c.listen, "%s", d->conf.listen);
	}
	if (strcmp(c.socket, d->conf.socket) != 0 ||
	    strcmp(c.group, d->conf.group) != 0)
		log_warn("a new control socket or group needs a restart of "
		    "samlogd; until then the old one serves");
	sync_apply(d->sync, &c);
	if (c.max_skew_ms != d->conf.max_skew_ms)
		log_info("max_skew is now %llu s (was %llu s)",
		    (unsigned long long)(c.max_skew_ms != 0 ? c.max_skew_ms :
		    PROJECT_SKEW_DEFAULT_MS) / 1000,
		    (unsigned long long)(d->conf.max_skew_ms != 0 ?
		    d->conf.max_skew_ms : PROJECT_SKEW_DEFAULT_MS) / 1000);
	project_set_skew(d->proj, c.max_skew_ms != 0 ? c.max_skew_ms :
	    PROJECT_SKEW_DEFAULT_MS);
	if (c.erasure_decision != d->conf.erasure_decision)
		log_info("erasure is now %s", c.erasure_decision ?
		    "with-decision" : "apply");
	cmd_set_erasure(d->cmd, c.erasure_decision);
	/* New rules run at the next tick. */
	cmd_set_retention(d->cmd, c.retain, c.nretain);
	config_free(&d->conf);
	d->conf = c;
	ckpt_timer_set(d);
	log_info("configuration reloaded from %s", d->conf_path);
	notify("READY=1");
}

/* Our own resident memory (heap, stacks) in KiB: resident less shared
 * (file-backed) pages; -1 if unknown. */
static long
own_kib(void)
{
	long size, resident, shared;
	FILE *f = fopen("/proc/self/statm", "re");
	int n;

	if (f == NULL)
		return -1;
	n = fscanf(f, "%ld %ld %ld", &size, &resident, &shared);
	fclose(f);
	return n == 3 ? (resident - shared) * (sysconf(_SC_PAGESIZE) / 1024) :
	    -1;
}

/* Above this much memory of our own when idle, and with commits since
 * the last time, the store is opened again to free the pages LMDB keeps
 * (store_renew): a quiet node needs a few MiB. */
#define RENEW_KIB 8192

/*
 * When no request and no event has come for a while, give memory
 * back: free heap pages to the system (malloc_trim), let LMDB free the
 * pages its last large commits dirtied (store_renew; it keeps them
 * otherwise until the store closes), and drop the store's mapped pages
 * from our resident set (they stay in the page cache, and the next read
 * maps them again).  A node idles most of the day; it should not sit on
 * the memory of its busiest minute.
 */
static void
idle_timer_cb(uv_timer_t *h)
{
	struct daemon *d = h->data;
	uint64_t commits, writes, requests;

	cmd_stats(d->cmd, &commits, &writes, &requests);
	/* Idle: no request and no event from a peer since the last tick. */
	uint64_t events = store_event_count(d->store);

	if (requests != d->last_requests || events != d->last_events) {
		d->last_requests = requests;
		d->last_events = events;
		d->trimmed = false;
		return;
	}
	if (d->trimmed)
		return;
	d->trimmed = true;
	/* What the write-ahead file holds into LMDB's file, while nothing
	 * waits: the file starts again, and the pinned pages are free. */
	store_checkpoint(d->store);
	malloc_trim(0);
	long kib = own_kib(), left;

	/* Only LMDB's writes leave it pages to keep: memory held for other
	 * reasons (a peer's unsigned tail, say) is no cause. */
	if (kib > RENEW_KIB && (commits != d->renew_commits ||
	    events != d->renew_events)) {
		char err[256] = "cannot open the records again";
		int rc = store_renew(d->store, err, sizeof err);

		if (rc == SL_OK)
			rc = project_renew(d->proj);
		if (rc != SL_OK && rc != SL_ERETRY) {
			/* No transaction was open: every commit is on disk. */
			log_warn("%s; stopping", err);
			exit(1);
		}
		if (rc == SL_OK) {
			d->renew_commits = commits;
			d->renew_events = events;
			malloc_trim(0);
			left = own_kib();
			if (kib - left >= 1024)
				log_info("idle: %ld KiB of memory given back",
				    kib - left);
		}
	}
	store_release_pages(d->store);
}

/*
 * Events stamped further ahead of our wall clock than the allowed skew
 * wait unfolded (project.c); once a second, fold those the clock has
 * caught up with.  Cheap when none wait: one read of a count.
 */
static void fork_timer_cb(uv_timer_t *h);

/*
 * A node restored from a backup (samlog restore leaves DIR/restored)
 * sends nothing and serves no records until it holds all that a peer
 * holds: its own later events, and the erasures made since the backup,
 * which the erasure tick has then applied (and compacted for).  With no
 * peer at all there is nothing to wait for.
 */
static void
restore_tick(struct daemon *d)
{
	size_t np = sync_peer_count(d->sync), done = 0;
	char from[CONFIG_NAME_MAX + 1] = "";
	struct sync_peer_info pi;
	char *mark;

	/* More than half of the peers, so that no one member (an empty
	 * HELLO claims nothing) can end it alone. */
	for (size_t i = 0; i < np; i++) {
		sync_peer_get(d->sync, i, &pi);
		if (pi.connected && pi.ahead == 0) {
			done++;
			snprintf(from, sizeof from, "%s", pi.cfg.name);
		}
	}
	if (np > 0 && done <= np / 2)
		return;
	if ((mark = dir_file(d->dir, "restored")) == NULL || (unlink(mark) != 0 &&
	    errno != ENOENT)) {
		log_warn("cannot remove %s: %s", mark ? mark : "the restore "
		    "mark", strerror(errno));
		free(mark);
		return;
	}
	free(mark);
	if (np > 0)
		log_info("caught up with %zu of %zu peers (%s%s) after the "
		    "restore: serving and sending again", done, np, from,
		    done > 1 ? " and others" : "");
	else
		log_warn("restored from a backup, with no peer to take back "
		    "from: serving what the backup held");
	cmd_set_restoring(d->cmd, false);
	sync_set_quiet(d->sync, false);
	store_set_no_appends(d->store, false);
	/* What waited for the catch-up runs now. */
	cmd_set_retention(d->cmd, d->conf.retain, d->conf.nretain);
}

/* Has the last compaction been long enough ago (or never, or in what
 * the clock now calls the future)?  store_compact_every says how long. */
static bool
scrub_due(struct daemon *d)
{
	uint64_t last = store_compacted_at(d->store), now = sl_now_ms();

	return last == 0 || now < last ||
	    now - last >= store_compact_every(d->store);
}
#define RETENTION_EVERY_MS ((uint64_t)24 * 3600 * 1000)

static void
due_timer_cb(uv_timer_t *h)
{
	struct daemon *d = h->data;
	uint64_t n;

	/* An erasure was applied: start again on a compacted store, at
	 * most once a minute, and less often while erasures keep coming
	 * (store_compact_every).  Until then the values are out of the
	 * live tree, on free pages only. */
	if (cmd_scrub_wanted(d->cmd) && scrub_due(d)) {
		log_info("starting again to compact the store after an "
		    "erasure");
		stop_signals(SIG_BLOCK);
		uv_stop(h->loop);
		return;
	}
	/* device rotate: the new key signs once the daemon starts again,
	 * after the connected peers have taken its certificate (up to
	 * 10 s): they then know the new key when it connects. */
	if (cmd_restart_wanted(d->cmd)) {
		static uint64_t asked;
		bool waiting = false;

		if (asked == 0)
			asked = uv_now(h->loop);
		for (size_t i = 0; i < sync_peer_count(d->sync); i++) {
			struct sync_peer_info pi;

			sync_peer_get(d->sync, i, &pi);
			waiting = waiting || (pi.connected && pi.behind > 0);
		}
		if (!waiting || uv_now(h->loop) - asked > 10000) {
			log_info("starting again with this node's new key");
			stop_signals(SIG_BLOCK);
			uv_stop(h->loop);
		}
		return;
	}
	/* A node restored from a backup writes nothing until it has caught
	 * up (its chain's later events may be its peers' already): no
	 * approvals, no retention; erasures it receives it applies. */
	if (cmd_restoring(d->cmd)) {
		if (cmd_erase_tick(d->cmd))
			return;
		restore_tick(d);
		return;
	}
	/* Admission by majority: what enough members approved. */
	cmd_ledger_tick(d->cmd);
	/* Retention rules: once a day (and soon after a start or a
	 * reload), erasures for what they find due. */
	if (d->conf.nretain > 0 && (cmd_retention_last(d->cmd) == 0 ||
	    sl_now_ms() - cmd_retention_last(d->cmd) >= RETENTION_EVERY_MS))
		cmd_retention_run(d->cmd);
	/* Erasures this node's policy lets it apply (PROTOCOL.md 5.2). */
	if (cmd_erase_tick(d->cmd))
		return; /* the next tick starts again, compacted */
	if (project_due(d->proj, &n) != SL_OK)
		log_warn("cannot fold the events whose time has come");
	else if (n > 0)
		log_info("folded %llu event(s) whose clock was ahead of ours "
		    "and is due now", (unsigned long long)n);
	if (d->fork_all)
		fork_timer_cb(&d->fork_timer);
}

/* Fork proofs (PROTOCOL.md 16): a look at the evidence each refusal
 * kept, soon after it; at the start and whenever a look asks to be
 * called again (writes held), every second, a look at all of it. */
static void
fork_timer_cb(uv_timer_t *h)
{
	struct daemon *d = h->data;
	char err[256];
	size_t wrote, n = d->fork_all ? 1 : d->fork_n;
	bool again = false;

	for (size_t i = 0; i < n; i++) {
		int rc = cmd_fork_proofs(d->cmd, d->fork_all ? NULL :
		    d->fork_origin[i], d->fork_all ? 0 : d->fork_seq[i], &wrote,
		    err, sizeof err);

		again = again || rc == SL_ERETRY;
		if (rc != SL_OK && rc != SL_ERETRY)
			log_warn("no fork proof written: %s", err);
	}
	d->fork_n = 0;
	d->fork_all = again;
}

static void
fork_seen(void *ctx, const uint8_t origin[SL_KEY_LEN], uint64_t seq)
{
	struct daemon *d = ctx;
	size_t i;

	for (i = 0; i < d->fork_n; i++)
		if (d->fork_seq[i] == seq &&
		    memcmp(d->fork_origin[i], origin, SL_KEY_LEN) == 0)
			break;
	if (i == d->fork_n && d->fork_n < FORK_QUEUE) {
		memcpy(d->fork_origin[d->fork_n], origin, SL_KEY_LEN);
		d->fork_seq[d->fork_n++] = seq;
	} else if (i == d->fork_n) {
		d->fork_all = true;
	}
	uv_timer_start(&d->fork_timer, fork_timer_cb, 0, 0);
}

static void
close_walk_cb(uv_handle_t *h, void *arg)
{
	(void)arg;
	if (!uv_is_closing(h))
		uv_close(h, NULL);
}

/* Detaches: returns in the child; the parent waits on ready_fd[0] and
 * exits with the child's verdict. */
static int
daemonize(void)
{
	int fds[2];
	pid_t pid;
	char c;

	if (pipe(fds) != 0)
		fatal("pipe: %s", strerror(errno));
	if ((pid = fork()) < 0)
		fatal("fork: %s", strerror(errno));
	if (pid > 0) {
		int status;

		close(fds[1]);
		if (read(fds[0], &c, 1) == 1)
			_exit(0);
		/* The child failed before it was ready; its reason is
		 * already on our shared stderr. */
		if (waitpid(pid, &status, 0) == pid && WIFEXITED(status))
			_exit(WEXITSTATUS(status) ? WEXITSTATUS(status) : 1);
		_exit(1);
	}
	close(fds[0]);
	if (setsid() < 0)
		fatal("setsid: %s", strerror(errno));
	return fds[1];
}

static void
detach_stdio(const char *dir, int ready_fd)
{
	char *logp = dir_file(dir, "samlogd.log");
	int nul = open("/dev/null", O_RDWR | O_CLOEXEC);
	int lf = open(logp, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);

	if (nul < 0 || lf < 0)
		fatal("cannot open %s: %s", lf < 0 ? logp : "/dev/null",
		    strerror(errno));
	fprintf(stderr, "samlogd: running in the background (pid %ld); log: "
	    "%s\n", (long)getpid(), logp);
	dup2(nul, STDIN_FILENO);
	dup2(nul, STDOUT_FILENO);
	dup2(lf, STDERR_FILENO);
	close(nul);
	close(lf);
	free(logp);
	if (write(ready_fd, "1", 1) != 1)
		log_warn("cannot tell the parent we are ready");
	close(ready_fd);
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "dir", required_argument, NULL, 'd' },
		{ "foreground", no_argument, NULL, 'f' },
		{ "listen", required_argument, NULL, 'l' },
		{ "org", required_argument, NULL, 'o' },
		{ "group", required_argument, NULL, 'g' },
		{ "socket", required_argument, NULL, 's' },
		{ "max-skew", required_argument, NULL, 'k' },
		{ "checkpoint-interval", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	struct daemon d = { .lock_fd = -1 };
	const char *dir_arg = NULL;
	bool foreground = false;
	int ch, ready_fd = -1;

	log_init("samlogd");
	opterr = 0;
	while ((ch = getopt_long(argc, argv, ":c:d:fg:hk:l:o:s:V", longopts, NULL)) != -1) {
		switch (ch) {
		case 'd': dir_arg = optarg; break;
		case 'f': foreground = true; break;
		case 'l': d.listen_arg = optarg; break;
		case 'o': d.org_arg = optarg; break;
		case 'g': d.group_arg = optarg; break;
		case 's': d.socket_arg = optarg; break;
		case 'k':
			if (!config_duration_parse(optarg, &d.skew_arg)) {
				fprintf(stderr, "samlogd: --max-skew: \"%s\" is "
				    "not a duration from 1s to 7d (e.g. 600s, "
				    "10m, 2h)\n", optarg);
				return 2;
			}
			break;
		case 'c':
			if (!config_interval_parse(optarg, &d.ckpt_arg)) {
				fprintf(stderr, "samlogd: --checkpoint-interval: "
				    "\"%s\" is not 0 (never) or a duration from "
				    "1s to 7d (e.g. 300s, 5m)\n", optarg);
				return 2;
			}
			d.ckpt_given = true;
			break;
		case 'h': usage(stdout); return 0;
		case 'V': printf("samlogd %s\n", SL_VERSION_STRING); return 0;
		case ':':
			fprintf(stderr, "samlogd: %s needs a value\n",
			    argv[optind - 1]);
			return 2;
		default:
			fprintf(stderr, "samlogd: unknown option '%s' (see: "
			    "samlogd --help)\n", argv[optind - 1]);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "samlogd: unexpected argument '%s'\n",
		    argv[optind]);
		return 2;
	}
	if (d.org_arg != NULL && !sl_org_valid(d.org_arg)) {
		fprintf(stderr, "samlogd: --org: invalid organisation name "
		    "\"%s\"\n", d.org_arg);
		return 2;
	}
	if (d.socket_arg != NULL && (d.socket_arg[0] == '\0' ||
	    strlen(d.socket_arg) >= CONFIG_PATH_MAX)) {
		fprintf(stderr, "samlogd: --socket: invalid path\n");
		return 2;
	}
	if (d.listen_arg != NULL) {
		char host[CONFIG_ADDR_MAX + 1], err[160];
		unsigned port;

		if (!config_addr_split(d.listen_arg, host, sizeof host, &port,
		    true, err, sizeof err)) {
			fprintf(stderr, "samlogd: --listen: %s\n", err);
			return 2;
		}
	}
	/* A peer that hangs up mid-write must not kill the daemon. */
	signal(SIGPIPE, SIG_IGN);
	if ((d.dir = sl_node_dir_resolve(dir_arg)) == NULL)
		fatal("no node directory: set HOME, SAMLOG_DIR or use -d DIR");
	if (!foreground)
		ready_fd = daemonize();
	daemon_open(&d);
	if (uv_loop_init(&d.loop) != 0)
		fatal("cannot create the event loop");
	uv_signal_init(&d.loop, &d.sig_int);
	uv_signal_init(&d.loop, &d.sig_term);
	uv_signal_init(&d.loop, &d.sig_hup);
	d.sig_hup.data = &d;
	d.sig_int.data = &d;
	d.sig_term.data = &d;
	uv_signal_start(&d.sig_int, signal_stop_cb, SIGINT);
	uv_signal_start(&d.sig_term, signal_stop_cb, SIGTERM);
	uv_signal_start(&d.sig_hup, signal_hup_cb, SIGHUP);
	/* Blocked still if this image is a start again (stop_signals):
	 * the pool starts with them blocked, then one that is pending is
	 * the loop's from here on. */
	stop_signals(SIG_BLOCK);
	pool_start(&d.loop);
	stop_signals(SIG_UNBLOCK);
	daemon_serve(&d);
	uv_timer_init(&d.loop, &d.idle_timer);
	d.idle_timer.data = &d;
	uv_timer_start(&d.idle_timer, idle_timer_cb, 2000, 2000);
	uv_timer_init(&d.loop, &d.due_timer);
	d.due_timer.data = &d;
	uv_timer_start(&d.due_timer, due_timer_cb, 1000, 1000);
	uv_timer_init(&d.loop, &d.ckpt_timer);
	d.ckpt_timer.data = &d;
	ckpt_timer_set(&d);
	uv_timer_init(&d.loop, &d.fork_timer);
	d.fork_timer.data = &d;
	sync_set_fork(d.sync, fork_seen, &d);
	d.fork_all = true;
	uv_timer_start(&d.fork_timer, fork_timer_cb, 0, 0);
	if (ready_fd >= 0)
		detach_stdio(d.dir, ready_fd);
	char id[SL_NODE_ID_TEXT + 1];

	sl_b32_encode(id, d.key.pub, SL_KEY_LEN);
	log_info("node %s (%s) ready in %s: %llu events from %zu origins",
	    id, d.conf.org, d.dir,
	    (unsigned long long)store_event_count(d.store),
	    store_origin_count(d.store));
	char st[160];

	snprintf(st, sizeof st, "READY=1\nSTATUS=serving %llu events",
	    (unsigned long long)store_event_count(d.store));
	notify(st);
	uv_run(&d.loop, UV_RUN_DEFAULT);
	/* (A start again blocked them as it stopped the loop.) */
	stop_signals(SIG_BLOCK);

	/* Orderly stop: commit what clients already sent, stop listening,
	 * close every handle and let their callbacks run, then close the
	 * store (every commit is durable by then). */
	/* A stop asked for by a signal compacts, but does not start
	 * again. */
	bool scrub = cmd_scrub_wanted(d.cmd);
	bool restart = cmd_restart_wanted(d.cmd) || (scrub && !d.signalled);
	/* Started again, it listens where it listened (a port it was given
	 * as 0 stays the one it got). */
	char listen_now[CONFIG_ADDR_MAX + 1];

	snprintf(listen_now, sizeof listen_now, "%s",
	    sync_listen_addr(d.sync));
	notify(restart ? "RELOADING=1" : "STOPPING=1");
	cmd_flush(d.cmd);
	sync_close(d.sync);
	control_close(d.ctl);
	uv_walk(&d.loop, close_walk_cb, NULL);
	uv_run(&d.loop, UV_RUN_DEFAULT);
	uv_loop_close(&d.loop);
	sync_free(d.sync);
	config_free(&d.conf);
	cmd_free(d.cmd);
	project_close(d.proj);
	char *store_path = scrub ? dir_file(d.dir, SL_NODE_STORE_DIR) : NULL;

	/* Erased values leave the free pages: a copy of the live ones
	 * takes the store's place (store_swap), the old file zeroed. */
	if (store_path != NULL) {
		char err[512];
		bool swapped = false;

		if (store_compact(d.store, store_path, err, sizeof err) !=
		    SL_OK)
			log_warn("cannot compact the store: %s", err);
		store_close(d.store);
		if (store_swap(store_path, &swapped, err, sizeof err) !=
		    SL_OK)
			log_warn("cannot move to the compacted store: %s", err);
		else if (swapped)
			log_info("the store is compacted: erased values are "
			    "gone from its file");
		free(store_path);
	} else {
		store_close(d.store);
	}
	sl_key_wipe(&d.key);
	sl_crypto_shutdown();
	log_info(restart ? "stopped, to start again" : "stopped");
	if (d.lock_fd >= 0)
		close(d.lock_fd);
	free(d.conf_path);
	free(d.dir);
	if (restart) {
		/* The same process (its pid is what systemd and scripts
		 * know), with the same arguments. */
		char **av = calloc((size_t)argc + 4, sizeof *av);
		int n = 0;

		if (av == NULL)
			return 1;
		/* Its arguments, but where it listens now (once), and in
		 * the foreground: a daemon that detached once must not fork
		 * again (its pid is what systemd and scripts know). */
		for (int i = 0; i < argc; i++) {
			if (i > 0 && (strcmp(argv[i], "--listen") == 0 ||
			    strcmp(argv[i], "-l") == 0) && i + 1 < argc &&
			    listen_now[0] != '\0') {
				i++;
				continue;
			}
			if (i > 0 && listen_now[0] != '\0' &&
			    strncmp(argv[i], "--listen=", 9) == 0)
				continue;
			av[n++] = argv[i];
		}
		if (listen_now[0] != '\0') {
			av[n++] = (char *)"--listen";
			av[n++] = listen_now;
		}
		if (!foreground)
			av[n++] = (char *)"--foreground";
		execv("/proc/self/exe", av);
		free(av);
		fprintf(stderr, "samlogd: cannot start again: %s\n",
		    strerror(errno));
		return 1;
	}
	return 0;
}
