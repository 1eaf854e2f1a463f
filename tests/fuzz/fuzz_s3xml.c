/*
 * tests/fuzz/fuzz_s3xml.c — a libFuzzer target for the S3 XML answer parsers
 * (src/store/s3_xml.h): each input is handed, as an answer body, to every one of them in
 * turn, with the prefix "pgvault/", and the promises of s3_xml.h are checked (a broken one
 * aborts).  Seeds: tests/fuzz/corpus/s3xml/.  Built by configure --enable-fuzz, run by
 * tests/fuzz/run.sh (make fuzz).
 */
#include <jansson.h>
#include <libxml/parser.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "store/s3_xml.h"
#include "util/err.h"
#include "util/json.h"

#define CHECK(c) do { if (!(c)) abort(); } while (0)

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	xmlInitParser();
	pvj_init();
	return 0;
}

/* Every entry of a listing is an object whose members are strings but "size", a count. */
static void
check_entries(json_t *out, const char *int_member)
{
	size_t i;
	json_t *e;
	CHECK(json_is_array(out));
	json_array_foreach(out, i, e) {
		const char *k;
		json_t *v;
		CHECK(json_is_object(e));
		CHECK(json_is_string(json_object_get(e, "key")));
		json_object_foreach(e, k, v) {
			if (int_member && strcmp(k, int_member) == 0)
				CHECK(json_is_integer(v) && json_integer_value(v) >= 0);
			else
				CHECK(json_is_string(v));
		}
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *body = (const char *)data;
	const pv_s3x_scope sc = {"bucket", "pgvault/", "pgvault/"};

	/* <Error> */
	{
		char code[64] = "";
		char *message = (char *)"not set";
		int found = pv_s3x_error(body, size, code, &message);
		CHECK(found == 0 || found == 1);
		if (found)
			CHECK(code[0] && strlen(code) < 64);
		else
			CHECK(message == NULL && code[0] == '\0');
		free(message);
	}
	/* ListObjectsV2 */
	{
		json_t *out = json_array();
		int truncated = -1;
		char *next = (char *)"not set";
		int rc = pv_s3x_list_page(body, size, &sc, out, &truncated, &next);
		CHECK(rc == 0 || rc == -1);
		CHECK(truncated == 0 || truncated == 1);
		if (rc < 0 || !truncated)
			CHECK(next == NULL);
		if (rc == 0)
			check_entries(out, "size");
		free(next);
		json_decref(out);
	}
	/* ListMultipartUploads */
	{
		json_t *out = json_array();
		int truncated = -1;
		char *nk = (char *)"not set", *ni = (char *)"not set";
		int rc = pv_s3x_uploads_page(body, size, &sc, out, &truncated, &nk, &ni);
		CHECK(rc == 0 || rc == -1);
		CHECK(truncated == 0 || truncated == 1);
		if (rc < 0 || !truncated)
			CHECK(nk == NULL && ni == NULL);
		else
			CHECK(nk != NULL);
		if (rc == 0)
			check_entries(out, NULL);
		free(nk);
		free(ni);
		json_decref(out);
	}
	/* InitiateMultipartUpload, CompleteMultipartUpload */
	{
		char *id = pv_s3x_upload_id(body, size);
		CHECK(id == NULL || *id);
		free(id);
		int ok = pv_s3x_complete_ok(body, size);
		CHECK(ok == 0 || ok == 1);
	}
	/* ETag quotes, into buffers of a few sizes */
	{
		char *s = malloc(size + 1);
		char out[8];
		CHECK(s);
		memcpy(s, data, size);
		s[size] = '\0';
		for (size_t n = 1; n <= sizeof out; n++) {
			pv_s3x_strip_quotes(s, out, n);
			CHECK(strlen(out) < n);
		}
		free(s);
	}
	pv_err_clear();
	return 0;
}
