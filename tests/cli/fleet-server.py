#!/usr/bin/env python3
"""A fake fleet for tests/cli/fleet-status.sh: GET /NAME/v1/status answers the
file DIR/NAME.json as it is (so it may be broken on purpose); DIR/NAME.sleep
makes that host answer only after 30 s (a host that hangs). Listens on
127.0.0.1, a port the kernel picks, written to PORTFILE once listening."""
import http.server
import os
import sys
import time


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        parts = self.path.split("/")
        # "/NAME/v1/status" -> ["", NAME, "v1", "status"]
        if len(parts) != 4 or parts[2:] != ["v1", "status"] or not parts[1].isidentifier():
            self.send_error(404)
            return
        base = os.path.join(sys.argv[1], parts[1])
        if os.path.exists(base + ".sleep"):
            time.sleep(30)
        try:
            with open(base + ".json", "rb") as f:
                body = f.read()
        except OSError:
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
server.daemon_threads = True
with open(sys.argv[2] + ".tmp", "w") as f:
    f.write(str(server.server_address[1]))
os.rename(sys.argv[2] + ".tmp", sys.argv[2])
server.serve_forever()
