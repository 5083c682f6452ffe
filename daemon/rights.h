/*
 * rights.h - who may do what on the control socket.
 *
 * The socket lets in its owner and, when samlog.conf names a group, the
 * members of that group (mode 0660).  Everyone it lets in has the record
 * right: the record commands, import, and the reads.  The admin right,
 * whatever changes whom the node trusts or the node itself (peer add,
 * peer remove, rebuild), belongs to the node's owner, the user samlogd
 * runs as (who owns the node directory), and to root.  Each command is
 * classified once, in rights.c's table; a command the table does not
 * name needs the admin right.
 */
#ifndef SAMLOG_RIGHTS_H
#define SAMLOG_RIGHTS_H

#include <stddef.h>

#include "control.h"

enum right {
	RIGHT_RECORD,  /* anyone the socket lets in */
	RIGHT_ADMIN    /* the node owner (samlogd's euid) and root */
};

/* The right the request cmd needs ("peer.add", "contact.add"...). */
enum right rights_needed(const char *cmd);

/*
 * SL_OK if the client on c may run cmd; else SL_EPERM, with msg set to
 * one line for the user ("peer add needs the node owner (uid 998) or
 * root") and the refusal logged.  A client whose credentials could not
 * be read has no admin right.
 */
int rights_check(const struct ctl_conn *c, const char *cmd, char *msg,
    size_t mlen);

#endif
