/*
 * rights.c - the control socket's two rights (see rights.h).
 *
 * Why each command has the right it has:
 *  - The record commands and import write records signed by this node,
 *    with the asker (SO_PEERCRED) as their author: what the group is for.
 *  - history, audit, log and the list and show commands (export is the
 *    list commands) read what any member may read; they change nothing.
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
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "rights.h"
#include "samlog_proto.h"

static const struct {
	const char *cmd;
	enum right right;
} table[] = {
	{ "org.add", RIGHT_RECORD },
	{ "org.list", RIGHT_RECORD },
	{ "org.show", RIGHT_RECORD },
	{ "contact.add", RIGHT_RECORD },
	{ "contact.update", RIGHT_RECORD },
	{ "contact.list", RIGHT_RECORD },
	{ "contact.show", RIGHT_RECORD },
	{ "meeting.add", RIGHT_RECORD },
	{ "meeting.list", RIGHT_RECORD },
	{ "meeting.show", RIGHT_RECORD },
	{ "decision.add", RIGHT_RECORD },
	{ "decision.adopt", RIGHT_RECORD },
	{ "decision.reject", RIGHT_RECORD },
	{ "decision.revoke", RIGHT_RECORD },
	{ "decision.amend", RIGHT_RECORD },
	{ "decision.list", RIGHT_RECORD },
	{ "decision.show", RIGHT_RECORD },
	{ "import.rows", RIGHT_RECORD },
	{ "import.commit", RIGHT_RECORD },
	{ "import.abort", RIGHT_RECORD },
	{ "history", RIGHT_RECORD },
	{ "audit", RIGHT_RECORD },
	{ "log", RIGHT_RECORD },
	{ "status", RIGHT_RECORD },
	{ "peer.list", RIGHT_RECORD },
	{ "verify", RIGHT_RECORD },
	{ "peer.add", RIGHT_ADMIN },
	{ "peer.remove", RIGHT_ADMIN },
	{ "rebuild", RIGHT_ADMIN },
};

enum right
rights_needed(const char *cmd)
{
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
