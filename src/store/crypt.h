/*
 * store/crypt.h — encrypted repositories: a decorator over any driver (used over the S3
 * one) whose bundles are stored encrypted and authenticated with libsodium's secretstream
 * (XChaCha20-Poly1305), streaming, in bounded memory.  What it stores in place of a bundle:
 *
 *     "PGVENC1\n"                 8 bytes, the format
 *     key id                      8 bytes: BLAKE2b-64 of the key, keyed "pgvault key id"
 *     secretstream header         24 bytes
 *     chunks                      each 1 MiB of the bundle (the last one less, possibly 0)
 *                                 + 17 bytes; the last one tagged FINAL
 *
 * so that a changed byte anywhere fails its chunk's authentication, and a file cut short
 * (or with bytes after the final chunk) is refused.  The sidecar stays readable, for list and
 * prune without the key (database and table names, sizes and counts are not secret there),
 * and gains "encryption": {"format", "key_id", "size" and "sha256" of what is stored}, so that
 * verify without the key still checks the stored bytes.  Keys are 32 bytes, from a file
 * (raw, or 64 hex digits) only its owner can read; older keys may be given for reading
 * (key rotation).
 */
#ifndef PV_STORE_CRYPT_H
#define PV_STORE_CRYPT_H

#include "store/repo.h"

#define PV_CRYPT_KEY_BYTES 32
#define PV_SIDECAR_ENCRYPTION "encryption"

typedef struct pv_keyring pv_keyring;

/* The key of path (to encrypt with, and read), and older ones to read with (NULL-ended
 * list, may be NULL).  NULL with the error set (a file others can read is refused). */
pv_keyring *pv_keyring_load(const char *path, const char *const *older);
void pv_keyring_free(pv_keyring *k);
/* The 16 hex digits of the encryption key's id. */
const char *pv_keyring_id(const pv_keyring *k);

/* inner's bundles encrypted with keys (both owned, keys may be NULL: then bundles are
 * written in the clear, and an encrypted one can be listed, removed and its stored bytes
 * checked, not read).  workdir: where the decrypted temporary copy of a bundle being read
 * goes (the local storage directory, whose cleanup removes those of dead processes). */
pv_repo *pv_repo_encrypted(pv_repo *inner, pv_keyring *keys, const char *workdir);

/* For an encrypted bundle e of r: its stored bytes against the sidecar's record (size,
 * SHA-256), without the key.  1 checked and intact, 0 not an encrypted bundle (or no record),
 * -1 altered or unreadable (the error set). */
int pv_repo_check_ciphertext(pv_repo *r, const pv_entry *e);
/* Whether r can read its encrypted bundles (not an encrypted repository, or one with keys) */
int pv_repo_can_decrypt(const pv_repo *r);

#endif
