#!/usr/bin/env bash
# The manifest corpus, checked three ways:
#  1. every valid file passes the C validator (for the backend a line
#     "# backend: NAME" of the file names, containers by default: a file with
#     the keys of one backend is valid on that one only);
#  2. every invalid file fails it with exactly the error in its "# expect:" line
#     (FILE:LINE:COL: PATH: MESSAGE; a PATH of "$" means the document itself);
#     and with no other error (one error per file);
#  3. the JSON Schema (python3-jsonschema) agrees with the C validator on
#     valid/invalid for every file, except errors a schema cannot express;
#  4. the real manifests (manifests/*.yaml) pass the JSON Schema (the C
#     validator checks them in tests/cli).
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top" || exit 2
ctl=${RECONCILERCTL:-$top/build/reconcilerctl}
results=$(mktemp /tmp/rt-corpus.XXXXXX)
trap 'rm -f "$results"' EXIT

for f in tests/manifests/valid/*.yaml; do
	backend=$(sed -n 's/^# backend: \([a-z]*\)$/\1/p' "$f" | head -n 1)
	if out=$("$ctl" validate -q --backend "${backend:-containers}" "$f" 2>&1); then
		echo "ok - corpus: $f is valid"
		echo "$f valid" >>"$results"
	else
		echo "not ok - corpus: $f should be valid"
		printf '%s\n' "$out" | sed 's/^/#   /'
		echo "$f invalid" >>"$results"
	fi
done

for f in tests/manifests/invalid/*.yaml; do
	want=$(sed -n '1s/^# expect: //p' "$f")
	want=${want/: \$: /: }
	out=$("$ctl" validate "$f" 2>&1)
	rc=$?
	if [ $rc -eq 1 ]; then
		echo "$f invalid" >>"$results"
	else
		echo "$f valid" >>"$results"
	fi
	if [ -z "$want" ]; then
		echo "not ok - corpus: $f has no '# expect:' line"
	elif [ $rc -eq 1 ] && [ "$out" = "$f:$want" ]; then
		echo "ok - corpus: $f: $want"
	elif [ $rc -eq 1 ] && grep -qxF -- "$f:$want" <<<"$out"; then
		echo "not ok - corpus: $f: more than the one expected error"
		printf '%s\n' "$out" | grep -vxF -- "$f:$want" | sed 's/^/#   also: /'
	else
		echo "not ok - corpus: $f (exit $rc)"
		echo "#   wanted: $f:$want"
		printf '%s\n' "$out" | sed 's/^/#   got:    /'
	fi
done

# The schema side, with the C verdicts; its own lines are TAP-ified here.
if /usr/bin/python3 -c 'import jsonschema, yaml' 2>/dev/null; then
	for f in manifests/*.yaml; do
		if out=$(/usr/bin/python3 tests/schema_check.py "$f" 2>&1); then
			echo "ok - corpus: JSON Schema accepts $f"
		else
			echo "not ok - corpus: JSON Schema rejects $f"
			grep '^FAIL' <<<"$out" | sed 's/^/#   /'
		fi
	done
	out=$(/usr/bin/python3 tests/schema_check.py --c-results "$results" 2>&1)
	rc=$?
	summary=$(tail -n 1 <<<"$out")
	if [ $rc -eq 0 ]; then
		echo "ok - corpus: JSON Schema and C validator agree ($summary)"
	else
		echo "not ok - corpus: JSON Schema and C validator disagree ($summary)"
		grep -v '^ok\|^PASS' <<<"$out" | sed 's/^/#   /' | head -60
	fi
else
	echo "not ok - corpus: /usr/bin/python3 lacks jsonschema or yaml (make deps)"
fi
