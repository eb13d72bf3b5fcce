#!/usr/bin/env python3
"""A stand-in for GitHub's and Gitea's commit status endpoints (and their pull
request endpoint), on loopback.

    status-server.py PORT OUT TOKEN

POST /repos/OWNER/NAME/statuses/SHA is GitHub's form (Authorization: Bearer
TOKEN, Accept: application/vnd.github+json, X-GitHub-Api-Version), and
POST /api/v1/repos/OWNER/NAME/statuses/SHA Gitea's (Authorization: token
TOKEN). Each request is appended to OUT as one JSON line: {"provider",
"path", "sha", "ok", "why", "body"}; "ok" says whether the headers, the path
and the body are what that API takes (state one of its four, description at
most 140 characters, context set). A good request gets 201 and the status
back, as the real APIs do; a bad one 401 or 422.

POST /repos/OWNER/NAME/pulls (GitHub) and /api/v1/repos/OWNER/NAME/pulls
(Gitea) take {"title", "body", "head", "base"} with the same headers and
answer 201 with an html_url; recorded the same way, with "sha" null.
"""
import http.server
import json
import re
import sys

PORT, OUT, TOKEN = int(sys.argv[1]), sys.argv[2], sys.argv[3]
PATH = re.compile(r"^(/api/v1)?/repos/([^/]+)/([^/]+)/statuses/([0-9a-f]{40})$")
STATES = ("pending", "success", "failure", "error")
PULLS = re.compile(r"^(/api/v1)?/repos/([^/]+)/([^/]+)/pulls$")


def judge_headers(provider, headers):
    auth = headers.get("Authorization", "")
    if provider == "github":
        if auth != "Bearer " + TOKEN:
            return 401, "authorization is not 'Bearer TOKEN'"
        if headers.get("Accept") != "application/vnd.github+json":
            return 422, "Accept is not application/vnd.github+json"
    elif auth != "token " + TOKEN:
        return 401, "authorization is not 'token TOKEN'"
    if headers.get("Content-Type") != "application/json":
        return 422, "Content-Type is not application/json"
    return 201, ""


def judge_pull(provider, headers, body):
    code, why = judge_headers(provider, headers)
    if code != 201:
        return code, why
    if not isinstance(body, dict) or set(body) != {"title", "body", "head", "base"}:
        return 422, "a pull request wants title, body, head and base"
    if not body["title"] or "\n" in body["title"]:
        return 422, "title"
    return 201, ""


def judge(provider, headers, body):
    code, why = judge_headers(provider, headers)
    if code != 201:
        return code, why
    if provider == "github" and headers.get("X-GitHub-Api-Version") != "2022-11-28":
        return 422, "no X-GitHub-Api-Version"
    if not isinstance(body, dict) or body.get("state") not in STATES:
        return 422, "state"
    if len(body.get("description", "")) > 140 or "\n" in body.get("description", ""):
        return 422, "description"
    if not body.get("context"):
        return 422, "context"
    if set(body) - {"state", "description", "context", "target_url"}:
        return 422, "unknown fields"
    return 201, ""


class Handler(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        m = PATH.match(self.path)
        pull = PULLS.match(self.path)
        try:
            body = json.loads(raw)
        except ValueError:
            body = None
        if pull:
            provider, sha = ("gitea" if pull.group(1) else "github"), None
            code, why = judge_pull(provider, self.headers, body)
            if code == 201:
                body = dict(body, html_url="http://forge.invalid/pull/1")
        elif not m:
            code, why, provider, sha = 404, "path", None, None
        else:
            provider = "gitea" if m.group(1) else "github"
            sha = m.group(4)
            code, why = judge(provider, self.headers, body)
        with open(OUT, "a") as f:
            f.write(json.dumps({"provider": provider, "path": self.path, "sha": sha,
                                "ok": code == 201, "why": why, "body": body}) + "\n")
        reply = json.dumps(body if code == 201 else {"message": why}).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)

    def log_message(self, *a):
        pass


http.server.HTTPServer(("127.0.0.1", PORT), Handler).serve_forever()
