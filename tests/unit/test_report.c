/*
 * test_report.c - samlog report against a real daemon: the demo year
 * (scripts/demo.sh, written through the CLI) as HTML, Markdown and
 * JSON in Swedish and English, compared with the files under
 * tests/golden/ (ids in the JSON replaced by a placeholder); the same
 * report after a rebuild; values that try to break out of the HTML or
 * the Markdown; wrong usage and failures that must leave the file as it
 * was; and, where Debian's chromium is installed, the HTML printed to A4
 * with its page numbers.
 *
 * SAMLOG_GOLDEN_UPDATE=1 rewrites the golden files from what samlog
 * writes now and fails each comparison it rewrote (review with git
 * diff).
 */
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "cluster.h"

static struct node A;
static bool seeded;
static int rewrote;     /* golden files SAMLOG_GOLDEN_UPDATE rewrote */


/* Record ids (26 characters of base32 between quotes) as a placeholder
 * of the same width. */
static void
mask_ids(char *s)
{
	static const char b32[] = "0123456789abcdefghjkmnpqrstvwxyz";

	for (char *p = s; (p = strchr(p, '"')) != NULL; p++) {
		size_t n = strspn(p + 1, b32);

		if (n == 26 && p[27] == '"')
			memset(p + 1, 'I', 26);
	}
}

/* The file name's contents equal tests/golden/NAME's. */
static void
golden(const char *name, char *got)
{
	char path[600], cmd[1400], tmp[600];
	const char *dir = getenv("SAMLOG_GOLDEN_DIR");
	char *want;

	snprintf(path, sizeof path, "%s/%s", dir != NULL ? dir :
	    "tests/golden", name);
	want = tu_slurp(path);
	if (getenv("SAMLOG_GOLDEN_UPDATE") != NULL) {
		if (want == NULL || strcmp(want, got) != 0) {
			assert_int_equal(tu_spit(path, got), 0);
			print_message("rewrote %s: review it\n", path);
			rewrote++;
		}
		free(want);
		return;
	}
	if (want == NULL)
		fail_msg("no golden file %s (SAMLOG_GOLDEN_UPDATE=1 makes it)",
		    path);
	bool same = strcmp(want, got) == 0;

	free(want);
	if (!same) {
		snprintf(tmp, sizeof tmp, "%s/got-%s", cl_tmp, name);
		assert_int_equal(tu_spit(tmp, got), 0);
		snprintf(cmd, sizeof cmd, "diff -u %s %s | head -60", path,
		    tmp);
		if (system(cmd) < 0)
			print_message("(diff did not run)\n");
		fail_msg("%s differs from what samlog report wrote", name);
	}
}

/* The node with the demo year (make run's), made once for the tests
 * that read it. */
static void
seed(void)
{
	char cmd[1400];

	if (seeded)
		return;
	node_init(&A, "rp", "Samordningsförbundet");
	node_start(&A);
	snprintf(cmd, sizeof cmd, "sh scripts/demo.sh %s %s >/dev/null",
	    tu_prog("samlog"), A.dir);
	assert_int_equal(system(cmd), 0);
	seeded = true;
}

/* samlog report for 2019 with extra arguments; the file it wrote. */
static char *
report(const char *file, const char *a1, const char *a2, const char *a3,
    const char *a4)
{
	char out[600];

	snprintf(out, sizeof out, "%s/%s", cl_tmp, file);
	unlink(out);
	ok(sl(&A, "report", "--from", "2019-04-01", "--to", "2019-12-31",
	    "--out", out, a1, a2, a3, a4, NULL));
	return tu_slurp(out);
}

/*
 * The example year in every format and both languages, as the golden
 * files hold it: the sections of the board report the seed was written
 * by hand (summary, per municipality, other, the work ahead), what 2020
 * changed left out, and the same after a rebuild of every record.
 */
static void
test_report_golden(void **state)
{
	char *s, *again;

	(void)state;
	seed();
	s = report("r.html", NULL, NULL, NULL, NULL);
	golden("report-2019.html", s);
	/* What came after the period is not in it: Seniorservice Norr
	 * went dormant in 2020, the new contact at the employment
	 * service came in 2020, the board met in 2020. */
	assert_null(strstr(s, "vilande"));
	assert_null(strstr(s, "Uppdraget 2020"));
	assert_non_null(strstr(s, "Ny kontaktperson på Arbetsförmedlingen"));
	assert_non_null(strstr(s, "återremitterat"));
	/* Printed, a day and "§ 12" stay on one line wherever they are;
	 * the contents are numbered as the headings. */
	assert_non_null(strstr(s, "KS <span class=\"d\">2019-10-25</span> "
	    "§&nbsp;12"));
	assert_non_null(strstr(s, "gällde <span class=\"d\">2019-12-31"));
	assert_non_null(strstr(s, ">1. Sammanfattning</a>"));
	assert_non_null(strstr(s, "<h2 id=\"summary\">1. Sammanfattning"));
	ok(sl(&A, "rebuild", NULL));
	again = report("r2.html", NULL, NULL, NULL, NULL);
	assert_string_equal(s, again);
	free(s);
	free(again);

	s = report("r-en.html", "--lang", "en", NULL, NULL);
	golden("report-2019-en.html", s);
	free(s);
	s = report("r.md", NULL, NULL, NULL, NULL);
	golden("report-2019.md", s);
	/* What a word processor shows as typed: an ampersand in a name is
	 * not escaped (it starts no entity). */
	assert_non_null(strstr(s, "Coompanion Roslagen & Norrort"));
	assert_null(strstr(s, "\\&"));
	free(s);
	s = report("r-en.md", "--lang", "en", NULL, NULL);
	golden("report-2019-en.md", s);
	free(s);
	s = report("r.json", NULL, NULL, NULL, NULL);
	mask_ids(s);
	golden("report-2019.json", s);
	/* A list in the records is a list in the JSON. */
	assert_non_null(strstr(s, "\"sector\": [\"second hand\", "
	    "\"café\"]"));
	free(s);
	/* Two municipalities asked for: the third is Other. */
	s = report("r2.md", "--municipality", "sollentuna", "--municipality",
	    "SIGTUNA");
	golden("report-2019-two.md", s);
	free(s);
	/* --format wins over the file's ending. */
	s = report("r3.html", "--format", "md", NULL, NULL);
	assert_true(strncmp(s, "# Rapport till styrelsen", 24) == 0);
	free(s);
	if (rewrote > 0)
		fail_msg("SAMLOG_GOLDEN_UPDATE rewrote %d golden file(s)",
		    rewrote);
}

/* Values from the log cannot break out of the HTML or the Markdown. */
static void
test_report_escapes(void **state)
{
	struct node b;
	char out[600], *s;

	(void)state;
	node_init(&b, "re", "Förbund <b>&</b>");
	node_start(&b);
	ok(sl(&b, "org", "add", "--name", "<script>alert(1)</script> | **x**",
	    "--kind", "asf", "--municipality", "Sigtuna <i>", "--status",
	    "active", "--sector", "a\"b'c", "--on", "2019-01-01", NULL));
	ok(sl(&b, "meeting", "add", "--title", "# rubrik [länk](http://x) "
	    "</td><img src=x onerror=alert(2)> &lt;u&gt; &#60;", "--date",
	    "2019-05-05", "--municipality", "Sigtuna <i>", NULL));
	snprintf(out, sizeof out, "%s/esc.html", cl_tmp);
	ok(sl(&b, "report", "--from", "2019-01-01", "--to", "2019-12-31",
	    "--out", out, NULL));
	s = tu_slurp(out);
	assert_null(strstr(s, "<script"));
	assert_null(strstr(s, "<img"));
	assert_null(strstr(s, "<i>"));
	assert_null(strstr(s, "<b>"));
	assert_non_null(strstr(s, "&lt;script&gt;alert(1)&lt;/script&gt;"));
	assert_non_null(strstr(s, "&lt;/td&gt;&lt;img src=x"));
	assert_non_null(strstr(s, "a&quot;b&#39;c"));
	assert_non_null(strstr(s, "Förbund &lt;b&gt;&amp;&lt;/b&gt;"));
	free(s);
	snprintf(out, sizeof out, "%s/esc.md", cl_tmp);
	ok(sl(&b, "report", "--from", "2019-01-01", "--to", "2019-12-31",
	    "--out", out, NULL));
	s = tu_slurp(out);
	assert_non_null(strstr(s, "\\<script\\>alert(1)\\</script\\> \\| "
	    "\\*\\*x\\*\\*"));
	assert_non_null(strstr(s, "\\# rubrik \\[länk\\](http://x)"));
	assert_non_null(strstr(s, "\\</td\\>\\<img"));
	/* What Markdown would read as a character reference stays text. */
	assert_non_null(strstr(s, "\\&lt;u\\&gt; \\&#60;"));
	free(s);
	assert_int_equal(node_stop(&b, SIGTERM), 0);
}

/*
 * A municipality no record names is most likely misspelt: the report is
 * written (its section says it is empty) and one line says so, naming
 * those the records do hold.
 */
static void
test_report_unknown_municipality(void **state)
{
	struct tu_run *r;
	char *s;

	(void)state;
	seed();
	s = report("unknown.md", "--municipality", "Sigtna", NULL, NULL);
	assert_non_null(strstr(s, "### 2.1 Sigtna"));
	free(s);
	r = sl(&A, "report", "--from", "2019-04-01", "--to", "2019-12-31",
	    "--municipality", "Sigtna", "--out", "-", NULL);
	assert_int_equal(r->status, 0);
	assert_non_null(strstr(r->err, "no record names the municipality "
	    "Sigtna"));
	assert_non_null(strstr(r->err, "Sigtuna"));
	r = sl(&A, "report", "--from", "2019-04-01", "--to", "2019-12-31",
	    "--municipality", "sigtuna", "--out", "-", NULL);
	assert_int_equal(r->status, 0);
	assert_string_equal(r->err, "");
}

/*
 * The authors' own introduction (--intro FILE), as the seed report
 * opens: its headings become chapters before the figures (and lines
 * of the contents), a numbered list stays one, every value escaped.
 */
static void
test_report_intro(void **state)
{
	char path[600], *s;
	struct tu_run *r;

	(void)state;
	seed();
	snprintf(path, sizeof path, "%s/intro.txt", cl_tmp);
	assert_int_equal(tu_spit(path, "# Bakgrund/nulägesbeskrivning\r\n"
	    "\r\n"
	    "M29 har under perioden 2019-04-01 till och med 2019-12-31\n"
	    "haft avtal <med> förbundet. En handlingsplan:\n"
	    "\n"
	    "1. Träffa alla ASF i regionen.\n"
	    "2. Kontakta politiker & tjänstemän.\n"
	    "\n"
	    "# Organisation/struktur\n"
	    "M29 utsåg en verksamhetsledare.\n"), 0);
	s = report("intro.html", "--intro", path, NULL, NULL);
	assert_non_null(strstr(s, "<li><a href=\"#i1\">Bakgrund/nuläges"
	    "beskrivning</a></li>\n<li><a href=\"#i2\">Organisation/struktur"
	    "</a></li>\n<li><a href=\"#summary\">1. Sammanfattning"));
	assert_non_null(strstr(s, "<h2 id=\"i1\">Bakgrund/nulägesbeskrivning"
	    "</h2>\n<p>M29 har under perioden <span class=\"d\">2019-04-01"
	    "</span> till och med <span class=\"d\">2019-12-31</span> haft "
	    "avtal &lt;med&gt; förbundet. En handlingsplan:</p>\n<ol>\n<li>"
	    "Träffa alla ASF i regionen.</li>\n<li>Kontakta politiker &amp; "
	    "tjänstemän.</li>\n</ol>\n<h2 id=\"i2\">Organisation/struktur"
	    "</h2>\n<p>M29 utsåg en verksamhetsledare.</p>\n<h2 id=\"summary\">"));
	free(s);
	s = report("intro.md", "--intro", path, NULL, NULL);
	assert_non_null(strstr(s, "\n## Bakgrund/nulägesbeskrivning\n\nM29 "
	    "har under perioden 2019-04-01 till och med 2019-12-31 haft avtal "
	    "\\<med\\> förbundet. En handlingsplan:\n\n1. Träffa alla ASF "
	    "i regionen.\n2. Kontakta politiker & tjänstemän.\n\n## "
	    "Organisation/struktur\n\nM29 utsåg en verksamhetsledare.\n\n## 1."));
	free(s);
	/* Not text: refused, nothing written. */
	assert_int_equal(tu_spit(path, "# Bakgrund\n\x1b[31mröd\n"), 0);
	r = sl(&A, "report", "--from", "2019-04-01", "--to", "2019-12-31",
	    "--intro", path, "--out", "-", NULL);
	refused(r, 1, "control character (line 2)");
	assert_string_equal(r->out, "");
	refused(sl(&A, "report", "--from", "2019-04-01", "--to", "2019-12-31",
	    "--intro", "/nonexistent/intro.txt", "--out", "-", NULL), 1,
	    "/nonexistent/intro.txt");
}

/* Wrong usage is 2, a failure 1; neither writes or changes the file. */
static void
test_report_refused(void **state)
{
	struct node c;
	char out[600], *s;

	(void)state;
	node_init(&c, "rf", "Förbundet");
	node_start(&c);
	snprintf(out, sizeof out, "%s/keep.html", cl_tmp);
	assert_int_equal(tu_spit(out, "the old report\n"), 0);
	refused(sl(&c, "report", "--from", "2019-01-01", "--out", out, NULL),
	    2, "--to");
	refused(sl(&c, "report", "--to", "2019-01-01", "--out", out, NULL),
	    2, "--from");
	refused(sl(&c, "report", "--from", "2019-01-01", "--to", "2019-12-31",
	    NULL), 2, "--out");
	refused(sl(&c, "report", "--from", "2019-02-30", "--to", "2019-12-31",
	    "--out", out, NULL), 2, "2019-02-30 does not exist");
	refused(sl(&c, "report", "--from", "2019-1-1", "--to", "2019-12-31",
	    "--out", out, NULL), 2, "YYYY-MM-DD");
	refused(sl(&c, "report", "--from", "2019-01-01", "--to", "2019-12-31",
	    "--out", out, "--municipality", "", NULL), 2, "empty");
	refused(sl(&c, "report", "--from", "2019-01-01", "--to", "2019-12-31",
	    "--out", out, "--municipality", "Sigtuna", "--municipality",
	    "SIGTUNA", NULL), 2, "twice");
	refused(sl(&c, "report", "--from", "2019-12-31", "--to", "2019-01-01",
	    "--out", out, NULL), 2, "after");
	refused(sl(&c, "report", "--from", "2019-01-01", "--to", "2019-12-31",
	    "--out", out, "--format", "pdf", NULL), 2, "pdf");
	refused(sl(&c, "report", "--from", "2019-01-01", "--to", "2019-12-31",
	    "--out", out, "--lang", "de", NULL), 2, "de");
	refused(sl(&c, "report", "--from", "2019-01-01", "--to", "2019-12-31",
	    "--out", "/nonexistent/dir/r.html", NULL), 1, "/nonexistent");
	assert_int_equal(node_stop(&c, SIGTERM), 0);
	/* No daemon: the request fails, the old file stays. */
	refused(sl(&c, "report", "--from", "2019-01-01", "--to", "2019-12-31",
	    "--out", out, NULL), 1, "samlogd");
	s = tu_slurp(out);
	assert_string_equal(s, "the old report\n");
	free(s);
}

/*
 * The HTML printed by a real browser (Debian's chromium, headless) to
 * A4: more than one page, each numbered "Sida N av M" in its margin.
 * Skipped, with one line saying why, where chromium is not installed.
 */
static void
test_report_print(void **state)
{
	char cmd[2400], pdf[600], txt[600], *s, *html, want[64];
	int pages = 0;

	(void)state;
	if (system("command -v chromium >/dev/null 2>&1 && command -v "
	    "pdftotext >/dev/null 2>&1") != 0) {
		print_message("skipped: chromium or pdftotext is not installed "
		    "(apt-get install chromium poppler-utils)\n");
		skip();
	}
	seed();
	html = report("print.html", NULL, NULL, NULL, NULL);
	free(html);
	snprintf(pdf, sizeof pdf, "%s/print.pdf", cl_tmp);
	snprintf(txt, sizeof txt, "%s/print.txt", cl_tmp);
	snprintf(cmd, sizeof cmd, "timeout 120 chromium --headless "
	    "--no-sandbox --disable-gpu --no-pdf-header-footer "
	    "--user-data-dir=%s/chromium --print-to-pdf=%s file://%s/print.html "
	    ">/dev/null 2>&1 && pdftotext -layout %s %s", cl_tmp, pdf, cl_tmp,
	    pdf, txt);
	assert_int_equal(system(cmd), 0);
	assert_non_null(s = tu_slurp(txt));
	for (const char *p = s; (p = strstr(p, "Sida ")) != NULL; p++)
		pages++;
	assert_true(pages >= 3);
	snprintf(want, sizeof want, "Sida 1 av %d", pages);
	assert_non_null(strstr(s, want));
	snprintf(want, sizeof want, "Sida %d av %d", pages, pages);
	assert_non_null(strstr(s, want));
	assert_non_null(strstr(s, "Rapport till styrelsen"));
	assert_non_null(strstr(s, "Kommande arbete"));
	free(s);
}

static int
stop_seeded(void **state)
{
	/* (cl_reap may have stopped it already.) */
	if (seeded && A.pid > 0 && kill(A.pid, 0) == 0)
		node_stop(&A, SIGTERM);
	return cl_teardown(state);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_report_golden),
		cmocka_unit_test(test_report_print),
		cmocka_unit_test(test_report_unknown_municipality),
		cmocka_unit_test(test_report_intro),
		cmocka_unit_test_teardown(test_report_escapes, cl_reap),
		cmocka_unit_test_teardown(test_report_refused, cl_reap),
	};

	if (getenv("TEST_FILTER") != NULL)
		cmocka_set_test_filter(getenv("TEST_FILTER"));
	return cmocka_run_group_tests(tests, cl_setup, stop_seeded);
}
