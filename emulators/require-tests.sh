#!/usr/bin/env bash
# require-tests.sh GO-TEST-COMMAND...
# Runs a `go test -run PATTERN` command verbosely and fails when no test
# matched the pattern: go test itself passes then, so a renamed or
# mistagged test would silently stop running. Prints the results, and the
# whole log when a test failed.
set -uo pipefail
log=$(mktemp)
trap 'rm -f "$log"' EXIT
"$@" -v >"$log" 2>&1
rc=$?
if ((rc == 0)); then
	grep -E '^(--- |ok |FAIL|panic:|[[:space:]]+[[:alnum:]_]+_test\.go:[0-9]+:)' "$log"
else
	# A failure shows everything: the parts' output (stack.sh's, logged by
	# the tests on several lines) is what tells why.
	cat "$log"
fi
ran=$(grep -cE '^=== RUN   Test[^/]*$' "$log")
if ((rc == 0 && ran == 0)); then
	echo "require-tests: no test matched: $*" >&2
	exit 1
fi
echo "require-tests: $ran tests ran"
exit "$rc"
