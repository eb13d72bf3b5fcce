/*
 * durations: see durations.h.
 */
#include "durations.h"

int
durations_ns(int64_t ms, int64_t *ns)
{
	int64_t v;

	if (__builtin_mul_overflow(ms, (int64_t)1000000, &v))
		return -1;
	*ns = v;
	return 0;
}

int
durations_gate_wait(int64_t start, int64_t interval, int64_t timeout, int64_t retries,
    int64_t *ms)
{
	int64_t v;

	if (start < 0 || interval < 0 || timeout < 0 || retries < 0 ||
	    __builtin_add_overflow(interval, timeout, &v) ||
	    __builtin_mul_overflow(v, retries, &v) ||
	    __builtin_add_overflow(v, start, &v) ||
	    __builtin_add_overflow(v, (int64_t)DURATIONS_GATE_SLACK, &v))
		return -1;
	*ms = v;
	return 0;
}
