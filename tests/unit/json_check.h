/* For the unit tests of JSON views (cmocka): a member that must be there, with its type. */
#ifndef IOGAP_TESTS_JSON_CHECK_H
#define IOGAP_TESTS_JSON_CHECK_H

#include <cjson/cJSON.h>

/* o's member name, failing the test when it is missing or not of (one of the) cJSON type(s). */
static inline cJSON *json_get(cJSON *o, const char *name, int type)
{
	cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);

	if (!v || !(v->type & type)) {
		print_error("missing or wrong type: %s\n", name);
		fail();
	}
	return v;
}

#endif
