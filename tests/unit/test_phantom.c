/*
 * tests/unit/test_phantom.c - the phantom token table: set, check,
 * replace, remove; a credential is 64 hex digits of either case and
 * nothing else; many sandboxes (the table grows) and threads checking
 * while the daemon rotates.
 */
#include "proxy/phantom.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "check_main.h"

#define TOK_A	"00112233445566778899aabbccddeeff" \
		"0123456789abcdef0123456789abcdef"
#define TOK_B	"ffeeddccbbaa99887766554433221100" \
		"fedcba9876543210fedcba9876543210"

static int
check_str(struct phantoms *pt, const char *id, const char *cred)
{
	return phantoms_check(pt, id, (const uint8_t *)cred, strlen(cred));
}

START_TEST(test_set_check)
{
	struct phantoms	*pt = phantoms_new();

	ck_assert_ptr_nonnull(pt);
	ck_assert_int_eq(phantoms_set(pt, "agent-1", TOK_A), 0);
	ck_assert_int_eq(check_str(pt, "agent-1", TOK_A), 1);
	/* Another sandbox's token, or none: no. */
	ck_assert_int_eq(check_str(pt, "agent-2", TOK_A), 0);
	ck_assert_int_eq(phantoms_set(pt, "agent-2", TOK_B), 0);
	ck_assert_int_eq(check_str(pt, "agent-1", TOK_B), 0);
	ck_assert_int_eq(check_str(pt, "agent-2", TOK_B), 1);
	ck_assert_int_eq(check_str(pt, "agent-1", TOK_A), 1);
	phantoms_free(pt);
}
END_TEST

START_TEST(test_replace_remove)
{
	struct phantoms	*pt = phantoms_new();

	ck_assert_int_eq(phantoms_set(pt, "a", TOK_A), 0);
	ck_assert_int_eq(phantoms_set(pt, "a", TOK_B), 0);
	/* Rotated: the old one stops at once. */
	ck_assert_int_eq(check_str(pt, "a", TOK_A), 0);
	ck_assert_int_eq(check_str(pt, "a", TOK_B), 1);
	ck_assert_int_eq(phantoms_set(pt, "a", NULL), 0);
	ck_assert_int_eq(check_str(pt, "a", TOK_B), 0);
	/* Removing what is not there is no error. */
	ck_assert_int_eq(phantoms_set(pt, "a", NULL), 0);
	ck_assert_int_eq(phantoms_set(pt, "never", NULL), 0);
	ck_assert_int_eq(phantoms_set(pt, "a", TOK_A), 0);
	ck_assert_int_eq(check_str(pt, "a", TOK_A), 1);
	phantoms_free(pt);
	phantoms_free(NULL);
}
END_TEST

START_TEST(test_not_a_token)
{
	struct phantoms	*pt = phantoms_new();
	char		 t[PHANTOM_HEX + 2];

	/* set refuses and keeps what was there. */
	ck_assert_int_eq(phantoms_set(pt, "a", TOK_A), 0);
	ck_assert_int_eq(phantoms_set(pt, "a", ""), -1);
	ck_assert_int_eq(phantoms_set(pt, "a", "abcd"), -1);
	ck_assert_int_eq(phantoms_set(pt, "a", TOK_B "0"), -1);
	memcpy(t, TOK_B, sizeof(TOK_B));
	t[17] = 'g';
	ck_assert_int_eq(phantoms_set(pt, "a", t), -1);
	ck_assert_int_eq(check_str(pt, "a", TOK_A), 1);
	phantoms_free(pt);
}
END_TEST

START_TEST(test_wrong_length)
{
	struct phantoms	*pt = phantoms_new();

	ck_assert_int_eq(phantoms_set(pt, "a", TOK_A), 0);
	/* A prefix, the token and more, nothing. */
	ck_assert_int_eq(phantoms_check(pt, "a", (const uint8_t *)TOK_A,
	    PHANTOM_HEX - 1), 0);
	ck_assert_int_eq(check_str(pt, "a", TOK_A "0"), 0);
	ck_assert_int_eq(check_str(pt, "a", TOK_A " "), 0);
	ck_assert_int_eq(check_str(pt, "a", ""), 0);
	ck_assert_int_eq(phantoms_check(pt, "a", NULL, 0), 0);
	/* The bytes behind a caller's length are not read. */
	ck_assert_int_eq(phantoms_check(pt, "a", (const uint8_t *)TOK_A "00",
	    PHANTOM_HEX), 1);
	phantoms_free(pt);
}
END_TEST

START_TEST(test_wrong_digit)
{
	static const char	bad[] = "gG:/@`\xff \0-xX";
	struct phantoms		*pt = phantoms_new();
	char			 t[PHANTOM_HEX + 1];
	size_t			 i, pos;

	ck_assert_int_eq(phantoms_set(pt, "a", TOK_A), 0);
	/* Each position, each neighbour of a hex digit's range. */
	for (pos = 0; pos < PHANTOM_HEX; pos += 7)
		for (i = 0; i < sizeof(bad) - 1; i++) {
			memcpy(t, TOK_A, sizeof(t));
			t[pos] = bad[i];
			ck_assert_msg(phantoms_check(pt, "a", (const uint8_t *)t,
			    PHANTOM_HEX) == 0, "digit 0x%02x at %zu accepted",
			    (unsigned char)bad[i], pos);
		}
	/* One digit off: a valid token, not this one. */
	memcpy(t, TOK_A, sizeof(t));
	t[PHANTOM_HEX - 1] = 'e';
	ck_assert_int_eq(check_str(pt, "a", t), 0);
	phantoms_free(pt);
}
END_TEST

START_TEST(test_upper_case)
{
	struct phantoms	*pt = phantoms_new();
	char		 up[PHANTOM_HEX + 1], mixed[PHANTOM_HEX + 1];
	size_t		 i;

	for (i = 0; i <= PHANTOM_HEX; i++) {
		up[i] = (char)(TOK_A[i] >= 'a' ? TOK_A[i] - 32 : TOK_A[i]);
		mixed[i] = i % 2 ? up[i] : TOK_A[i];
	}
	ck_assert_int_eq(phantoms_set(pt, "a", TOK_A), 0);
	ck_assert_int_eq(check_str(pt, "a", up), 1);
	ck_assert_int_eq(check_str(pt, "a", mixed), 1);
	/* And set takes it too: the same token. */
	ck_assert_int_eq(phantoms_set(pt, "b", up), 0);
	ck_assert_int_eq(check_str(pt, "b", TOK_A), 1);
	phantoms_free(pt);
}
END_TEST

START_TEST(test_unknown_id)
{
	struct phantoms	*pt = phantoms_new();

	ck_assert_int_eq(check_str(pt, "a", TOK_A), 0);
	ck_assert_int_eq(phantoms_set(pt, "a", TOK_A), 0);
	ck_assert_int_eq(check_str(pt, "A", TOK_A), 0);
	ck_assert_int_eq(check_str(pt, "a ", TOK_A), 0);
	ck_assert_int_eq(check_str(pt, "", TOK_A), 0);
	ck_assert_int_eq(phantoms_check(pt, NULL, (const uint8_t *)TOK_A,
	    PHANTOM_HEX), 0);
	/* No table (interception off): nothing checks. */
	ck_assert_int_eq(check_str(NULL, "a", TOK_A), 0);
	phantoms_free(pt);
}
END_TEST

/* Sandbox <i>'s token: its number in the last digits. */
static void
tok_of(size_t i, char *t)
{
	memcpy(t, TOK_A, PHANTOM_HEX + 1);
	snprintf(t + PHANTOM_HEX - 8, 9, "%08zx", i);
}

START_TEST(test_many_ids)
{
	struct phantoms	*pt = phantoms_new();
	char		 id[32], t[PHANTOM_HEX + 1], u[PHANTOM_HEX + 1];
	size_t		 i, n = 5000;

	for (i = 0; i < n; i++) {
		snprintf(id, sizeof(id), "sandbox-%zu", i);
		tok_of(i, t);
		ck_assert_int_eq(phantoms_set(pt, id, t), 0);
	}
	for (i = 0; i < n; i++) {
		snprintf(id, sizeof(id), "sandbox-%zu", i);
		tok_of(i, t);
		tok_of(i + 1, u);
		ck_assert_int_eq(check_str(pt, id, t), 1);
		ck_assert_int_eq(check_str(pt, id, u), 0);
	}
	/* Every other one removed; the rest still there. */
	for (i = 0; i < n; i += 2) {
		snprintf(id, sizeof(id), "sandbox-%zu", i);
		ck_assert_int_eq(phantoms_set(pt, id, NULL), 0);
	}
	for (i = 0; i < n; i++) {
		snprintf(id, sizeof(id), "sandbox-%zu", i);
		tok_of(i, t);
		ck_assert_int_eq(check_str(pt, id, t), (int)(i % 2));
	}
	phantoms_free(pt);
}
END_TEST

/* Workers check while the daemon rotates another sandbox's token. */
struct racer {
	struct phantoms	*r_pt;
	int		 r_bad;
};

static void *
checker(void *arg)
{
	struct racer	*r = arg;
	int		 i;

	for (i = 0; i < 20000; i++)
		if (check_str(r->r_pt, "steady", TOK_A) != 1 ||
		    check_str(r->r_pt, "steady", TOK_B) != 0)
			r->r_bad++;
	return NULL;
}

START_TEST(test_threads)
{
	struct phantoms	*pt = phantoms_new();
	struct racer	 r[3];
	pthread_t	 th[3];
	char		 id[32];
	size_t		 i;

	ck_assert_int_eq(phantoms_set(pt, "steady", TOK_A), 0);
	for (i = 0; i < nitems(th); i++) {
		r[i].r_pt = pt;
		r[i].r_bad = 0;
		ck_assert_int_eq(pthread_create(&th[i], NULL, checker, &r[i]),
		    0);
	}
	/* Growth and churn under the readers. */
	for (i = 0; i < 2000; i++) {
		snprintf(id, sizeof(id), "churn-%zu", i % 300);
		ck_assert_int_eq(phantoms_set(pt, id, i % 2 ? TOK_A : TOK_B),
		    0);
	}
	for (i = 0; i < nitems(th); i++) {
		pthread_join(th[i], NULL);
		ck_assert_int_eq(r[i].r_bad, 0);
	}
	phantoms_free(pt);
}
END_TEST

static Suite *
phantom_suite(void)
{
	Suite	*s = suite_create("phantom");
	TCase	*tc = tcase_create("table");

	tcase_add_test(tc, test_set_check);
	tcase_add_test(tc, test_replace_remove);
	tcase_add_test(tc, test_not_a_token);
	tcase_add_test(tc, test_wrong_length);
	tcase_add_test(tc, test_wrong_digit);
	tcase_add_test(tc, test_upper_case);
	tcase_add_test(tc, test_unknown_id);
	tcase_add_test(tc, test_many_ids);
	tcase_add_test(tc, test_threads);
	suite_add_tcase(s, tc);
	return s;
}

CHECK_MAIN(phantom_suite)
