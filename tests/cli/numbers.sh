#!/usr/bin/env bash
# Numbers on the command line are taken whole: "4x" is an error, not 4.
. "$(dirname "$0")/lib.sh"

expect_exit "history --limit 3x is refused" 2 "$RECONCILERCTL" history --limit 3x --state-dir /nonexistent
expect_contains "with the reason" "--limit wants a positive number"
expect_exit "history --limit 0 is refused" 2 "$RECONCILERCTL" history --limit 0 --state-dir /nonexistent
expect_exit "apply -j 4x is refused" 2 "$RECONCILERCTL" apply -j 4x -f /nonexistent.yaml
expect_contains "with the reason" "--concurrency wants 1 to 64"
expect_exit "apply -j 65 is refused" 2 "$RECONCILERCTL" apply -j 65 -f /nonexistent.yaml
