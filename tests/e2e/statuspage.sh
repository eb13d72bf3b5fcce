#!/usr/bin/env bash
# The status page at GET / on reconcilerd's TCP listener, against a real
# daemon converging real images, rendered by headless Chromium: the DOM holds
# the daemon's revision, the commit subject (escaped, not markup), every
# service with its state, health and digest, the drift of a failed rollout
# and the history; the page loads nothing from elsewhere and is served with a
# CSP that allows nothing but its inline style. A screenshot goes to
# /var/tmp/reconciler-test/artifacts/statuspage.png (outside the repository).
. "$(dirname "$0")/daemon-lib.sh"

CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
ARTIFACTS=${RT_ARTIFACTS:-/var/tmp/reconciler-test/artifacts}
SHOT=$ARTIFACTS/statuspage.png

dl_setup rt-statuspage
P=rt-statuspage

# Chromium must run here (CI installs it through tests/env/deps.sh); only a
# machine where it cannot start at all skips the rendering checks.
chromium_log=$E2E_TMP/chromium.log
profile=
chromium_ok=0
chromium() { # ARGS…: one headless run, stderr to the log, a fresh profile
	local pid rc
	profile=$(mktemp -d /tmp/rt-statuspage-chromium.XXXXXX)
	"$CHROMIUM" --headless --no-sandbox --disable-gpu --disable-dev-shm-usage \
		--no-first-run --no-default-browser-check --disable-extensions \
		--disable-background-networking --disable-component-update --disable-sync \
		--user-data-dir="$profile" "$@" </dev/null 2>>"$chromium_log" &
	pid=$!
	# it exits by itself after --dump-dom or --screenshot; a hung one is
	# ended by its own PID
	if ! rt_wait 90 rt_pid_gone "$pid"; then
		echo "# chromium $pid still runs after 90 s: ended" >>"$chromium_log"
		kill -KILL "$pid" 2>/dev/null
	fi
	wait "$pid"
	rc=$?
	rm -rf "$profile"
	profile=
	return "$rc"
}
trap '[ -z "$profile" ] || rm -rf "$profile"; dl_cleanup' EXIT
if [ -x "$CHROMIUM" ] && chromium --dump-dom 'data:text/html,<p>rt-ok</p>' 2>/dev/null |
	grep -q 'rt-ok'; then
	chromium_ok=1
fi

dl_repo_init
DL_MANIFEST=manifests/page.yaml
mkdir -p "$DL_WORK/manifests"
WEB_IMAGE=$IMG_WEB_V1 GREETING=hello
manifest() {
	cat >"$DL_WORK/$DL_MANIFEST" <<EOT
version: 1
project: $P
services:
  web:
    image: $WEB_IMAGE
    environment:
      GREETING: '$GREETING'
    healthcheck:
      test: ["CMD", "wget", "-q", "-O", "/dev/null", "http://127.0.0.1:8080/health"]
      interval: 1s
      timeout: 2s
      retries: 3
  worker:
    image: $IMG_SLEEPER
EOT
}

port=$(e2e_free_port)
conf=$E2E_TMP/reconciler.yaml
printf 'listen: 127.0.0.1:%s\n' "$port" >"$conf"
base=http://127.0.0.1:$port

manifest
subject1='page: first <b>deploy</b> & "quotes"'
rev1=$(dl_commit_push "$subject1")
dl_daemon_args
check "the daemon starts with a listener on 127.0.0.1:$port" dl_daemon_start -c "$conf" "${DL_ARGS[@]}"
check "the first deploy converges" dl_wait_head 120 "$rev1" "in-sync converged" || dl_diag

WEB_IMAGE=$IMG_WEB_V2
manifest
rev2=$(dl_commit_push "page: web v2")
check "web v2 rolls out" dl_wait_head 120 "$rev2" "in-sync converged" || dl_diag

# A never-healthy web: rolled back, the revision held back, the drift stays
# (and one of its reasons carries markup the page must escape).
WEB_IMAGE=$IMG_UNHEALTHY GREETING='<script>alert(1)</script>'
manifest
rev3=$(dl_commit_push "page: web unhealthy")
check "the unhealthy web is rolled back (degraded)" dl_wait_head 180 "$rev3" degraded || dl_diag
check "status.json lists the services after the cycle" \
	test "$(dl_status '" ".join(s["service"] + ":" + s["state"] for s in d["services"])')" = \
	"web:running worker:running"
check "status.json's drift names web's image" \
	test "$(dl_status '[s["action"] for s in d["drift"]["services"] if s["service"] == "web"][0]')" = recreate
# reconcilerctl status lists the same containers (one function serves both)
expect_exit "reconcilerctl status --json" 0 "$RECONCILERCTL" status -f "$DL_WORK/$DL_MANIFEST" --json
check "and agrees with status.json" test \
	"$("$E2E_PYTHON" -c 'import json, sys; print(" ".join(s["service"] + ":" + s["state"] + ":" + s["image"] for s in json.loads(sys.argv[1])["services"]))' "$out")" = \
	"$(dl_status '" ".join(s["service"] + ":" + s["state"] + ":" + s["image"] for s in d["services"])')"

# ---- HTTP: headers, escaping, no external reference
hdr=$E2E_TMP/page.headers
body=$E2E_TMP/page.html
code=$(curl -s -D "$hdr" -o "$body" -w '%{http_code}' --max-time 15 "$base/")
check "GET / answers 200 ($code)" test "$code" = 200
header_is() { grep -qi "^$1: $2"$'\r'"\$" "$hdr"; }
check "Content-Type is text/html; charset=utf-8" header_is Content-Type 'text/html; charset=utf-8'
check "the CSP allows nothing but inline style" \
	header_is Content-Security-Policy "default-src 'none'; style-src 'unsafe-inline'"
check "X-Content-Type-Options: nosniff" header_is X-Content-Type-Options nosniff
check "POST / is 405" test "$(curl -s -o /dev/null -w '%{http_code}' -X POST --max-time 15 "$base/")" = 405
check "/v1/status still answers JSON" test "$(curl -s -o /dev/null -w '%{content_type}' --max-time 15 "$base/v1/status")" = application/json
# no_external FILE: no src= or href= (any quoting) to http(s) or a
# protocol-relative URL, no @import, no url(): the page stands alone.
no_external() {
	! grep -Eiq "(src|href|action|srcset)[[:space:]]*=[[:space:]]*[\"']?[[:space:]]*(https?:)?//|@import|url\(" "$1"
}
check "the page has no external reference" no_external "$body"
check "the page has no script" sh -c "! grep -qi '<script' '$body'"
check "the subject is escaped in the HTML" grep -qF 'first &lt;b&gt;deploy&lt;/b&gt; &amp; &quot;quotes&quot;' "$body"

if [ "$chromium_ok" != 1 ]; then
	ok "headless Chromium renders the page # SKIP $CHROMIUM cannot run here (see $chromium_log)"
	exit 0
fi

# ---- the DOM as Chromium builds it
dom=$E2E_TMP/page.dom
chromium --dump-dom "$base/" >"$dom"
check "Chromium renders the page ($(wc -c <"$dom") bytes of DOM)" grep -q '<section id="services"' "$dom"
in_dom() { grep -qF -- "$1" "$dom"; }
check "the DOM shows the running revision ${rev3:0:12}" in_dom ">${rev3:0:12}</code>"
check "the DOM has the whole revision id in a title" in_dom "title=\"$rev3\""
# shellcheck disable=SC1111 # the page's own quotation marks
check "the DOM shows the subject of ${rev3:0:12}" in_dom "“page: web unhealthy”"
check "the DOM shows a subject with markup as text" in_dom 'page: first &lt;b&gt;deploy&lt;/b&gt; &amp; "quotes"'
check "the subject's markup did not become elements" sh -c "! grep -qF '<b>deploy' '$dom'"
check "the project and its state are in the heading" \
	"$E2E_PYTHON" - "$dom" "$P" <<'PY'
import re, sys
dom, project = open(sys.argv[1]).read(), sys.argv[2]
h1 = re.search(r"<h1>(.*?)</h1>", dom, re.S).group(1)
sys.exit(0 if project in h1 and ">degraded</span>" in h1 else 1)
PY
# row SERVICE: the services table's row of SERVICE, its cells as text
# separated by " | " (titles after the text in brackets).
row() {
	"$E2E_PYTHON" - "$dom" "$1" <<'PY'
import html.parser, sys
dom, want = open(sys.argv[1]).read(), sys.argv[2]
class P(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.sec = self.cell = None
        self.rows, self.row = [], None
    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "section":
            self.sec = a.get("id")
        if self.sec != "services":
            return
        if tag == "tr":
            self.row = []
        elif tag == "td":
            self.cell = ""
        elif self.cell is not None and a.get("title"):
            self.cell += "[" + a["title"] + "]"
    def handle_endtag(self, tag):
        if self.sec == "services" and tag == "td" and self.row is not None:
            self.row.append(" ".join(self.cell.split()))
            self.cell = None
        elif self.sec == "services" and tag == "tr" and self.row:
            self.rows.append(self.row)
            self.row = None
    def handle_data(self, data):
        if self.cell is not None:
            self.cell += data
p = P()
p.feed(dom)
for r in p.rows:
    if r and r[0].split()[0] == want:
        print(" | ".join(r))
PY
}
web_row=$(row web)
worker_row=$(row worker)
echo "# web:    $web_row"
echo "# worker: $worker_row"
contains() { case $1 in *"$2"*) return 0 ;; esac; return 1; }
web_digest=${IMG_WEB_V2#*@sha256:}
sleeper_digest=${IMG_SLEEPER#*@sha256:}
check "web's row: marked drifted" contains "$web_row" "web drift |"
check "web's row: running (the old container), healthy" contains "$web_row" "]running | healthy |"
check "web's row: the short digest of v2 (kept after the rollback)" contains "$web_row" "web@sha256:${web_digest:0:12}"
check "web's row: the whole image reference in the title" contains "$web_row" "[$IMG_WEB_V2]"
check "web's row: the last rollout, a recreate, failed at ${rev3:0:12}" contains "$web_row" "]failed [$rev3]${rev3:0:12}"
check "worker's row: running, no health check" contains "$worker_row" "]running | — |"
check "worker's row: the short digest" contains "$worker_row" "sleeper@sha256:${sleeper_digest:0:12}"
check "worker's row: deployed at ${rev1:0:12}" contains "$worker_row" "[$rev1]"
check "worker's row: the last rollout is the first create" contains "$worker_row" "create ok"
drift_text=$("$E2E_PYTHON" -c '
import re, sys
dom = open(sys.argv[1]).read()
s = re.search(r"<section id=\"drift\">(.*?)</section>", dom, re.S).group(1)
print(" ".join(re.sub(r"<[^>]+>", " ", s).split()))' "$dom")
echo "# drift: $drift_text"
check "the drift names web, to recreate" contains "$drift_text" "web recreate"
check "the drift says why: the image" contains "$drift_text" "image changed: $IMG_WEB_V2 -&gt; $IMG_UNHEALTHY"
check "the drift shows web held back at ${rev3:0:12}" contains "$drift_text" "Held back"
check "the worker is not in the drift" sh -c "! echo \"\$1\" | grep -q worker" _ "$drift_text"
history_rows=$(grep -o '<td data-l="When"' "$dom" | wc -l)
check "the history lists the three rollouts ($history_rows rows)" test "$history_rows" -ge 3
check "the DOM has no script" sh -c "! grep -qi '<script' '$dom'"
check "the DOM has no external reference" no_external "$dom"
check "the drift shows the new GREETING as text" in_dom '&lt;script&gt;alert(1)&lt;/script&gt;'

# ---- a screenshot, outside the repository
mkdir -p "$ARTIFACTS"
rm -f "$SHOT"
chromium --screenshot="$SHOT" --window-size=1280,900 --hide-scrollbars "$base/" >/dev/null
size=$(stat -c %s "$SHOT" 2>/dev/null || echo 0)
is_png() { [ "$(head -c 8 "$1" | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a ]; }
check "the screenshot is a PNG ($size bytes at $SHOT)" is_png "$SHOT"
check "the screenshot is not blank (over 20 KB)" test "$size" -gt 20000
chromium --screenshot="$ARTIFACTS/statuspage-phone.png" --window-size=390,1600 --hide-scrollbars "$base/" >/dev/null
check "a phone-sized screenshot too" test -s "$ARTIFACTS/statuspage-phone.png"

# ---- the daemon stops cleanly (a sanitizer build reports here)
dl_daemon_stop 30
check "the daemon exits 0 on SIGTERM" test "$DL_DAEMON_RC" = 0
check "no sanitizer report in the daemon's log" sh -c "! grep -qE 'Sanitizer|runtime error' '$DL_LOG'"
