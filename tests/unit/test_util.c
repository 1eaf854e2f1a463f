/*
 * tests/unit/test_util.c — the utility layer: pv_buf and allocation helpers, file-name
 * encoding, timestamps and tags, SHA-256, error messages with context, and the checked
 * JSON helpers with the bundle text rule (UTF-8 checked, SQL_ASCII bytes mapped).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "ops/config.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/hash.h"
#include "util/json.h"
#include "util/names.h"

/* ---- buf ---------------------------------------------------------------------------- */

static void
test_buf_growth(void **state)
{
	pv_buf b = PV_BUF_INIT;

	pv_buf_init(&b);
	assert_null(b.data);
	assert_int_equal(b.len, 0);
	for (int i = 0; i < 100000; i++)
		pv_buf_putc(&b, (char)('a' + i % 26));
	assert_int_equal(b.len, 100000);
	assert_true(b.cap > b.len);
	assert_int_equal(b.data[b.len], '\0');
	for (int i = 0; i < 100000; i++)
		if (b.data[i] != (char)('a' + i % 26))
			fail_msg("byte %d is %c", i, b.data[i]);

	/* Binary data with NULs keeps its length; the buffer stays terminated. */
	pv_buf_reset(&b);
	assert_int_equal(b.len, 0);
	assert_string_equal(b.data, "");
	size_t cap = b.cap;
	pv_buf_add(&b, "a\0b", 3);
	assert_int_equal(b.len, 3);
	assert_memory_equal(b.data, "a\0b", 3);
	assert_int_equal(b.data[3], '\0');
	assert_int_equal(b.cap, cap); /* reset keeps the allocation */
	pv_buf_add(&b, NULL, 0);
	assert_int_equal(b.len, 3);

	/* reserve guarantees room for the bytes and the terminator */
	pv_buf_reserve(&b, 5000);
	assert_true(b.cap >= b.len + 5000 + 1);
	pv_buf_free(&b);
	assert_null(b.data);
	assert_int_equal(b.cap, 0);

	/* a buffer only reserved is "" (the first allocation is terminated too) */
	pv_buf_reserve(&b, 10);
	assert_non_null(b.data);
	assert_int_equal(b.data[0], '\0');
	char *empty = pv_buf_detach(&b);
	assert_string_equal(empty, "");
	free(empty);
}

static void
test_buf_printf(void **state)
{
	pv_buf b = PV_BUF_INIT;
	char big[3000];

	pv_buf_puts(&b, "x=");
	pv_buf_printf(&b, "%d, s=%s", 42, "hi");
	assert_string_equal(b.data, "x=42, s=hi");
	assert_int_equal(b.len, strlen("x=42, s=hi"));

	/* Longer than whatever is left: the buffer grows. */
	memset(big, 'z', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	pv_buf_printf(&b, "[%s]", big);
	assert_int_equal(b.len, 10 + 2 + 2999);
	assert_int_equal(b.data[10], '[');
	assert_int_equal(b.data[b.len - 1], ']');
	assert_int_equal(b.data[b.len], '\0');
	pv_buf_free(&b);

	/* An empty format adds nothing but still leaves a string. */
	pv_buf_printf(&b, "%s", "");
	assert_int_equal(b.len, 0);
	assert_non_null(b.data);
	assert_string_equal(b.data, "");
	pv_buf_free(&b);

	char *s = pv_asprintf("%s-%05d", "id", 7);
	assert_string_equal(s, "id-00007");
	free(s);
	s = pv_strndup("abcdef", 3);
	assert_string_equal(s, "abc");
	free(s);
	s = pv_strdup("");
	assert_string_equal(s, "");
	free(s);
}

static void
test_buf_detach(void **state)
{
	pv_buf b = PV_BUF_INIT;
	char *s;

	/* Never NULL, even for a buffer that never allocated. */
	s = pv_buf_detach(&b);
	assert_non_null(s);
	assert_string_equal(s, "");
	free(s);

	pv_buf_puts(&b, "hello");
	s = pv_buf_detach(&b);
	assert_string_equal(s, "hello");
	assert_null(b.data);
	assert_int_equal(b.len, 0);
	assert_int_equal(b.cap, 0);
	/* The buffer is usable again and independent of the detached string. */
	pv_buf_puts(&b, "other");
	assert_string_equal(s, "hello");
	assert_string_equal(b.data, "other");
	free(s);
	pv_buf_free(&b);

	void *p = pv_calloc(10, 4);
	for (int i = 0; i < 40; i++)
		assert_int_equal(((unsigned char *)p)[i], 0);
	p = pv_realloc(p, 4000);
	free(p);
	free(pv_malloc(0));
}

/* Spare buffers: a buffer given back comes out again emptied, with its memory; beyond
 * PV_BUF_SPARES they are freed (the leak check of the ASan build sees the rest freed). */
static void
test_buf_spares(void **state)
{
	pv_buf_spares sp = {0};
	pv_buf a, b[PV_BUF_SPARES + 1];

	pv_spares_take(&sp, &a);
	assert_null(a.data); /* none kept yet: a new, empty buffer */
	pv_spares_give(&sp, &a); /* nothing allocated: nothing kept */
	assert_int_equal(sp.n, 0);
	for (int i = 0; i <= PV_BUF_SPARES; i++) {
		pv_buf_init(&b[i]);
		pv_buf_reserve(&b[i], 1000 + (size_t)i);
		pv_buf_puts(&b[i], "rows");
	}
	char *kept = b[0].data;
	for (int i = 0; i <= PV_BUF_SPARES; i++) {
		pv_spares_give(&sp, &b[i]);
		assert_null(b[i].data);
	}
	assert_int_equal(sp.n, PV_BUF_SPARES);
	for (int i = 0; i < PV_BUF_SPARES; i++) {
		pv_spares_take(&sp, &a);
		assert_non_null(a.data);
		assert_int_equal(a.len, 0);
		assert_string_equal(a.data, "");
		assert_true(a.cap >= 1000);
		if (i == PV_BUF_SPARES - 1)
			assert_ptr_equal(a.data, kept); /* the first given is the last taken */
		pv_buf_free(&a);
	}
	pv_spares_take(&sp, &a);
	assert_null(a.data);
	pv_buf_puts(&a, "x");
	pv_spares_give(&sp, &a);
	pv_spares_free(&sp);
	assert_int_equal(sp.n, 0);
}

/* ---- names -------------------------------------------------------------------------- */

static void
check_fsname(const char *in, const char *want)
{
	char *got = pv_fsname(in);
	assert_string_equal(got, want);
	free(got);
}

static void
test_fsname(void **state)
{
	check_fsname("hello-bot_db", "hello-bot_db");
	check_fsname("My DB\"x", "My%20DB%22x");
	check_fsname(".hidden", "%2Ehidden");
	check_fsname("a.b.c", "a.b.c");
	check_fsname("..", "%2E.");
	check_fsname("a/b", "a%2Fb");
	check_fsname("../etc", "%2E.%2Fetc");
	check_fsname("100%", "100%25");
	check_fsname("caf\xc3\xa9", "caf%C3%A9");
	check_fsname("\xff\x01", "%FF%01");
	check_fsname("", "");
	check_fsname("ABCxyz019", "ABCxyz019");
}

static void
test_time_round_trip(void **state)
{
	const time_t times[] = {0, 951868799, 1795312800, 4102444799};
	char stamp[17], iso[21];
	time_t t;

	pv_stamp(1795312800, stamp);
	assert_string_equal(stamp, "20261122T020000Z");
	pv_iso8601(1795312800, iso);
	assert_string_equal(iso, "2026-11-22T02:00:00Z");

	for (size_t i = 0; i < sizeof times / sizeof times[0]; i++) {
		pv_stamp(times[i], stamp);
		pv_iso8601(times[i], iso);
		assert_int_equal(strlen(stamp), 16);
		assert_int_equal(strlen(iso), 20);
		t = -1;
		assert_int_equal(pv_parse_time(stamp, &t), 0);
		assert_int_equal(t, times[i]);
		t = -1;
		assert_int_equal(pv_parse_time(iso, &t), 0);
		assert_int_equal(t, times[i]);
	}
	pv_iso8601(951868799, iso);
	assert_string_equal(iso, "2000-02-29T23:59:59Z");
}

static void
test_time_rejects(void **state)
{
	const char *bad[] = {
		"",
		"garbage",
		"2026-11-22",
		"2026-11-22T02:00:00",      /* no Z */
		"2026-11-22T02:00:00Zx",    /* trailing */
		"2026-11-22T02:00:00+01:00",
		"2026-13-01T00:00:00Z",     /* month */
		"2026-00-01T00:00:00Z",
		"2026-11-00T00:00:00Z",     /* day */
		"2026-11-32T00:00:00Z",
		"2026-11-22T24:00:00Z",     /* hour */
		"2026-11-22T02:60:00Z",     /* minute */
		"2026-11-22T02:00:61Z",     /* second */
		"20261122T020000",
		"20261122T020000ZZ",
		"20261322T020000Z",
		"2026/11/22T02:00:00Z",
		"2026-11-22 02:00:00Z",
	};
	time_t t = 12345;

	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		if (pv_parse_time(bad[i], &t) != -1)
			fail_msg("\"%s\" was accepted", bad[i]);
		assert_int_equal(t, 12345); /* untouched on failure */
	}
}

static void
test_valid_tag(void **state)
{
	char tag[66];

	assert_true(pv_valid_tag("daily"));
	assert_true(pv_valid_tag("pre-upgrade_2026"));
	assert_true(pv_valid_tag("A"));
	assert_false(pv_valid_tag(""));
	assert_false(pv_valid_tag("a b"));
	assert_false(pv_valid_tag("a.b"));
	assert_false(pv_valid_tag("a/b"));
	assert_false(pv_valid_tag("caf\xc3\xa9"));
	assert_false(pv_valid_tag("tag\n"));

	memset(tag, 'x', 64);
	tag[64] = '\0';
	assert_true(pv_valid_tag(tag));
	tag[64] = 'x';
	tag[65] = '\0';
	assert_false(pv_valid_tag(tag));
}

/* ---- hash --------------------------------------------------------------------------- */

static void
test_sha256(void **state)
{
	pv_sha256 h;
	char out[65];
	const char *msg = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";

	pv_sha256_init(&h);
	pv_sha256_update(&h, "abc", 3);
	pv_sha256_final_hex(&h, out);
	assert_string_equal(out, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	assert_null(h.ctx);

	pv_sha256_init(&h);
	pv_sha256_final_hex(&h, out);
	assert_string_equal(out, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");

	/* In pieces (including empty ones) == at once. */
	pv_sha256_init(&h);
	for (size_t i = 0; i < strlen(msg); i += 5) {
		size_t n = strlen(msg) - i < 5 ? strlen(msg) - i : 5;
		pv_sha256_update(&h, msg + i, n);
		pv_sha256_update(&h, msg, 0);
	}
	pv_sha256_final_hex(&h, out);
	assert_string_equal(out, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");

	/* Discarding (twice is harmless) frees the context. */
	pv_sha256_init(&h);
	pv_sha256_update(&h, "x", 1);
	pv_sha256_discard(&h);
	assert_null(h.ctx);
	pv_sha256_discard(&h);
}

/* ---- err ---------------------------------------------------------------------------- */

static void
test_err(void **state)
{
	pv_err_clear();
	assert_string_equal(pv_errmsg(), "unknown error");
	assert_int_equal(pv_errcode(), PV_EXIT_FAIL);

	assert_int_equal(pv_fail("member %s: %d bytes", "data/3.1.copy.zst", 12), -1);
	assert_string_equal(pv_errmsg(), "member data/3.1.copy.zst: 12 bytes");
	assert_int_equal(pv_errcode(), PV_EXIT_FAIL);

	assert_int_equal(pv_wrap("bundle %s", "/x/y.pgv"), -1);
	assert_string_equal(pv_errmsg(), "bundle /x/y.pgv: member data/3.1.copy.zst: 12 bytes");
	pv_wrap("database \"%s\"", "app");
	assert_string_equal(pv_errmsg(),
	                    "database \"app\": bundle /x/y.pgv: member data/3.1.copy.zst: 12 bytes");

	/* A new failure replaces the old message. */
	pv_fail("second");
	assert_string_equal(pv_errmsg(), "second");

	/* Trailing newlines and spaces (libpq style) are dropped. */
	pv_fail("server closed the connection\n \n");
	assert_string_equal(pv_errmsg(), "server closed the connection");

	/* Explicit codes survive wrapping; plain failures reset them. */
	assert_int_equal(pv_fail_code(PV_EXIT_LOCK, "locked by pid %d", 99), -1);
	assert_int_equal(pv_errcode(), PV_EXIT_LOCK);
	pv_wrap("backup");
	assert_string_equal(pv_errmsg(), "backup: locked by pid 99");
	assert_int_equal(pv_errcode(), PV_EXIT_LOCK);
	pv_fail_code(PV_EXIT_USAGE, "bad option");
	assert_int_equal(pv_errcode(), PV_EXIT_USAGE);
	pv_fail("plain");
	assert_int_equal(pv_errcode(), PV_EXIT_FAIL);

	/* Wrapping nothing gives just the context. */
	pv_err_clear();
	pv_wrap("context only");
	assert_string_equal(pv_errmsg(), "context only");
	assert_int_equal(pv_errcode(), PV_EXIT_FAIL);

	/* Very long messages are cut, not overflowed. */
	char *big = pv_malloc(10000);
	memset(big, 'm', 9999);
	big[9999] = '\0';
	pv_fail("%s", big);
	assert_true(strlen(pv_errmsg()) < 10000);
	assert_int_equal(strncmp(pv_errmsg(), "mmmm", 4), 0);
	pv_wrap("%s", big);
	assert_true(strlen(pv_errmsg()) < 10000);
	free(big);

	pv_err_clear();
	assert_string_equal(pv_errmsg(), "unknown error");
}

/* ---- json ---------------------------------------------------------------------------- */

static void
test_json_setters(void **state)
{
	json_t *o = json_object();
	assert_int_equal(pvj_set_str(o, "a", "x"), 0);
	assert_int_equal(pvj_set_str(o, "sql", NULL), -1); /* json_string(NULL) used to vanish */
	assert_string_equal(pv_errmsg(), "\"sql\": no value");
	assert_null(json_object_get(o, "sql"));
	assert_int_equal(pvj_set_str_or_null(o, "g", NULL), 0);
	assert_true(json_is_null(json_object_get(o, "g")));
	assert_int_equal(pvj_set(o, "n", NULL), -1);
	assert_int_equal(pvj_append_str(o, "x"), -1); /* not an array */
	assert_int_equal(pvj_set_int(json_array_get(o, 0), "k", 1), -1);
	json_decref(o);
	(void)state;
}

static void
test_json_dumps_names_entry(void **state)
{
	json_t *a = json_array();
	json_t *e = json_object();
	pvj_set_str(e, "kind", "function");
	pvj_set_str(e, "schema", "public");
	pvj_set_str(e, "name", "f()");
	pvj_set_str(e, "sql", "CREATE FUNCTION f() ... 'caf\xe9'"); /* LATIN1 bytes */
	pvj_append(a, json_object());
	pvj_append(a, e);
	assert_null(pvj_dumps(a, 0, PVJ_UTF8, "member pre-data.json"));
	assert_string_equal(pv_errmsg(),
	    "member pre-data.json: [1].sql (function public.f()) is not valid UTF-8");
	/* the same bytes as a SQL_ASCII bundle writes them, and back */
	char *text = pvj_dumps(a, JSON_COMPACT, PVJ_LATIN1, "x");
	assert_non_null(text);
	assert_non_null(strstr(text, "caf\xc3\xa9"));
	json_t *back = json_loads(text, 0, NULL);
	json_t *bytes = pvj_map_bytes(back, "x");
	assert_non_null(bytes);
	assert_string_equal(json_string_value(json_object_get(json_array_get(bytes, 1), "sql")),
	                    "CREATE FUNCTION f() ... 'caf\xe9'");
	assert_true(json_equal(a, bytes));
	/* a character above U+00FF is no SQL_ASCII byte */
	json_t *wide = json_pack("{s:s}", "k\xc3\xa9", "\xe2\x82\xac");
	assert_null(pvj_map_bytes(wide, "y"));
	assert_non_null(strstr(pv_errmsg(), "above U+00FF"));
	json_decref(wide);
	json_decref(bytes);
	json_decref(back);
	free(text);
	json_decref(a);
	(void)state;
}

static void
test_json_all_bytes_round_trip(void **state)
{
	char raw[256];
	for (int i = 1; i < 256; i++)
		raw[i - 1] = (char)i;
	raw[255] = '\0';
	json_t *o = json_object();
	pvj_set_str(o, raw, raw); /* a key and a value of every byte */
	char *text = pvj_dumps(o, 0, PVJ_LATIN1, "x");
	json_t *back = json_loads(text, 0, NULL);
	assert_non_null(back);
	json_t *bytes = pvj_map_bytes(back, "x");
	assert_string_equal(json_string_value(json_object_get(bytes, raw)), raw);
	json_t *server = pvj_loads_server("[\"a\xff\"]", PVJ_LATIN1, "z");
	assert_string_equal(json_string_value(json_array_get(server, 0)), "a\xff");
	assert_null(pvj_loads_server("[\"a\xff\"]", PVJ_UTF8, "z"));
	json_decref(server);
	json_decref(bytes);
	json_decref(back);
	free(text);
	json_decref(o);
	(void)state;
}

/* Durations: units, and values whose seconds do not fit refused (fuzz_config found the
 * overflow of "4444444444444444444h"). */
static void
test_durations(void **state)
{
	assert_int_equal(pv_parse_duration("90"), 90);
	assert_int_equal(pv_parse_duration("90s"), 90);
	assert_int_equal(pv_parse_duration("15m"), 900);
	assert_int_equal(pv_parse_duration("26h"), 93600);
	assert_int_equal(pv_parse_duration("7d"), 604800);
	assert_int_equal(pv_parse_duration("2 w"), 1209600);
	assert_int_equal(pv_parse_duration("1x"), -1);
	assert_int_equal(pv_parse_duration("-5"), -1);
	assert_int_equal(pv_parse_duration("4444444444444444444h"), -1);
	assert_int_equal(pv_parse_duration("15250284452472w"), -1);
	assert_int_equal(pv_parse_duration("15250284452471w"), 9223372036854460800L);
	assert_int_equal(pv_parse_duration("9223372036854775807"), 9223372036854775807L);
	assert_int_equal(pv_parse_duration("99999999999999999999"), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_buf_growth),
		cmocka_unit_test(test_buf_printf),
		cmocka_unit_test(test_buf_detach),
		cmocka_unit_test(test_buf_spares),
		cmocka_unit_test(test_fsname),
		cmocka_unit_test(test_time_round_trip),
		cmocka_unit_test(test_time_rejects),
		cmocka_unit_test(test_valid_tag),
		cmocka_unit_test(test_durations),
		cmocka_unit_test(test_sha256),
		cmocka_unit_test(test_err),
		cmocka_unit_test(test_json_setters),
		cmocka_unit_test(test_json_dumps_names_entry),
		cmocka_unit_test(test_json_all_bytes_round_trip),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
