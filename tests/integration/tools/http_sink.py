#!/usr/bin/env python3
"""A webhook receiver for the alert tests: accepts POSTs on 127.0.0.1:PORT and writes each body to
DIR/<n>.json (n counting from 1), answering 200. Standard library only."""
import http.server
import os
import sys
import threading

port, out_dir = int(sys.argv[1]), sys.argv[2]
lock = threading.Lock()
count = 0


class Handler(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        global count
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        with lock:
            count += 1
            path = os.path.join(out_dir, "%d.json" % count)
        with open(path + ".tmp", "wb") as f:
            f.write(body)
        os.rename(path + ".tmp", path)
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args):
        pass


http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler).serve_forever()
