/*
 * samlog.c - the CLI's main: parse argv, run the command (locally for
 * init and help, through samlogd for everything else), print through the
 * chosen output backend.  Every failure is one "samlog: ..." line on
 * stderr; exit 1 when the request failed, 2 for wrong usage.
 */
#include <stdarg.h>
#include <unistd.h>
#include <fcntl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "output.h"
#include "parser.h"
#include "bundle.h"
#include "events.h"
#include "export.h"
#include "import.h"
#include "records.h"
#include "report.h"
#include "request.h"
#include "restore.h"
#include "samlog_proto.h"

static int
fail(int status, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	cli_verror(fmt, ap);
	va_end(ap);
	return status;
}

static void
pk_kv(msgpack_packer *pk, const char *k, const char *v)
{
	sl_pack_cstr(pk, k);
	sl_pack_cstr(pk, v);
}

/* samlog ui: samlog-ui beside this program, with the same arguments
 * (the web server's libraries stay out of every other command). */
static int
run_ui(char **argv)
{
	char self[4096], *slash;
	ssize_t n = readlink("/proc/self/exe", self, sizeof self - 16);

	if (n <= 0)
		return fail(1, "ui: cannot tell where samlog is: %s",
		    strerror(errno));
	self[n] = '\0';
	if ((slash = strrchr(self, '/')) == NULL)
		return fail(1, "ui: cannot tell where samlog is");
	snprintf(slash + 1, sizeof self - (size_t)(slash + 1 - self),
	    "samlog-ui");
	fflush(stdout);
	execv(self, argv);
	return fail(1, "ui: cannot run %s: %s (make all builds it, make "
	    "install installs it)", self, strerror(errno));
}

static int
cmd_init(const struct parse_result *r, const struct output *out)
{
	char id[SL_NODE_ID_TEXT + 1], err[512];
	char *dir = sl_node_dir_resolve(r->dir);
	const char *org = parse_value(r, "org");
	msgpack_sbuffer sb;
	msgpack_packer pk;
	msgpack_unpacked u;
	int rc;

	if (dir == NULL)
		return fail(1, "no node directory: set HOME or SAMLOG_DIR, or "
		    "use -d DIR");
	rc = sl_node_create(dir, org, id, err, sizeof err);
	if (rc != SL_OK) {
		fail(1, "%s", err);
		free(dir);
		return 1;
	}
	/* The same backends as daemon replies: build the reply object. */
	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	msgpack_pack_map(&pk, 3);
	pk_kv(&pk, "node_id", id);
	pk_kv(&pk, "org", org);
	pk_kv(&pk, "dir", dir);
	msgpack_unpacked_init(&u);
	if (msgpack_unpack_next(&u, sb.data, sb.size, NULL) ==
	    MSGPACK_UNPACK_SUCCESS) {
		out->begin(stdout, OUT_OBJECT, NULL);
		out->record(stdout, &u.data);
		out->end(stdout);
	}
	msgpack_unpacked_destroy(&u);
	msgpack_sbuffer_destroy(&sb);
	free(dir);
	return 0;
}

/* One command as data: help --json. */
static void
pack_command(msgpack_packer *pk, const struct command_def *c)
{
	char usage[2048];
	size_t nf = 0;

	parse_usage_text(c, usage, sizeof usage);
	for (const struct flag_def *f = c->flags; f->name != NULL; f++)
		nf++;
	msgpack_pack_map(pk, 4);
	pk_kv(pk, "command", c->name);
	pk_kv(pk, "usage", usage);
	pk_kv(pk, "summary", c->summary);
	sl_pack_cstr(pk, "flags");
	msgpack_pack_array(pk, nf);
	for (const struct flag_def *f = c->flags; f->name != NULL; f++) {
		msgpack_pack_map(pk, 5);
		pk_kv(pk, "flag", f->name);
		sl_pack_cstr(pk, "value");
		if (f->metavar != NULL)
			sl_pack_cstr(pk, f->metavar);
		else
			msgpack_pack_nil(pk);
		pk_kv(pk, "help", f->help ? f->help : "");
		sl_pack_cstr(pk, "required");
		sl_pack_bool(pk, (f->flags & FL_REQUIRED) != 0);
		sl_pack_cstr(pk, "repeatable");
		sl_pack_bool(pk, (f->flags & FL_REPEAT) != 0);
	}
}

/* Hands one packed map to out as a record. */
static void
emit(const struct output *out, const msgpack_sbuffer *sb)
{
	msgpack_unpacked u;

	msgpack_unpacked_init(&u);
	if (msgpack_unpack_next(&u, sb->data, sb->size, NULL) ==
	    MSGPACK_UNPACK_SUCCESS)
		out->record(stdout, &u.data);
	msgpack_unpacked_destroy(&u);
}

/* help --json: the commands (all, or a group's) as an array, one
 * command as an object. */
static int
help_json(const char *group, const struct command_def *one,
    const struct output *out)
{
	const struct command_def *c;
	size_t gl = group ? strlen(group) : 0;

	out->begin(stdout, one ? OUT_OBJECT : OUT_LIST, NULL);
	for (size_t i = 0; (c = one ? (i ? NULL : one) : parse_command_at(i))
	    != NULL; i++) {
		msgpack_sbuffer sb;
		msgpack_packer pk;

		if (group != NULL && (strncmp(c->name, group, gl) != 0 ||
		    c->name[gl] != ' '))
			continue;
		msgpack_sbuffer_init(&sb);
		msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
		pack_command(&pk, c);
		emit(out, &sb);
		msgpack_sbuffer_destroy(&sb);
	}
	out->end(stdout);
	return 0;
}

static int
cmd_help(const struct parse_result *r, const struct output *out)
{
	if (r->topic == NULL) {
		if (r->json)
			return help_json(NULL, NULL, out);
		parse_usage(stdout, NULL);
		return 0;
	}
	char name[64];
	const struct command_def *c;

	if (r->topic2 == NULL && parse_is_group(r->topic)) {
		if (r->json)
			return help_json(r->topic, NULL, out);
		parse_usage_group(stdout, r->topic);
		return 0;
	}
	snprintf(name, sizeof name, "%s%s%s", r->topic, r->topic2 ? " " : "",
	    r->topic2 ? r->topic2 : "");
	if ((c = parse_find(name)) == NULL)
		return fail(2, "unknown command '%s' (see: samlog help)", name);
	if (r->json)
		return help_json(NULL, c, out);
	parse_usage(stdout, c);
	return 0;
}

/*
 * samlog __complete WORDS...: what bash completion offers (see
 * completion/samlog.bash).  Record ids come from the daemon, listed in
 * full, one per line; without a daemon there are none, silently.
 */
static int
cmd_complete(int n, char **words)
{
	const char *dir_arg, *kind = parse_complete(stdout, n, words, &dir_arg);
	const char *const *all = records_words();
	const char *one[] = { kind, NULL };
	char *dir;

	if (kind == NULL || (dir = sl_node_dir_resolve(dir_arg)) == NULL)
		return 0;
	fflush(stdout);
	if (freopen("/dev/null", "w", stderr) == NULL)
		return 0;
	for (const char *const *k = strcmp(kind, "*") == 0 ? all : one; *k;
	    k++)
		request_list(dir, dir_arg != NULL || getenv("SAMLOG_DIR"), *k,
		    OUT_ID, output_pick(false));
	free(dir);
	return 0;
}

/* samlog person NAME|ID --out FILE: the daemon's answer as JSON in FILE
 * and as text in FILE.txt, each written whole (a temporary file, then a
 * rename) and readable by its owner only: it is personal data. */
static int
cmd_person(const struct parse_result *r)
{
	const char *file = parse_value(r, "out");
	char txt[4096], tj[4200], tt[4200];
	struct parse_result q = *r;
	FILE *fj = NULL, *ft = NULL;
	char *dir;
	int status, fd;

	if (r->pos == NULL || file == NULL)
		return fail(2, "person needs NAME|ID --out FILE (see: samlog "
		    "help person)");
	if (snprintf(txt, sizeof txt, "%s.txt", file) >= (int)sizeof txt)
		return fail(1, "person: the file name is too long");
	snprintf(tj, sizeof tj, "%s.tmp%ld", file, (long)getpid());
	snprintf(tt, sizeof tt, "%s.tmp%ld", txt, (long)getpid());
	if ((dir = sl_node_dir_resolve(r->dir)) == NULL)
		return fail(1, "no node directory: set HOME or SAMLOG_DIR, or "
		    "use -d DIR");
	/* --out stays here: the daemon gets the person only. */
	q.nvals = 0;
	for (size_t i = 0; i < r->nvals; i++)
		if (strcmp(r->vals[i].flag->name, "out") != 0)
			q.vals[q.nvals++] = r->vals[i];
	if ((fd = open(tj, O_WRONLY | O_CREAT | O_EXCL, 0600)) < 0 ||
	    (fj = fdopen(fd, "w")) == NULL ||
	    (fd = open(tt, O_WRONLY | O_CREAT | O_EXCL, 0600)) < 0 ||
	    (ft = fdopen(fd, "w")) == NULL) {
		status = fail(1, "person: cannot write %s: %s", fj == NULL ? file :
		    txt, strerror(errno));
		goto out;
	}
	request_sinks(fj, &output_text, ft);
	status = request_run(dir, r->dir != NULL || getenv("SAMLOG_DIR") !=
	    NULL, &q, &output_json);
	request_sinks(NULL, NULL, NULL);
	if (fflush(fj) != 0 || fsync(fileno(fj)) != 0 || fflush(ft) != 0 ||
	    fsync(fileno(ft)) != 0) {
		if (status == 0)
			status = fail(1, "person: cannot write %s: %s", file,
			    strerror(errno));
	}
	if (status == 0 && (rename(tj, file) != 0 || rename(tt, txt) != 0))
		status = fail(1, "person: cannot write %s: %s", file,
		    strerror(errno));
	if (status == 0) {
		if (r->json) {
			printf("{\"json\": ");
			json_text(stdout, file, strlen(file));
			printf(", \"text\": ");
			json_text(stdout, txt, strlen(txt));
			printf("}\n");
		} else {
			printf("wrote %s (JSON) and %s (text)\n", file, txt);
		}
	}
out:
	if (fj != NULL)
		fclose(fj);
	if (ft != NULL)
		fclose(ft);
	if (status != 0) {
		(void)unlink(tj);
		(void)unlink(tt);
	}
	free(dir);
	return status;
}

int
main(int argc, char **argv)
{
	struct parse_result r;
	char err[512];
	int status;

	if (argc >= 2 && strcmp(argv[1], "__complete") == 0)
		return cmd_complete(argc - 2, argv + 2);

	if (!parse_args(&r, argc, argv, err, sizeof err)) {
		/* A group without its subcommand: what it has, then the
		 * error. */
		if (r.group != NULL)
			parse_usage_group(stdout, r.group);
		fflush(stdout);
		return fail(2, "%s", err);
	}
	const struct output *out = output_pick(r.json);

	if (r.bare) {
		parse_usage(stdout, NULL);
		fflush(stdout);
		return fail(2, "no command given (see the list above)");
	}
	if (r.help) {
		if (r.cmd == CMD_HELP)
			return cmd_help(&r, out);
		if (r.json)
			return help_json(NULL, r.def, out);
		parse_usage(stdout, r.def);
		return 0;
	}
	if (!parse_normalise(&r, err, sizeof err))
		return fail(1, "%s", err);
	/* An explicit -d DIR names the node to talk to: it wins over
	 * $SAMLOG_SOCKET (see samlog --help). */
	if (r.dir != NULL)
		unsetenv("SAMLOG_SOCKET");

	switch (r.cmd) {
	case CMD_HELP:
		status = cmd_help(&r, out);
		break;
	case CMD_VERSION:
		if (r.json) {
			msgpack_sbuffer sb;
			msgpack_packer pk;

			msgpack_sbuffer_init(&sb);
			msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
			msgpack_pack_map(&pk, 1);
			pk_kv(&pk, "version", SL_VERSION_STRING);
			out->begin(stdout, OUT_OBJECT, NULL);
			emit(out, &sb);
			out->end(stdout);
			msgpack_sbuffer_destroy(&sb);
		} else {
			printf("samlog %s\n", SL_VERSION_STRING);
		}
		status = 0;
		break;
	case CMD_INIT:
		status = cmd_init(&r, out);
		break;
	case CMD_VERIFY: {
		const char *file = parse_value(&r, "file");
		struct pins pins;

		if (file == NULL && (parse_value(&r, "expect") != NULL ||
		    parse_value(&r, "members") != NULL)) {
			status = fail(2, "verify: --expect and --members go with "
			    "--file FILE (see: samlog help verify)");
			break;
		}
		if (file == NULL) {
			char *dir = sl_node_dir_resolve(r.dir);

			if (dir == NULL)
				return fail(1, "no node directory: set HOME or "
				    "SAMLOG_DIR, or use -d DIR");
			status = request_run(dir, r.dir != NULL ||
			    getenv("SAMLOG_DIR") != NULL, &r, out);
			free(dir);
			break;
		}
		if ((status = pins_load(&pins, &r)) == 0)
			status = cmd_verify_file(file, &pins, out);
		pins_free(&pins);
		break;
	}
	case CMD_AUDIT: {
		const char *check = parse_value(&r, "check");
		const char *file = parse_value(&r, "out");

		if (check != NULL && (r.pos != NULL || file != NULL)) {
			status = fail(2, "audit: give either ID --out FILE or "
			    "--check FILE (see: samlog help audit)");
			break;
		}
		if (check == NULL && (parse_value(&r, "expect") != NULL ||
		    parse_value(&r, "members") != NULL)) {
			status = fail(2, "audit: --expect and --members go with "
			    "--check FILE (see: samlog help audit)");
			break;
		}
		if (check != NULL) {
			struct pins pins;

			if ((status = pins_load(&pins, &r)) == 0)
				status = cmd_audit_check(check, &pins, out);
			pins_free(&pins);
			break;
		}
		if (r.pos == NULL || file == NULL) {
			status = fail(2, "audit needs ID --out FILE, or --check "
			    "FILE (see: samlog help audit)");
			break;
		}
		char *dir = sl_node_dir_resolve(r.dir);

		if (dir == NULL)
			return fail(1, "no node directory: set HOME or "
			    "SAMLOG_DIR, or use -d DIR");
		status = cmd_audit_out(dir, r.dir != NULL ||
		    getenv("SAMLOG_DIR") != NULL, r.pos, file, out);
		free(dir);
		break;
	}
	case CMD_PERSON:
		status = cmd_person(&r);
		break;
	case CMD_RESTORE:
		status = cmd_restore(r.pos, r.pos2, r.json);
		break;
	case CMD_REPORT:
		status = cmd_report(&r);
		break;
	case CMD_UI:
		status = run_ui(argv);
		break;
	case CMD_BACKUP: {
		/* samlogd writes it: the path must not depend on where
		 * samlog runs. */
		char abs[4096], *dir;
		struct parse_result q = r;

		if (r.pos[0] == '/') {
			snprintf(abs, sizeof abs, "%s", r.pos);
		} else {
			char cwd[2048];

			if (getcwd(cwd, sizeof cwd) == NULL) {
				status = fail(1, "backup: cannot tell the current "
				    "directory: %s", strerror(errno));
				break;
			}
			snprintf(abs, sizeof abs, "%s/%s", cwd, r.pos);
		}
		q.pos = abs;
		if ((dir = sl_node_dir_resolve(r.dir)) == NULL)
			return fail(1, "no node directory: set HOME or "
			    "SAMLOG_DIR, or use -d DIR");
		status = request_run(dir, r.dir != NULL ||
		    getenv("SAMLOG_DIR") != NULL, &q, out);
		free(dir);
		break;
	}
	case CMD_EXPORT:
	case CMD_IMPORT:
	case CMD_REMOTE: {
		char *dir = sl_node_dir_resolve(r.dir);
		bool named = r.dir != NULL || getenv("SAMLOG_DIR") != NULL;

		if (dir == NULL)
			return fail(1, "no node directory: set HOME or "
			    "SAMLOG_DIR, or use -d DIR");
		if (r.cmd == CMD_EXPORT && parse_value(&r, "events") == NULL &&
		    (parse_value(&r, "origin") != NULL ||
		    parse_value(&r, "since") != NULL))
			status = fail(2, "export: --origin and --since go with "
			    "--events FILE (see: samlog help export)");
		else if (r.cmd == CMD_EXPORT && parse_value(&r, "events") !=
		    NULL && (parse_value(&r, "format") != NULL ||
		    parse_value(&r, "kind") != NULL ||
		    parse_value(&r, "excel") != NULL ||
		    parse_value(&r, "omit-personal") != NULL))
			status = fail(2, "export: --events writes every kind's "
			    "events as stored: leave out --format, --kind, "
			    "--excel and --omit-personal");
		else if (r.cmd == CMD_EXPORT && parse_value(&r, "events") !=
		    NULL)
			status = cmd_export_events(dir, named, &r, out);
		else if (r.cmd == CMD_EXPORT && r.json && parse_value(&r,
		    "format") != NULL && strcmp(parse_value(&r, "format"),
		    "jsonl") != 0)
			status = fail(2, "export: --json writes JSON Lines; it "
			    "cannot be --format %s too", parse_value(&r,
			    "format"));
		else if (r.cmd == CMD_EXPORT)
			status = cmd_export(dir, named, parse_value(&r,
			    "format"), parse_value(&r, "kind"),
			    parse_value(&r, "excel") != NULL,
			    parse_value(&r, "omit-personal") != NULL);
		else if (r.cmd == CMD_IMPORT && r.pos == NULL)
			status = fail(2, "import needs a FILE (see: samlog help "
			    "import)");
		else if (r.cmd == CMD_IMPORT) {
			output_set_json(r.json);
			status = cmd_import(dir, named, r.pos, parse_value(&r,
			    "kind"), parse_value(&r, "format"),
			    parse_value(&r, "force") != NULL);
		}
		else
			status = request_run(dir, named, &r, out);
		free(dir);
		break;
	}
	default:
		status = fail(2, "no command given (see: samlog help)");
		break;
	}
	if (fflush(stdout) != 0 || ferror(stdout))
		return fail(1, "cannot write the output");
	return status;
}
