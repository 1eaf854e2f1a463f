/*
 * bundle/reader.c — reading a bundle as a stream: tar members (libarchive, tar format
 * only) pulled from a pv_source, the SHA-256 of each member's stored bytes as they are
 * read, streaming decompression of data members (util/zstream), and the file-descriptor
 * pv_source.
 *
 * The archive's framing is held to the layout pgvault's writer produces, so that no byte of
 * a bundle can change unnoticed: libarchive parses the headers and checks their checksums;
 * this file checks what libarchive does not look at — each member is one 512-byte ustar
 * header (no extended or other extra headers) with its checksum field in the writer's form,
 * mode 0600, owner 0:0 and the same mtime as the first member; the padding after each member
 * and the two end-of-archive blocks are zero; nothing but zeros (at most a tar record)
 * follows them.  Source blocks are read
 * whole (a multiple of 512 bytes), so a header always lies within the last block read.
 */
#include "bundle/bundle.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/err.h"
#include "util/hash.h"
#include "util/zstream.h"

#define SRC_BUF (64 * 1024)
#define TAR_BLOCK 512
#define TAR_RECORD 10240

struct pv_bundle_reader {
	pv_source *src;
	char *label;
	struct archive *a;
	char *srcbuf;      /* bytes handed to libarchive */
	char *inbuf;       /* stored member bytes being drained or decompressed */
	size_t inlen;
	pv_zdec *zdec;     /* created at the first data member */
	int opened;        /* archive_read_open done */
	int src_failed;    /* the source reported an error (message in pv_errmsg) */
	int src_eof;       /* the source returned 0 */
	int failed;        /* no further reading possible */
	int at_end;        /* end of archive seen and checked */
	uint64_t src_bytes;  /* bytes read from the source */
	uint64_t zero_tail;  /* how many of them at the end are zero */
	uint64_t blk_off;    /* stream offset of srcbuf's first byte ... */
	size_t blk_len;      /* ... and how many bytes it holds */
	uint64_t next_hpos;  /* where the next header must start (after the last one's padding) */
	uint64_t zero_from, zero_to; /* padding not yet read, which must be zero */
	int zero_bad;        /* a padding byte was not zero */
	time_t mtime;        /* the first member's */
	int64_t nmembers;  /* headers read */
	char *name;        /* current member (owned) */
	char *last;        /* the member before it, for messages */
	int64_t size;
	int64_t data_off;  /* stream offset of its first stored byte */
	pv_sha256 sha;     /* over the stored bytes read so far (ctx NULL when done) */
	int sha_done;
	char sha_hex[65];
};

/* ---- sources ----------------------------------------------------------------------- */

static ssize_t
fd_read(pv_source *s, void *buf, size_t len)
{
	int fd = *(int *)s->ctx;

	for (;;) {
		ssize_t n = read(fd, buf, len);
		if (n >= 0)
			return n;
		if (errno != EINTR)
			return pv_fail("read: %s", strerror(errno));
	}
}

static int
fd_rewind(pv_source *s)
{
	if (lseek(*(int *)s->ctx, 0, SEEK_SET) < 0)
		return pv_fail("seek: %s", strerror(errno));
	return 0;
}

static ssize_t
fd_pread(pv_source *s, void *buf, size_t len, int64_t off)
{
	int fd = *(int *)s->ctx;

	for (;;) {
		ssize_t n = pread(fd, buf, len, (off_t)off);
		if (n >= 0)
			return n;
		if (errno != EINTR)
			return pv_fail("read at offset %lld: %s", (long long)off, strerror(errno));
	}
}

void
pv_source_fd(pv_source *s, int *fd)
{
	int seekable = lseek(*fd, 0, SEEK_CUR) >= 0;
	s->read = fd_read;
	s->rewind = seekable ? fd_rewind : NULL;
	s->pread = seekable ? fd_pread : NULL;
	s->ctx = fd;
}

/* The part of [from, to) inside the block that starts at offset off (len bytes) is zero;
 * the range shrinks by what was checked. */
static int
zero_in(const char *blk, uint64_t off, size_t len, uint64_t *from, uint64_t to)
{
	uint64_t a = *from > off ? *from : off, b = to < off + len ? to : off + len;
	for (uint64_t i = a; i < b; i++)
		if (blk[i - off] != 0)
			return -1;
	if (b > a && a == *from)
		*from = b;
	return 0;
}

/* Read a whole block (len bytes, or what is left before the end of the source) into buf,
 * keeping count of the bytes and of the zero bytes at the end, and checking the padding
 * it holds. */
static ssize_t
src_read(pv_bundle_reader *r, char *buf, size_t len)
{
	size_t got = 0, z = 0;

	while (got < len && !r->src_eof) {
		ssize_t n = r->src->read(r->src, buf + got, len - got);
		if (n < 0) {
			r->src_failed = 1;
			return -1;
		}
		if (n == 0)
			r->src_eof = 1;
		got += (size_t)n;
	}
	if (got == 0)
		return 0;
	while (z < got && buf[got - 1 - z] == 0)
		z++;
	r->zero_tail = z == got ? r->zero_tail + z : z;
	r->blk_off = r->src_bytes;
	r->blk_len = got;
	r->src_bytes += got;
	if (r->zero_from < r->zero_to &&
	    zero_in(buf, r->blk_off, got, &r->zero_from, r->zero_to) < 0)
		r->zero_bad = 1;
	return (ssize_t)got;
}

static la_ssize_t
archive_read_cb(struct archive *a, void *arg, const void **buf)
{
	pv_bundle_reader *r = arg;
	ssize_t n = src_read(r, r->srcbuf, SRC_BUF);

	if (n < 0) {
		archive_set_error(a, EIO, "cannot read the bundle");
		return -1;
	}
	*buf = r->srcbuf;
	return n;
}

/* ---- the reader -------------------------------------------------------------------- */

pv_bundle_reader *
pv_br_new(pv_source *src, const char *label)
{
	pv_bundle_reader *r = pv_calloc(1, sizeof *r);

	r->src = src;
	r->label = pv_strdup(label ? label : "(bundle)");
	r->srcbuf = pv_malloc(SRC_BUF);
	r->inlen = SRC_BUF;
	r->inbuf = pv_malloc(r->inlen);
	return r;
}

/* Forget the current member (libarchive skips its unread bytes at the next header). */
static void
end_member(pv_bundle_reader *r)
{
	pv_sha256_discard(&r->sha);
	r->sha_done = 0;
	if (r->name) {
		free(r->last);
		r->last = r->name;
		r->name = NULL;
	}
	r->size = 0;
}

/* Fail for the current member; wraps the source's message if the source failed. */
static int
member_fail(pv_bundle_reader *r, const char *what)
{
	const char *msg = archive_error_string(r->a);

	r->failed = 1;
	if (r->src_failed)
		return pv_wrap("bundle %s: member %s", r->label, r->name);
	return pv_fail("bundle %s: member %s: %s%s%s", r->label, r->name, what,
	               what[0] ? ": " : "", msg ? msg : "libarchive error");
}

/* At the end of the archive: everything up to the end of the stream must be there. */
static int
check_end(pv_bundle_reader *r)
{
	ssize_t n;

	while ((n = src_read(r, r->srcbuf, SRC_BUF)) > 0)
		;
	if (n < 0) {
		r->failed = 1;
		return pv_wrap("bundle %s: after the last member", r->label);
	}
	/* The archive ends in two zero blocks right after the last member's padding (pgvault
	 * writes nothing after them; other tar writers pad to a 10240-byte record): a stream cut
	 * inside them is shorter, one with garbage after them not zero or longer. */
	if (r->zero_bad) {
		r->failed = 1;
		return pv_fail("bundle %s: after member %s: the padding is not zero", r->label,
		               r->last);
	}
	uint64_t tail = r->src_bytes - r->next_hpos;
	if (r->src_bytes < r->next_hpos + 2 * TAR_BLOCK || r->src_bytes % TAR_BLOCK != 0 ||
	    tail > 2 * TAR_BLOCK + TAR_RECORD || r->zero_tail < tail) {
		r->failed = 1;
		return pv_fail("bundle %s: after member %s: no end-of-archive marker "
		               "(truncated, or garbage at the end)", r->label, r->last);
	}
	return 0;
}

static int
empty(const char *s)
{
	return !s || !*s;
}

/* The header of the member just read (r->name, r->size) as the writer lays it out; the
 * padding after it registered to be checked as it is read. */
static int
check_framing(pv_bundle_reader *r, struct archive_entry *e)
{
	/* where its headers start, and where its data starts (what libarchive consumed) */
	la_int64_t hpos = archive_read_header_position(r->a), dpos = archive_filter_bytes(r->a, 0);
	uint64_t padded = ((uint64_t)r->size + TAR_BLOCK - 1) / TAR_BLOCK * TAR_BLOCK;

	if (r->zero_bad || r->zero_from < r->zero_to)
		return pv_fail("bundle %s: after member %s: the padding is not zero", r->label,
		               r->last ? r->last : "(none)");
	/* one 512-byte header right after the previous member: no extended headers */
	if (hpos < 0 || (uint64_t)hpos != r->next_hpos || dpos != hpos + TAR_BLOCK)
		return pv_fail("bundle %s: member %s: extra tar headers before it (at offset %llu; "
		               "pgvault writes one header per member)", r->label, r->name,
		               (unsigned long long)r->next_hpos);
	if ((uint64_t)hpos < r->blk_off || (uint64_t)hpos + TAR_BLOCK > r->blk_off + r->blk_len)
		return pv_fail("bundle %s: member %s: header at offset %lld not in the block read",
		               r->label, r->name, (long long)hpos);
	/* libarchive checked the header's checksum against the other 504 bytes; the checksum
	 * field itself is six octal digits, NUL, space */
	const unsigned char *h = (const unsigned char *)r->srcbuf + ((uint64_t)hpos - r->blk_off);
	unsigned sum = 0;
	for (int i = 0; i < TAR_BLOCK; i++)
		sum += i >= 148 && i < 156 ? ' ' : h[i];
	char want[9];
	snprintf(want, sizeof want, "%06o", sum & 0777777);
	if (memcmp(h + 148, want, 6) != 0 || h[154] != 0 || h[155] != ' ')
		return pv_fail("bundle %s: member %s: the tar header's checksum field is not the one "
		               "pgvault writes", r->label, r->name);
	if (archive_entry_perm(e) != 0600 || archive_entry_uid(e) != 0 ||
	    archive_entry_gid(e) != 0 || !empty(archive_entry_uname(e)) || !empty(archive_entry_gname(e)) ||
	    archive_entry_mtime_nsec(e) != 0 || (r->nmembers > 1 && archive_entry_mtime(e) != r->mtime))
		return pv_fail("bundle %s: member %s: the tar header's mode, owner or time is not "
		               "what pgvault writes (0600, 0:0, the bundle's time)", r->label, r->name);
	r->mtime = archive_entry_mtime(e);
	r->data_off = (int64_t)dpos;
	/* the padding: the part already read now, the rest as it arrives */
	r->zero_from = (uint64_t)hpos + TAR_BLOCK + (uint64_t)r->size;
	r->zero_to = (uint64_t)hpos + TAR_BLOCK + padded;
	if (zero_in(r->srcbuf, r->blk_off, r->blk_len, &r->zero_from, r->zero_to) < 0)
		r->zero_bad = 1;
	r->next_hpos = r->zero_to;
	return 0;
}

int
pv_br_next(pv_bundle_reader *r, const char **name, int64_t *size)
{
	struct archive_entry *e;
	const char *path;
	int rc;

	end_member(r);
	if (r->at_end)
		return 0;
	if (r->failed)
		return pv_fail("bundle %s: cannot continue reading after an error", r->label);
	if (!r->opened) {
		r->opened = 1;
		r->a = archive_read_new();
		if (!r->a) {
			r->failed = 1;
			return pv_fail("bundle %s: cannot create an archive reader", r->label);
		}
		archive_read_support_format_tar(r->a);
		if (archive_read_open(r->a, r, NULL, archive_read_cb, NULL) != ARCHIVE_OK) {
			r->failed = 1;
			if (r->src_failed)
				return pv_wrap("bundle %s", r->label);
			return pv_fail("%s is not a pgvault bundle (%s)", r->label,
			               archive_error_string(r->a));
		}
	}

	rc = archive_read_next_header(r->a, &e);
	if (rc == ARCHIVE_EOF) {
		if (r->nmembers == 0) {
			r->failed = 1;
			return pv_fail("%s is not a pgvault bundle (empty archive)", r->label);
		}
		if (check_end(r) < 0)
			return -1;
		r->at_end = 1;
		return 0;
	}
	if (rc != ARCHIVE_OK) {
		const char *msg = archive_error_string(r->a);
		r->failed = 1;
		if (r->src_failed)
			return pv_wrap("bundle %s", r->label);
		if (r->nmembers == 0)
			return pv_fail("%s is not a pgvault bundle (%s)", r->label,
			               msg ? msg : "unreadable header");
		return pv_fail("bundle %s: after member %s: %s", r->label, r->last,
		               msg ? msg : "unreadable header");
	}
	r->nmembers++;

	path = archive_entry_pathname_utf8(e);
	if (!path)
		path = archive_entry_pathname(e);
	if (!path || !path[0]) {
		r->failed = 1;
		return pv_fail("bundle %s: member %lld has no name", r->label,
		               (long long)r->nmembers);
	}
	r->name = pv_strdup(path);
	if (archive_entry_filetype(e) != AE_IFREG) {
		r->failed = 1;
		return pv_fail("bundle %s: member %s is not a regular file", r->label, r->name);
	}
	if (!archive_entry_size_is_set(e) || archive_entry_size(e) < 0) {
		r->failed = 1;
		return pv_fail("bundle %s: member %s has no size", r->label, r->name);
	}
	r->size = archive_entry_size(e);
	if (check_framing(r, e) < 0) {
		r->failed = 1;
		if (r->nmembers == 1) { /* another tar file */
			char *why = pv_strdup(pv_errmsg());
			pv_fail("%s is not a pgvault bundle (%s)", r->label, why);
			free(why);
		}
		return -1;
	}
	pv_sha256_init(&r->sha);

	if (name)
		*name = r->name;
	if (size)
		*size = r->size;
	return 1;
}

static int
check_member(pv_bundle_reader *r)
{
	if (!r->name)
		return pv_fail("bundle %s: no current member", r->label);
	if (r->failed)
		return pv_fail("bundle %s: member %s: cannot continue reading after an error",
		               r->label, r->name);
	return 0;
}

ssize_t
pv_br_read(pv_bundle_reader *r, void *buf, size_t len)
{
	la_ssize_t n;

	if (check_member(r) < 0)
		return -1;
	if (r->sha_done || len == 0)
		return 0;
	n = archive_read_data(r->a, buf, len);
	if (n < 0)
		return member_fail(r, "");
	pv_sha256_update(&r->sha, buf, (size_t)n);
	return n;
}

int
pv_br_read_all(pv_bundle_reader *r, pv_buf *out, size_t max)
{
	size_t got = 0;
	ssize_t n;

	if (check_member(r) < 0)
		return -1;
	if (r->size >= 0 && (uint64_t)r->size > max)
		return pv_fail("bundle %s: member %s is too large (%lld bytes, at most %zu)",
		               r->label, r->name, (long long)r->size, max);
	if (r->size > 0)
		pv_buf_reserve(out, (size_t)r->size + 1); /* once, not doubling as it comes */
	while ((n = pv_br_read(r, r->inbuf, r->inlen)) > 0) {
		got += (size_t)n;
		if (got > max)
			return pv_fail("bundle %s: member %s is too large (more than %zu bytes)",
			               r->label, r->name, max);
		pv_buf_add(out, r->inbuf, (size_t)n);
	}
	return n < 0 ? -1 : 0;
}

json_t *
pv_br_read_json_raw(pv_bundle_reader *r, size_t max, pv_buf *b)
{
	json_error_t jerr;
	json_t *doc;

	if (pv_br_read_all(r, b, max) < 0)
		return NULL;
	doc = json_loadb(b->data ? b->data : "", b->len, JSON_REJECT_DUPLICATES, &jerr);
	if (!doc)
		pv_fail("bundle %s: member %s: invalid JSON at line %d: %s", r->label, r->name,
		        jerr.line, jerr.text);
	return doc;
}

json_t *
pv_br_read_json(pv_bundle_reader *r, size_t max)
{
	pv_buf b = PV_BUF_INIT;
	json_t *doc = pv_br_read_json_raw(r, max, &b);
	pv_buf_free(&b);
	return doc;
}

int
pv_br_decompress(pv_bundle_reader *r, int (*cb)(void *arg, const char *data, size_t len),
                 void *arg, int64_t *raw_size)
{
	ssize_t n;

	if (check_member(r) < 0)
		return -1;
	if (!r->zdec) {
		r->zdec = pv_zdec_new();
		if (!r->zdec)
			return pv_wrap("bundle %s: member %s", r->label, r->name);
	}
	pv_zdec_reset(r->zdec);

	while ((n = pv_br_read(r, r->inbuf, r->inlen)) > 0)
		if (pv_zdec_feed(r->zdec, r->inbuf, (size_t)n, cb, arg) < 0)
			return pv_wrap("bundle %s: member %s", r->label, r->name);
	if (n < 0)
		return -1;
	if (pv_zdec_finish(r->zdec) < 0)
		return pv_wrap("bundle %s: member %s", r->label, r->name);
	if (raw_size)
		*raw_size = (int64_t)pv_zdec_out_bytes(r->zdec);
	return 0;
}

int64_t
pv_br_data_offset(pv_bundle_reader *r)
{
	return r->name ? r->data_off : -1;
}

int
pv_br_member_sha(pv_bundle_reader *r, char out[65])
{
	ssize_t n;

	if (check_member(r) < 0)
		return -1;
	if (!r->sha_done) {
		while ((n = pv_br_read(r, r->inbuf, r->inlen)) > 0)
			;
		if (n < 0)
			return -1;
		pv_sha256_final_hex(&r->sha, r->sha_hex);
		r->sha_done = 1;
	}
	memcpy(out, r->sha_hex, 65);
	return 0;
}

void
pv_br_free(pv_bundle_reader *r)
{
	if (!r)
		return;
	end_member(r);
	free(r->last);
	if (r->a)
		archive_read_free(r->a);
	pv_zdec_free(r->zdec);
	free(r->inbuf);
	free(r->srcbuf);
	free(r->label);
	free(r);
}
