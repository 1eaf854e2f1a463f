/*
 * util/hash.c — SHA-256 via EVP (see hash.h).
 */
#include "util/hash.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/err.h"

void
pv_sha256_init(pv_sha256 *h)
{
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	if (!c || EVP_DigestInit_ex(c, EVP_sha256(), NULL) != 1) {
		fprintf(stderr, "pgvault: cannot initialise SHA-256\n");
		abort();
	}
	h->ctx = c;
}

void
pv_sha256_update(pv_sha256 *h, const void *data, size_t len)
{
	if (len)
		EVP_DigestUpdate((EVP_MD_CTX *)h->ctx, data, len);
}

void
pv_sha256_final_hex(pv_sha256 *h, char out[65])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;
	static const char hex[] = "0123456789abcdef";

	EVP_DigestFinal_ex((EVP_MD_CTX *)h->ctx, md, &n);
	for (unsigned int i = 0; i < n && i < 32; i++) {
		out[2 * i] = hex[md[i] >> 4];
		out[2 * i + 1] = hex[md[i] & 15];
	}
	out[64] = '\0';
	pv_sha256_discard(h);
}

void
pv_sha256_discard(pv_sha256 *h)
{
	if (h->ctx)
		EVP_MD_CTX_free((EVP_MD_CTX *)h->ctx);
	h->ctx = NULL;
}

int
pv_hmac_sha256_hex(const void *key, size_t klen, const void *data, size_t len, char out[65])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;
	static const char hex[] = "0123456789abcdef";

	if (klen > (size_t)INT32_MAX || !HMAC(EVP_sha256(), key, (int)klen, data, len, md, &n) || n != 32)
		return pv_fail("cannot compute HMAC-SHA256");
	for (unsigned int i = 0; i < 32; i++) {
		out[2 * i] = hex[md[i] >> 4];
		out[2 * i + 1] = hex[md[i] & 15];
	}
	out[64] = '\0';
	return 0;
}

int
pv_equal_secret(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	return la == lb && CRYPTO_memcmp(a, b, la) == 0;
}
