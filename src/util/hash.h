/*
 * util/hash.h — streaming SHA-256 and HMAC-SHA256 over OpenSSL's libcrypto.
 */
#ifndef PV_UTIL_HASH_H
#define PV_UTIL_HASH_H

#include <stddef.h>

typedef struct pv_sha256 {
	void *ctx; /* EVP_MD_CTX */
} pv_sha256;

void pv_sha256_init(pv_sha256 *h);
void pv_sha256_update(pv_sha256 *h, const void *data, size_t len);
/* Writes 64 lowercase hex digits and a NUL; frees the context. */
void pv_sha256_final_hex(pv_sha256 *h, char out[65]);
/* Frees the context without producing a digest (error paths). */
void pv_sha256_discard(pv_sha256 *h);

/* HMAC-SHA256 of data under key, as 64 lowercase hex digits; 0, or -1 (set). */
int pv_hmac_sha256_hex(const void *key, size_t klen, const void *data, size_t len, char out[65]);
/* 1 when the two NUL-terminated strings are equal, in time that does not depend on where
 * they differ (for comparing MACs). */
int pv_equal_secret(const char *a, const char *b);

#endif
