#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
# A loopback HTTPS origin for the integration tests: serves every test name, logs the SNI of each connection.
"""usage: origin.py CERT KEY PORTFILE LOGFILE

Binds 127.0.0.1 on a free port, writes the port to PORTFILE once it listens,
answers every GET with "origin <Host> sni=<SNI>" and appends one line per
TLS handshake ("sni NAME") and per request ("GET HOST PATH") to LOGFILE.
"""
import http.server
import os
import ssl
import sys
import threading

cert, key, portfile, logfile = sys.argv[1:5]
lock = threading.Lock()


def log(line):
    with lock, open(logfile, "a") as f:
        f.write(line + "\n")


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self):
        sni = getattr(self.connection, "gn_sni", None) or "-"
        host = self.headers.get("Host", "-")
        log("GET %s %s sni=%s" % (host, self.path, sni))
        body = ("origin %s sni=%s\n" % (host, sni)).encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)
        self.close_connection = True

    def log_message(self, fmt, *args):
        pass


def on_sni(sock, name, ctx):
    sock.gn_sni = name
    log("sni %s" % (name or "-"))


ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(cert, key)
ctx.sni_callback = on_sni


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    # A proxy under load opens many connections at once; 5 (the default) drops SYNs.
    request_queue_size = 128

    def get_request(self):
        sock, addr = self.socket.accept()
        return ctx.wrap_socket(sock, server_side=True, do_handshake_on_connect=False), addr

    def finish_request(self, request, client_address):
        try:
            request.do_handshake()
        except (ssl.SSLError, OSError) as e:
            log("handshake failed: %s" % e)
            return
        super().finish_request(request, client_address)


srv = Server(("127.0.0.1", 0), Handler)
with open(portfile + ".tmp", "w") as f:
    f.write("%d\n" % srv.server_address[1])
os.rename(portfile + ".tmp", portfile)
srv.serve_forever()
