/*
 * evfile.c - the raw event export's frame (PROTOCOL.md section 14): the
 * log's records exactly as stored, between a head that says which part
 * of each origin's chain the file holds and a trailer that counts them
 * and hashes everything before it.
 *
 * Only the frame is here.  The records are opaque bins: sl_event_decode
 * reads them, and what they prove (chains, signatures, the fold) is the
 * checker's (cli/events.c), so that a damaged record is reported as that
 * record's problem while the rest of the file is still checked.  The
 * trailer finds truncation and damage, not forgery: whoever changes the
 * file can compute it again, and nothing but the origins' signatures
 * proves anything.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "samlog_proto.h"

void
sl_evfile_begin(struct sl_buf *out, uint64_t time_ms, uint64_t since_hlc,
    uint64_t since_seq, const struct sl_evfile_origin *o, uint32_t n)
{
	msgpack_packer pk;

	sl_buf_write(out, SL_EVFILE_MAGIC, SL_EVFILE_MAGIC_LEN);
	msgpack_packer_init(&pk, out, sl_buf_write);
	msgpack_pack_array(&pk, 5);
	msgpack_pack_uint64(&pk, SL_EVFILE_VERSION);
	msgpack_pack_uint64(&pk, time_ms);
	msgpack_pack_uint64(&pk, since_hlc);
	msgpack_pack_uint64(&pk, since_seq);
	msgpack_pack_array(&pk, n);
	for (uint32_t i = 0; i < n; i++) {
		msgpack_pack_array(&pk, 4);
		sl_pack_bin(&pk, o[i].origin, SL_KEY_LEN);
		msgpack_pack_uint64(&pk, o[i].first);
		msgpack_pack_uint64(&pk, o[i].tip);
		sl_pack_bin(&pk, o[i].tip_hash, SL_HASH_LEN);
	}
}

void
sl_evfile_record(struct sl_buf *out, const uint8_t *rec, size_t len)
{
	msgpack_packer pk;

	msgpack_packer_init(&pk, out, sl_buf_write);
	sl_pack_bin(&pk, rec, len);
}

void
sl_evfile_end(struct sl_buf *out, uint64_t count)
{
	msgpack_packer pk;
	uint8_t h[SL_HASH_LEN];

	if (out->failed)
		return;
	sl_sha256(h, out->p, out->len);
	msgpack_packer_init(&pk, out, sl_buf_write);
	msgpack_pack_array(&pk, 2);
	msgpack_pack_uint64(&pk, count);
	sl_pack_bin(&pk, h, SL_HASH_LEN);
}

static int
fail(char *err, size_t errlen, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int
fail(char *err, size_t errlen, int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return code;
}

/* The head's "does not decode", or "cut short" when it was the end of
 * the bytes that stopped it. */
static int
head_bad(char *err, size_t errlen, int rc, const char *what, uint32_t i)
{
	if (rc == SL_ETRUNC)
		return fail(err, errlen, rc, "cut short: the file ends inside "
		    "its head");
	if (i > 0)
		return fail(err, errlen, rc, "damaged: the head's %s %u does "
		    "not decode", what, i);
	return fail(err, errlen, rc, "damaged: the %s does not decode", what);
}

static int
parse_head(struct sl_evfile *f, struct sl_mp *m, char *err, size_t errlen)
{
	uint32_t n, l;
	int rc;

	if ((rc = sl_mp_read_array(m, &n, 16)) != SL_OK ||
	    (rc = n < 1 ? SL_EFIELDS : SL_OK) != SL_OK ||
	    (rc = sl_mp_read_uint(m, &f->version)) != SL_OK)
		return head_bad(err, errlen, rc, "head", 0);
	if (f->version != SL_EVFILE_VERSION || n != 5)
		return fail(err, errlen, SL_EVERSION, "event export version "
		    "%llu; this samlog reads version %d",
		    (unsigned long long)f->version, SL_EVFILE_VERSION);
	/* An origin takes at least 70 bytes: a count beyond what the bytes
	 * left can hold is a file cut short (and no allocation is made
	 * for it). */
	if ((rc = sl_mp_read_uint(m, &f->time_ms)) != SL_OK ||
	    (rc = sl_mp_read_uint(m, &f->since_hlc)) != SL_OK ||
	    (rc = sl_mp_read_uint(m, &f->since_seq)) != SL_OK ||
	    (rc = sl_mp_read_array(m, &f->norigins, UINT32_MAX)) != SL_OK ||
	    (rc = f->norigins > (size_t)(m->end - m->p) / 70 ? SL_ETRUNC :
	    SL_OK) != SL_OK)
		return head_bad(err, errlen, rc, "head", 0);
	f->origins = calloc(f->norigins ? f->norigins : 1, sizeof *f->origins);
	if (f->origins == NULL)
		return fail(err, errlen, SL_ENOMEM, "out of memory");
	for (uint32_t i = 0; i < f->norigins; i++) {
		struct sl_evfile_origin *o = &f->origins[i];

		if ((rc = sl_mp_read_array(m, &n, 4)) != SL_OK ||
		    (rc = n != 4 ? SL_EFIELDS : SL_OK) != SL_OK ||
		    (rc = sl_mp_read_bin(m, &o->origin, &l, SL_KEY_LEN,
		    SL_KEY_LEN)) != SL_OK ||
		    (rc = sl_mp_read_uint(m, &o->first)) != SL_OK ||
		    (rc = sl_mp_read_uint(m, &o->tip)) != SL_OK ||
		    (rc = sl_mp_read_bin(m, &o->tip_hash, &l, SL_HASH_LEN,
		    SL_HASH_LEN)) != SL_OK)
			return head_bad(err, errlen, rc, "origin", i + 1);
		if (o->first < 1 || o->first > o->tip)
			return fail(err, errlen, SL_EVALUE, "damaged: the head's "
			    "origin %u runs from seq %llu to %llu", i + 1,
			    (unsigned long long)o->first,
			    (unsigned long long)o->tip);
		if (i > 0 && memcmp(f->origins[i - 1].origin, o->origin,
		    SL_KEY_LEN) >= 0)
			return fail(err, errlen, SL_EVALUE, "damaged: the head's "
			    "origins are not in ascending order");
	}
	return SL_OK;
}

int
sl_evfile_parse(struct sl_evfile *f, const uint8_t *buf, size_t len,
    char *err, size_t errlen)
{
	struct sl_mp m;
	size_t cap = 0;
	int rc;

	memset(f, 0, sizeof *f);
	if (len < SL_EVFILE_MAGIC_LEN ||
	    memcmp(buf, SL_EVFILE_MAGIC, SL_EVFILE_MAGIC_LEN) != 0)
		return fail(err, errlen, SL_ETYPE, "not a samlog event export "
		    "(it does not begin \"samlog-events-1\")");
	sl_mp_init(&m, buf + SL_EVFILE_MAGIC_LEN, len - SL_EVFILE_MAGIC_LEN);
	if (m.p == m.end)
		return fail(err, errlen, SL_ETRUNC, "cut short: the file ends "
		    "before its head");
	if ((rc = parse_head(f, &m, err, errlen)) != SL_OK)
		return rc;
	for (;;) {
		const uint8_t *p, *at = m.p;
		uint32_t l, n;

		if (m.p == m.end)
			return fail(err, errlen, SL_ETRUNC, "cut short: the file "
			    "ends after record %u, without its trailer",
			    f->nrecs);
		rc = sl_mp_read_bin(&m, &p, &l, 1, SL_EVENT_MAX);
		if (rc == SL_ETRUNC)
			return fail(err, errlen, rc, "cut short: the file ends "
			    "inside record %u", f->nrecs + 1);
		if (rc == SL_OK) {
			if (f->nrecs == cap) {
				size_t nc = cap ? cap * 2 : 256;
				struct sl_evfile_rec *nr = realloc(f->recs,
				    nc * sizeof *nr);

				if (nr == NULL)
					return fail(err, errlen, SL_ENOMEM,
					    "out of memory");
				f->recs = nr;
				cap = nc;
			}
			f->recs[f->nrecs].p = p;
			f->recs[f->nrecs].len = l;
			f->recs[f->nrecs++].at = (size_t)(at - buf);
			continue;
		}
		if (rc != SL_ETYPE)
			return fail(err, errlen, rc, "damaged: record %u does "
			    "not decode: %s", f->nrecs + 1, sl_strerror(rc));
		if ((rc = sl_mp_read_array(&m, &n, 2)) == SL_ETRUNC)
			return fail(err, errlen, rc, "cut short: the file ends "
			    "inside its trailer");
		if (rc != SL_OK || n != 2)
			return fail(err, errlen, SL_ETYPE, "damaged: byte %zu "
			    "begins neither a record nor the trailer",
			    (size_t)(at - buf));
		if ((rc = sl_mp_read_uint(&m, &f->count)) != SL_OK ||
		    (rc = sl_mp_read_bin(&m, &p, &l, SL_HASH_LEN,
		    SL_HASH_LEN)) != SL_OK)
			return fail(err, errlen, rc, rc == SL_ETRUNC ? "cut "
			    "short: the file ends inside its trailer" :
			    "damaged: the trailer does not decode");
		if (!sl_mp_at_end(&m))
			return fail(err, errlen, SL_ETRAIL, "damaged: %zu bytes "
			    "after the trailer", (size_t)(m.end - m.p));
		uint8_t h[SL_HASH_LEN];

		sl_sha256(h, buf, (size_t)(at - buf));
		f->hash_ok = memcmp(h, p, SL_HASH_LEN) == 0;
		return SL_OK;
	}
}

void
sl_evfile_free(struct sl_evfile *f)
{
	free(f->origins);
	free(f->recs);
	f->origins = NULL;
	f->recs = NULL;
}
