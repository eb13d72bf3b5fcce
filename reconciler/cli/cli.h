/*
 * reconcilerctl's internals, shared by its command files (cmd_*.c): the
 * command table's entry, one cmd_<name> per verb, and the few helpers every
 * command speaks through. Nothing here is part of libreconciler.
 */
#ifndef RECONCILER_CLI_H
#define RECONCILER_CLI_H

#include <jansson.h>
#include <stddef.h>

#define STATE_DIR_DEFAULT "/var/lib/reconciler"
#define DEFAULT_MANIFEST "manifests/prod.yaml"

#define EXIT_USAGE 2

/* One verb of the table in reconcilerctl.c; fn gets argv from the verb on. */
struct command {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *usage;
	const char *summary;
};

/* The verbs, one file each (cmd_<name>.c; help and version in reconcilerctl.c). */
int cmd_validate(int argc, char **argv);
int cmd_set_image(int argc, char **argv);
int cmd_update_images(int argc, char **argv);
int cmd_diff(int argc, char **argv);
int cmd_apply(int argc, char **argv);
int cmd_status(int argc, char **argv);
int cmd_sync(int argc, char **argv);
int cmd_history(int argc, char **argv);
int cmd_import_compose(int argc, char **argv);
int cmd_backup(int argc, char **argv);
int cmd_fleet(int argc, char **argv);
int cmd_secret(int argc, char **argv);
int cmd_version(int argc, char **argv);
int cmd_help(int argc, char **argv);

/* The table's entry for name, or NULL. */
const struct command *cli_find_command(const char *name);
/* Prints "reconcilerctl NAME: <message>" and the verb's usage to stderr;
 * returns EXIT_USAGE. */
int cli_usage_error(const char *name, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* t (seconds since the epoch) as "YYYY-MM-DD HH:MM:SSZ". */
void cli_fmt_time(long long t, char *out, size_t n);

/* --- the running daemon: its control socket and state directory (cli_daemon.c) */

struct cli_source;

/* <state_dir>/name (the default state directory without --state-dir). */
char *cli_state_file(const struct cli_source *src, const char *name);
json_t *cli_read_json_file(const char *path);
/* HTTP status and *out the JSON answer, or -1 when no daemon answers. */
long cli_daemon_call(const struct cli_source *src, const char *method, const char *path,
    json_t **out);
/* The daemon's status.json; *live says whether the daemon itself answered. */
json_t *cli_daemon_status(const struct cli_source *src, int *live);

#endif
