#!/usr/bin/env python3
"""A stand-in for a ServiceNow instance's ADCv2 endpoints, over HTTPS.

usage: snow_adc.py PORT CERT KEY SERVER_HEADER SUPPORTS_TLS [HEAD [SUPPORTS_PATH]]
  SERVER_HEADER  value of the Server header ("snow_adc", or "-" for another one)
  SUPPORTS_TLS   body of GET /adcv2/supports_tls ("true", "mixed", "false")
  HEAD           "answer" (default); "ignore": a HEAD request is read and never
                 answered (the connection stays open); "405": Method Not Allowed
  SUPPORTS_PATH  where supports_tls answers (default /adcv2/supports_tls)
Binds 127.0.0.1 only.
"""
import http.server
import ssl
import sys
import time

port, cert, key, server_header, supports = sys.argv[1:6]
head_mode = sys.argv[6] if len(sys.argv) > 6 else "answer"
supports_path = sys.argv[7] if len(sys.argv) > 7 else "/adcv2/supports_tls"


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def version_string(self):
        return "snow_adc" if server_header == "snow_adc" else "nginx"

    def log_message(self, *args):
        pass

    def answer(self, with_body):
        if self.path == supports_path:
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
        if head_mode == "ignore":
            time.sleep(60)
            self.close_connection = True
            return
        if head_mode == "405":
            self.send_response(405)
            self.send_header("Allow", "GET")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        self.answer(False)

    def do_GET(self):
        self.answer(True)


ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(cert, key)
httpd = http.server.ThreadingHTTPServer(("127.0.0.1", int(port)), Handler)
httpd.daemon_threads = True
httpd.socket = ctx.wrap_socket(httpd.socket, server_side=True)
httpd.serve_forever()
