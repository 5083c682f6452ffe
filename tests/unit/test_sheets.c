/*
 * test_sheets.c - import and export as offices use spreadsheets: files
 * saved by a Swedish Excel (Windows-1252, ';', CRLF, Swedish headers),
 * exports Excel opens (BOM, ';', cells that would run as formulas made
 * harmless), rows with ids updating their records, and a file imported
 * twice adding nothing the second time.  A real daemon in a temporary
 * node directory, driven through the samlog binary, as test_e2e does;
 * the Swedish labels (protocol/labels.c) are also checked directly.
 */
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "samlog_proto.h"
#include "testutil.h"

static char *tmp, *dir, *logpath;
static pid_t daemon_pid;

static void
daemon_start(void)
{
	char sock[600];

	snprintf(sock, sizeof sock, "%s/%s", dir, SL_CTL_SOCKET);
	if ((daemon_pid = fork()) == 0) {
		if (freopen(logpath, "a", stderr) == NULL)
			_exit(126);
		execl(tu_prog("samlogd"), "samlogd", "-d", dir, "--foreground",
		    (char *)NULL);
		_exit(127);
	}
	for (int i = 0; i < 1000; i++) {
		struct sockaddr_un sa = { .sun_family = AF_UNIX };
		int fd = socket(AF_UNIX, SOCK_STREAM, 0);

		assert_true(strlen(sock) < sizeof sa.sun_path);
		memcpy(sa.sun_path, sock, strlen(sock) + 1);
		if (connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0) {
			close(fd);
			return;
		}
		close(fd);
		usleep(10000);
	}
	fail_msg("samlogd did not start (see %s)", logpath);
}

/* Runs samlog -d DIR ARGS...; NULL-terminated. */
static struct tu_run *
sl(const char *first, ...)
{
	static struct tu_run r;
	char *argv[64];
	int n = 0;
	va_list ap;

	argv[n++] = (char *)tu_prog("samlog");
	argv[n++] = "-d";
	argv[n++] = dir;
	argv[n++] = (char *)first;
	va_start(ap, first);
	for (char *a; (a = va_arg(ap, char *)) != NULL;)
		argv[n++] = a;
	va_end(ap);
	argv[n] = NULL;
	assert_int_equal(tu_run(&r, argv, NULL), 0);
	return &r;
}

/* The first line of stdout of a run that must have succeeded. */
static char *
out1(struct tu_run *r)
{
	static char buf[8][256];
	static int k;
	char *b = buf[k++ % 8];

	if (r->status != 0)
		fail_msg("samlog failed (%d): %s", r->status, r->err);
	snprintf(b, sizeof buf[0], "%.*s", (int)strcspn(r->out, "\n"), r->out);
	return b;
}

static long
event_count(void)
{
	struct tu_run *r = sl("status", "--json", NULL);
	long n = tu_json_num(r->out, "events");

	assert_int_equal(r->status, 0);
	assert_true(n >= 0);
	return n;
}

/* Writes len bytes into tmp/name; the caller frees the path. */
static char *
put_file(const char *name, const char *data, size_t len)
{
	char *path;
	FILE *f;

	if (asprintf(&path, "%s/%s", tmp, name) < 0 ||
	    (f = fopen(path, "wb")) == NULL)
		abort();
	assert_int_equal(fwrite(data, 1, len, f), len);
	fclose(f);
	return path;
}

static char *
write_file(const char *name, const char *text)
{
	return put_file(name, text, strlen(text));
}

/* Fails unless the run failed with status and stderr holds needle. */
static void
failed_with(const struct tu_run *r, int status, const char *needle)
{
	if (r->status != status || strstr(r->err, needle) == NULL)
		fail_msg("expected exit %d with \"%s\", got %d: out=[%s] "
		    "err=[%s]", status, needle, r->status, r->out, r->err);
}

static void
succeeded(const struct tu_run *r)
{
	if (r->status != 0)
		fail_msg("samlog failed (%d): out=[%s] err=[%s]", r->status,
		    r->out, r->err);
}

static int
setup(void **state)
{
	struct tu_run r;

	(void)state;
	tmp = tu_tmpdir();
	if (asprintf(&dir, "%s/node", tmp) < 0 ||
	    asprintf(&logpath, "%s/samlogd.log", tmp) < 0)
		abort();
	assert_int_equal(tu_run(&r, (char *const[]){ (char *)tu_prog("samlog"),
	    "-d", dir, "init", "--org", "Samordningsförbundet", NULL }, NULL), 0);
	assert_int_equal(r.status, 0);
	daemon_start();
	return 0;
}

static int
teardown(void **state)
{
	int status;

	(void)state;
	if (daemon_pid > 0) {
		kill(daemon_pid, SIGTERM);
		assert_int_equal(waitpid(daemon_pid, &status, 0), daemon_pid);
		assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	}
	daemon_pid = 0;
	if (getenv("SAMLOG_KEEP") == NULL)
		tu_rmtree(tmp);
	else
		free(tmp);
	free(dir);
	free(logpath);
	return 0;
}

/* ---- the labels ---------------------------------------------------------- */

static void
test_labels(void **state)
{
	const struct sl_kind *contact = sl_schema_kind("contact");
	const struct sl_kind *decision = sl_schema_kind("decision");
	const struct sl_kind *meeting = sl_schema_kind("meeting");
	const struct sl_field *f;
	uint32_t idx = 99;

	(void)state;
	assert_string_equal(sl_label_sv("name"), "Namn");
	assert_string_equal(sl_label_sv("email"), "E-post");
	assert_string_equal(sl_label_sv("municipality"), "Kommun");
	assert_null(sl_label_sv("colour"));
	/* Field name, flag, label and aliases; any case, Å Ä Ö included;
	 * surrounding spaces ignored. */
	f = sl_field_by_header(contact, "  e-POST ", &idx);
	assert_non_null(f);
	assert_string_equal(f->name, "email");
	assert_int_equal(idx, 3);
	assert_string_equal(sl_field_by_header(contact, "Mejl", NULL)->name,
	    "email");
	assert_string_equal(sl_field_by_header(contact, "KOMMUN", NULL)->name,
	    "municipality");
	assert_string_equal(sl_field_by_header(contact, "name", NULL)->name,
	    "name");
	assert_string_equal(sl_field_by_header(decision, "MÖTE", NULL)->name,
	    "meeting");
	assert_string_equal(sl_field_by_header(decision, "möte", NULL)->name,
	    "meeting");
	/* A meeting's orgs go by the flag --org, too. */
	assert_string_equal(sl_field_by_header(meeting, "org", NULL)->name,
	    "orgs");
	assert_string_equal(sl_field_by_header(meeting, "Organisationer",
	    NULL)->name, "orgs");
	assert_null(sl_field_by_header(contact, "Färg", NULL));
	assert_null(sl_field_by_header(contact, "", NULL));
	assert_null(sl_field_by_header(contact, "Namnet", NULL));
	/* Every field of every kind has a Swedish label, and no header
	 * names two fields of one kind. */
	for (size_t i = 0; i < sl_schema_kind_count(); i++) {
		const struct sl_kind *k = sl_schema_kind_at(i);

		if (!k->record)
			continue;
		for (uint32_t j = 0; j < k->nfields; j++) {
			const char *l = sl_label_sv(k->fields[j].name);

			if (l == NULL)
				fail_msg("%s has no Swedish label",
				    k->fields[j].name);
			f = sl_field_by_header(k, l, &idx);
			if (f != &k->fields[j])
				fail_msg("the label %s of a %s's %s names %s", l,
				    k->word, k->fields[j].name, f ? f->name :
				    "nothing");
		}
	}
}

/* ---- files from Excel -------------------------------------------------- */

/* A contact list as a Swedish Excel saves "CSV (semikolonavgränsad)":
 * Windows-1252, ';', CRLF, no BOM, Swedish headers; a cell with ';' and
 * a line break, one that looks like a formula, the euro sign (0x80). */
static const char excel_contacts[] =
    "Namn;Roll;E-post;Telefon;Kommun\r\n"
    "\xc5sa \xd6" "berg;ordf\xf6rande;asa@example.se;08-123 45;Upplands V\xe4sby\r\n"
    "Bo Ek;\"Samordnare; IT\r\noch ekonomi\";bo@example.se;;Sigtuna\r\n"
    "Cia Lund;=SUM(A1);cia@example.se;;Knivsta\r\n"
    "Dan \xc4ng;Kass\xf6r (\x80);;;M\xe4rsta\r\n";

static void
test_excel_file(void **state)
{
	struct tu_run *r;
	char *p;

	(void)state;
	p = put_file("kontakter.csv", excel_contacts, sizeof excel_contacts - 1);
	r = sl("import", p, "--kind", "contact", NULL);
	succeeded(r);
	/* One note: the file was read as Windows-1252. */
	assert_int_equal(tu_lines(r->err), 1);
	assert_non_null(strstr(r->err, "Windows-1252"));
	assert_non_null(strstr(r->out, "imported 4 records"));
	r = sl("contact", "list", "--json", NULL);
	assert_non_null(strstr(r->out, "\"name\": \"Åsa Öberg\""));
	assert_non_null(strstr(r->out, "\"role\": \"ordförande\""));
	assert_non_null(strstr(r->out, "\"municipality\": \"Upplands Väsby\""));
	assert_non_null(strstr(r->out, "\"role\": \"Samordnare; IT\\noch "
	    "ekonomi\""));
	assert_non_null(strstr(r->out, "\"role\": \"=SUM(A1)\""));
	assert_non_null(strstr(r->out, "\"role\": \"Kassör (€)\""));
	assert_non_null(strstr(r->out, "\"phone\": \"08-123 45\""));
	free(p);
	/* The same as UTF-8 with a BOM, ',' and LF: no note. */
	p = write_file("utf8.csv", "\xef\xbb\xbfname,role\nEva Al,sekreterare\n");
	r = sl("import", p, "--kind", "contact", NULL);
	succeeded(r);
	assert_string_equal(r->err, "");
	free(p);
	/* Tabs (Excel's "Unicode text" aside, a tab-separated sheet). */
	p = write_file("tab.tsv", "Namn\tRoll\nFia Berg\tkassör\n");
	r = sl("import", p, "--kind", "contact", "--format", "csv", NULL);
	succeeded(r);
	assert_non_null(strstr(sl("contact", "list", NULL)->out, "Fia Berg"));
	free(p);
	/* A ';' inside a quoted header cell does not decide the separator. */
	p = write_file("quoted.csv", "\"Namn; fullst\xc3\xa4ndigt\",Roll\n"
	    "X,Y\n");
	r = sl("import", p, "--kind", "contact", NULL);
	failed_with(r, 1, "quoted.csv:1: unknown column \"Namn; fullständigt\"");
	free(p);
}

/* Errors name the file's physical line, counting line breaks inside
 * quoted cells, and the whole header. */
static void
test_line_numbers(void **state)
{
	struct tu_run *r;
	char *p;
	long before;

	(void)state;
	before = event_count();
	/* Found by the daemon: a bad e-mail address on line 5. */
	p = write_file("rad5.csv", "Namn;Roll;E-post\r\n"
	    "Anna;\"rad ett\r\nrad tv\xc3\xa5\";anna@example.se\r\n"
	    "Bo;\"a\nb\";bo@example.se\r\n"
	    "Cia;x;inte-en-adress\r\n");
	r = sl("import", p, "--kind", "contact", NULL);
	failed_with(r, 1, "rad5.csv:6: ");
	assert_non_null(strstr(r->err, "inte-en-adress"));
	assert_null(strstr(r->err, "rad5.csv:4:"));
	free(p);
	/* Found by the CLI: a row of too few cells on line 4. */
	p = write_file("celler.csv", "Namn;Roll\n"
	    "\"Anna\nAndersson\";x\n"
	    "Bo\n");
	r = sl("import", p, "--kind", "contact", NULL);
	failed_with(r, 1, "celler.csv:4: 1 cell");
	free(p);
	/* An unknown header: line 1, its whole name, what would do. */
	p = write_file("rubrik.csv", "Namn;En mycket l\xc3\xa5ng rubrik som "
	    "inte finns i n\xc3\xa5got schema\r\nAnna;x\r\n");
	r = sl("import", p, "--kind", "contact", NULL);
	failed_with(r, 1, "rubrik.csv:1: unknown column \"En mycket lång rubrik "
	    "som inte finns i något schema\"");
	assert_non_null(strstr(r->err, "Namn"));
	assert_non_null(strstr(r->err, "E-post"));
	assert_null(strstr(r->err, "rubrik.csv:2:"));
	free(p);
	/* Two headers for one field. */
	p = write_file("dubbel.csv", "Namn;name\nA;B\n");
	r = sl("import", p, "--kind", "contact", NULL);
	failed_with(r, 1, "dubbel.csv:1: ");
	free(p);
	/* JSON Lines: one line per error, with its number. */
	p = write_file("fel.jsonl", "{\"kind\": \"contact\", \"name\": \"A\"}\n"
	    "\n"
	    "{\"kind\": \"contact\", \"name\": \"B\",}\n"
	    "[1, 2]\n");
	r = sl("import", p, NULL);
	failed_with(r, 1, "fel.jsonl:3: not valid JSON");
	assert_non_null(strstr(r->err, "fel.jsonl:4: "));
	assert_int_equal(tu_lines(r->err), 3);
	free(p);
	p = write_file("json.jsonl", "{\"kind\": \"contact\", \"Namn\": "
	    "\"\\u00c5sa\", \"E-post\": \"asa@example.se\"}\n");
	r = sl("import", p, NULL);
	succeeded(r);
	free(p);
	assert_int_equal(event_count(), before + 1);
	/* Not a text file Excel would write as CSV. */
	p = put_file("utf16.csv", "\xff\xfeN\0a\0m\0n\0", 10);
	r = sl("import", p, "--kind", "contact", NULL);
	failed_with(r, 1, "UTF-16");
	assert_int_equal(tu_lines(r->err), 1);
	free(p);
	r = sl("export", "--excel", "--format", "jsonl", NULL);
	assert_int_equal(r->status, 2);
}

/* ---- exports Excel opens, and back -------------------------------------- */

static void
test_excel_roundtrip(void **state)
{
	struct tu_run *r;
	char org[64], c1[64], *p, *text;
	long before;

	(void)state;
	snprintf(org, sizeof org, "%s", out1(sl("org", "add", "--name",
	    "Värmekällan", "--kind", "asf", NULL)));
	snprintf(c1, sizeof c1, "%s", out1(sl("contact", "add", "--name",
	    "Åsa Öberg", "--org", org, "--role", "=SUM(A1)", "--phone",
	    "+46 8 123 45", "--municipality", "Upplands Väsby", NULL)));
	out1(sl("contact", "add", "--name", "Bo Ek", "--role",
	    "@rubrik; med semikolon", "--email", "bo@example.se", NULL));
	out1(sl("contact", "add", "--name", "Cia Lund", "--role",
	    "'=redan skyddad", NULL));
	out1(sl("meeting", "add", "--title", "Uppstart", "--date",
	    "2019-11-14", NULL));
	r = sl("export", "--kind", "contact", "--excel", NULL);
	succeeded(r);
	text = strdup(r->out);
	/* BOM, ';', CRLF; the contact's columns only. */
	assert_memory_equal(text, "\xef\xbb\xbf" "id;record;name;", 18);
	assert_non_null(strstr(text, ";email;"));
	assert_non_null(strstr(text, "\r\n"));
	assert_null(strstr(text, "title"));
	assert_null(strstr(text, "date"));
	assert_null(strstr(text, "iop"));
	assert_null(strstr(text, ",name"));
	/* Cells a spreadsheet would run are made text. */
	assert_non_null(strstr(text, ";'=SUM(A1);"));
	assert_non_null(strstr(text, ";'+46 8 123 45;"));
	assert_non_null(strstr(text, ";\"'@rubrik; med semikolon\";"));
	assert_non_null(strstr(text, ";''=redan skyddad;"));
	assert_non_null(strstr(text, "Väsby"));
	/* Back in: nothing changes, nothing is written. */
	p = write_file("kontakter.csv", text);
	before = event_count();
	r = sl("import", p, NULL);
	succeeded(r);
	assert_non_null(strstr(r->out, "3 unchanged"));
	assert_int_equal(event_count(), before);
	r = sl("contact", "show", c1, "--json", NULL);
	assert_non_null(strstr(r->out, "\"role\": \"=SUM(A1)\""));
	assert_non_null(strstr(r->out, "\"phone\": \"+46 8 123 45\""));
	r = sl("contact", "list", "--json", NULL);
	assert_non_null(strstr(r->out, "\"role\": \"'=redan skyddad\""));
	assert_int_equal(tu_lines(sl("contact", "list", NULL)->out), 4);
	/* One changed cell: one update event on that record. */
	char *cell = strstr(text, "'=SUM(A1)"), *edited;

	assert_non_null(cell);
	if (asprintf(&edited, "%.*sordf.%s", (int)(cell - text), text,
	    cell + 9) < 0)
		abort();
	free(p);
	p = write_file("kontakter2.csv", edited);
	free(edited);
	r = sl("import", p, NULL);
	succeeded(r);
	assert_non_null(strstr(r->out, "1 updated"));
	assert_non_null(strstr(r->out, "2 unchanged"));
	assert_int_equal(event_count(), before + 1);
	r = sl("contact", "show", c1, "--json", NULL);
	assert_non_null(strstr(r->out, "\"role\": \"ordf.\""));
	r = sl("history", c1, NULL);
	assert_non_null(strstr(r->out, "contact.updated"));
	free(p);
	free(text);
	/* Without --kind: every kind's columns, as before, in CSV with ','
	 * and the formula cells made text there too. */
	r = sl("export", "--format", "csv", NULL);
	succeeded(r);
	assert_memory_equal(r->out, "record,id,", 10);
	assert_non_null(strstr(r->out, "title"));
	assert_non_null(strstr(r->out, ",'+46 8 123 45,"));
	p = write_file("alla.csv", r->out);
	before = event_count();
	r = sl("import", p, NULL);
	succeeded(r);
	assert_non_null(strstr(r->out, "5 unchanged"));
	assert_int_equal(event_count(), before);
	free(p);
	/* A JSON Lines export back in: nothing changes either. */
	r = sl("export", NULL);
	succeeded(r);
	p = write_file("alla.jsonl", r->out);
	r = sl("import", p, NULL);
	succeeded(r);
	assert_non_null(strstr(r->out, "5 unchanged"));
	assert_int_equal(event_count(), before);
	free(p);
	/* An id that is of another kind is refused. */
	char line[256];

	snprintf(line, sizeof line, "id;Namn\n%s;Ny\n", org);
	p = write_file("fel-id.csv", line);
	r = sl("import", p, "--kind", "contact", NULL);
	failed_with(r, 1, "fel-id.csv:2: ");
	assert_int_equal(event_count(), before);
	free(p);
}

/* Formula cells on import: exactly one leading ' is taken off, and only
 * before a character a spreadsheet would run. */
static void
test_formula_import(void **state)
{
	struct tu_run *r;
	char *p;

	(void)state;
	p = write_file("f.csv", "name,role\n"
	    "A,'=1+2\n"
	    "B,''=x\n"
	    "C,'vanlig\n"
	    "D,'-minus\n"
	    "E,\"'@rubrik\"\n");
	r = sl("import", p, "--kind", "contact", NULL);
	succeeded(r);
	r = sl("contact", "list", "--json", NULL);
	assert_non_null(strstr(r->out, "\"role\": \"=1+2\""));
	assert_non_null(strstr(r->out, "\"role\": \"'=x\""));
	assert_non_null(strstr(r->out, "\"role\": \"'vanlig\""));
	assert_non_null(strstr(r->out, "\"role\": \"-minus\""));
	assert_non_null(strstr(r->out, "\"role\": \"@rubrik\""));
	free(p);
}

/* ---- the same file twice -------------------------------------------------- */

static void
test_twice(void **state)
{
	struct tu_run *r;
	char *p;
	long before, after;

	(void)state;
	p = put_file("kontakter.csv", excel_contacts, sizeof excel_contacts - 1);
	r = sl("import", p, "--kind", "contact", NULL);
	succeeded(r);
	after = event_count();
	assert_int_equal(tu_lines(sl("contact", "list", NULL)->out), 5);
	/* Again: every row names a record that exists (by name, in any
	 * case): each reported with its line and the record's id, none
	 * added. */
	r = sl("import", p, "--kind", "contact", NULL);
	succeeded(r);
	assert_non_null(strstr(r->out, "4 skipped"));
	assert_non_null(strstr(r->err, "kontakter.csv:2: "));
	assert_non_null(strstr(r->err, "kontakter.csv:3: "));
	assert_non_null(strstr(r->err, "kontakter.csv:5: "));
	assert_non_null(strstr(r->err, "kontakter.csv:6: "));
	assert_non_null(strstr(r->err, "--force"));
	assert_int_equal(event_count(), after);
	assert_int_equal(tu_lines(sl("contact", "list", NULL)->out), 5);
	free(p);
	/* A name differing only in case matches too; a new one is added. */
	p = write_file("igen.csv", "Namn;Kommun\n\xc3\x85SA \xc3\x96" "BERG;X\n"
	    "Ny Person;Y\n");
	r = sl("import", p, "--kind", "contact", NULL);
	succeeded(r);
	assert_non_null(strstr(r->out, "1 skipped"));
	assert_non_null(strstr(r->err, "igen.csv:2: "));
	assert_int_equal(tu_lines(sl("contact", "list", NULL)->out), 6);
	/* --force adds it anyway. */
	before = event_count();
	r = sl("import", p, "--kind", "contact", "--force", NULL);
	succeeded(r);
	assert_int_equal(event_count(), before + 2);
	free(p);
	/* Meetings match by title and date: the same title on another day
	 * is another meeting. */
	p = write_file("moten.csv", "Titel;Datum\nStyrelsem\xc3\xb6te;2019-01-10\n"
	    "Styrelsem\xc3\xb6te;2019-02-14\n");
	r = sl("import", p, "--kind", "meeting", NULL);
	succeeded(r);
	assert_non_null(strstr(r->out, "imported 2 records"));
	r = sl("import", p, "--kind", "meeting", NULL);
	succeeded(r);
	assert_non_null(strstr(r->out, "2 skipped"));
	assert_int_equal(tu_lines(sl("meeting", "list", NULL)->out), 3);
	free(p);
	/* An export imported into the same node twice changes nothing. */
	r = sl("export", NULL);
	succeeded(r);
	p = write_file("alla.jsonl", r->out);
	before = event_count();
	for (int i = 0; i < 2; i++) {
		r = sl("import", p, NULL);
		succeeded(r);
		assert_non_null(strstr(r->out, "unchanged"));
	}
	assert_int_equal(event_count(), before);
	free(p);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_labels),
		cmocka_unit_test_setup_teardown(test_excel_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_line_numbers, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_excel_roundtrip, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_formula_import, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_twice, setup, teardown),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests_name("sheets", tests, NULL, NULL);
}
