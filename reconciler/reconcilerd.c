/*
 * reconcilerd: the daemon. Parses options and wires the modules together;
 * nothing else lives here.
 */
#include <stdio.h>
#include <string.h>

int
main(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--version") == 0 || strcmp(argv[i], "-V") == 0) {
			printf("reconcilerd %s (%s)\n", RECONCILER_VERSION, RECONCILER_GIT_REV);
			return 0;
		}
	}
	fprintf(stderr, "reconcilerd: the daemon is not built yet in this version\n");
	return 2;
}
