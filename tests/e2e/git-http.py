#!/usr/bin/env python3
# A Git host's smart HTTP on loopback, for the e2e scenarios: git http-backend
# behind Basic auth (user x-access-token, the token in TOKEN_FILE). Every
# request is logged to LOG as "METHOD PATH good|bad|none". Started by the
# scenario in the background and stopped by its PID.
#   git-http.py PORT ROOT TOKEN_FILE LOG
import base64, http.server, os, subprocess, sys
port, root, token_file, log = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
token = open(token_file).read().strip()
good = "Basic " + base64.b64encode(("x-access-token:" + token).encode()).decode()

class H(http.server.BaseHTTPRequestHandler):
    def body(self):
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            data = b""
            while True:
                n = int(self.rfile.readline().split(b";")[0].strip(), 16)
                if n == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return data
                data += self.rfile.read(n)
                self.rfile.readline()
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def serve(self):
        data = self.body() if self.command == "POST" else b""
        auth = self.headers.get("Authorization")
        with open(log, "a") as f:
            f.write("%s %s %s\n" % (self.command, self.path.split("?")[0],
                                    "good" if auth == good else "none" if auth is None else "bad"))
        if auth != good:
            self.send_response(401)
            self.send_header("WWW-Authenticate", 'Basic realm="infra"')
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        path, _, query = self.path.partition("?")
        env = {"PATH": os.environ["PATH"], "GIT_PROJECT_ROOT": root, "GIT_HTTP_EXPORT_ALL": "1",
               "PATH_INFO": path, "QUERY_STRING": query, "REQUEST_METHOD": self.command,
               "CONTENT_TYPE": self.headers.get("Content-Type", ""),
               "CONTENT_LENGTH": str(len(data)), "REMOTE_USER": "x-access-token",
               "REMOTE_ADDR": "127.0.0.1"}
        for h in ("Content-Encoding", "Git-Protocol"):
            if self.headers.get(h):
                env["HTTP_" + h.upper().replace("-", "_")] = self.headers[h]
        out = subprocess.run(["git", "http-backend"], input=data, env=env,
                             stdout=subprocess.PIPE).stdout
        sep = out.find(b"\r\n\r\n")
        head, rest = (out[:sep], out[sep + 4:]) if sep >= 0 else out.split(b"\n\n", 1)
        status, headers = 200, []
        for line in head.decode().splitlines():
            k, _, v = line.partition(":")
            if k.lower() == "status":
                status = int(v.split()[0])
            elif k:
                headers.append((k, v.strip()))
        self.send_response(status)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(rest)))
        self.end_headers()
        self.wfile.write(rest)

    do_GET = do_POST = serve

    def log_message(self, *a):
        pass

http.server.ThreadingHTTPServer(("127.0.0.1", port), H).serve_forever()
