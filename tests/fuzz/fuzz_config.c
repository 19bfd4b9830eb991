/*
 * libFuzzer target for the config parser: any bytes must give either a
 * config or at least one FILE:LINE:COLUMN error, never a crash or leak.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "common/errlist.h"
#include "daemon/config.h"

#include "fuzz_util.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct errlist	 el;
	struct config	*cf;

	errlist_init(&el);
	cf = config_parse((const char *)data, size, "fuzz.yaml", &el);
	CHECK(cf != NULL || el.el_count != 0);
	CHECK(cf == NULL || el.el_count == 0);
	config_free(cf);
	errlist_free(&el);
	return 0;
}
