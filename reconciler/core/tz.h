/*
 * tz: IANA time zones read from the system's TZif files (RFC 8536), with the
 * POSIX TZ rule of their footer for times past the last transition. A zone is
 * plain data once loaded, so offsets are computed without touching TZ,
 * tzset() or any other process-wide state: any thread may use a zone.
 */
#ifndef RECONCILER_TZ_H
#define RECONCILER_TZ_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define TZ_FILE_MAX (256u << 10)

struct tz;

/* Loads name ("Europe/Paris") from $TZDIR or /usr/share/zoneinfo; "UTC" and
 * "Etc/UTC" need no file. Errors name the zone and the fix. */
int tz_load(struct tz **out, const char *name, char *err);
/* Decodes a TZif file held in memory (tests, fuzzing). */
int tz_parse(struct tz **out, const char *name, const unsigned char *data, size_t len, char *err);
void tz_free(struct tz *z);
/* Borrowed. */
const char *tz_name(const struct tz *z);

/* Seconds east of UTC in effect at instant t (NULL zone: UTC). */
long tz_offset(const struct tz *z, time_t t);

#endif
