/*
 * store/s3_xml.h — the S3 XML answers read into plain values: <Error> documents, pages of
 * ListObjectsV2 and ListMultipartUploads, and the answers of InitiateMultipartUpload and
 * CompleteMultipartUpload.  Pure functions (no network, no pv_s3): s3.c sends the requests,
 * runs the pagination loops and hands each answer body here.
 *
 * A body is untrusted input from a network peer: any bytes of any length are refused or read
 * without crashing, and every allocation is freed on every path.  Element names are compared
 * without their namespace (servers differ in the one they use); a body that is not
 * well-formed XML, or that has a DOCTYPE (S3 never sends one), is never a document of the
 * kind asked for.
 */
#ifndef PV_STORE_S3_XML_H
#define PV_STORE_S3_XML_H

#include <jansson.h>
#include <stddef.h>

/* Where a listing was made, for its keys and its messages. */
typedef struct pv_s3x_scope {
	const char *bucket;  /* the bucket's name */
	const char *prefix;  /* the client's prefix ("" or ending in '/'): every key listed must
	                      * start with it, and is returned without it */
	const char *listed;  /* the prefix asked for (prefix + a sub-prefix) */
} pv_s3x_scope;

/* An S3 <Error> document with a non-empty Code: 1 with code (truncated to 63 bytes) and
 * *message (its Message, malloc'd, NULL if none); else 0 with *message NULL and code left
 * as it was. */
int pv_s3x_error(const char *body, size_t len, char code[64], char **message);

/*
 * One page of a ListObjectsV2 answer (ListBucketResult): appends {"key" (relative to
 * sc->prefix), "size", "etag" (without quotes), "last_modified"} for each Contents to out,
 * sets *truncated (IsTruncated is "true") and *next_token (NextContinuationToken, malloc'd,
 * NULL if absent; always NULL when the page is not truncated).  Keys are decoded when the
 * page says EncodingType=url.  0, or -1 with pv_fail (nothing returned in *next_token; out
 * may hold the entries before the bad one).
 */
int pv_s3x_list_page(const char *body, size_t len, const pv_s3x_scope *sc, json_t *out,
                     int *truncated, char **next_token);

/*
 * One page of a ListMultipartUploads answer (ListMultipartUploadsResult): appends {"key"
 * (relative to sc->prefix), "upload_id", "initiated"} for each Upload to out, sets
 * *truncated, and when truncated *next_key (NextKeyMarker, non-empty, decoded when the page
 * says EncodingType=url) and *next_upload_id (NextUploadIdMarker as sent, NULL if absent),
 * both malloc'd; both NULL when the page is not truncated.  A truncated page without a
 * NextKeyMarker is an error.  0, or -1 with pv_fail (nothing returned in the markers).
 */
int pv_s3x_uploads_page(const char *body, size_t len, const pv_s3x_scope *sc, json_t *out,
                        int *truncated, char **next_key, char **next_upload_id);

/* The UploadId of an InitiateMultipartUploadResult (malloc'd), or NULL if the body is no
 * such document or its UploadId is missing or empty. */
char *pv_s3x_upload_id(const char *body, size_t len);

/* 1 if the body is a CompleteMultipartUploadResult document, else 0. */
int pv_s3x_complete_ok(const char *body, size_t len);

/* "abc" -> abc (an ETag as sent, without its quotes), truncated to fit out[size]. */
void pv_s3x_strip_quotes(const char *in, char *out, size_t size);

#endif
