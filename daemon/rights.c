/*
 * rights.c - the control socket's two rights (see rights.h).
 *
 * Why each command has the right it has:
 *  - The record commands and import write records signed by this node,
 *    with the asker (SO_PEERCRED) as their author: what the group is for.
 *  - history, audit, events, log and the list and show commands (export
 *    is the list commands, export --events is events) read what any
 *    member may read; they change nothing.
 *  - status, peer list and verify read the node's state: its id (which
 *    the other organisations need), its peers and their sync state, and
 *    the check of every chain and signature.  They change nothing.
 *  - peer add and peer remove decide whose events this node accepts and
 *    rewrite samlog.conf: a member who could add a node key they hold
 *    could make events that name anyone as author.  rebuild rewrites the
 *    whole projection and holds the daemon while it does.  Both are the
 *    owner's.  Configuration changes are made in samlog.conf, which only
 *    the owner can write, and loaded on SIGHUP, which only the owner and
 *    root can send; no request changes it otherwise.
 */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "rights.h"
#include "samlog_proto.h"

/* The commands that are no record command, with their right.  Every
 * record command (KIND.VERB for a verb of the schema, and KIND.list,
 * KIND.show) has the record right: it comes from the schema, so a kind
 * or step added there needs nothing here. */
static const struct {
	const char *cmd;
	enum right right;
} table[] = {
	{ "import.rows", RIGHT_RECORD },
	{ "import.commit", RIGHT_RECORD },
	{ "import.abort", RIGHT_RECORD },
	{ "history", RIGHT_RECORD },
	{ "find", RIGHT_RECORD },
	{ "conflicts", RIGHT_RECORD },
	{ "timeline", RIGHT_RECORD },
	{ "audit", RIGHT_RECORD },
	{ "events", RIGHT_RECORD },
	{ "log", RIGHT_RECORD },
	{ "status", RIGHT_RECORD },
	{ "peer.list", RIGHT_RECORD },
	{ "member.list", RIGHT_RECORD },
	{ "verify", RIGHT_RECORD },
	{ "peer.add", RIGHT_ADMIN },
	{ "peer.remove", RIGHT_ADMIN },
	{ "member.retire", RIGHT_ADMIN },
	{ "member.approve", RIGHT_ADMIN },
	{ "member.policy", RIGHT_ADMIN },
	{ "member.keeper", RIGHT_ADMIN },
	{ "device.list", RIGHT_RECORD },
	{ "device.request", RIGHT_ADMIN },
	{ "device.add", RIGHT_ADMIN },
	{ "device.revoke", RIGHT_ADMIN },
	{ "device.rotate", RIGHT_ADMIN },
	{ "invite", RIGHT_ADMIN },
	{ "join", RIGHT_ADMIN },
	{ "rebuild", RIGHT_ADMIN },
	{ "erase", RIGHT_RECORD },
	{ "person", RIGHT_RECORD },
	{ "backup", RIGHT_ADMIN },
};

/* True for KIND.VERB of a record kind of the schema. */
static bool
record_cmd(const char *cmd)
{
	const char *dot = strchr(cmd, '.');
	const struct sl_kind *k;
	char word[16];

	if (dot == NULL || (size_t)(dot - cmd) >= sizeof word)
		return false;
	memcpy(word, cmd, (size_t)(dot - cmd));
	word[dot - cmd] = '\0';
	if ((k = sl_schema_kind(word)) == NULL || !k->record)
		return false;
	return strcmp(dot + 1, "list") == 0 || strcmp(dot + 1, "show") == 0 ||
	    sl_schema_verb(k, dot + 1) != NULL;
}

enum right
rights_needed(const char *cmd)
{
	if (record_cmd(cmd))
		return RIGHT_RECORD;
	for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
		if (strcmp(table[i].cmd, cmd) == 0)
			return table[i].right;
	return RIGHT_ADMIN;
}

int
rights_check(const struct ctl_conn *c, const char *cmd, char *msg,
    size_t mlen)
{
	uid_t uid = ctl_conn_uid(c), owner = geteuid();
	char name[40];
	size_t i;

	if (rights_needed(cmd) == RIGHT_RECORD || uid == owner || uid == 0)
		return SL_OK;
	/* The command as the CLI spells it ("peer add"); a client that is
	 * not the CLI may have sent any bytes. */
	for (i = 0; i < sizeof name - 1 && cmd[i] != '\0'; i++) {
		char ch = cmd[i];

		if (ch == '.')
			ch = ' ';
		else if (!(ch >= 'a' && ch <= 'z') &&
		    !(ch >= '0' && ch <= '9') && ch != '_' && ch != '-')
			ch = '?';
		name[i] = ch;
	}
	name[i] = '\0';
	snprintf(msg, mlen, "%s needs the node owner (uid %u) or root", name,
	    (unsigned)owner);
	log_warn("control: refused %s to %s (uid %u): it needs the node "
	    "owner", name, ctl_conn_user(c), (unsigned)uid);
	return SL_EPERM;
}
