#!/usr/bin/env python3
"""A stand-in for a ServiceNow instance's ADCv2 endpoints, over HTTPS.

usage: snow_adc.py PORT CERT KEY SERVER_HEADER SUPPORTS_TLS
  SERVER_HEADER  value of the Server header ("snow_adc", or "-" for another one)
  SUPPORTS_TLS   body of GET /adcv2/supports_tls ("true", "mixed", "false")
Binds 127.0.0.1 only.
"""
import http.server
import ssl
import sys

port, cert, key, server_header, supports = sys.argv[1:6]


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def version_string(self):
        return "snow_adc" if server_header == "snow_adc" else "nginx"

    def log_message(self, *args):
        pass

    def answer(self, with_body):
        if self.path == "/adcv2/supports_tls":
            body = (supports + "\n").encode()
            status = 200
        elif self.path == "/":
            body = b"<html>instance</html>\n"
            status = 200
        else:
            body = b"not found\n"
            status = 404
        self.send_response(status)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if with_body:
            self.wfile.write(body)

    def do_HEAD(self):
        self.answer(False)

    def do_GET(self):
        self.answer(True)


ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(cert, key)
httpd = http.server.ThreadingHTTPServer(("127.0.0.1", int(port)), Handler)
httpd.socket = ctx.wrap_socket(httpd.socket, server_side=True)
httpd.serve_forever()
