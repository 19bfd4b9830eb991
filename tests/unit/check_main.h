/*
 * tests/unit/check_main.h - the one main() of every check suite.
 *
 * A test file defines its tests, then a function that adds them to a
 * Suite, and ends with CHECK_MAIN(that_function).  CK_FORK etc. work as
 * check documents (valgrind runs with CK_FORK=no).
 */
#ifndef EGRESS_CHECK_MAIN_H
#define EGRESS_CHECK_MAIN_H

#include <check.h>
#include <stdlib.h>

#ifndef nitems
#define nitems(a)	(sizeof(a) / sizeof((a)[0]))
#endif

static inline int
check_run(Suite *s)
{
	SRunner	*sr = srunner_create(s);
	int	 failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

#define CHECK_MAIN(suite_fn)			\
int						\
main(void)					\
{						\
	return check_run(suite_fn());		\
}

#endif /* EGRESS_CHECK_MAIN_H */
