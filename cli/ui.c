/*
 * ui.c - samlog ui: a local web page for the coordinators, who do not
 * use a terminal.
 *
 * The page is served by this process (never by samlogd), on 127.0.0.1
 * only, at a free port, by libmicrohttpd: no HTTP parsing of our own.
 * Every page is made here, on the server, as plain HTML forms and links
 * that work without JavaScript (there is none).  Each action a page
 * takes is one of the CLI's own requests (request_run with a command of
 * the CLI's table: "meeting add", "decision adopt", ...), sent to samlogd
 * over its control socket as the user who started samlog ui, so that
 * the author of every change is that user, and every rule is the
 * daemon's, exactly as at the terminal.  Forms are made from the same
 * table (the schema's fields and the commands' flags), so every kind
 * and every step has one.
 *
 * Who may use it: whoever opens the URL printed at the start.  Its token
 * works once: it is exchanged for a session cookie (HttpOnly,
 * SameSite=Strict, random) and then no longer accepted; every other
 * request without that cookie is refused (403).  Every request whose
 * Host header is not this server's own address (127.0.0.1:PORT or
 * localhost:PORT) is refused (421), so that a web site that rebinds a
 * DNS name to 127.0.0.1 reaches nothing.  Every form carries the
 * session's CSRF token and every POST without it is refused (403).
 * Every response carries a Content-Security-Policy that allows nothing
 * but this server's own style sheet (and, on the report, the report's
 * own style by its hash), no frames, no scripts; nothing is loaded from
 * elsewhere.  Every value from the log or from a request is escaped
 * (html.c).  Requests are handled one at a time.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <microhttpd.h>
#include <sodium.h>

#include "bundle.h"
#include "html.h"
#include "output.h"
#include "records.h"
#include "report.h"
#include "request.h"
#include "samlog_proto.h"
#include "ui.h"
#include "words.h"

#define TOKEN_LEN 32            /* random bytes of a token */
#define POST_MAX ((size_t)256 * 1024)   /* bytes of a form */
#define FIELDS_MAX 1024        /* fields of one form */
#define UI_REPLY_S 30           /* a page waits this long for samlogd */

struct ui {
	const char *dir;
	bool named;
	uint16_t port;
	char token[2 * TOKEN_LEN + 1];   /* one-time; "" once used */
	char session[2 * TOKEN_LEN + 1]; /* "" until the token is used */
	char csrf[2 * TOKEN_LEN + 1];
	/* Every page lives under "/s/RANDOM/", and the session cookie is
	 * scoped to it: a browser sends cookies to every port of a host,
	 * so another program on 127.0.0.1 (another user's) would get the
	 * cookie, but not for a path it cannot know. */
	char prefix[2 * TOKEN_LEN + 8];
	char host_ip[64], host_name[64]; /* the Host headers accepted */
	char priv[64];                   /* this process's own directory
	                                    (0700): audit bundles, the page
	                                    that opens the browser */
	bool en;                         /* English chosen */
	int err_code;                    /* the code of the refusal a page
	                                    shows (request_last_code), or 0 */
	bool offer_force;                /* its forms offer "save anyway" */
	char here[128];                  /* the page asked for, relative to
	                                    the prefix (the language button
	                                    comes back to it) */
};

/* A request's form fields (POST) or query (GET). */
struct form {
	struct MHD_PostProcessor *pp;
	size_t n;
	char *key[FIELDS_MAX], *val[FIELDS_MAX];
	size_t bytes;
	bool too_big;
	bool bad;               /* a part that is no form field */
};

static void
random_hex(char *out, size_t nbytes)
{
	unsigned char b[TOKEN_LEN];

	randombytes_buf(b, nbytes);
	sodium_bin2hex(out, 2 * nbytes + 1, b, nbytes);
}

/* ---- forms ----------------------------------------------------------------- */

static void
form_free(struct form *f)
{
	if (f->pp != NULL)
		MHD_destroy_post_processor(f->pp);
	for (size_t i = 0; i < f->n; i++) {
		free(f->key[i]);
		free(f->val[i]);
	}
	free(f);
}

static bool
form_add(struct form *f, const char *key, const char *val, size_t len)
{
	if (f->n == FIELDS_MAX || (f->bytes += len) > POST_MAX) {
		f->too_big = true;
		return false;
	}
	f->key[f->n] = strdup(key);
	f->val[f->n] = strndup(val != NULL ? val : "", len);
	if (f->key[f->n] == NULL || f->val[f->n] == NULL) {
		free(f->key[f->n]);
		free(f->val[f->n]);
		f->too_big = true;
		return false;
	}
	f->n++;
	return true;
}

static enum MHD_Result
post_field(void *cls, enum MHD_ValueKind kind, const char *key,
    const char *filename, const char *ctype, const char *enc,
    const char *data, uint64_t off, size_t size)
{
	struct form *f = cls;

	(void)kind;
	(void)filename;
	(void)ctype;
	(void)enc;
	/* A part without a name, or a value with a NUL in it, is no form
	 * of ours. */
	if (key == NULL || (size > 0 && memchr(data, '\0', size) != NULL)) {
		f->bad = true;
		return MHD_NO;
	}
	if (off > 0 && f->n > 0 && strcmp(f->key[f->n - 1], key) == 0) {
		/* The rest of the last field's value. */
		size_t have = strlen(f->val[f->n - 1]);
		char *v;

		if ((f->bytes += size) > POST_MAX ||
		    (v = realloc(f->val[f->n - 1], have + size + 1)) == NULL) {
			f->too_big = true;
			return MHD_NO;
		}
		memcpy(v + have, data, size);
		v[have + size] = '\0';
		f->val[f->n - 1] = v;
		return MHD_YES;
	}
	return form_add(f, key, data, size) ? MHD_YES : MHD_NO;
}

static enum MHD_Result
query_field(void *cls, enum MHD_ValueKind kind, const char *key,
    const char *value)
{
	(void)kind;
	return form_add(cls, key, value, value != NULL ? strlen(value) : 0) ?
	    MHD_YES : MHD_NO;
}

/* The first value of key, or NULL. */
static const char *
form_get(const struct form *f, const char *key)
{
	for (size_t i = 0; f != NULL && i < f->n; i++)
		if (strcmp(f->key[i], key) == 0)
			return f->val[i];
	return NULL;
}

/* ---- words ------------------------------------------------------------------ */

static const struct word words[] = {
	{ "title", "samlog", "samlog" },
	{ "overview", "Översikt", "Overview" },
	{ "org", "Organisationer", "Organisations" },
	{ "contact", "Kontakter", "Contacts" },
	{ "meeting", "Möten", "Meetings" },
	{ "decision", "Beslut", "Decisions" },
	{ "agreement", "Avtal", "Agreements" },
	{ "action", "Åtgärder", "Actions" },
	{ "conflicts", "Konflikter", "Conflicts" },
	{ "report", "Rapport", "Report" },
	{ "search", "Sök", "Search" },
	{ "new", "Ny", "New" },
	{ "save", "Spara", "Save" },
	{ "filter", "Filtrera", "Filter" },
	{ "history", "Historik", "History" },
	{ "fields", "Uppgifter", "Fields" },
	{ "change", "Ändra", "Change" },
	{ "steps", "Beslutsgång", "Steps" },
	{ "audit", "Ladda ner granskningsfil", "Download the audit bundle" },
	{ "none", "Inga.", "None." },
	{ "counts", "Antal poster", "Records" },
	{ "recent", "Senaste ändringar", "Recent changes" },
	{ "peers", "Parternas synkronisering", "The partners' sync" },
	{ "open_actions", "Öppna åtgärder", "Open actions" },
	{ "overdue_actions", "Försenade åtgärder", "Overdue actions" },
	{ "kind", "Slag", "Kind" },
	{ "overdue", "försenad", "overdue" },
	{ "connected", "ansluten", "connected" },
	{ "not_connected", "inte ansluten", "not connected" },
	{ "behind", "händelser efter", "events behind" },
	{ "competing", "Konkurrerande värden", "Competing values" },
	{ "resolve", "Lös konflikten med de valda värdena",
	    "Resolve with the values chosen" },
	{ "in_conflict", "i konflikt", "in conflict" },
	{ "make_report", "Skapa rapporten", "Make the report" },
	{ "from", "Från", "From" },
	{ "to", "Till", "To" },
	{ "format", "Format", "Format" },
	{ "lang", "Språk", "Language" },
	{ "municipality", "Kommun (tomt: alla)", "Municipality (empty: all)" },
	{ "error", "Det gick inte", "It did not work" },
	{ "done", "Sparat.", "Saved." },
	{ "org_col", "Organisation", "Organisation" },
	{ "author", "Författare", "Author" },
	{ "effective", "Gäller från", "Takes effect" },
	{ "recorded", "Registrerad", "Recorded" },
	{ "change_col", "Ändring", "Change" },
	{ "node", "Nod", "Node" },
	{ "status", "Status", "Status" },
	{ "english", "English", "Svenska" },
	{ "empty", "Inga poster.", "No records." },
	{ "skip", "Till innehållet", "Skip to the content" },
	{ "name", "Namn", "Name" },
	{ "on", "Gäller från (dag)", "Takes effect (day)" },
	{ "force", "Spara ändå (namnet finns redan, eller texten liknar ett "
	    "personnummer)", "Save anyway (the name exists, or the text looks "
	    "like a personal identity number)" },
	{ "unset", "Töm fält", "Clear fields" },
	{ "as-of", "Som det stod dagen", "As it stood on the day" },
	{ "known-at", "Som noden kände till det vid", "As this node knew it at" },
	{ "archived", "Även arkiverade", "Archived too" },
	{ "list_sep", "flera: skilj med ;", "several: separate with ;" },
	{ "record_col", "Post", "Record" },
	{ "refers_here", "Poster som hänvisar hit", "Records that refer here" },
	{ "on_hint", "Lämna tomt för mötets dag, om ett möte är valt, annars "
	    "i dag. Ett beslut kan bara tas, ändras eller avslutas från denna "
	    "dag och framåt.", "Leave empty for the meeting's day, if a "
	    "meeting is chosen, else today. A decision can only be taken, "
	    "changed or ended from this day on." },
	{ "tech", "Meddelandet från samlogd", "The message from samlogd" },
	{ "intro", "Inledning", "Introduction" },
	{ "munis_typed", "Kommuner (tomt: alla)",
	    "Municipalities (empty: all)" },
	{ "intro_hint", "er egen text före siffrorna, t.ex. bakgrund och "
	    "organisation; tom rad mellan stycken, ”# ” inleder en rubrik, "
	    "”1. ” en numrerad punkt", "your own text before the figures, "
	    "such as the background and how the work was organised; a blank "
	    "line between paragraphs, \"# \" starts a heading, \"1. \" a "
	    "numbered item" },
	{ "munis", "Kommuner (ingen vald: alla)",
	    "Municipalities (none chosen: all)" },
	{ "flag_from", "Från (dag)", "From (day)" },
	{ "flag_to", "Till (dag)", "To (day)" },
	{ "flag_open", "Bara öppna", "Open ones only" },
	{ "flag_overdue", "Bara försenade", "Overdue ones only" },
	{ "flag_expiring", "Löper ut inom (dagar)", "Expiring within (days)" },
	{ "field_reason", "Motivering", "Reason" },
	{ "field_minutes", "Protokoll (paragraf)", "Minutes (paragraph)" },
	{ "field_text", "Beslutstext", "Text of the decision" },
	{ "label_body", "Beslutande organ", "Deciding body" },
	{ "field_counts", "Antal deltagare per grupp (t.ex. ASF=12)",
	    "Attendance per group (e.g. ASF=12)" },
	{ "new_org", "Ny organisation", "New organisation" },
	{ "new_contact", "Ny kontakt", "New contact" },
	{ "new_meeting", "Nytt möte", "New meeting" },
	{ "new_decision", "Nytt beslut", "New decision" },
	{ "new_agreement", "Nytt avtal", "New agreement" },
	{ "new_action", "Ny åtgärd", "New action" },
	{ "one_org", "Organisation", "Organisation" },
	{ "one_contact", "Kontakt", "Contact" },
	{ "one_meeting", "Möte", "Meeting" },
	{ "one_decision", "Beslut", "Decision" },
	{ "one_agreement", "Avtal", "Agreement" },
	{ "one_action", "Åtgärd", "Action" },
	{ "ref_contact_org", "Kontaktpersoner här", "Contacts here" },
	{ "ref_contact_replaced_by", "Kontakter som den här har ersatt",
	    "Contacts this one replaced" },
	{ "ref_meeting_orgs", "Möten med organisationen",
	    "Meetings with the organisation" },
	{ "ref_meeting_with", "Möten där personen deltog",
	    "Meetings the person attended" },
	{ "ref_meeting_invited", "Möten dit personen bjöds in",
	    "Meetings the person was invited to" },
	{ "ref_decision_body", "Beslut fattade av organisationen",
	    "Decisions taken by the organisation" },
	{ "ref_decision_meeting", "Beslut fattade på mötet",
	    "Decisions taken at the meeting" },
	{ "ref_agreement_parties", "Avtal där organisationen är part",
	    "Agreements the organisation is a party to" },
	{ "ref_action_owner", "Åtgärder som organisationen eller personen "
	    "ansvarar för", "Actions the organisation or person owns" },
	{ "ref_action_from", "Åtgärder som följer härav",
	    "Actions that follow from this" },
	{ "multi_hint", "håll Ctrl nedtryckt för att välja flera",
	    "hold Ctrl to choose several" },
	{ "on_any_hint", "lämna tomt för i dag", "leave empty for today" },
	{ "text_by_amend", "Beslutstexten ändras med ”Ändra beslutet (nytt "
	    "beslut)” ovan; ett antaget beslut skrivs aldrig om.",
	    "The text is changed by “Amend the decision” above; an adopted "
	    "decision is never rewritten." },
	{ "not_ours", "Beslutet är registrerat av %s: bara den "
	    "organisationen kan ta dess steg och ändra det.",
	    "The decision was recorded by %s: only that organisation can "
	    "take its steps or change it." },
	{ "searched", "Sökt efter", "Searched for" },
	{ NULL, NULL, NULL },
};

/* A lifecycle step (its verb): its form's heading and button. */
static const struct word step_words[] = {
	{ "adopt", "Anta beslutet", "Adopt the decision" },
	{ "reject", "Avslå", "Reject" },
	{ "refer-back", "Återremittera", "Refer back" },
	{ "table", "Bordlägg", "Table" },
	{ "amend", "Ändra beslutet (nytt beslut)", "Amend the decision" },
	{ "revoke", "Upphäv beslutet", "Revoke the decision" },
	{ "expire", "Markera som upphört", "Mark as expired" },
	{ "done", "Markera som klar", "Mark as done" },
	{ "drop", "Avskriv", "Drop" },
	{ "reopen", "Öppna igen", "Reopen" },
	{ NULL, NULL, NULL },
};

/* What a history entry of an event type says (the type's last part). */
static const struct word event_words[] = {
	{ "created", "Skapad", "Created" },
	{ "updated", "Ändrad", "Changed" },
	{ "archived", "Arkiverad", "Archived" },
	{ "restored", "Återställd", "Restored" },
	{ "adopted", "Antaget", "Adopted" },
	{ "rejected", "Avslaget", "Rejected" },
	{ "referred", "Återremitterat", "Referred back" },
	{ "tabled", "Bordlagt", "Tabled" },
	{ "amended", "Ändrat genom beslut", "Amended" },
	{ "revoked", "Upphävt", "Revoked" },
	{ "expired", "Upphört", "Expired" },
	{ "done", "Klar", "Done" },
	{ "dropped", "Avskriven", "Dropped" },
	{ "reopened", "Öppnad igen", "Reopened" },
	{ "resolved", "Konflikt löst", "Conflict resolved" },
	{ NULL, NULL, NULL },
};

/* The word of table t for key, else key itself. */
static const char *
step_word(const struct ui *u, const struct word *t, const char *key)
{
	const char *s = word_find(t, key, u->en);

	return s != NULL ? s : key;
}

static const char *
w(const struct ui *u, const char *key)
{
	return step_word(u, words, key);
}

/* A field's label in the page's language (labels.c), else its name. */
static const char *
field_label(const struct ui *u, const struct sl_field *fd)
{
	char key[64];
	const char *l;

	snprintf(key, sizeof key, "label_%s", fd->name);
	if ((l = word_find(words, key, u->en)) == NULL)
		l = u->en ? sl_label_en(fd->name) : sl_label_sv(fd->name);
	return l != NULL ? l : fd->name;
}

/* The table's word PREFIX+kind ("new_meeting": "Nytt möte"). */
static const char *
kind_word(const struct ui *u, const char *prefix, const char *kind)
{
	char key[64];
	const char *s;

	snprintf(key, sizeof key, "%s%s", prefix, kind);
	s = word_find(words, key, u->en);
	return s != NULL ? s : w(u, kind);
}

/* A form field's label: for a flag of a field, the table's word for it
 * in a form ("field_NAME") or the field's label; for another (a list's
 * "from", "on", "force"), the table's "flag_NAME" or NAME, else the
 * flag's own help (English). */
static const char *
flag_label(const struct ui *u, const struct flag_def *fl)
{
	char key[64];
	const char *l;

	if (fl->field != NULL) {
		snprintf(key, sizeof key, "field_%s", fl->field->name);
		return (l = word_find(words, key, u->en)) != NULL ? l :
		    field_label(u, fl->field);
	}
	snprintf(key, sizeof key, "flag_%s", fl->name);
	if ((l = word_find(words, key, u->en)) != NULL ||
	    (l = word_find(words, fl->name, u->en)) != NULL)
		return l;
	return fl->help != NULL ? fl->help : fl->name;
}

/* ---- the page frame -------------------------------------------------------- */

static const char style_css[] =
	"*{box-sizing:border-box}\n"
	"body{font:16px/1.5 system-ui,\"DejaVu Sans\",sans-serif;color:#111;"
	"background:#fff;margin:0}\n"
	"a{color:#0645ad}a:focus,button:focus,input:focus,select:focus,"
	"textarea:focus{outline:3px solid #b35900;outline-offset:2px}\n"
	".skip{position:absolute;left:-999px}.skip:focus{left:1em;top:1em;"
	"background:#fff;padding:.5em}\n"
	"header{background:#1d3557;color:#fff;padding:.6em 1em}\n"
	"header a{color:#fff;margin-right:1em}\n"
	"header form{display:inline;margin-left:1em}\n"
	"nav ul{list-style:none;margin:0;padding:0;display:flex;flex-wrap:wrap}"
	"\n"
	"main{padding:1em 1.5em;max-width:80em}\n"
	"table{border-collapse:collapse;margin:.5em 0 1.5em}\n"
	"th,td{border:1px solid #888;padding:.3em .5em;text-align:left;"
	"vertical-align:top}\n"
	"th{background:#e6e6e6}\n"
	"label{display:block;font-weight:bold;margin-top:.6em}\n"
	"input,select,textarea{font:inherit;padding:.25em;border:1px solid "
	"#555;max-width:100%}\n"
	"textarea{width:40em;height:6em}\n"
	"button{font:inherit;padding:.3em .9em;margin-top:.8em;background:"
	"#1d3557;color:#fff;border:0;border-radius:3px;cursor:pointer}\n"
	".error{background:#fde2e2;border:2px solid #a00;padding:.5em 1em}\n"
	".ok{background:#e2f5e2;border:2px solid #070;padding:.5em 1em}\n"
	".conflict{color:#a00;font-weight:bold}\n"
	"fieldset{border:1px solid #888;margin:1em 0;padding:.5em 1em}\n"
	".hint{font-weight:normal;color:#444}\n"
	".timeline>li{margin-bottom:.6em}\n"
	".d,time{white-space:nowrap}\n"
	"label.check{font-weight:normal;margin-top:.2em}\n";

static void
page_begin(const struct ui *u, FILE *f, const char *title)
{
	static const char *const kinds[] = { "org", "contact", "meeting",
	    "decision", "agreement", "action", NULL };

	fprintf(f, "<!DOCTYPE html>\n<html lang=\"%s\">\n<head>\n"
	    "<meta charset=\"utf-8\">\n<meta name=\"viewport\" "
	    "content=\"width=device-width, initial-scale=1\">\n<title>",
	    u->en ? "en" : "sv");
	html_attr(f, title);
	fprintf(f, " – samlog</title>\n<base href=\"%s\">\n<link "
	    "rel=\"stylesheet\" href=\"style.css\">\n</head>\n<body>\n",
	    u->prefix);
	fprintf(f, "<a class=\"skip\" href=\"#main\">%s</a>\n<header>\n"
	    "<nav aria-label=\"samlog\"><ul>\n<li><a href=\"./\">%s</a></li>\n",
	    w(u, "skip"), w(u, "overview"));
	for (int i = 0; kinds[i] != NULL; i++)
		fprintf(f, "<li><a href=\"list/%s\">%s</a></li>\n", kinds[i],
		    w(u, kinds[i]));
	fprintf(f, "<li><a href=\"conflicts\">%s</a></li>\n<li><a "
	    "href=\"report\">%s</a></li>\n</ul></nav>\n", w(u, "conflicts"),
	    w(u, "report"));
	fprintf(f, "<form method=\"get\" action=\"find\" role=\"search\">"
	    "<label for=\"q\" class=\"skip\">%s</label><input id=\"q\" "
	    "name=\"q\" type=\"search\"> <button type=\"submit\">%s</button>"
	    "</form>\n", w(u, "search"), w(u, "search"));
	fprintf(f, "<form method=\"post\" action=\"lang\"><input "
	    "type=\"hidden\" name=\"csrf\" value=\"%s\"><input type=\"hidden\" "
	    "name=\"lang\" value=\"%s\"><input type=\"hidden\" name=\"back\" "
	    "value=\"", u->csrf, u->en ? "sv" : "en");
	html_attr(f, u->here);
	fprintf(f, "\"><button type=\"submit\" lang=\"%s\">%s</button></form>\n"
	    "</header>\n<main id=\"main\">\n<h1>", u->en ? "sv" : "en",
	    w(u, "english"));
	html_text(f, title);
	fputs("</h1>\n", f);
}

static void
csrf_field(const struct ui *u, FILE *f)
{
	fprintf(f, "<input type=\"hidden\" name=\"csrf\" value=\"%s\">\n",
	    u->csrf);
}

static enum MHD_Result
reply(const struct ui *u, struct MHD_Connection *c, unsigned status,
    const char *type, char *body, size_t len, const char *csp_extra,
    const char *disposition)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(len, body,
	    MHD_RESPMEM_MUST_FREE);
	char csp[400];
	enum MHD_Result rc;

	(void)u;
	if (r == NULL) {
		free(body);
		return MHD_NO;
	}
	snprintf(csp, sizeof csp, "default-src 'none'; style-src 'self'%s%s; "
	    "img-src 'self'; form-action 'self'; frame-ancestors 'none'; "
	    "base-uri 'self'", csp_extra != NULL ? " " : "",
	    csp_extra != NULL ? csp_extra : "");
	MHD_add_response_header(r, "Content-Type", type);
	MHD_add_response_header(r, "Content-Security-Policy", csp);
	MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
	MHD_add_response_header(r, "Referrer-Policy", "no-referrer");
	MHD_add_response_header(r, "Cache-Control", "no-store");
	MHD_add_response_header(r, "X-Frame-Options", "DENY");
	if (disposition != NULL)
		MHD_add_response_header(r, "Content-Disposition", disposition);
	rc = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return rc;
}

struct page {
	FILE *f;
	char *buf;
	size_t len;
};

static bool
page_open(struct page *p)
{
	p->buf = NULL;
	p->len = 0;
	return (p->f = open_memstream(&p->buf, &p->len)) != NULL;
}

static enum MHD_Result
page_send(const struct ui *u, struct MHD_Connection *c, struct page *p,
    unsigned status)
{
	fputs("</main>\n</body>\n</html>\n", p->f);
	fclose(p->f);
	return reply(u, c, status, "text/html; charset=utf-8", p->buf, p->len,
	    NULL, NULL);
}

/* A short plain answer (refusals). */
static enum MHD_Result
plain(const struct ui *u, struct MHD_Connection *c, unsigned status,
    const char *msg)
{
	char *b = strdup(msg);

	return b == NULL ? MHD_NO : reply(u, c, status,
	    "text/plain; charset=utf-8", b, strlen(b), NULL, NULL);
}

static enum MHD_Result
redirect(const struct ui *u, struct MHD_Connection *c, const char *to,
    const char *cookie)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(0, NULL,
	    MHD_RESPMEM_PERSISTENT);
	enum MHD_Result rc;

	char where[200];

	if (r == NULL)
		return MHD_NO;
	/* to is relative to the page's secret prefix. */
	snprintf(where, sizeof where, "%s%s", u->prefix, to);
	MHD_add_response_header(r, "Location", where);
	MHD_add_response_header(r, "Cache-Control", "no-store");
	MHD_add_response_header(r, "Referrer-Policy", "no-referrer");
	if (cookie != NULL)
		MHD_add_response_header(r, "Set-Cookie", cookie);
	rc = MHD_queue_response(c, 303, r);
	MHD_destroy_response(r);
	return rc;
}

/* ---- values of records ----------------------------------------------------- */

/* A time the log gives in UTC ("2026-12-03T04:58:10.425Z") as the
 * user's local time to the minute ("2026-12-03 05:58"); anything else
 * as it is. */
static void
local_time(FILE *f, const char *utc)
{
	struct tm tm = { 0 };
	char out[32];
	time_t t;

	if (utc == NULL)
		return;
	if (strlen(utc) < 20 || sscanf(utc, "%4d-%2d-%2dT%2d:%2d:%2d",
	    &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour, &tm.tm_min,
	    &tm.tm_sec) != 6) {
		html_text(f, utc);
		return;
	}
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	t = timegm(&tm);
	localtime_r(&t, &tm);
	strftime(out, sizeof out, "%Y-%m-%d %H:%M", &tm);
	fprintf(f, "<time datetime=\"");
	html_attr(f, utc);
	fprintf(f, "\">%s</time>", out);
}

static char *
str_of(const msgpack_object *m, const char *key)
{
	const msgpack_object *v = map_get(m, key);

	if (v == NULL || v->type != MSGPACK_OBJECT_STR)
		return NULL;
	return strndup(v->via.str.ptr, v->via.str.size);
}

/* Writes a value as text: strings, booleans, numbers, lists joined. */
static void
value_text(FILE *f, const msgpack_object *v)
{
	char *s;

	if (v == NULL || v->type == MSGPACK_OBJECT_NIL)
		return;
	switch (v->type) {
	case MSGPACK_OBJECT_STR:
		s = strndup(v->via.str.ptr, v->via.str.size);
		html_text(f, s);
		free(s);
		break;
	case MSGPACK_OBJECT_BOOLEAN:
		fputs(v->via.boolean ? "✓" : "–", f);
		break;
	case MSGPACK_OBJECT_POSITIVE_INTEGER:
		fprintf(f, "%llu", (unsigned long long)v->via.u64);
		break;
	case MSGPACK_OBJECT_ARRAY:
		for (uint32_t i = 0; i < v->via.array.size; i++) {
			if (i > 0)
				fputs(", ", f);
			value_text(f, &v->via.array.ptr[i]);
		}
		break;
	default:
		break;
	}
}

/* A value inside an attribute or a text control: escaped so that a line
 * break stays one (value_text writes it as <br>); lists joined by
 * "; ". */
static void
value_attr(FILE *f, const msgpack_object *v)
{
	char *s;

	if (v == NULL)
		return;
	if (v->type == MSGPACK_OBJECT_ARRAY) {
		for (uint32_t i = 0; i < v->via.array.size; i++) {
			if (i > 0)
				fputs("; ", f);
			value_attr(f, &v->via.array.ptr[i]);
		}
		return;
	}
	if (v->type != MSGPACK_OBJECT_STR) {
		value_text(f, v);
		return;
	}
	s = strndup(v->via.str.ptr, v->via.str.size);
	html_attr(f, s);
	free(s);
}

/* A link to record id, showing name (or the id). */
static void
record_link(FILE *f, const msgpack_object *id, const msgpack_object *name)
{
	if (id == NULL || id->type != MSGPACK_OBJECT_STR)
		return;
	fputs("<a href=\"r/", f);
	value_attr(f, id);
	fputs("\">", f);
	if (name != NULL && name->type == MSGPACK_OBJECT_STR)
		value_text(f, name);
	else
		value_text(f, id);
	fputs("</a>", f);
}

/* Field fd of record rec, references as links, the schema's values in
 * words. */
static void
field_value(const struct ui *u, FILE *f, const msgpack_object *rec,
    const struct sl_field *fd)
{
	const msgpack_object *v = map_get(rec, fd->name);
	char nk[64];

	if ((fd->type == SL_F_ENUM || fd->type == SL_F_STATE) && v != NULL &&
	    v->type == MSGPACK_OBJECT_STR) {
		char *s = strndup(v->via.str.ptr, v->via.str.size);

		html_text(f, report_word(s, u->en ? REPORT_EN : REPORT_SV));
		free(s);
		return;
	}

	if (fd->type == SL_F_REF) {
		snprintf(nk, sizeof nk, "%s_name", fd->name);
		record_link(f, v, map_get(rec, nk));
		return;
	}
	if (fd->type == SL_F_REFS && v != NULL &&
	    v->type == MSGPACK_OBJECT_ARRAY) {
		const msgpack_object *names;

		snprintf(nk, sizeof nk, "%s_names", fd->name);
		names = map_get(rec, nk);
		for (uint32_t i = 0; i < v->via.array.size; i++) {
			if (i > 0)
				fputs(", ", f);
			record_link(f, &v->via.array.ptr[i], names != NULL &&
			    names->type == MSGPACK_OBJECT_ARRAY &&
			    i < names->via.array.size ?
			    &names->via.array.ptr[i] : NULL);
		}
		return;
	}
	value_text(f, v);
}

/* Does the string s equal the msgpack string o? */
static bool
str_is(const char *s, const msgpack_object *o)
{
	return s != NULL && o != NULL && o->type == MSGPACK_OBJECT_STR &&
	    strlen(s) == o->via.str.size &&
	    memcmp(s, o->via.str.ptr, o->via.str.size) == 0;
}

/* ---- running commands -------------------------------------------------------- */

struct run {
	struct rset out;
	char *err;              /* the daemon's message, or NULL */
	int status;
	int code;               /* the daemon's code (request_last_code) */
};

/* Runs q, keeping its answer and its error message. */
static void
run(const struct ui *u, const struct parse_result *q, struct run *r)
{
	size_t n = 0;
	FILE *ef = open_memstream(&r->err, &n);

	memset(&r->out, 0, sizeof r->out);
	cli_error_to(ef);
	r->status = request_collect_run(u->dir, u->named, q, &r->out);
	r->code = request_last_code();
	cli_error_to(NULL);
	if (ef != NULL)
		fclose(ef);
	if (r->status == 0 || (r->err != NULL && r->err[0] == '\0')) {
		free(r->err);
		r->err = NULL;
	}
}

static void
run_free(struct run *r)
{
	rset_free(&r->out);
	free(r->err);
}

static int
run_cmd(const struct ui *u, const char *name, const char *pos,
    struct run *r)
{
	struct parse_result q = { .cmd = CMD_REMOTE, .pos = pos };

	if ((q.def = parse_find(name)) == NULL) {
		memset(r, 0, sizeof *r);
		r->status = 2;
		return 2;
	}
	run(u, &q, r);
	return r->status;
}

/* Is id a whole record id (26 characters of lower-case base32)?  The
 * page names records by id only: show would also take a unique prefix
 * or a name, and a record another member named after an id must not
 * stand in for the record of that id. */
static bool
is_id(const char *id)
{
	static const char b32[] = "0123456789abcdefghjkmnpqrstvwxyz";

	return id != NULL && strlen(id) == SL_ID_TEXT &&
	    strspn(id, b32) == SL_ID_TEXT;
}

/* KIND show ID, taken only if its answer is the record of that very id
 * (show would also take a unique prefix or a name, and a record another
 * member named after an id must not stand in for it): true with r
 * holding it, else false with r empty. */
static bool
show_exact(const struct ui *u, const struct sl_kind *k, const char *id,
    struct run *r)
{
	char name[64];

	snprintf(name, sizeof name, "%s show", k->word);
	if (run_cmd(u, name, id, r) == 0 && r->out.n == 1 &&
	    str_is(id, map_get(&r->out.v[0].data, "id")))
		return true;
	run_free(r);
	memset(r, 0, sizeof *r);
	return false;
}

/* The record id is, whatever its kind: k and its answer in r. */
static const struct sl_kind *
find_record(const struct ui *u, const char *id, struct run *r)
{
	const struct sl_kind *const *ks = records_kinds();

	memset(r, 0, sizeof *r);
	if (!is_id(id))
		return NULL;
	for (size_t i = 0; ks[i] != NULL; i++)
		if (show_exact(u, ks[i], id, r))
			return ks[i];
	return NULL;
}

/* q from the form's values for def's flags: empty ones left out, lists
 * (TEXTS) split at ';', switches on when given. */
static bool
form_to_query(const struct form *fm, const struct command_def *def,
    struct parse_result *q, char **owned, size_t *nowned)
{
	for (const struct flag_def *fl = def->flags; fl->name != NULL; fl++) {
		size_t taken = 0;

		/* What no form shows is taken from none: clearing is the
		 * update's own diff (update_diff), a key is the CLI's. */
		if (strcmp(fl->name, "unset") == 0 ||
		    strcmp(fl->name, "org-key") == 0)
			continue;
		for (size_t i = 0; i < fm->n; i++) {
			const char *v = fm->val[i];

			if (strcmp(fm->key[i], fl->name) != 0 || v[0] == '\0')
				continue;
			/* A flag given once takes its first value only. */
			if (!(fl->flags & FL_REPEAT) && taken++ > 0)
				continue;
			if (q->nvals >= MAX_VALUES)
				return false;
			if (fl->flags & FL_SWITCH) {
				q->vals[q->nvals].flag = fl;
				q->vals[q->nvals++].value = NULL;
				break;
			}
			if (fl->field != NULL && fl->field->type == SL_F_TEXTS &&
			    strchr(v, ';') != NULL) {
				char *copy = strdup(v), *save = NULL, *t;

				if (copy == NULL || *nowned == MAX_VALUES)
					return false;
				owned[(*nowned)++] = copy;
				for (t = strtok_r(copy, ";", &save); t != NULL;
				    t = strtok_r(NULL, ";", &save)) {
					while (*t == ' ')
						t++;
					size_t l = strlen(t);

					while (l > 0 && t[l - 1] == ' ')
						t[--l] = '\0';
					if (*t == '\0')
						continue;
					if (q->nvals >= MAX_VALUES)
						return false;
					q->vals[q->nvals].flag = fl;
					q->vals[q->nvals++].value = t;
				}
				continue;
			}
			q->vals[q->nvals].flag = fl;
			q->vals[q->nvals++].value = v;
		}
	}
	return true;
}

/* ---- form controls ------------------------------------------------------------ */

/* Is the form's value of key (any of them, for a list) v? */
static bool
form_has(const struct form *fm, const char *key, const msgpack_object *v)
{
	for (size_t i = 0; fm != NULL && i < fm->n; i++)
		if (strcmp(fm->key[i], key) == 0 && str_is(fm->val[i], v))
			return true;
	return false;
}

/* The records of the kinds ref ("oc") as options, each with its day
 * where it has one (meetings of the same title apart); selected: the
 * ids chosen (an array, a string, or NULL), or, with fm, the values
 * the form sent for key. */
static void
ref_options(const struct ui *u, FILE *f, const char *ref,
    const msgpack_object *selected, const struct form *fm, const char *key)
{
	for (const char *c = ref; *c != '\0'; c++) {
		const struct sl_kind *k = sl_schema_kind_c(*c);
		struct rset s = { 0 };
		char name[64];

		if (k == NULL)
			continue;
		struct parse_result q = { .cmd = CMD_REMOTE };

		/* Archived ones too: a reference to one stays a choice, so
		 * that saving a form does not drop it. */
		snprintf(name, sizeof name, "%s list", k->word);
		if ((q.def = parse_find(name)) == NULL)
			continue;
		for (const struct flag_def *fl = q.def->flags; fl->name != NULL;
		    fl++)
			if (strcmp(fl->name, "archived") == 0) {
				q.vals[0].flag = fl;
				q.nvals = 1;
			}
		if (request_collect_run(u->dir, u->named, &q, &s) != 0) {
			rset_free(&s);
			continue;
		}
		for (size_t i = 0; i < s.n; i++) {
			const msgpack_object *id = map_get(&s.v[i].data, "id");
			const msgpack_object *label = map_get(&s.v[i].data,
			    "label");
			const msgpack_object *day = map_get(&s.v[i].data, "date");
			bool on = fm != NULL && form_has(fm, key, id);

			if (id == NULL || id->type != MSGPACK_OBJECT_STR)
				continue;
			if (fm != NULL)
				selected = NULL;
			if (selected != NULL && selected->type ==
			    MSGPACK_OBJECT_STR)
				on = selected->via.str.size == id->via.str.size &&
				    memcmp(selected->via.str.ptr, id->via.str.ptr,
				    id->via.str.size) == 0;
			for (uint32_t j = 0; selected != NULL && selected->type ==
			    MSGPACK_OBJECT_ARRAY && j < selected->via.array.size;
			    j++) {
				const msgpack_object *e =
				    &selected->via.array.ptr[j];

				on = on || (e->type == MSGPACK_OBJECT_STR &&
				    e->via.str.size == id->via.str.size &&
				    memcmp(e->via.str.ptr, id->via.str.ptr,
				    id->via.str.size) == 0);
			}
			fputs("<option value=\"", f);
			value_attr(f, id);
			fprintf(f, "\"%s>", on ? " selected" : "");
			value_text(f, label);
			if (day != NULL && day->type == MSGPACK_OBJECT_STR) {
				fputs(" (", f);
				value_text(f, day);
				fputs(")", f);
			}
			fputs("</option>\n", f);
		}
		rset_free(&s);
	}
}

/* One control for flag fl; cur: the record's current value (update
 * forms) or NULL; fm: what the form sent last (shown again after a
 * refusal, and a list's filters) or NULL.  What was sent wins over the
 * record's value. */
static void
control(const struct ui *u, FILE *f, const char *form_id,
    const struct flag_def *fl, const msgpack_object *cur,
    const struct form *fm)
{
	const struct sl_field *fd = fl->field;
	const char *given = fm != NULL ? form_get(fm, fl->name) : NULL;
	bool has_cur = cur != NULL;     /* an update form: nothing required */
	char id[128];

	snprintf(id, sizeof id, "%s-%s", form_id, fl->name);
	if (fm != NULL)
		cur = NULL;
	if (fl->flags & FL_SWITCH) {
		bool on = (cur != NULL && cur->type == MSGPACK_OBJECT_BOOLEAN &&
		    cur->via.boolean) || given != NULL;

		fprintf(f, "<label for=\"%s\"><input type=\"checkbox\" id=\"%s\" "
		    "name=\"%s\" value=\"on\"%s> ", id, id, fl->name,
		    on ? " checked" : "");
		html_text(f, flag_label(u, fl));
		fputs("</label>\n", f);
		return;
	}
	/* Required (in a form to add): said in the label, and to the
	 * browser and assistive technology. */
	const char *req = (fl->flags & FL_REQUIRED) && !has_cur ?
	    " required aria-required=\"true\"" : "";

	fprintf(f, "<label for=\"%s\">", id);
	html_text(f, flag_label(u, fl));
	if (req[0] != '\0')
		fputs(" *", f);
	if (fd != NULL && fd->type == SL_F_TEXTS)
		fprintf(f, " <span class=\"hint\">(%s)</span>", w(u, "list_sep"));
	if (fd != NULL && fd->type == SL_F_REFS)
		fprintf(f, " <span class=\"hint\">(%s)</span>",
		    w(u, "multi_hint"));
	if (fd == NULL && strcmp(fl->name, "on") == 0 && !has_cur)
		fprintf(f, " <span class=\"hint\">(%s)</span>",
		    w(u, "on_any_hint"));
	fputs("</label>\n", f);
	if (fd != NULL && (fd->type == SL_F_REF || fd->type == SL_F_REFS) &&
	    fd->ref != NULL) {
		fprintf(f, "<select id=\"%s\" name=\"%s\"%s%s>\n", id,
		    fl->name, fd->type == SL_F_REFS ? " multiple size=\"6\"" :
		    "", req);
		if (fd->type == SL_F_REF)
			fputs("<option value=\"\">–</option>\n", f);
		ref_options(u, f, fd->ref, cur, fm, fl->name);
		fputs("</select>\n", f);
		return;
	}
	if (fl->values != NULL || (fd != NULL && fd->type == SL_F_ENUM)) {
		const char *const *vs = fl->values != NULL ? fl->values :
		    fd->values;
		char *c = cur != NULL ? (cur->type == MSGPACK_OBJECT_STR ?
		    strndup(cur->via.str.ptr, cur->via.str.size) : NULL) : NULL;

		fprintf(f, "<select id=\"%s\" name=\"%s\"%s>\n<option "
		    "value=\"\">–</option>\n", id, fl->name, req);
		for (size_t i = 0; vs[i] != NULL; i++) {
			bool on = (c != NULL && strcmp(c, vs[i]) == 0) ||
			    (given != NULL && strcmp(given, vs[i]) == 0);

			fputs("<option value=\"", f);
			html_attr(f, vs[i]);
			fprintf(f, "\"%s>", on ? " selected" : "");
			html_text(f, report_word(vs[i], u->en ? REPORT_EN :
			    REPORT_SV));
			fputs("</option>\n", f);
		}
		fputs("</select>\n", f);
		free(c);
		return;
	}
	bool big = fd != NULL && fd->max > 200;
	bool day = (fd != NULL && fd->type == SL_F_DATE) ||
	    strcmp(fl->name, "on") == 0 || strcmp(fl->name, "as-of") == 0 ||
	    (fd == NULL && (strcmp(fl->name, "from") == 0 ||
	    strcmp(fl->name, "to") == 0));

	if (big)
		fprintf(f, "<textarea id=\"%s\" name=\"%s\"%s>", id, fl->name,
		    req);
	else
		fprintf(f, "<input id=\"%s\" name=\"%s\" type=\"%s\"%s value=\"",
		    id, fl->name, day ? "date" : "text", req);
	if (given != NULL) {
		html_attr(f, given);
	} else if (cur != NULL) {
		value_attr(f, cur);
	}
	fputs(big ? "</textarea>\n" : "\">\n", f);
}

/* The form of command def (POSTed to action); rec: the record whose
 * values fill it (update), or NULL; fm: what was sent (after an
 * error). */
static void
command_form(const struct ui *u, FILE *f, const struct command_def *def,
    const char *action, const char *form_id, const msgpack_object *rec,
    const struct form *fm, const char *button)
{
	fprintf(f, "<form method=\"post\" action=\"%s\" id=\"%s\">\n", action,
	    form_id);
	csrf_field(u, f);
	for (const struct flag_def *fl = def->flags; fl->name != NULL; fl++) {
		/* "Save anyway" only where it may help: after a refusal. */
		if (strcmp(fl->name, "unset") == 0 ||
		    strcmp(fl->name, "org-key") == 0 ||
		    (strcmp(fl->name, "force") == 0 && (fm == NULL ||
		    !u->offer_force)))
			continue;
		control(u, f, form_id, fl, rec != NULL && fl->field != NULL ?
		    map_get(rec, fl->field->name) : NULL, fm);
		/* A decision's day decides which days its steps may have. */
		if (rec == NULL && def->kind != NULL && strcmp(def->kind->word,
		    "decision") == 0 && strcmp(fl->name, "on") == 0 &&
		    strcmp(form_id, "add") == 0)
			fprintf(f, "<p class=\"hint\" id=\"%s-on-hint\">%s</p>\n",
			    form_id, w(u, "on_hint"));
		/* An update form says which fields it showed, so that one
		 * left empty (or a list with nothing chosen) clears it. */
		if (rec != NULL && fl->field != NULL)
			fprintf(f, "<input type=\"hidden\" name=\"present\" "
			    "value=\"%s\">\n", fl->name);
	}
	fputs("<button type=\"submit\">", f);
	html_text(f, button);
	fputs("</button>\n</form>\n", f);
}

/* ---- pages ------------------------------------------------------------------ */

/* The label of the field a flag in a refusal names ("--notes" in
 * "--notes holds ..."): at most n bytes of flag at p, to its end. */
static const char *
flag_named(const char *p, char *out, size_t n)
{
	size_t k = strspn(p, "abcdefghijklmnopqrstuvwxyz-_");
	const char *l;

	snprintf(out, n, "%.*s", (int)(k < n ? k : n - 1), p);
	l = sl_label_sv(out);
	return l != NULL ? l : out;
}

/* The day (YYYY-MM-DD) right after needle in msg, into day; false if
 * none. */
static bool
day_after(const char *msg, const char *needle, char day[11])
{
	const char *p = strstr(msg, needle);

	if (p == NULL)
		return false;
	p += strlen(needle);
	if (strspn(p, "0123456789-") < 10)
		return false;
	memcpy(day, p, 10);
	day[10] = '\0';
	return report_is_day(day);
}

/*
 * What a refusal of samlogd means, in Swedish, for someone who does not
 * use the terminal (the daemon's own line, English with the CLI's flags
 * in it, is shown under it).  Chosen by the result's code first: words
 * in the message are looked at only within a code, and never where a
 * member's name could stand (a refusal naming the organisation that may
 * do something says so by code alone).  False if there are no words
 * for it.
 */
static bool
explain_sv(FILE *f, int code, const char *msg)
{
	const char *p;
	char flag[64], day[11];

	switch (code) {
	case -1:
		fputs("samlogd svarar inte. Starta den och ladda om sidan.", f);
		return true;
	case SL_EEXIST:
		fputs("Det finns redan en post med det namnet", f);
		if ((p = strstr(msg, "already exists: ")) != NULL) {
			char id[SL_ID_TEXT + 1];

			snprintf(id, sizeof id, "%s", p + 16);
			if (is_id(id))
				fprintf(f, " (<a href=\"r/%s\">visa den</a>)", id);
		}
		fputs(". Kryssa i ”Spara ändå” om du vill lägga till en till "
		    "med samma namn.", f);
		return true;
	case SL_EPERM:
		fputs("Bara organisationen som har skapat posten får göra den "
		    "ändringen.", f);
		return true;
	case SL_ESTATE:
		fputs(strstr(msg, " is in conflict") != NULL ? "Posten har "
		    "konkurrerande värden. Lös konflikten först (längre upp på "
		    "sidan)." : "Det steget går inte att ta i postens nuvarande "
		    "läge.", f);
		return true;
	case SL_ENOENT:
		fputs("Posten som formuläret hänvisar till finns inte "
		    "(längre).", f);
		return true;
	case SL_EUSAGE:
		if (strstr(msg, "needs at least one of") != NULL) {
			fputs("Ändra minst ett fält. (”Gäller från” säger bara "
			    "från vilken dag ändringen gäller. En posts egen dag "
			    "kan inte flyttas: arkivera posten och lägg till den "
			    "igen med rätt dag.)", f);
			return true;
		}
		if ((p = strstr(msg, " needs --")) != NULL) {
			fputs("Fyll i ", f);
			html_text(f, flag_named(p + 9, flag, sizeof flag));
			fputs(".", f);
			return true;
		}
		return false;
	default:
		break;
	}
	if (strncmp(msg, "--", 2) == 0 && strstr(msg, " holds what looks "
	    "like a personal identity number") != NULL) {
		fputs("Fältet ", f);
		html_text(f, flag_named(msg + 2, flag, sizeof flag));
		fputs(" ser ut att innehålla ett personnummer. Ta bort det, "
		    "eller kryssa i ”Spara ändå” om det verkligen ska sparas.", f);
		return true;
	}
	if (day_after(msg, " was recorded as existing from ", day)) {
		fprintf(f, "Posten gäller från %s. Välj den dagen eller en "
		    "senare.", day);
		return true;
	}
	if (day_after(msg, " last changed on ", day)) {
		fprintf(f, "Posten har ändrats med verkan från %s. Välj den "
		    "dagen eller en senare.", day);
		return true;
	}
	static const struct word plain[] = {
		{ "would end", "Slutdagen ligger före startdagen.", NULL },
		{ "archived", "Posten är arkiverad.", NULL },
		{ "too large", "Posten blir för stor: korta texterna.", NULL },
		{ "more than 400 days", "Dagen ligger för långt fram i tiden.",
		    NULL },
		{ "invalid date", "Ett datum är inte ett riktigt datum "
		    "(ÅÅÅÅ-MM-DD).", NULL },
		{ NULL, NULL, NULL },
	};
	for (size_t i = 0; plain[i].key != NULL; i++)
		if (strstr(msg, plain[i].key) != NULL) {
			fputs(plain[i].sv, f);
			return true;
		}
	return false;
}

/* Would "Spara ändå" (--force) help against this refusal? */
static bool
force_helps(int code, const char *msg)
{
	return msg != NULL && (code == SL_EEXIST || strstr(msg, " holds what "
	    "looks like a personal identity number") != NULL);
}

/* A refusal: in Swedish where there are words for it (explain_sv),
 * with samlogd's own line under it; in English that line. */
static void
error_box(FILE *f, const struct ui *u, const char *msg, int code)
{
	char *sv = NULL;
	size_t n = 0;
	FILE *mf;

	if (msg == NULL)
		msg = "";
	fprintf(f, "<div class=\"error\" role=\"alert\"><strong>%s:</strong> ",
	    w(u, "error"));
	if (!u->en && (mf = open_memstream(&sv, &n)) != NULL) {
		bool known = explain_sv(mf, code, msg);

		fclose(mf);
		if (!known) {
			free(sv);
			sv = NULL;
		}
	}
	if (sv != NULL) {
		fputs(sv, f);
		fprintf(f, "<br><span class=\"hint\">%s: ", w(u, "tech"));
		html_text(f, msg);
		fputs("</span>", f);
	} else {
		html_text(f, msg);
	}
	free(sv);
	fputs("</div>\n", f);
}

/* A table of records (a list's answer): label linked, then columns. */
static void
record_table(const struct ui *u, FILE *f, const struct rset *s,
    const struct sl_kind *k)
{
	const struct sl_field *cols[6];
	size_t nc = 0;

	if (s->n == 0) {
		fprintf(f, "<p>%s</p>\n", w(u, "empty"));
		return;
	}
	/* Its days first (a meeting's date, an action's due day), then
	 * the fields lists filter by. */
	for (int pass = 0; pass < 2; pass++)
		for (uint32_t i = 0; k != NULL && i < k->nfields && nc < 5; i++) {
			const struct sl_field *fd = &k->fields[i];

			if ((pass == 0) != (fd->type == SL_F_DATE) ||
			    (pass == 1 && !(fd->flags & SL_FF_INDEX)) ||
			    (fd->flags & SL_FF_PERSONAL) ||
			    strcmp(fd->name, "name") == 0 ||
			    strcmp(fd->name, "title") == 0)
				continue;
			cols[nc++] = fd;
		}
	fprintf(f, "<table>\n<thead><tr><th scope=\"col\">%s</th>",
	    w(u, "name"));
	for (size_t j = 0; j < nc; j++) {
		fputs("<th scope=\"col\">", f);
		html_text(f, field_label(u, cols[j]));
		fputs("</th>", f);
	}
	if (k == NULL)
		fprintf(f, "<th scope=\"col\">%s</th>", w(u, "record_col"));
	fputs("</tr></thead>\n<tbody>\n", f);
	for (size_t i = 0; i < s->n; i++) {
		const msgpack_object *r = &s->v[i].data;
		const msgpack_object *cf = map_get(r, "conflict");

		fputs("<tr><td>", f);
		record_link(f, map_get(r, "id"), map_get(r, "label"));
		if (cf != NULL && cf->type == MSGPACK_OBJECT_BOOLEAN &&
		    cf->via.boolean)
			fprintf(f, " <span class=\"conflict\">(%s)</span>",
			    w(u, "in_conflict"));
		fputs("</td>", f);
		for (size_t j = 0; j < nc; j++) {
			fputs(cols[j]->type == SL_F_DATE ? "<td class=\"d\">" :
			    "<td>", f);
			field_value(u, f, r, cols[j]);
			fputs("</td>", f);
		}
		if (k == NULL) {
			char *kind = str_of(r, "record");

			fputs("<td>", f);
			if (kind != NULL && records_kind(kind) != NULL)
				html_text(f, kind_word(u, "one_", kind));
			else
				html_text(f, kind);
			free(kind);
			fputs("</td>", f);
		}
		fputs("</tr>\n", f);
	}
	fputs("</tbody></table>\n", f);
}

#define RECENT 10      /* records the overview lists as changed last */

static enum MHD_Result
page_overview(struct ui *u, struct MHD_Connection *c)
{
	const struct sl_kind *const *ks = records_kinds();
	struct page p;
	struct run r;

	if (!page_open(&p))
		return MHD_NO;
	page_begin(u, p.f, w(u, "overview"));
	/* No daemon, no overview: its empty tables would say there is
	 * nothing. */
	if (run_cmd(u, "status", NULL, &r) != 0) {
		error_box(p.f, u, r.err, r.code);
		run_free(&r);
		return page_send(u, c, &p, 503);
	}
	run_free(&r);
	struct recent {
		char *when, *id, *label;
		const char *kind;
	} rec[RECENT + 1];
	size_t nrec = 0;

	/* Counts, and the records changed last (by when this node learnt
	 * of it). */
	fprintf(p.f, "<h2>%s</h2>\n<table><tbody>\n", w(u, "counts"));
	for (size_t i = 0; ks[i] != NULL; i++) {
		char name[64];

		snprintf(name, sizeof name, "%s list", ks[i]->word);
		run_cmd(u, name, NULL, &r);
		fprintf(p.f, "<tr><th scope=\"row\"><a href=\"list/%s\">%s</a>"
		    "</th><td>%zu</td></tr>\n", ks[i]->word, w(u, ks[i]->word),
		    r.out.n);
		for (size_t j = 0; j < r.out.n; j++) {
			struct recent x = { str_of(&r.out.v[j].data, "updated"),
			    str_of(&r.out.v[j].data, "id"),
			    str_of(&r.out.v[j].data, "label"), ks[i]->word };
			size_t at = nrec;

			/* Insertion into the newest RECENT, newest first. */
			while (at > 0 && x.when != NULL && (rec[at - 1].when ==
			    NULL || strcmp(rec[at - 1].when, x.when) < 0))
				at--;
			if (at >= RECENT || x.when == NULL) {
				free(x.when), free(x.id), free(x.label);
				continue;
			}
			if (nrec == RECENT) {
				free(rec[RECENT - 1].when);
				free(rec[RECENT - 1].id);
				free(rec[RECENT - 1].label);
				nrec--;
			}
			memmove(&rec[at + 1], &rec[at], (nrec - at) *
			    sizeof *rec);
			rec[at] = x;
			nrec++;
		}
		run_free(&r);
	}
	fputs("</tbody></table>\n", p.f);
	fprintf(p.f, "<h2>%s</h2>\n<table><thead><tr><th scope=\"col\">%s"
	    "</th><th scope=\"col\">%s</th><th scope=\"col\">%s</th></tr>"
	    "</thead><tbody>\n", w(u, "recent"), w(u, "recorded"),
	    w(u, "name"), w(u, "kind"));
	for (size_t i = 0; i < nrec; i++) {
		fputs("<tr><td>", p.f);
		local_time(p.f, rec[i].when);
		fputs("</td><td><a href=\"r/", p.f);
		html_attr(p.f, rec[i].id);
		fputs("\">", p.f);
		html_text(p.f, rec[i].label);
		fprintf(p.f, "</a></td><td>%s</td></tr>\n", kind_word(u, "one_",
		    rec[i].kind));
		free(rec[i].when), free(rec[i].id), free(rec[i].label);
	}
	fputs("</tbody></table>\n", p.f);
	/* Conflicts */
	fprintf(p.f, "<h2>%s</h2>\n", w(u, "conflicts"));
	run_cmd(u, "conflicts", NULL, &r);
	record_table(u, p.f, &r.out, NULL);
	run_free(&r);
	/* Overdue actions, then every open one */
	static const char *const which[] = { "overdue", "open" };

	for (int i = 0; i < 2; i++) {
		struct parse_result q = { .cmd = CMD_REMOTE };
		const struct flag_def *fl;

		fprintf(p.f, "<h2>%s</h2>\n", w(u, i == 0 ? "overdue_actions" :
		    "open_actions"));
		q.def = parse_find("action list");
		for (fl = q.def->flags; fl->name != NULL; fl++)
			if (strcmp(fl->name, which[i]) == 0) {
				q.vals[0].flag = fl;
				q.nvals = 1;
			}
		run(u, &q, &r);
		record_table(u, p.f, &r.out, records_kind("action"));
		run_free(&r);
	}
	/* Sync state */
	fprintf(p.f, "<h2>%s</h2>\n", w(u, "peers"));
	run_cmd(u, "status", NULL, &r);
	if (r.out.n == 1) {
		const msgpack_object *peers = map_get(&r.out.v[0].data, "peers");

		if (peers == NULL || peers->type != MSGPACK_OBJECT_ARRAY ||
		    peers->via.array.size == 0)
			fprintf(p.f, "<p>%s</p>\n", w(u, "none"));
		else {
			fprintf(p.f, "<table><thead><tr><th scope=\"col\">%s</th>"
			    "<th scope=\"col\">%s</th></tr></thead><tbody>\n",
			    w(u, "org_col"), w(u, "status"));
			for (uint32_t i = 0; i < peers->via.array.size; i++) {
				const msgpack_object *pe =
				    &peers->via.array.ptr[i];
				const msgpack_object *on = map_get(pe,
				    "connected");
				const msgpack_object *org = map_get(pe, "org");

				fputs("<tr><td>", p.f);
				value_text(p.f, org != NULL ? org :
				    map_get(pe, "name"));
				fprintf(p.f, "</td><td>%s", on != NULL &&
				    on->type == MSGPACK_OBJECT_BOOLEAN &&
				    on->via.boolean ? w(u, "connected") :
				    w(u, "not_connected"));
				const msgpack_object *b = map_get(pe, "behind");

				if (b != NULL && b->type ==
				    MSGPACK_OBJECT_POSITIVE_INTEGER &&
				    b->via.u64 > 0)
					fprintf(p.f, ", %llu %s",
					    (unsigned long long)b->via.u64,
					    w(u, "behind"));
				fputs("</td></tr>\n", p.f);
			}
			fputs("</tbody></table>\n", p.f);
		}
	}
	run_free(&r);
	return page_send(u, c, &p, 200);
}

/* Which of def's flags the page's list filters show. */
static bool
filter_shown(const struct flag_def *fl)
{
	return strcmp(fl->name, "known-at") != 0;
}

static enum MHD_Result
page_list(struct ui *u, struct MHD_Connection *c, const char *word,
    struct form *query)
{
	const struct sl_kind *k = records_kind(word);
	char name[64];
	struct parse_result q = { .cmd = CMD_REMOTE };
	char *owned[MAX_VALUES];
	size_t nowned = 0;
	struct page p;
	struct run r;

	if (k == NULL)
		return plain(u, c, 404, "no such page\n");
	snprintf(name, sizeof name, "%s list", word);
	q.def = parse_find(name);
	if (q.def == NULL || !page_open(&p))
		return MHD_NO;
	page_begin(u, p.f, w(u, word));
	fprintf(p.f, "<p><a href=\"new/%s\">%s</a></p>\n", word,
	    kind_word(u, "new_", word));
	fprintf(p.f, "<details><summary>%s</summary>\n<form method=\"get\" "
	    "action=\"list/%s\" id=\"filter\">\n", w(u, "filter"), word);
	for (const struct flag_def *fl = q.def->flags; fl->name != NULL; fl++)
		if (filter_shown(fl))
			control(u, p.f, "filter", fl, NULL, query);
	fprintf(p.f, "<button type=\"submit\">%s</button>\n</form>\n"
	    "</details>\n", w(u, "filter"));
	if (!form_to_query(query, q.def, &q, owned, &nowned)) {
		error_box(p.f, u, "too many values", 0);
	} else {
		run(u, &q, &r);
		if (r.status != 0)
			error_box(p.f, u, r.err, r.code);
		else
			record_table(u, p.f, &r.out, k);
		run_free(&r);
	}
	for (size_t i = 0; i < nowned; i++)
		free(owned[i]);
	return page_send(u, c, &p, 200);
}

static enum MHD_Result
page_find(struct ui *u, struct MHD_Connection *c, const char *text)
{
	struct page p;
	struct run r;

	if (!page_open(&p))
		return MHD_NO;
	page_begin(u, p.f, w(u, "search"));
	fputs("<form method=\"get\" action=\"find\" id=\"find\"><label "
	    "for=\"fq\">", p.f);
	html_text(p.f, w(u, "searched"));
	fputs("</label><input id=\"fq\" name=\"q\" type=\"search\" value=\"",
	    p.f);
	html_attr(p.f, text);
	fprintf(p.f, "\"> <button type=\"submit\">%s</button></form>\n",
	    w(u, "search"));
	if (text != NULL && text[0] != '\0') {
		run_cmd(u, "find", text, &r);
		if (r.status != 0)
			error_box(p.f, u, r.err, r.code);
		else
			record_table(u, p.f, &r.out, NULL);
		run_free(&r);
	}
	return page_send(u, c, &p, 200);
}

/* The step types of kind k that its state st (1..) may take. */
static void
step_forms(const struct ui *u, FILE *f, const struct sl_kind *k,
    const char *id, const char *state, const char *failed,
    const struct form *fm)
{
	uint8_t st = 0;

	/* states[0] is "", the states are 1.. */
	for (uint8_t i = 1; k->states != NULL && state != NULL &&
	    k->states[i] != NULL; i++)
		if (strcmp(k->states[i], state) == 0)
			st = i;
	if (st == 0)
		return;
	fprintf(f, "<h2>%s</h2>\n", w(u, "steps"));
	for (size_t i = 0; sl_schema_evtype_at(i) != NULL; i++) {
		const struct sl_evtype *et = sl_schema_evtype_at(i);
		char name[64], action[160], fid[64];
		const struct command_def *def;

		if (et->kind != k || et->role != SL_ET_STEP || et->verb == NULL ||
		    !(et->from & (1u << st)))
			continue;
		snprintf(name, sizeof name, "%s %s", k->word, et->verb);
		if ((def = parse_find(name)) == NULL)
			continue;
		snprintf(action, sizeof action, "r/%s/%s", id, et->verb);
		snprintf(fid, sizeof fid, "step-%s", et->verb);
		fputs("<fieldset><legend>", f);
		html_text(f, step_word(u, step_words, et->verb));
		fputs("</legend>\n", f);
		command_form(u, f, def, action, fid, NULL, fm != NULL && failed !=
		    NULL && strcmp(failed, et->verb) == 0 ? fm : NULL,
		    step_word(u, step_words, et->verb));
		fputs("</fieldset>\n", f);
	}
}

/* The names a history has looked up, each id once: a member can fill a
 * record's history with thousands of references, and a page must not
 * ask samlogd about each (a hostile review made a page take 19 s).
 * Past NAMES_ASKED lookups an id is shown as it is. */
#define HISTORY_SHOWN 200      /* changes a record page shows */
#define MUNIS_TICKED 100       /* municipalities the report form lists */
#define NAMES_MAX 256
#define NAMES_ASKED 64
struct names {
	size_t n, asked;
	char *id[NAMES_MAX], *name[NAMES_MAX];  /* name NULL: none found */
};

static void
names_free(struct names *nc)
{
	for (size_t i = 0; i < nc->n; i++) {
		free(nc->id[i]);
		free(nc->name[i]);
	}
	nc->n = 0;
}

static char *ref_lookup(const struct ui *u, const struct sl_field *fd,
    const char *idt);

/* The name of record id that field fd of record rec refers to: as the
 * record names it now (FIELD_name, FIELD_names), else as samlogd shows
 * the record of that id (an earlier value of the field), asked once per
 * page (nc); NULL if neither.  A new string. */
static char *
ref_name(const struct ui *u, const msgpack_object *rec,
    const struct sl_field *fd, const msgpack_object *id, struct names *nc)
{
	const msgpack_object *ids = map_get(rec, fd->name);
	char nk[64], *idt;

	if (id == NULL || id->type != MSGPACK_OBJECT_STR)
		return NULL;
	snprintf(nk, sizeof nk, fd->type == SL_F_REF ? "%s_name" :
	    "%s_names", fd->name);
	const msgpack_object *names = map_get(rec, nk);

	if (fd->type == SL_F_REF && ids != NULL && ids->type ==
	    MSGPACK_OBJECT_STR && ids->via.str.size == id->via.str.size &&
	    memcmp(ids->via.str.ptr, id->via.str.ptr, id->via.str.size) == 0 &&
	    names != NULL && names->type == MSGPACK_OBJECT_STR)
		return strndup(names->via.str.ptr, names->via.str.size);
	for (uint32_t i = 0; fd->type == SL_F_REFS && ids != NULL &&
	    ids->type == MSGPACK_OBJECT_ARRAY && names != NULL &&
	    names->type == MSGPACK_OBJECT_ARRAY && i < ids->via.array.size &&
	    i < names->via.array.size; i++) {
		const msgpack_object *a = &ids->via.array.ptr[i];
		const msgpack_object *b = &names->via.array.ptr[i];

		if (a->type == MSGPACK_OBJECT_STR && a->via.str.size ==
		    id->via.str.size && memcmp(a->via.str.ptr, id->via.str.ptr,
		    id->via.str.size) == 0 && b->type == MSGPACK_OBJECT_STR)
			return strndup(b->via.str.ptr, b->via.str.size);
	}
	if ((idt = strndup(id->via.str.ptr, id->via.str.size)) == NULL ||
	    !is_id(idt)) {
		free(idt);
		return NULL;
	}
	for (size_t i = 0; i < nc->n; i++)
		if (strcmp(nc->id[i], idt) == 0) {
			free(idt);
			return nc->name[i] != NULL ? strdup(nc->name[i]) : NULL;
		}
	if (nc->asked >= NAMES_ASKED || nc->n >= NAMES_MAX) {
		free(idt);
		return NULL;
	}
	nc->asked++;
	nc->id[nc->n] = idt;
	nc->name[nc->n] = ref_lookup(u, fd, idt);
	return nc->name[nc->n++] != NULL ? strdup(nc->name[nc->n - 1]) : NULL;
}

/* The label samlogd shows for record idt of one of fd's kinds, or
 * NULL. */
static char *
ref_lookup(const struct ui *u, const struct sl_field *fd, const char *idt)
{
	for (const char *c = fd->ref; c != NULL && *c != '\0'; c++) {
		const struct sl_kind *k = sl_schema_kind_c(*c);
		char *label = NULL;
		struct run r;

		if (k == NULL || !show_exact(u, k, idt, &r))
			continue;
		label = str_of(&r.out.v[0].data, "label");
		run_free(&r);
		if (label != NULL)
			return label;
	}
	return NULL;
}

/* One value of a history entry's changes, as the record page shows a
 * field: references by name (linked), the schema's values in words; a
 * value cleared as "(tömt)". */
static void
change_value(const struct ui *u, FILE *f, const msgpack_object *rec,
    const struct sl_field *fd, const msgpack_object *v, struct names *nc)
{
	if (v == NULL || v->type == MSGPACK_OBJECT_NIL ||
	    (v->type == MSGPACK_OBJECT_ARRAY && v->via.array.size == 0)) {
		fprintf(f, "<em>%s</em>", u->en ? "(cleared)" : "(tömt)");
		return;
	}
	if (fd != NULL && (fd->type == SL_F_REF || fd->type == SL_F_REFS)) {
		uint32_t n = v->type == MSGPACK_OBJECT_ARRAY ?
		    v->via.array.size : 1;

		for (uint32_t i = 0; i < n; i++) {
			const msgpack_object *id = v->type ==
			    MSGPACK_OBJECT_ARRAY ? &v->via.array.ptr[i] : v;
			char *name = ref_name(u, rec, fd, id, nc);

			if (i > 0)
				fputs(", ", f);
			if (name != NULL) {
				fputs("<a href=\"r/", f);
				value_attr(f, id);
				fputs("\">", f);
				html_text(f, name);
				fputs("</a>", f);
			} else {
				value_text(f, id);
			}
			free(name);
		}
		return;
	}
	if (fd != NULL && (fd->type == SL_F_ENUM || fd->type == SL_F_STATE) &&
	    v->type == MSGPACK_OBJECT_STR) {
		char *t = strndup(v->via.str.ptr, v->via.str.size);

		html_text(f, report_word(t, u->en ? REPORT_EN : REPORT_SV));
		free(t);
		return;
	}
	value_text(f, v);
}

/* The record's history as a timeline: what happened (in words), the
 * day it took effect, which organisation and who, when this node
 * recorded it (local time), and what it changed, field by field (r:
 * the answer of history). */
static void
history(const struct ui *u, FILE *f, const struct sl_kind *k,
    const msgpack_object *rec, const char *id, const struct run *r)
{
	struct names nc = { 0 };
	size_t first;

	fprintf(f, "<h2>%s</h2>\n", w(u, "history"));
	if (r->status != 0) {
		error_box(f, u, r->err, r->code);
		return;
	}
	/* The newest HISTORY_SHOWN; the CLI shows them all. */
	first = r->out.n > HISTORY_SHOWN ? r->out.n - HISTORY_SHOWN : 0;
	if (first > 0)
		fprintf(f, "<p>%s %zu %s <code>samlog history %s</code>.</p>\n",
		    u->en ? "The" : "De", first, u->en ? "oldest changes are "
		    "not shown here; all of them:" : "äldsta ändringarna visas "
		    "inte här; alla:", id);
	fprintf(f, "<ol class=\"timeline\" start=\"%zu\">\n", first + 1);
	for (size_t i = first; i < r->out.n; i++) {
		const msgpack_object *e = &r->out.v[i].data;
		const msgpack_object *ch = map_get(e, "changes");
		const msgpack_object *er = map_get(e, "erased");
		char *type = str_of(e, "type"), *eff = str_of(e, "effect");
		char *when = str_of(e, "time");
		const char *dot = type != NULL ? strchr(type, '.') : NULL;

		fputs("<li><strong>", f);
		html_text(f, dot != NULL ? step_word(u, event_words, dot + 1) :
		    type);
		fprintf(f, "</strong> %s ", u->en ? "– in effect from" :
		    "med verkan från");
		value_text(f, map_get(e, "on"));
		fputs(" – ", f);
		value_text(f, map_get(e, "org"));
		fputs(" (", f);
		value_text(f, map_get(e, "author"));
		fprintf(f, "), %s ", u->en ? "recorded" : "registrerat");
		local_time(f, when);
		if (eff != NULL && strcmp(eff, "applied") != 0) {
			fputs(" <span class=\"hint\">(", f);
			html_text(f, eff);
			fputs(")</span>", f);
		}
		fputs("<ul>\n", f);
		for (uint32_t j = 0; ch != NULL && ch->type == MSGPACK_OBJECT_MAP &&
		    j < ch->via.map.size; j++) {
			const msgpack_object_kv *kv = &ch->via.map.ptr[j];
			const struct sl_field *fd;
			const char *key;
			size_t kl;

			/* The day is said above; a step's state by its
			 * name. */
			if (!map_key(kv, &key, &kl) || (kl == 2 &&
			    memcmp(key, "on", 2) == 0) || (kl == 6 &&
			    memcmp(key, "status", 6) == 0 && dot != NULL &&
			    strcmp(dot, ".created") != 0 &&
			    strcmp(dot, ".updated") != 0))
				continue;
			/* Nothing given is news only where it clears a
			 * value: in an update. */
			if ((kv->val.type == MSGPACK_OBJECT_NIL ||
			    (kv->val.type == MSGPACK_OBJECT_STR &&
			    kv->val.via.str.size == 0)) && (dot == NULL ||
			    strcmp(dot, ".updated") != 0))
				continue;
			fd = sl_schema_field(k, key, kl, NULL);
			fputs("<li>", f);
			if (fd != NULL) {
				html_text(f, field_label(u, fd));
			} else {
				char *ks = strndup(key, kl);

				html_text(f, ks);
				free(ks);
			}
			fputs(": ", f);
			change_value(u, f, rec, fd, &kv->val, &nc);
			fputs("</li>\n", f);
		}
		for (uint32_t j = 0; er != NULL && er->type == MSGPACK_OBJECT_MAP &&
		    j < er->via.map.size; j++) {
			const msgpack_object_kv *kv = &er->via.map.ptr[j];
			const struct sl_field *fd;
			const char *key;
			size_t kl;

			if (!map_key(kv, &key, &kl))
				continue;
			fd = sl_schema_field(k, key, kl, NULL);
			fputs("<li>", f);
			if (fd != NULL)
				html_text(f, field_label(u, fd));
			fputs(": <em>", f);
			value_text(f, &kv->val);
			fputs("</em></li>\n", f);
		}
		fputs("</ul></li>\n", f);
		free(type);
		free(eff);
		free(when);
	}
	fputs("</ol>\n", f);
	names_free(&nc);
}

/* The records that refer to record id (of kind k): for each kind and
 * each of its reference fields that may name a k and that its list
 * filters by, that list (a decision's actions, an organisation's
 * meetings, contacts and agreements). */
static void
referrers(const struct ui *u, FILE *f, const struct sl_kind *k,
    const char *id)
{
	const struct sl_kind *const *ks = records_kinds();
	bool any = false;

	for (size_t i = 0; ks[i] != NULL; i++) {
		char name[64];
		const struct command_def *def;

		snprintf(name, sizeof name, "%s list", ks[i]->word);
		if ((def = parse_find(name)) == NULL)
			continue;
		for (const struct flag_def *fl = def->flags; fl->name != NULL;
		    fl++) {
			const struct sl_field *fd = fl->field;
			struct parse_result q = { .cmd = CMD_REMOTE, .def = def };
			struct run r;

			if (fd == NULL || (fd->type != SL_F_REF &&
			    fd->type != SL_F_REFS) || fd->ref == NULL ||
			    strchr(fd->ref, k->c) == NULL)
				continue;
			q.vals[0].flag = fl;
			q.vals[0].value = id;
			q.nvals = 1;
			run(u, &q, &r);
			if (r.status == 0 && r.out.n > 0) {
				if (!any)
					fprintf(f, "<h2>%s</h2>\n",
					    w(u, "refers_here"));
				any = true;
				snprintf(name, sizeof name, "ref_%s_%s",
				    ks[i]->word, fd->name);
				fputs("<h3>", f);
				html_text(f, w(u, name));
				fputs("</h3>\n", f);
				record_table(u, f, &r.out, ks[i]);
			}
			run_free(&r);
		}
	}
}

/* The value of field fd in competing branch e, or NULL: a text or a
 * reference for a single field, a list for a list field. */
static const msgpack_object *
branch_value(const msgpack_object *e, const struct sl_field *fd)
{
	const msgpack_object *ch = map_get(e, "changes");
	const msgpack_object *v = ch != NULL ? map_get(ch, fd->name) : NULL;
	bool list = fd->type == SL_F_REFS || fd->type == SL_F_TEXTS;

	if (v == NULL || v->type != (list ? MSGPACK_OBJECT_ARRAY :
	    MSGPACK_OBJECT_STR))
		return NULL;
	return v;
}

/* A list's fingerprint (FNV-1a over its texts): a list choice names
 * its branch by number and by this, so that a choice made on a page
 * shown before the branches changed is refused, not applied to another
 * list. */
static uint64_t
list_print(const msgpack_object *v)
{
	uint64_t h = 1469598103934665603ULL;

	for (uint32_t i = 0; v != NULL && v->type == MSGPACK_OBJECT_ARRAY &&
	    i < v->via.array.size; i++) {
		const msgpack_object *e = &v->via.array.ptr[i];

		for (uint32_t j = 0; e->type == MSGPACK_OBJECT_STR &&
		    j < e->via.str.size; j++)
			h = (h ^ (unsigned char)e->via.str.ptr[j]) *
			    1099511628211ULL;
		h = (h ^ 0xff) * 1099511628211ULL;
	}
	return h;
}

/* A radio of the conflict form: checked if it is what was sent (fm,
 * after a refusal), else if it is the first. */
static void
radio(FILE *f, const char *name, const char *value, bool first,
    const struct form *fm)
{
	const char *sent = form_get(fm, name);

	fprintf(f, "<label><input type=\"radio\" name=\"%s\" value=\"", name);
	html_attr(f, value);
	fprintf(f, "\"%s> ", (sent != NULL ? strcmp(sent, value) == 0 : first) ?
	    " checked" : "");
}

/* A record in conflict: per field that the branches set differently,
 * the value it has now and each branch's, with the organisation behind
 * it, to choose one (fm: what was chosen, after a refusal).  A single
 * field's choice is its value; a list's (several organisations,
 * parties, lines of business) is "now" or "N:PRINT", its branch's
 * number and fingerprint, as "pick-FIELD", and resolve_lists takes that
 * whole list.  Keeping the value as it is now writes it again: the
 * edit that has seen every branch. */
static void
conflict_form(const struct ui *u, FILE *f, const struct sl_kind *k,
    const msgpack_object *rec, const char *id, const struct form *fm)
{
	const msgpack_object *comp = map_get(rec, "competing");
	struct names nc = { 0 };

	if (comp == NULL || comp->type != MSGPACK_OBJECT_ARRAY)
		return;
	fprintf(f, "<h2 class=\"conflict\">%s</h2>\n<form method=\"post\" "
	    "action=\"r/%s/resolve\" id=\"resolve\">\n", w(u, "competing"),
	    id);
	csrf_field(u, f);
	for (uint32_t i = 0; i < k->nfields; i++) {
		const struct sl_field *fd = &k->fields[i];
		bool list = fd->type == SL_F_REFS || fd->type == SL_F_TEXTS;
		bool differs = false;
		const msgpack_object *now = map_get(rec, fd->name);
		char name[80], val[48], *cur;

		if (fd->type == SL_F_STATE || (fd->flags & SL_FF_NOFLAG))
			continue;
		for (uint32_t j = 0; j < comp->via.array.size; j++)
			differs = differs || branch_value(&comp->via.array.ptr[j],
			    fd) != NULL;
		if (!differs)
			continue;
		if (list)
			snprintf(name, sizeof name, "pick-%s", fd->name);
		else
			snprintf(name, sizeof name, "%s", fd->flag != NULL ?
			    fd->flag : fd->name);
		fputs("<fieldset><legend>", f);
		html_text(f, field_label(u, fd));
		fputs("</legend>\n", f);
		cur = list ? strdup("now") : now != NULL && now->type ==
		    MSGPACK_OBJECT_STR ? strndup(now->via.str.ptr,
		    now->via.str.size) : strdup("");
		radio(f, name, cur != NULL ? cur : "", true, fm);
		free(cur);
		field_value(u, f, rec, fd);
		fprintf(f, " <span class=\"hint\">(%s)</span></label>\n",
		    u->en ? "as it is now" : "som det är nu");
		for (uint32_t j = 0; j < comp->via.array.size; j++) {
			const msgpack_object *e = &comp->via.array.ptr[j];
			const msgpack_object *v = branch_value(e, fd);
			char *t;

			if (v == NULL)
				continue;
			if (list) {
				snprintf(val, sizeof val, "%u:%016llx", j,
				    (unsigned long long)list_print(v));
				radio(f, name, val, false, fm);
			} else if ((t = strndup(v->via.str.ptr,
			    v->via.str.size)) != NULL) {
				radio(f, name, t, false, fm);
				free(t);
			}
			change_value(u, f, rec, fd, v, &nc);
			fputs(" <span class=\"hint\">(", f);
			value_text(f, map_get(e, "org"));
			fputs(")</span></label>\n", f);
		}
		fputs("</fieldset>\n", f);
	}
	fprintf(f, "<button type=\"submit\">%s</button>\n</form>\n",
	    w(u, "resolve"));
	names_free(&nc);
}

/* Appends text (copied into owned) as a value of flag fl to q. */
static bool
push_copy(struct parse_result *q, const struct flag_def *fl, const char *s,
    size_t n, char **owned, size_t *nowned)
{
	char *t;

	if (q->nvals >= MAX_VALUES || *nowned >= MAX_VALUES ||
	    (t = strndup(s, n)) == NULL)
		return false;
	owned[(*nowned)++] = t;
	q->vals[q->nvals].flag = fl;
	q->vals[q->nvals++].value = t;
	return true;
}

/* A resolve's list choices ("pick-FIELD": "now", or a branch's "N:PRINT")
 * into q: that list as the field's values (an empty one: the field
 * cleared).  False if a choice names no branch, or a branch whose list
 * is no longer the one shown. */
static bool
resolve_lists(const struct command_def *def, const struct form *fm,
    const msgpack_object *rec, struct parse_result *q, char **owned,
    size_t *nowned)
{
	const msgpack_object *comp = map_get(rec, "competing");
	const struct flag_def *unset = NULL;

	for (const struct flag_def *fl = def->flags; fl->name != NULL; fl++)
		if (strcmp(fl->name, "unset") == 0)
			unset = fl;
	for (const struct flag_def *fl = def->flags; fl->name != NULL; fl++) {
		const struct sl_field *fd = fl->field;
		const msgpack_object *v;
		const char *pick;
		char key[80], print[17];
		unsigned long j = 0;
		size_t nd;

		if (fd == NULL || (fd->type != SL_F_REFS &&
		    fd->type != SL_F_TEXTS))
			continue;
		snprintf(key, sizeof key, "pick-%s", fd->name);
		if ((pick = form_get(fm, key)) == NULL || pick[0] == '\0')
			continue;
		if (strcmp(pick, "now") == 0) {
			v = map_get(rec, fd->name);
		} else {
			/* Digits only, then ':' and the fingerprint. */
			nd = strspn(pick, "0123456789");
			if (nd == 0 || nd > 4 || pick[nd] != ':' ||
			    strlen(pick + nd + 1) != 16)
				return false;
			j = strtoul(pick, NULL, 10);
			if (comp == NULL || comp->type != MSGPACK_OBJECT_ARRAY ||
			    j >= comp->via.array.size || (v = branch_value(
			    &comp->via.array.ptr[j], fd)) == NULL)
				return false;
			snprintf(print, sizeof print, "%016llx",
			    (unsigned long long)list_print(v));
			if (strcmp(print, pick + nd + 1) != 0)
				return false;
		}
		if ((v == NULL || v->type != MSGPACK_OBJECT_ARRAY ||
		    v->via.array.size == 0) && unset != NULL) {
			if (q->nvals >= MAX_VALUES)
				return false;
			q->vals[q->nvals].flag = unset;
			q->vals[q->nvals++].value = fd->name;
			continue;
		}
		for (uint32_t i = 0; i < v->via.array.size; i++) {
			const msgpack_object *e = &v->via.array.ptr[i];

			if (e->type == MSGPACK_OBJECT_STR && !push_copy(q, fl,
			    e->via.str.ptr, e->via.str.size, owned, nowned))
				return false;
		}
	}
	return true;
}

/* The organisation that made a record: its history's first event's
 * (hist: the answer of history), or NULL.  A new string. */
static char *
creator(const struct run *hist)
{
	return hist->status == 0 && hist->out.n > 0 ?
	    str_of(&hist->out.v[0].data, "org") : NULL;
}

/* This node's organisation, or NULL.  A new string. */
static char *
our_org(const struct ui *u)
{
	struct run r;
	char *org = NULL;

	if (run_cmd(u, "status", NULL, &r) == 0 && r.out.n == 1)
		org = str_of(&r.out.v[0].data, "org");
	run_free(&r);
	return org;
}

/* The record page: fields, competing values and the form resolving
 * them, the forms that change it, its history.  After a refusal: err,
 * and the form of verb failed shown again with what was sent (fm). */
static enum MHD_Result
page_record(struct ui *u, struct MHD_Connection *c, const char *id,
    const char *err, const char *failed, const struct form *fm,
    const char *note)
{
	struct run r;
	const struct sl_kind *k = find_record(u, id, &r);
	struct page p;
	char name[64], action[160], note_buf[400], *maker = NULL, *us = NULL;
	struct run hist;
	const struct command_def *def;

	if (k == NULL) {
		/* Not found, or no daemon to ask? */
		if (run_cmd(u, "status", NULL, &r) != 0) {
			enum MHD_Result rc = plain(u, c, 503, r.err != NULL ?
			    r.err : "samlogd does not answer\n");

			run_free(&r);
			return rc;
		}
		run_free(&r);
		return plain(u, c, 404, "no such record\n");
	}
	const msgpack_object *rec = &r.out.v[0].data;
	char *label = str_of(rec, "label"), *state = str_of(rec, "status");
	const msgpack_object *cf = map_get(rec, "conflict");

	if (!page_open(&p)) {
		run_free(&r);
		free(label);
		free(state);
		return MHD_NO;
	}
	page_begin(u, p.f, label != NULL ? label : id);
	fprintf(p.f, "<p class=\"hint\">%s</p>\n", kind_word(u, "one_",
	    k->word));
	if (err != NULL)
		error_box(p.f, u, err, u->err_code);
	if (note != NULL)
		fprintf(p.f, "<div class=\"ok\" role=\"status\">%s</div>\n",
		    note);
	fprintf(p.f, "<h2>%s</h2>\n<table><tbody>\n", w(u, "fields"));
	for (uint32_t i = 0; i < k->nfields; i++) {
		const struct sl_field *fd = &k->fields[i];

		fputs("<tr><th scope=\"row\">", p.f);
		html_text(p.f, field_label(u, fd));
		fputs("</th><td>", p.f);
		field_value(u, p.f, rec, fd);
		fputs("</td></tr>\n", p.f);
	}
	fprintf(p.f, "<tr><th scope=\"row\">%s</th><td>", w(u, "effective"));
	value_text(p.f, map_get(rec, "on"));
	fputs("</td></tr>\n</tbody></table>\n", p.f);
	fprintf(p.f, "<p><a href=\"audit/%s\">%s</a></p>\n", id,
	    w(u, "audit"));

	if (cf != NULL && cf->type == MSGPACK_OBJECT_BOOLEAN &&
	    cf->via.boolean)
		conflict_form(u, p.f, k, rec, id, failed != NULL &&
		    strcmp(failed, "resolve") == 0 ? fm : NULL);
	referrers(u, p.f, k, id);
	/* Its history, asked once: whose it is, and the timeline. */
	run_cmd(u, "history", id, &hist);
	if (k->owned && (maker = creator(&hist)) != NULL &&
	    (us = our_org(u)) != NULL && strcmp(maker, us) != 0) {
		/* Only its maker may step or change it: no forms that
		 * always fail. */
		fputs("<p class=\"hint\">", p.f);
		snprintf(note_buf, sizeof note_buf, w(u, "not_ours"), maker);
		html_text(p.f, note_buf);
		fputs("</p>\n", p.f);
		def = NULL;
	} else {
		step_forms(u, p.f, k, id, state, failed, fm);
		snprintf(name, sizeof name, "%s update", k->word);
		def = parse_find(name);
	}
	free(maker);
	free(us);
	if (def != NULL) {
		snprintf(action, sizeof action, "r/%s/update", id);
		fprintf(p.f, "<h2>%s</h2>\n", w(u, "change"));
		if (k->owned)
			fprintf(p.f, "<p class=\"hint\">%s</p>\n",
			    w(u, "text_by_amend"));
		command_form(u, p.f, def, action, "update", rec, failed != NULL &&
		    strcmp(failed, "update") == 0 ? fm : NULL, w(u, "save"));
	}
	history(u, p.f, k, rec, id, &hist);
	run_free(&hist);
	run_free(&r);
	free(label);
	free(state);
	return page_send(u, c, &p, err != NULL ? 422 : 200);
}

static enum MHD_Result
page_new(struct ui *u, struct MHD_Connection *c, const char *word,
    const char *err, const struct form *fm)
{
	char name[64], action[80];
	const struct command_def *def;
	struct page p;

	if (records_kind(word) == NULL)
		return plain(u, c, 404, "no such page\n");
	snprintf(name, sizeof name, "%s add", word);
	if ((def = parse_find(name)) == NULL || !page_open(&p))
		return MHD_NO;
	page_begin(u, p.f, kind_word(u, "new_", word));
	if (err != NULL)
		error_box(p.f, u, err, u->err_code);
	snprintf(action, sizeof action, "new/%s", word);
	command_form(u, p.f, def, action, "add", NULL, fm, w(u, "save"));
	return page_send(u, c, &p, err != NULL ? 422 : 200);
}

/* A decision added with a meeting and no day of its own takes effect
 * on the meeting's day (not today): a decision taken at a board meeting
 * last month must be adoptable on that meeting's day.  The day, when
 * there is one, is added to q (*day keeps it). */
static void
meeting_day(const struct ui *u, const char *word, const struct form *fm,
    struct parse_result *q, char **day)
{
	const char *mid = form_get(fm, "meeting"), *on = form_get(fm, "on");
	const struct flag_def *fl;
	struct run r;

	if (strcmp(word, "decision") != 0 || mid == NULL || !is_id(mid) ||
	    (on != NULL && on[0] != '\0') || q->nvals >= MAX_VALUES)
		return;
	for (fl = q->def->flags; fl->name != NULL &&
	    strcmp(fl->name, "on") != 0; fl++)
		;
	if (fl->name == NULL)
		return;
	if (show_exact(u, records_kind("meeting"), mid, &r)) {
		*day = str_of(&r.out.v[0].data, "date");
		run_free(&r);
	}
	if (*day != NULL && report_is_day(*day)) {
		q->vals[q->nvals].flag = fl;
		q->vals[q->nvals++].value = *day;
	}
}

/* POST /new/KIND: KIND add; then the new record's page. */
static enum MHD_Result
do_new(struct ui *u, struct MHD_Connection *c, const char *word,
    struct form *fm)
{
	char name[64], to[80], *day = NULL;
	struct parse_result q = { .cmd = CMD_REMOTE };
	char *owned[MAX_VALUES];
	size_t nowned = 0;
	struct run r = { 0 };
	enum MHD_Result rc;

	if (records_kind(word) == NULL)
		return plain(u, c, 404, "no such page\n");
	snprintf(name, sizeof name, "%s add", word);
	if ((q.def = parse_find(name)) == NULL)
		return MHD_NO;
	if (!form_to_query(fm, q.def, &q, owned, &nowned)) {
		rc = page_new(u, c, word, "too many values", fm);
		goto out;
	}
	meeting_day(u, word, fm, &q, &day);
	run(u, &q, &r);
	if (r.status != 0 || r.out.n == 0) {
		u->err_code = r.code;
		u->offer_force = force_helps(r.code, r.err);
		rc = page_new(u, c, word, r.err != NULL ? r.err :
		    "no answer", fm);
		goto out;
	}
	char *id = str_of(&r.out.v[0].data, "id");

	snprintf(to, sizeof to, "r/%s?saved=1", id != NULL ? id : "");
	free(id);
	rc = redirect(u, c, to, NULL);
out:
	run_free(&r);
	free(day);
	for (size_t i = 0; i < nowned; i++)
		free(owned[i]);
	return rc;
}


/* Is text what the form showed for the list now ("a; b")? */
static bool
texts_as_shown(const msgpack_object *now, const char *text)
{
	char *shown = NULL;
	size_t n = 0;
	FILE *f = open_memstream(&shown, &n);
	bool same;

	if (f == NULL || text == NULL) {
		if (f != NULL)
			fclose(f);
		free(shown);
		return false;
	}
	for (uint32_t i = 0; now != NULL && now->type == MSGPACK_OBJECT_ARRAY &&
	    i < now->via.array.size; i++) {
		const msgpack_object *e = &now->via.array.ptr[i];

		if (i > 0)
			fputs("; ", f);
		if (e->type == MSGPACK_OBJECT_STR)
			fwrite(e->via.str.ptr, 1, e->via.str.size, f);
	}
	fclose(f);
	same = shown != NULL && strcmp(shown, text) == 0;
	free(shown);
	return same;
}

/*
 * An update sends only what the form changed: for each field the form
 * showed (its "present" marker), the values q holds for it are dropped
 * when they are what the record holds now, and a field the form left
 * empty that holds something now is cleared (--unset).  So saving the
 * form unchanged writes nothing new but what was changed, and clearing a
 * field is possible.  False when q is full.
 */
static bool
update_diff(const struct command_def *def, const struct form *fm,
    const msgpack_object *rec, struct parse_result *q)
{
	const struct flag_def *unset = NULL;

	for (const struct flag_def *fl = def->flags; fl->name != NULL; fl++)
		if (strcmp(fl->name, "unset") == 0)
			unset = fl;
	for (const struct flag_def *fl = def->flags; fl->name != NULL; fl++) {
		const struct sl_field *fd = fl->field;
		const msgpack_object *now;
		size_t given = 0, matched = 0;
		bool shown = false, same;

		if (fd == NULL)
			continue;
		for (size_t i = 0; i < fm->n && !shown; i++)
			shown = strcmp(fm->key[i], "present") == 0 &&
			    strcmp(fm->val[i], fl->name) == 0;
		if (!shown)
			continue;
		now = map_get(rec, fd->name);
		for (size_t i = 0; i < q->nvals; i++) {
			if (q->vals[i].flag != fl)
				continue;
			given++;
			if (now != NULL && now->type == MSGPACK_OBJECT_ARRAY) {
				for (uint32_t j = 0; j < now->via.array.size; j++)
					if (str_is(q->vals[i].value,
					    &now->via.array.ptr[j])) {
						matched++;
						break;
					}
			} else if (str_is(q->vals[i].value, now)) {
				matched++;
			}
		}
		if (fl->flags & FL_SWITCH)
			same = (given > 0) == (now != NULL && now->type ==
			    MSGPACK_OBJECT_BOOLEAN && now->via.boolean);
		else if (fd->type == SL_F_TEXTS && texts_as_shown(now,
		    form_get(fm, fl->name)))
			same = true;    /* as shown: a value with ';' unsplit */
		else if (now != NULL && now->type == MSGPACK_OBJECT_ARRAY)
			same = matched == given && given == now->via.array.size;
		else
			same = given == matched && (given > 0 || now == NULL ||
			    now->type == MSGPACK_OBJECT_NIL);
		if (same) {
			size_t keep = 0;

			for (size_t i = 0; i < q->nvals; i++)
				if (q->vals[i].flag != fl)
					q->vals[keep++] = q->vals[i];
			q->nvals = keep;
		} else if (given == 0 && unset != NULL) {
			if (q->nvals >= MAX_VALUES)
				return false;
			q->vals[q->nvals].flag = unset;
			q->vals[q->nvals++].value = fd->name;
		}
	}
	return true;
}

/* Does the record page offer verb on rec (of kind k): update, resolve,
 * or a step its state may take? */
static bool
verb_offered(const struct sl_kind *k, const char *verb,
    const msgpack_object *rec)
{
	const struct sl_evtype *et;
	char *state;
	uint8_t st = 0;

	if (strcmp(verb, "update") == 0 || strcmp(verb, "resolve") == 0)
		return true;
	if ((et = sl_schema_verb(k, verb)) == NULL || et->role != SL_ET_STEP ||
	    k->states == NULL)
		return false;
	state = str_of(rec, "status");
	for (uint8_t i = 1; state != NULL && k->states[i] != NULL; i++)
		if (strcmp(k->states[i], state) == 0)
			st = i;
	free(state);
	return st != 0 && (et->from & (1u << st));
}

/* POST /r/ID/VERB: update, a step, or resolve (an update naming the
 * values chosen). */
static enum MHD_Result
do_record(struct ui *u, struct MHD_Connection *c, const char *id,
    const char *verb, struct form *fm)
{
	struct run cur;
	const struct sl_kind *k = find_record(u, id, &cur);
	char name[64], to[120];
	struct parse_result q = { .cmd = CMD_REMOTE, .pos = id };
	char *owned[MAX_VALUES];
	size_t nowned = 0;
	struct run r = { 0 };
	enum MHD_Result rc;

	if (k == NULL)
		return plain(u, c, 404, "no such record\n");
	snprintf(name, sizeof name, "%s %s", k->word,
	    strcmp(verb, "resolve") == 0 ? "update" : verb);
	if ((q.def = parse_find(name)) == NULL || q.def->kind != k ||
	    !verb_offered(k, verb, &cur.out.v[0].data)) {
		run_free(&cur);
		return plain(u, c, 404, "no such step\n");
	}
	if (!form_to_query(fm, q.def, &q, owned, &nowned)) {
		rc = page_record(u, c, id, "too many values", verb, fm, NULL);
		goto out;
	}
	if (strcmp(verb, "update") == 0 && !update_diff(q.def, fm,
	    &cur.out.v[0].data, &q)) {
		rc = page_record(u, c, id, "too many values", verb, fm, NULL);
		goto out;
	}
	if (strcmp(verb, "resolve") == 0 && !resolve_lists(q.def, fm,
	    &cur.out.v[0].data, &q, owned, &nowned)) {
		rc = page_record(u, c, id, u->en ? "a list chosen is none of "
		    "the competing ones, or they changed since the page was "
		    "shown: choose again" : "en vald lista finns inte (längre) "
		    "bland de konkurrerande: välj igen", verb, fm, NULL);
		goto out;
	}
	run(u, &q, &r);
	if (r.status != 0) {
		u->err_code = r.code;
		u->offer_force = force_helps(r.code, r.err);
		rc = page_record(u, c, id, r.err != NULL ? r.err : "failed",
		    verb, fm, NULL);
		goto out;
	}
	snprintf(to, sizeof to, "r/%s?saved=1", id);
	rc = redirect(u, c, to, NULL);
out:
	run_free(&r);
	run_free(&cur);
	for (size_t i = 0; i < nowned; i++)
		free(owned[i]);
	return rc;
}

static enum MHD_Result
page_conflicts(struct ui *u, struct MHD_Connection *c)
{
	struct page p;
	struct run r;

	if (!page_open(&p))
		return MHD_NO;
	page_begin(u, p.f, w(u, "conflicts"));
	if (run_cmd(u, "conflicts", NULL, &r) != 0)
		error_box(p.f, u, r.err, r.code);
	else
		record_table(u, p.f, &r.out, NULL);
	run_free(&r);
	return page_send(u, c, &p, 200);
}

static enum MHD_Result
page_report_form(struct ui *u, struct MHD_Connection *c, const char *err,
    const struct form *q)
{
	struct page p;
	time_t now = time(NULL);
	struct tm tm;
	char y[8], from[16], to[16];
	const char *fmt = form_get(q, "format"), *lang = form_get(q, "lang");
	char **munis = NULL;
	size_t nm = 0;
	static const char *const fmts[][2] = { { "html", "HTML (A4)" },
	    { "md", "Markdown" }, { "json", "JSON" } };

	if (!page_open(&p))
		return MHD_NO;
	localtime_r(&now, &tm);
	strftime(y, sizeof y, "%Y", &tm);
	snprintf(from, sizeof from, "%s-01-01", y);
	snprintf(to, sizeof to, "%s-12-31", y);
	if (lang == NULL)
		lang = u->en ? "en" : "sv";
	page_begin(u, p.f, w(u, "report"));
	if (err != NULL)
		error_box(p.f, u, err, u->err_code);
	/* POST: the introduction may be longer than a URL. */
	fputs("<form method=\"post\" action=\"report/file\" id=\"report\">\n",
	    p.f);
	csrf_field(u, p.f);
	fprintf(p.f, "<label for=\"rf\">%s</label><input id=\"rf\" "
	    "name=\"from\" type=\"date\" required value=\"", w(u, "from"));
	html_attr(p.f, form_get(q, "from") != NULL ? form_get(q, "from") : from);
	fprintf(p.f, "\">\n<label for=\"rt\">%s</label><input id=\"rt\" "
	    "name=\"to\" type=\"date\" required value=\"", w(u, "to"));
	html_attr(p.f, form_get(q, "to") != NULL ? form_get(q, "to") : to);
	fputs("\">\n", p.f);
	/* The municipalities the records name, to tick; past MUNIS_TICKED
	 * (a member can name thousands) a text field. */
	fprintf(p.f, "<fieldset><legend>%s</legend>\n", w(u, "munis"));
	if (report_municipalities(u->dir, u->named, &munis, &nm) == 0 &&
	    nm > MUNIS_TICKED) {
		fprintf(p.f, "<label for=\"rm\">%s <span class=\"hint\">(%s)"
		    "</span></label><input id=\"rm\" name=\"municipality\" "
		    "value=\"", w(u, "munis_typed"), w(u, "list_sep"));
		for (size_t j = 0; q != NULL && j < q->n; j++)
			if (strcmp(q->key[j], "municipality") == 0)
				html_attr(p.f, q->val[j]);
		fputs("\">\n", p.f);
	}
	for (size_t i = 0; i < nm; i++) {
		if (nm <= MUNIS_TICKED) {
			bool on = false;

			for (size_t j = 0; q != NULL && j < q->n; j++)
				on = on || (strcmp(q->key[j], "municipality") ==
				    0 && strcmp(q->val[j], munis[i]) == 0);
			fprintf(p.f, "<label class=\"check\" for=\"rm%zu\"><input "
			    "type=\"checkbox\" id=\"rm%zu\" name=\"municipality\" "
			    "value=\"", i, i);
			html_attr(p.f, munis[i]);
			fprintf(p.f, "\"%s> ", on ? " checked" : "");
			html_text(p.f, munis[i]);
			fputs("</label>\n", p.f);
		}
		free(munis[i]);
	}
	free(munis);
	fprintf(p.f, "</fieldset>\n<label for=\"ri\">%s <span class=\"hint\">"
	    "(%s)</span></label><textarea id=\"ri\" name=\"intro\">",
	    w(u, "intro"), w(u, "intro_hint"));
	html_attr(p.f, form_get(q, "intro"));
	fprintf(p.f, "</textarea>\n<label for=\"rfo\">%s</label><select "
	    "id=\"rfo\" name=\"format\">", w(u, "format"));
	for (size_t i = 0; i < sizeof fmts / sizeof *fmts; i++)
		fprintf(p.f, "<option value=\"%s\"%s>%s</option>", fmts[i][0],
		    fmt != NULL && strcmp(fmt, fmts[i][0]) == 0 ? " selected" : "",
		    fmts[i][1]);
	fprintf(p.f, "</select>\n<label for=\"rl\">%s</label><select id=\"rl\" "
	    "name=\"lang\"><option value=\"sv\"%s>svenska</option><option "
	    "value=\"en\"%s>English</option></select>\n<button type=\"submit\">"
	    "%s</button>\n</form>\n", w(u, "lang"), strcmp(lang, "en") != 0 ?
	    " selected" : "", strcmp(lang, "en") == 0 ? " selected" : "",
	    w(u, "make_report"));
	return page_send(u, c, &p, err != NULL ? 422 : 200);
}

/* GET or POST /report/file: the report itself (HTML shown, to print; Markdown
 * and JSON downloaded). */
static enum MHD_Result
page_report_file(struct ui *u, struct MHD_Connection *c, struct form *q)
{
	const char *from = form_get(q, "from"), *to = form_get(q, "to");
	const char *fmt = form_get(q, "format"), *lang = form_get(q, "lang");
	const char *munis[MAX_VALUES];
	struct report_opts o = { .from = from, .to = to, .munis = munis };
	char *buf = NULL, *err = NULL;
	size_t len = 0, elen = 0;
	FILE *f, *ef;
	int status;

	char why[200];

	/* The same checks, in the same words, as samlog report's. */
	if (!report_check_period(from, to, why, sizeof why)) {
		if (!u->en && !report_is_day(from))
			snprintf(why, sizeof why, "Från: ”%.20s” är inte en dag "
			    "som finns (ÅÅÅÅ-MM-DD).", from != NULL ? from : "");
		else if (!u->en && !report_is_day(to))
			snprintf(why, sizeof why, "Till: ”%.20s” är inte en dag "
			    "som finns (ÅÅÅÅ-MM-DD).", to != NULL ? to : "");
		else if (!u->en)
			snprintf(why, sizeof why, "Periodens första dag, %s, är "
			    "efter dess sista, %s.", from, to);
		return page_report_form(u, c, why, q);
	}
	o.format = fmt != NULL && strcmp(fmt, "md") == 0 ? REPORT_MD :
	    fmt != NULL && strcmp(fmt, "json") == 0 ? REPORT_JSON : REPORT_HTML;
	o.lang = lang != NULL && strcmp(lang, "en") == 0 ? REPORT_EN :
	    REPORT_SV;
	/* Ticked, or typed with ';' between them (many municipalities). */
	for (size_t i = 0; i < q->n && o.nmunis < MAX_VALUES; i++) {
		char *save = NULL, *t;

		if (strcmp(q->key[i], "municipality") != 0)
			continue;
		if (strchr(q->val[i], ';') == NULL) {
			munis[o.nmunis++] = q->val[i];
			continue;
		}
		for (t = strtok_r(q->val[i], ";", &save); t != NULL &&
		    o.nmunis < MAX_VALUES; t = strtok_r(NULL, ";", &save)) {
			t += strspn(t, " ");
			for (size_t l = strlen(t); l > 0 && t[l - 1] == ' '; l--)
				t[l - 1] = '\0';
			if (*t != '\0')
				munis[o.nmunis++] = t;
		}
	}
	if (!report_check_munis(&o, why, sizeof why))
		return page_report_form(u, c, why, q);
	if ((o.intro = form_get(q, "intro")) != NULL && o.intro[0] == '\0')
		o.intro = NULL;
	if (o.intro != NULL && !report_check_intro(o.intro, strlen(o.intro),
	    why, sizeof why))
		return page_report_form(u, c, why, q);
	if ((f = open_memstream(&buf, &len)) == NULL)
		return MHD_NO;
	ef = open_memstream(&err, &elen);
	cli_error_to(ef);
	status = report_write(u->dir, u->named, &o, f);
	cli_error_to(NULL);
	fclose(f);
	if (ef != NULL)
		fclose(ef);
	if (status != 0) {
		enum MHD_Result rc = page_report_form(u, c, err, q);

		free(buf);
		free(err);
		return rc;
	}
	free(err);
	if (o.format == REPORT_HTML) {
		/* Its style, allowed by its hash. */
		const char *s = strstr(buf, "<style>"), *e = s != NULL ?
		    strstr(s, "</style>") : NULL;
		unsigned char hash[crypto_hash_sha256_BYTES];
		char b64[64], csp[100];

		if (s == NULL || e == NULL) {
			free(buf);
			return MHD_NO;
		}
		s += 7;
		crypto_hash_sha256(hash, (const unsigned char *)s,
		    (unsigned long long)(e - s));
		sodium_bin2base64(b64, sizeof b64, hash, sizeof hash,
		    sodium_base64_VARIANT_ORIGINAL);
		snprintf(csp, sizeof csp, "'sha256-%s'", b64);
		return reply(u, c, 200, "text/html; charset=utf-8", buf, len,
		    csp, NULL);
	}
	char disp[120];

	snprintf(disp, sizeof disp, "attachment; filename=\"rapport-%s-%s.%s\"",
	    from, to, o.format == REPORT_MD ? "md" : "json");
	return reply(u, c, 200, o.format == REPORT_MD ?
	    "text/markdown; charset=utf-8" : "application/json", buf, len,
	    NULL, disp);
}

/* An output that prints nothing (audit's own summary). */
static void
quiet_begin(FILE *f, enum out_mode m, const char *t)
{
	(void)f;
	(void)m;
	(void)t;
}

static void
quiet_record(FILE *f, const msgpack_object *o)
{
	(void)f;
	(void)o;
}

static void
quiet_end(FILE *f)
{
	(void)f;
}

static const struct output quiet = { quiet_begin, quiet_record, quiet_end };

/* GET /audit/ID: the record's audit bundle, checked, as a download. */
static enum MHD_Result
page_audit(struct ui *u, struct MHD_Connection *c, const char *id)
{
	char path[PATH_MAX], *buf = NULL, *err = NULL;
	char disp[120];
	size_t elen = 0;
	FILE *ef, *f;
	int status;
	long n;

	if (!is_id(id))
		return plain(u, c, 404, "no such record\n");
	/* Made in this process's own directory (0700): a bundle holds
	 * names, which other users of the machine must not read. */
	snprintf(path, sizeof path, "%s/%s.audit", u->priv, id);
	ef = open_memstream(&err, &elen);
	cli_error_to(ef);
	status = cmd_audit_out(u->dir, u->named, id, path, &quiet);
	cli_error_to(NULL);
	if (ef != NULL)
		fclose(ef);
	if (status != 0 || (f = fopen(path, "rb")) == NULL) {
		unlink(path);
		enum MHD_Result rc = plain(u, c, 422, err != NULL ? err :
		    "failed\n");

		free(err);
		return rc;
	}
	free(err);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	if (n < 0 || (buf = malloc((size_t)n + 1)) == NULL ||
	    fread(buf, 1, (size_t)n, f) != (size_t)n) {
		fclose(f);
		unlink(path);
		free(buf);
		return MHD_NO;
	}
	fclose(f);
	unlink(path);
	snprintf(disp, sizeof disp, "attachment; filename=\"%s.audit\"", id);
	return reply(u, c, 200, "application/octet-stream", buf, (size_t)n,
	    NULL, disp);
}

/* ---- the request handler ------------------------------------------------------ */

/* Is p a path of a page under the prefix ("list/org", "r/ID",
 * "find?q=K%C3%A5f%C3%A9")?  Only such a path is taken back from a form:
 * lower-case letters, digits, '/', '-' and '_', not starting with '/',
 * no "//", then perhaps a query of unreserved bytes, escapes, '=' and
 * '&'; short.  Nothing in it can end a header line or leave the
 * prefix. */
static bool
page_path(const char *p)
{
	size_t n = p != NULL ? strspn(p,
	    "abcdefghijklmnopqrstuvwxyz0123456789/-_") : 0;

	if (p == NULL || strlen(p) >= 128 || p[0] == '/' ||
	    memmem(p, n, "//", 2) != NULL)
		return false;
	/* A query: letters, digits, "-._~", percent escapes, '=' and '&'. */
	if (p[n] == '?')
		n += 1 + strspn(p + n + 1, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJ"
		    "KLMNOPQRSTUVWXYZ0123456789-._~%=&");
	return p[n] == '\0';
}

/* Appends "?k=v&..." of a GET page's query to u->here, each byte not
 * unreserved percent-encoded, if it fits. */
static void
here_query(struct ui *u, const struct form *q)
{
	char buf[sizeof u->here];
	size_t n = strlen(u->here);
	bool fits = true;

	memcpy(buf, u->here, n + 1);
	for (size_t i = 0; q != NULL && i < q->n && fits; i++) {
		const char *parts[2] = { q->key[i], q->val[i] };

		buf[n++] = i == 0 ? '?' : '&';
		for (int k = 0; k < 2 && fits; k++) {
			for (const unsigned char *c = (const unsigned char *)
			    parts[k]; *c != '\0' && fits; c++) {
				if (n + 4 >= sizeof buf)
					fits = false;
				else if (isalnum(*c) || strchr("-._~", *c) != NULL)
					buf[n++] = (char)*c;
				else
					n += (size_t)snprintf(buf + n, 4, "%%%02X",
					    *c);
			}
			if (k == 0 && fits)
				buf[n++] = '=';
		}
		buf[n] = '\0';
	}
	if (fits && n + 1 < sizeof buf)
		memcpy(u->here, buf, n + 1);
}

static void
page_here(struct ui *u, const char *url, bool post, const struct form *q)
{
	const char *slash;

	snprintf(u->here, sizeof u->here, "%s", url + 1);
	/* POST r/ID/VERB answers with r/ID's page. */
	if (post && strncmp(u->here, "r/", 2) == 0 &&
	    (slash = strchr(u->here + 2, '/')) != NULL)
		u->here[slash - u->here] = '\0';
	if (strncmp(u->here, "report/", 7) == 0)
		u->here[6] = '\0';
	if (!page_path(u->here))
		u->here[0] = '\0';
	else if (!post)
		here_query(u, q);
}

static bool
same(const char *a, const char *b)
{
	return a != NULL && b != NULL && strlen(a) == strlen(b) &&
	    sodium_memcmp(a, b, strlen(a)) == 0;
}

static enum MHD_Result
handle(void *cls, struct MHD_Connection *c, const char *url,
    const char *method, const char *version, const char *upload,
    size_t *upload_size, void **con_cls)
{
	struct ui *u = cls;
	struct form *fm = *con_cls;
	bool post = strcmp(method, "POST") == 0;
	const char *host = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
	    MHD_HTTP_HEADER_HOST);

	(void)version;
	if (fm == NULL) {
		/* The first call: headers only.  Refuse what is not ours
		 * before reading a body. */
		if (host == NULL || (strcmp(host, u->host_ip) != 0 &&
		    strcmp(host, u->host_name) != 0))
			return plain(u, c, 421, "refused: this server answers "
			    "only to its own address (Host)\n");
		if (!post && strcmp(method, "GET") != 0 &&
		    strcmp(method, "HEAD") != 0)
			return plain(u, c, 405, "method not allowed\n");
		/* A body is read only for the session. */
		if (post && (u->session[0] == '\0' ||
		    !same(MHD_lookup_connection_value(c, MHD_COOKIE_KIND,
		    "samlog_session"), u->session)))
			return plain(u, c, 403, "refused: open the link samlog ui "
			    "printed (it works once)\n");
		if ((fm = calloc(1, sizeof *fm)) == NULL)
			return MHD_NO;
		*con_cls = fm;
		if (post && (fm->pp = MHD_create_post_processor(c, 16384,
		    post_field, fm)) == NULL)
			return plain(u, c, 415, "a form must be "
			    "application/x-www-form-urlencoded\n");
		return MHD_YES;
	}
	if (post && *upload_size > 0) {
		if (!fm->too_big && !fm->bad && MHD_post_process(fm->pp, upload,
		    *upload_size) != MHD_YES && !fm->bad)
			fm->too_big = true;
		*upload_size = 0;
		return MHD_YES;
	}
	if (!post)
		MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, query_field,
		    fm);
	if (fm->bad)
		return plain(u, c, 400, "refused: a part of the form has no name "
		    "or holds a NUL byte\n");
	if (fm->too_big)
		return plain(u, c, 413, "the form is too large\n");
	/* A browser sends a text area's line breaks as CR LF (HTML says
	 * so); the log's texts have LF only. */
	for (size_t i = 0; i < fm->n; i++) {
		char *r = fm->val[i], *w = r;

		for (; *r != '\0'; r++)
			if (!(r[0] == '\r' && r[1] == '\n'))
				*w++ = *r;
		*w = '\0';
	}

	/* The one-time token: a session, once. */
	if (!post && strcmp(url, "/login") == 0) {
		const char *t = form_get(fm, "token");
		char cookie[200];

		if (u->token[0] == '\0' || !same(t, u->token))
			return plain(u, c, 403, "refused: this link was used "
			    "already or is wrong; start samlog ui again for a "
			    "new one\n");
		u->token[0] = '\0';
		random_hex(u->session, TOKEN_LEN);
		random_hex(u->csrf, TOKEN_LEN);
		snprintf(cookie, sizeof cookie, "samlog_session=%s; Path=%s; "
		    "HttpOnly; SameSite=Strict", u->session, u->prefix);
		return redirect(u, c, "", cookie);
	}
	/* Everything else is under the prefix. */
	if (strncmp(url, u->prefix, strlen(u->prefix)) != 0)
		return plain(u, c, 404, "no such page\n");
	url += strlen(u->prefix) - 1;   /* "/..." as the routes read it */
	if (strcmp(url, "/style.css") == 0) {
		char *b = strdup(style_css);

		return b == NULL ? MHD_NO : reply(u, c, 200,
		    "text/css; charset=utf-8", b, strlen(b), NULL, NULL);
	}
	if (u->session[0] == '\0' || !same(MHD_lookup_connection_value(c,
	    MHD_COOKIE_KIND, "samlog_session"), u->session))
		return plain(u, c, 403, "refused: open the link samlog ui "
		    "printed (it works once)\n");
	if (post && !same(form_get(fm, "csrf"), u->csrf))
		return plain(u, c, 403, "refused: the form's token is missing "
		    "or wrong (reload the page)\n");

	if (post && strcmp(url, "/lang") == 0) {
		const char *l = form_get(fm, "lang");

		u->en = l != NULL && strcmp(l, "en") == 0;
		return redirect(u, c, page_path(form_get(fm, "back")) ?
		    form_get(fm, "back") : "", NULL);
	}
	/* The page the language button comes back to: this one, or for a
	 * form's answer the page the form was on. */
	page_here(u, url, post, fm);
	u->err_code = 0;
	u->offer_force = false;
	if (!post && strcmp(url, "/") == 0)
		return page_overview(u, c);
	if (!post && strncmp(url, "/list/", 6) == 0)
		return page_list(u, c, url + 6, fm);
	if (!post && strcmp(url, "/find") == 0)
		return page_find(u, c, form_get(fm, "q"));
	if (!post && strcmp(url, "/conflicts") == 0)
		return page_conflicts(u, c);
	if (!post && strcmp(url, "/report") == 0)
		return page_report_form(u, c, NULL, NULL);
	if (strcmp(url, "/report/file") == 0)
		return page_report_file(u, c, fm);
	if (!post && strncmp(url, "/audit/", 7) == 0)
		return page_audit(u, c, url + 7);
	if (strncmp(url, "/new/", 5) == 0)
		return post ? do_new(u, c, url + 5, fm) :
		    page_new(u, c, url + 5, NULL, NULL);
	if (strncmp(url, "/r/", 3) == 0) {
		char id[64];
		const char *slash = strchr(url + 3, '/');
		size_t n = slash != NULL ? (size_t)(slash - url - 3) :
		    strlen(url + 3);

		if (n == 0 || n >= sizeof id)
			return plain(u, c, 404, "no such record\n");
		memcpy(id, url + 3, n);
		id[n] = '\0';
		if (post && slash != NULL)
			return do_record(u, c, id, slash + 1, fm);
		if (!post && slash == NULL)
			return page_record(u, c, id, NULL, NULL, NULL,
			    form_get(fm, "saved") != NULL ? w(u, "done") :
			    NULL);
	}
	return plain(u, c, 404, "no such page\n");
}

static void
completed(void *cls, struct MHD_Connection *c, void **con_cls,
    enum MHD_RequestTerminationCode toe)
{
	(void)cls;
	(void)c;
	(void)toe;
	if (*con_cls != NULL)
		form_free(*con_cls);
	*con_cls = NULL;
}

/* Opens url in the desktop's browser, where there is one.  The browser
 * is given a file of this process's own directory that leads to url,
 * not url itself: a command line is readable by every user of the
 * machine, and the token in url works once. */
static void
open_browser(const struct ui *u, const char *url)
{
	char path[PATH_MAX];
	FILE *f;

	if ((getenv("DISPLAY") == NULL && getenv("WAYLAND_DISPLAY") == NULL) ||
	    access("/usr/bin/xdg-open", X_OK) != 0)
		return;
	snprintf(path, sizeof path, "%s/open.html", u->priv);
	if ((f = fopen(path, "w")) == NULL)
		return;
	fprintf(f, "<!DOCTYPE html><meta charset=\"utf-8\"><meta "
	    "http-equiv=\"refresh\" content=\"0; url=%s\"><title>samlog"
	    "</title><a href=\"%s\">samlog</a>\n", url, url);
	if (fclose(f) != 0)
		return;
	if (fork() == 0) {
		int null = open("/dev/null", O_RDWR);

		if (null >= 0) {
			dup2(null, 1);
			dup2(null, 2);
		}
		execl("/usr/bin/xdg-open", "xdg-open", path, (char *)NULL);
		_exit(127);
	}
}

/* Removes the private directory and what is left in it. */
static void
priv_remove(const struct ui *u)
{
	char path[PATH_MAX];

	if (u->priv[0] == '\0')
		return;
	snprintf(path, sizeof path, "%s/open.html", u->priv);
	unlink(path);
	rmdir(u->priv);
}

int
cmd_ui(const struct parse_result *r)
{
	struct ui u = { 0 };
	struct sockaddr_in sa = { .sin_family = AF_INET };
	const char *port = parse_value(r, "port");
	const union MHD_DaemonInfo *info;
	struct MHD_Daemon *d;
	sigset_t set;
	char url[200];
	char *dir;
	int sig;
	long pn = 0;

	if (port != NULL) {
		char *end;

		pn = strtol(port, &end, 10);
		if (*end != '\0' || pn < 0 || pn > 65535) {
			cli_error("ui: --port takes a number from 0 to 65535, not "
			    "%s", port);
			return 2;
		}
	}
	if (sodium_init() < 0) {
		cli_error("ui: libsodium does not start");
		return 1;
	}
	if ((dir = sl_node_dir_resolve(r->dir)) == NULL) {
		cli_error("no node directory: set HOME or SAMLOG_DIR, or use "
		    "-d DIR");
		return 1;
	}
	u.dir = dir;
	u.named = r->dir != NULL || getenv("SAMLOG_DIR") != NULL;
	request_set_timeout(UI_REPLY_S);
	/* Is the daemon there?  Say so now, not on the first page. */
	{
		struct run probe;

		if (run_cmd(&u, "status", NULL, &probe) != 0) {
			cli_error("%s", probe.err != NULL ? probe.err :
			    "samlogd does not answer");
			run_free(&probe);
			free(dir);
			return 1;
		}
		run_free(&probe);
	}
	const char *tmp = getenv("TMPDIR");

	if (tmp == NULL || tmp[0] != '/' || strlen(tmp) >= 32)
		tmp = "/tmp";
	snprintf(u.priv, sizeof u.priv, "%s/samlog-ui-XXXXXX", tmp);
	if (mkdtemp(u.priv) == NULL) {
		cli_error("ui: cannot make a private directory: %s",
		    strerror(errno));
		free(dir);
		return 1;
	}
	random_hex(u.token, TOKEN_LEN);
	{
		char r16[2 * 16 + 1];

		random_hex(r16, 16);
		snprintf(u.prefix, sizeof u.prefix, "/s/%s/", r16);
	}
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sa.sin_port = htons((uint16_t)pn);
	/* The stop signals wait for sigwait below, in every thread. */
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD |
	    MHD_USE_ERROR_LOG, 0, NULL, NULL, handle, &u,
	    MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
	    MHD_OPTION_NOTIFY_COMPLETED, completed, NULL,
	    MHD_OPTION_CONNECTION_LIMIT, (unsigned)64,
	    MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)60,
	    MHD_OPTION_END);
	if (d == NULL) {
		cli_error("ui: cannot listen on 127.0.0.1:%ld: %s", pn,
		    strerror(errno));
		priv_remove(&u);
		free(dir);
		return 1;
	}
	info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
	u.port = info != NULL ? info->port : (uint16_t)pn;
	snprintf(u.host_ip, sizeof u.host_ip, "127.0.0.1:%u", u.port);
	snprintf(u.host_name, sizeof u.host_name, "localhost:%u", u.port);
	snprintf(url, sizeof url, "http://127.0.0.1:%u/login?token=%s", u.port,
	    u.token);
	if (r->json)
		printf("{\"url\": \"%s\", \"port\": %u}\n", url, u.port);
	else
		printf("samlog ui: open %s\n(it works once; Ctrl-C stops "
		    "the page)\n", url);
	fflush(stdout);
	if (parse_value(r, "no-open") == NULL)
		open_browser(&u, url);
	sigwait(&set, &sig);
	MHD_stop_daemon(d);
	priv_remove(&u);
	free(dir);
	return 0;
}
