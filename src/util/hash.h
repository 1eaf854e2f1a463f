/*
 * util/hash.h — streaming SHA-256 over OpenSSL's libcrypto (EVP).
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

#endif
