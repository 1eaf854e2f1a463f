/*
 * store/crypt.c — encrypted repositories (see crypt.h): the keyring, the encrypting stream
 * a new bundle is written through, the decryption of a bundle being read into a temporary
 * file, and the check of the stored bytes without the key.
 */
#include "store/crypt.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store/repo_int.h"
#include "util/err.h"
#include "util/fsutil.h"
#include "util/hash.h"
#include "util/json.h"

#define MAGIC "PGVENC1\n"
#define MAGIC_LEN 8
#define ID_LEN 8
#define HDR_LEN crypto_secretstream_xchacha20poly1305_HEADERBYTES
#define ABYTES crypto_secretstream_xchacha20poly1305_ABYTES
#define CHUNK ((size_t)1 << 20)
#define FORMAT "pgvault-secretstream-1"

/* ---- keys ----------------------------------------------------------------------------- */

typedef struct key {
	unsigned char k[PV_CRYPT_KEY_BYTES];
	unsigned char id[ID_LEN];
	char hex[2 * ID_LEN + 1];
} key;

struct pv_keyring {
	key *v; /* v[0] encrypts; all read */
	int n;
};

static void
key_id(key *k)
{
	static const unsigned char label[] = "pgvault key id";
	crypto_generichash(k->id, ID_LEN, label, sizeof label - 1, k->k, sizeof k->k);
	sodium_bin2hex(k->hex, sizeof k->hex, k->id, ID_LEN);
}

/* 32 raw bytes, or 64 hex digits (blanks around them ignored), from a file only its owner
 * can read */
static int
read_key(const char *path, key *out)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return pv_fail("encryption key %s: %s", path, strerror(errno));
	struct stat st;
	unsigned char buf[256];
	ssize_t n = -1;
	int rc = -1;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
		pv_fail("encryption key %s: not a regular file", path);
	else if (st.st_mode & 077)
		pv_fail("encryption key %s can be read by other users (mode %03o); chmod 600 it", path,
		        (unsigned)(st.st_mode & 0777));
	else if ((n = read(fd, buf, sizeof buf)) < 0)
		pv_fail("encryption key %s: %s", path, strerror(errno));
	close(fd);
	if (n == PV_CRYPT_KEY_BYTES) {
		memcpy(out->k, buf, PV_CRYPT_KEY_BYTES);
		rc = 0;
	} else if (n > 0) {
		size_t bin = 0;
		const char *end = NULL;
		if (sodium_hex2bin(out->k, PV_CRYPT_KEY_BYTES, (const char *)buf, (size_t)n, " \t\r\n", &bin,
		                   &end) == 0 &&
		    bin == PV_CRYPT_KEY_BYTES && (size_t)(end - (const char *)buf) + strspn(end, " \t\r\n") >= (size_t)n)
			rc = 0;
		else
			pv_fail("encryption key %s: expected 32 bytes, or 64 hexadecimal digits (e.g. made with: "
			        "head -c 32 /dev/urandom > FILE)", path);
	} else if (n == 0) {
		pv_fail("encryption key %s is empty", path);
	}
	sodium_memzero(buf, sizeof buf);
	if (rc == 0)
		key_id(out);
	return rc;
}

pv_keyring *
pv_keyring_load(const char *path, const char *const *older)
{
	if (sodium_init() < 0) {
		pv_fail("libsodium cannot be initialised");
		return NULL;
	}
	int n = 1;
	for (const char *const *o = older; o && *o; o++)
		n++;
	pv_keyring *k = pv_calloc(1, sizeof *k);
	k->v = sodium_malloc((size_t)n * sizeof *k->v);
	if (!k->v) {
		free(k);
		pv_fail("out of memory for the keys");
		return NULL;
	}
	for (int i = 0; i < n; i++) {
		if (read_key(i == 0 ? path : older[i - 1], &k->v[i]) < 0) {
			k->n = i;
			pv_keyring_free(k);
			return NULL;
		}
		k->n = i + 1;
	}
	return k;
}

void
pv_keyring_free(pv_keyring *k)
{
	if (!k)
		return;
	sodium_free(k->v);
	free(k);
}

const char *
pv_keyring_id(const pv_keyring *k)
{
	return k->v[0].hex;
}

/* ---- the repository --------------------------------------------------------------------- */

typedef struct crypt_repo {
	pv_repo base;
	pv_repo *inner;
	pv_keyring *keys;
	char *workdir;
} crypt_repo;

static const pv_repo_driver crypt_driver;

#define INNER(r) (((crypt_repo *)(r))->inner)

static int
c_list(pv_repo *r, const char *db, pv_entries *out)
{
	return INNER(r)->drv->list(INNER(r), db, out);
}

static char *
c_lock_path(pv_repo *r, const char *db)
{
	return INNER(r)->drv->lock_path(INNER(r), db);
}

static int
c_cleanup(pv_repo *r, const char *db)
{
	return INNER(r)->drv->cleanup(INNER(r), db);
}

static int
c_remove(pv_repo *r, const pv_entry *e)
{
	return INNER(r)->drv->remove(INNER(r), e);
}

static int
c_stat(pv_repo *r, const char *name, int64_t *size, int *has_sidecar)
{
	return INNER(r)->drv->stat(INNER(r), name, size, has_sidecar);
}

static int
c_put_sidecar(pv_repo *r, const char *name, json_t *sidecar)
{
	return INNER(r)->drv->put_sidecar(INNER(r), name, sidecar);
}

static void
c_free(pv_repo *r)
{
	crypt_repo *c = (crypt_repo *)r;
	pv_repo_free(c->inner);
	pv_keyring_free(c->keys);
	free(c->workdir);
	free(c);
}

/* ---- writing ---------------------------------------------------------------------------- */

typedef struct crypt_out {
	pv_repo_out base;
	pv_repo_out *inner;
	crypto_secretstream_xchacha20poly1305_state st;
	unsigned char *plain, *sealed; /* CHUNK, CHUNK + ABYTES */
	size_t have;                   /* bytes in plain */
	int64_t stored;                /* bytes written to inner */
	pv_sha256 sha;                 /* of them */
	int sha_open;
	char key_hex[2 * ID_LEN + 1];
} crypt_out;

static int
emit(crypt_out *o, const void *data, size_t len)
{
	if (o->inner->sink.write(&o->inner->sink, data, len) < 0)
		return -1;
	pv_sha256_update(&o->sha, data, len);
	o->stored += (int64_t)len;
	return 0;
}

static int
seal(crypt_out *o, unsigned char tag)
{
	unsigned long long n = 0;
	crypto_secretstream_xchacha20poly1305_push(&o->st, o->sealed, &n, o->plain, o->have, NULL, 0, tag);
	o->have = 0;
	return emit(o, o->sealed, (size_t)n);
}

static int
co_write(pv_repo_out *base, const void *data, size_t len)
{
	crypt_out *o = (crypt_out *)base;
	const unsigned char *p = data;
	while (len > 0) {
		size_t n = CHUNK - o->have < len ? CHUNK - o->have : len;
		memcpy(o->plain + o->have, p, n);
		o->have += n;
		p += n;
		len -= n;
		if (o->have == CHUNK && seal(o, 0) < 0)
			return -1;
	}
	return 0;
}

static int
co_finish(pv_repo_out *base, int *fd_read)
{
	crypt_out *o = (crypt_out *)base;
	*fd_read = -1; /* what the inner one stores is not the bundle: nothing to read back */
	int inner_fd = -1;
	if (seal(o, crypto_secretstream_xchacha20poly1305_TAG_FINAL) < 0 || pv_out_finish(o->inner, &inner_fd) < 0)
		return -1;
	if (inner_fd >= 0)
		close(inner_fd);
	return 0;
}

static int
co_commit(pv_repo_out *base, json_t *sidecar)
{
	crypt_out *o = (crypt_out *)base;
	char hex[65];
	pv_sha256_final_hex(&o->sha, hex);
	o->sha_open = 0;
	json_t *side = json_deep_copy(sidecar), *enc = json_object();
	int bad = !side || pvj_set_str(enc, "format", FORMAT) < 0 || pvj_set_int(enc, "size", o->stored) < 0 ||
	          pvj_set_str(enc, "sha256", hex) < 0 || pvj_set_str(enc, "key_id", o->key_hex) < 0;
	if (!bad)
		bad = pvj_set(side, PV_SIDECAR_ENCRYPTION, json_incref(enc)) < 0;
	json_decref(enc);
	int rc = bad ? pv_fail("the sidecar: out of memory") : pv_out_commit(o->inner, side);
	json_decref(side);
	return rc;
}

static void
co_free(pv_repo_out *base)
{
	crypt_out *o = (crypt_out *)base;
	pv_out_free(o->inner);
	if (o->sha_open)
		pv_sha256_discard(&o->sha);
	sodium_memzero(&o->st, sizeof o->st);
	if (o->plain)
		sodium_memzero(o->plain, CHUNK);
	free(o->plain);
	free(o->sealed);
	free(o);
}

static const pv_out_ops crypt_out_ops = {co_write, co_finish, co_commit, co_free};

static pv_repo_out *
c_create(pv_repo *r, const char *name)
{
	crypt_repo *c = (crypt_repo *)r;
	pv_repo_out *in = c->inner->drv->create(c->inner, name);
	if (!in || !c->keys)
		return in;
	crypt_out *o = pv_calloc(1, sizeof *o);
	pv_out_init(&o->base, &crypt_out_ops, name, pv_strdup(in->where));
	o->inner = in;
	o->plain = pv_malloc(CHUNK);
	o->sealed = pv_malloc(CHUNK + ABYTES);
	pv_sha256_init(&o->sha);
	o->sha_open = 1;
	memcpy(o->key_hex, c->keys->v[0].hex, sizeof o->key_hex);
	unsigned char hdr[MAGIC_LEN + ID_LEN + HDR_LEN];
	memcpy(hdr, MAGIC, MAGIC_LEN);
	memcpy(hdr + MAGIC_LEN, c->keys->v[0].id, ID_LEN);
	crypto_secretstream_xchacha20poly1305_init_push(&o->st, hdr + MAGIC_LEN + ID_LEN, c->keys->v[0].k);
	if (emit(o, hdr, sizeof hdr) < 0) {
		pv_out_free(&o->base);
		return NULL;
	}
	return &o->base;
}

/* ---- reading ---------------------------------------------------------------------------- */

/* Read exactly len bytes unless the file ends: the count read, or -1 */
static ssize_t
read_full(int fd, unsigned char *buf, size_t len)
{
	size_t got = 0;
	while (got < len) {
		ssize_t n = read(fd, buf + got, len - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0)
			break;
		got += (size_t)n;
	}
	return (ssize_t)got;
}

static const key *
find_key(const pv_keyring *k, const unsigned char *id)
{
	for (int i = 0; k && i < k->n; i++)
		if (memcmp(k->v[i].id, id, ID_LEN) == 0)
			return &k->v[i];
	return NULL;
}

/* The stored bundle of cfd (after its 16 bytes of magic and key id) decrypted into pfd */
static int
decrypt(int cfd, int pfd, const key *k, const char *where)
{
	unsigned char hdr[HDR_LEN];
	crypto_secretstream_xchacha20poly1305_state st;
	if (read_full(cfd, hdr, HDR_LEN) != (ssize_t)HDR_LEN ||
	    crypto_secretstream_xchacha20poly1305_init_pull(&st, hdr, k->k) != 0)
		return pv_fail("%s: the encrypted bundle is cut short (no header)", where);
	unsigned char *in = pv_malloc(CHUNK + ABYTES), *out = pv_malloc(CHUNK);
	int64_t off = MAGIC_LEN + ID_LEN + HDR_LEN;
	int rc = -1;
	for (long chunk = 1;; chunk++) {
		ssize_t n = read_full(cfd, in, CHUNK + ABYTES);
		if (n < 0) {
			pv_fail("%s: %s", where, strerror(errno));
			break;
		}
		if (n < (ssize_t)ABYTES) {
			pv_fail("%s: the encrypted bundle is cut short after %lld bytes (no final chunk)", where,
			        (long long)off);
			break;
		}
		unsigned long long plen = 0;
		unsigned char tag = 0;
		if (crypto_secretstream_xchacha20poly1305_pull(&st, out, &plen, &tag, in, (unsigned long long)n,
		                                               NULL, 0) != 0) {
			pv_fail("%s: the stored bytes were altered: chunk %ld (bytes %lld to %lld) fails "
			        "authentication", where, chunk, (long long)off, (long long)(off + n - 1));
			break;
		}
		if (pv_write_all(pfd, out, (size_t)plen) < 0) {
			pv_fail("%s: writing the decrypted copy: %s", where, strerror(errno));
			break;
		}
		off += n;
		if (tag == crypto_secretstream_xchacha20poly1305_TAG_FINAL) {
			unsigned char extra;
			if (read_full(cfd, &extra, 1) != 0)
				pv_fail("%s: bytes after the final chunk (at byte %lld)", where, (long long)off);
			else
				rc = 0;
			break;
		}
		if (n < (ssize_t)(CHUNK + ABYTES)) {
			pv_fail("%s: the encrypted bundle is cut short after %lld bytes (no final chunk)", where,
			        (long long)off);
			break;
		}
	}
	sodium_memzero(&st, sizeof st);
	sodium_memzero(out, CHUNK);
	free(in);
	free(out);
	return rc;
}

static int
c_open(pv_repo *r, const pv_entry *e, int *fd, char **tmp)
{
	crypt_repo *c = (crypt_repo *)r;
	int cfd = -1;
	char *ctmp = NULL;
	if (c->inner->drv->open(c->inner, e, &cfd, &ctmp) < 0)
		return -1;
	unsigned char head[MAGIC_LEN + ID_LEN];
	ssize_t n = read_full(cfd, head, sizeof head);
	if (n != (ssize_t)sizeof head || memcmp(head, MAGIC, MAGIC_LEN) != 0) {
		/* a bundle in the clear (uploaded before a key was configured) */
		if (lseek(cfd, 0, SEEK_SET) != 0) {
			close(cfd);
			if (ctmp)
				unlink(ctmp);
			free(ctmp);
			return pv_fail("%s: %s", e->where, strerror(errno));
		}
		*fd = cfd;
		*tmp = ctmp;
		return 0;
	}
	char id[2 * ID_LEN + 1];
	sodium_bin2hex(id, sizeof id, head + MAGIC_LEN, ID_LEN);
	const key *k = find_key(c->keys, head + MAGIC_LEN);
	int pfd = -1, rc = -1;
	char *ptmp = NULL;
	if (!k && !c->keys)
		pv_fail("%s is encrypted (key id %s) and no key is configured ([security] encryption_key_file)",
		        e->where, id);
	else if (!k)
		pv_fail("%s was encrypted with the key of id %s, which is not among the keys configured (the "
		        "current one has id %s; older ones go in [security] decryption_key_files)", e->where, id,
		        c->keys->v[0].hex);
	else {
		ptmp = pv_asprintf("%s/.download.%s.plain.tmp.%ld", c->workdir, e->id, (long)getpid());
		pfd = open(ptmp, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
		if (pfd < 0)
			pv_fail("cannot create %s: %s", ptmp, strerror(errno));
		else if (decrypt(cfd, pfd, k, e->where) == 0 && lseek(pfd, 0, SEEK_SET) == 0)
			rc = 0;
	}
	close(cfd);
	if (ctmp)
		unlink(ctmp);
	free(ctmp);
	if (rc < 0) {
		if (pfd >= 0)
			close(pfd);
		if (ptmp)
			unlink(ptmp);
		free(ptmp);
		return -1;
	}
	*fd = pfd;
	*tmp = ptmp;
	return 0;
}

static const pv_repo_driver crypt_driver = {
    "s3", "the S3 storage", c_list, c_lock_path, c_cleanup, c_remove, c_stat,
    c_put_sidecar, c_open, c_create, c_free};

pv_repo *
pv_repo_encrypted(pv_repo *inner, pv_keyring *keys, const char *workdir)
{
	crypt_repo *c = pv_calloc(1, sizeof *c);
	c->base.drv = &crypt_driver;
	c->base.describe = pv_strdup(inner->describe);
	c->inner = inner;
	c->keys = keys;
	c->workdir = pv_strdup(workdir);
	return &c->base;
}

int
pv_repo_check_ciphertext(pv_repo *r, const pv_entry *e)
{
	json_t *enc = json_object_get(e->sidecar, PV_SIDECAR_ENCRYPTION);
	const char *want = json_string_value(json_object_get(enc, "sha256"));
	if (r->drv != &crypt_driver || !want)
		return 0;
	pv_repo *in = INNER(r);
	int cfd = -1;
	char *ctmp = NULL;
	if (in->drv->open(in, e, &cfd, &ctmp) < 0)
		return -1;
	pv_sha256 sha;
	pv_sha256_init(&sha);
	unsigned char *buf = pv_malloc(CHUNK);
	int64_t size = 0;
	ssize_t n;
	while ((n = read_full(cfd, buf, CHUNK)) > 0) {
		pv_sha256_update(&sha, buf, (size_t)n);
		size += n;
	}
	char got[65];
	pv_sha256_final_hex(&sha, got);
	free(buf);
	close(cfd);
	if (ctmp)
		unlink(ctmp);
	free(ctmp);
	if (n < 0)
		return pv_fail("%s: %s", e->where, strerror(errno));
	if (size != json_integer_value(json_object_get(enc, "size")) || strcmp(got, want) != 0)
		return pv_fail("%s: the stored bytes differ from its sidecar's record (%lld bytes, SHA-256 %s; "
		               "recorded %lld bytes, %s): altered or incomplete", e->where, (long long)size, got,
		               (long long)json_integer_value(json_object_get(enc, "size")), want);
	return 1;
}

int
pv_repo_can_decrypt(const pv_repo *r)
{
	return r->drv != &crypt_driver || ((const crypt_repo *)r)->keys != NULL;
}
