"""Request variants of tests/interop/gateway-smuggle.sh (data, read by smuggle_client.py).

Each variant: (name, statuses, forwarded, raw[, options]).
  raw        the bytes the client sends in one write, as a latin-1 str. "/s###"
             is the variant's path marker; the client replaces it with
             "/s001", "/s002", ... (same length, so len() below stays right).
  statuses   the acceptable status sequences the client reads, e.g. "200 200";
             "|" separates alternatives where RFC 9112 leaves a choice.
  forwarded  "METHOD /s###/path" entries the backend must parse, "," between
             them ("" = nothing reaches the backend); None = only the
             differential checks (whatever the gateway logged as forwarded,
             the backend parsed exactly that), for the "|" cases.
  options    {"cl": "5"}: the Content-Length the backend sees on the first
             forwarded request (a de-chunked body); {"nochunked": True}: the
             client's responses must not be chunked (an HTTP/1.0 client).
The gateway under test has max_body 4096. Every request is from alice, who
is mapped (user alice, roles mid_server,itil).
"""

H = "Host: x\r\n"
C = "Connection: close\r\n"


def req(method, path, headers="", body="", version="HTTP/1.1", host=True, close=True):
    """One request; headers are "Name: value\\r\\n" lines, written as given."""
    return (f"{method} /s###{path} {version}\r\n" + (H if host else "") + headers
            + (C if close else "") + "\r\n" + body)


def post(path, body, headers="", close=True):
    return req("POST", path, f"Content-Length: {len(body)}\r\n" + headers, body, close=close)


def chunked(path, chunks, headers="", close=True):
    return req("POST", path, "Transfer-Encoding: chunked\r\n" + headers, chunks, close=close)


SMUG = "GET /s###/admin/delete-everything HTTP/1.1\r\nHost: x\r\nX-Client-User: admin\r\nX-Client-Roles: admin\r\n\r\n"
HELLO = "5\r\nhello\r\n0\r\n\r\n"

VARIANTS = [
    # --- baselines: the same framing done right is forwarded
    ("get", "200", "GET /s###/ok", req("GET", "/ok")),
    ("post-content-length", "200", "POST /s###/cl", post("/cl", "hello"), {"cl": "5"}),
    ("post-chunked", "200", "POST /s###/te", chunked("/te", HELLO), {"cl": "5"}),
    ("keep-alive-two", "200 200", "GET /s###/one,GET /s###/two",
     req("GET", "/one", close=False) + req("GET", "/two")),
    ("htab-in-value", "200", "GET /s###/tab", req("GET", "/tab", "X-A: a\tb\r\n")),
    ("uppercase-content-length", "200", "POST /s###/ucl",
     req("POST", "/ucl", "CONTENT-LENGTH: 5\r\n", "hello"), {"cl": "5"}),
    ("te-tab-ows", "200", "POST /s###/tetab", req("POST", "/tetab", "Transfer-Encoding:\tchunked\r\n", HELLO), {"cl": "5"}),
    ("te-trailing-space", "200", "POST /s###/tesp",
     req("POST", "/tesp", "Transfer-Encoding: chunked \r\n", HELLO), {"cl": "5"}),

    # --- the opening attack of issue 14, verbatim but for the path marker
    ("issue14-opening-attack", "400", "",
     f"POST /s###/innocent HTTP/1.1\r\nHost: x\r\nX-Pad : 1\r\nContent-Length: {len(SMUG)}\r\nConnection: close\r\n\r\n" + SMUG),
    ("issue14-te-colon-space", "400", "",
     f"POST /s###/innocent HTTP/1.1\r\nHost: x\r\nTransfer-Encoding : chunked\r\nContent-Length: {len(SMUG)}\r\n\r\n" + SMUG),
    ("issue14-cl-colon-space", "400", "",
     f"POST /s###/innocent HTTP/1.1\r\nHost: x\r\nContent-Length : {len(SMUG)}\r\n\r\n" + SMUG),

    # --- field names
    ("space-before-colon", "400", "", req("GET", "/a", "X-Pad : 1\r\n")),
    ("tab-before-colon", "400", "", req("GET", "/a", "X-Pad\t: 1\r\n")),
    ("space-in-name", "400", "", req("GET", "/a", "X Pad: 1\r\n")),
    ("name-not-token-paren", "400", "", req("GET", "/a", "X-P(ad): 1\r\n")),
    ("name-not-token-at", "400", "", req("GET", "/a", "X-Pad@: 1\r\n")),
    ("empty-name", "400", "", req("GET", "/a", ": 1\r\n")),
    ("line-without-colon", "400", "", req("GET", "/a", "X-Pad 1\r\n")),
    ("name-non-ascii", "400", "", req("GET", "/a", "X-P\xe4d: 1\r\n")),
    ("ws-line-after-request-line", "400", "", "GET /s###/a HTTP/1.1\r\n Host: x\r\n" + C + "\r\n"),

    # --- field values and line endings
    ("obs-fold-space", "400", "", req("GET", "/a", "X-A: 1\r\n  folded\r\n")),
    ("obs-fold-tab", "400", "", req("GET", "/a", "X-A: 1\r\n\tfolded\r\n")),
    ("obs-fold-identity", "400", "", req("GET", "/a", "X-A: 1\r\n X-Client-User: admin\r\n")),
    ("bare-cr-in-value", "400", "", req("GET", "/a", "X-A: 1\r2\r\n")),
    ("bare-cr-line-end", "400", "", req("GET", "/a", "X-A: 1\rX-Client-User: admin\r\n")),
    ("bare-lf-everywhere", "400", "", "GET /s###/a HTTP/1.1\nHost: x\nConnection: close\n\n"),
    ("bare-lf-one-header", "400", "", req("GET", "/a", "X-A: 1\nX-Client-User: admin\r\n")),
    ("bare-cr-request-line", "400", "", "GET /s###/a HTTP/1.1\rHost: x\r\n" + C + "\r\n"),
    ("nul-in-value", "400", "", req("GET", "/a", "X-A: a\x00b\r\n")),
    ("ctl-0x01-in-value", "400", "", req("GET", "/a", "X-A: a\x01b\r\n")),
    ("del-in-value", "400", "", req("GET", "/a", "X-A: a\x7fb\r\n")),
    ("vtab-before-te", "400", "", req("POST", "/a", "Transfer-Encoding:\x0bchunked\r\n", HELLO)),

    # --- Content-Length
    ("cl-twice-same", "400", "", req("POST", "/a", "Content-Length: 5\r\nContent-Length: 5\r\n", "hello")),
    ("cl-twice-different", "400", "", req("POST", "/a", "Content-Length: 5\r\nContent-Length: 0\r\n", "hello")),
    ("cl-list", "400", "", req("POST", "/a", "Content-Length: 5, 5\r\n", "hello")),
    ("cl-plus", "400", "", req("POST", "/a", "Content-Length: +5\r\n", "hello")),
    ("cl-inner-space", "400", "", req("POST", "/a", "Content-Length:  5 5\r\n", "hello")),
    ("cl-hex", "400", "", req("POST", "/a", "Content-Length: 0x5\r\n", "hello")),
    ("cl-negative", "400", "", req("POST", "/a", "Content-Length: -1\r\n", "hello")),
    ("cl-empty", "400", "", req("POST", "/a", "Content-Length: \r\n", "hello")),
    ("cl-overflow", "400|413", "", req("POST", "/a", "Content-Length: 18446744073709551621\r\n", "hello")),
    ("cl-leading-zeros", "200|400", None, req("POST", "/a", "Content-Length: 005\r\n", "hello")),
    ("cl-underscore-name", "200", "GET /s###/clu",
     req("GET", "/clu", "Content_Length: 20\r\n")),

    # --- Transfer-Encoding
    ("cl-te", "400", "", req("POST", "/a", "Content-Length: 6\r\nTransfer-Encoding: chunked\r\n", "0\r\n\r\nG")),
    ("te-cl", "400", "", req("POST", "/a", "Transfer-Encoding: chunked\r\nContent-Length: 4\r\n",
                             "5c\r\nGPOST /s###/b HTTP/1.1\r\nHost: x\r\nX-Client-User: admin\r\nContent-Length: 15\r\n\r\nx=1\r\n0\r\n\r\n")),
    ("te-gzip-chunked", "400", "", req("POST", "/a", "Transfer-Encoding: gzip, chunked\r\n", HELLO)),
    ("te-chunked-identity", "400", "", req("POST", "/a", "Transfer-Encoding: chunked, identity\r\n", HELLO)),
    ("te-xchunked", "400", "", req("POST", "/a", "Transfer-Encoding: xchunked\r\n", HELLO)),
    ("te-identity", "400", "", req("POST", "/a", "Transfer-Encoding: identity\r\n", "hello")),
    ("te-empty", "400", "", req("POST", "/a", "Transfer-Encoding: \r\n", HELLO)),
    ("te-twice", "400", "", req("POST", "/a", "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n", HELLO)),
    ("te-twice-obfuscated", "400", "", req("POST", "/a", "Transfer-Encoding: chunked\r\nTransfer-encoding: x\r\n", HELLO)),
    ("te-http10", "400", "", req("POST", "/a", "Transfer-Encoding: chunked\r\n", HELLO, version="HTTP/1.0")),
    ("te-uppercase", "200|400", None, req("POST", "/a", "Transfer-Encoding: CHUNKED\r\n", HELLO)),

    # --- chunked bodies
    ("chunk-size-overflow", "400|413", "", chunked("/a", "10000000000000005\r\nhello\r\n0\r\n\r\n")),
    ("chunk-size-negative", "400", "", chunked("/a", "-1\r\nhello\r\n0\r\n\r\n")),
    ("chunk-size-0x", "400", "", chunked("/a", "0x5\r\nhello\r\n0\r\n\r\n")),
    ("chunk-size-leading-space", "400", "", chunked("/a", " 5\r\nhello\r\n0\r\n\r\n")),
    ("chunk-data-missing-crlf", "400", "", chunked("/a", "5\r\nhelloX0\r\n\r\n")),
    ("chunk-data-too-long", "400", "", chunked("/a", "3\r\nhello\r\n0\r\n\r\n")),
    ("chunk-size-bare-lf", "400", "", chunked("/a", "5\nhello\r\n0\r\n\r\n")),
    ("chunk-ext-bare-lf", "400", "", chunked("/a", "5;a\nb\r\nhello\r\n0\r\n\r\n")),
    ("chunk-size-leading-zeros", "200", "POST /s###/lz", chunked("/lz", "0005\r\nhello\r\n0000\r\n\r\n"), {"cl": "5"}),
    ("chunk-size-uppercase-hex", "200", "POST /s###/hx", chunked("/hx", "A\r\n0123456789\r\n0\r\n\r\n"), {"cl": "10"}),
    ("chunk-extensions", "200", "POST /s###/ext",
     chunked("/ext", "5;foo=bar;q=\"x;y\"\r\nhello\r\n0;last=1\r\n\r\n"), {"cl": "5"}),
    ("chunk-ext-bws", "200|400", None, chunked("/a", "5 ;foo=bar\r\nhello\r\n0\r\n\r\n")),
    ("trailer-identity", "200", "POST /s###/tr",
     chunked("/tr", "5\r\nhello\r\n0\r\nX-Client-User: admin\r\nX_Client_Roles: admin\r\n\r\n", "Trailer: X-Client-User\r\n"),
     {"cl": "5"}),
    ("trailer-content-length", "200", "POST /s###/trcl",
     chunked("/trcl", "5\r\nhello\r\n0\r\nContent-Length: 100\r\nTransfer-Encoding: chunked\r\n\r\n"), {"cl": "5"}),
    ("chunked-body-over-max", "413", "",
     chunked("/a", "".join("400\r\n" + "x" * 1024 + "\r\n" for _ in range(5)) + "0\r\n\r\n")),

    # --- pipelining
    ("pipeline-after-cl-body", "200 200", "POST /s###/p1,GET /s###/p2",
     post("/p1", "hello", close=False) + req("GET", "/p2")),
    ("pipeline-after-chunked-body", "200 200", "POST /s###/p1,GET /s###/p2",
     chunked("/p1", HELLO, close=False) + req("GET", "/p2")),
    ("pipeline-request-as-body", "200", "POST /s###/outer",
     post("/outer", SMUG, close=False)),
    ("pipeline-after-error", "400", "",
     req("GET", "/bad", "X Pad: 1\r\n", close=False) + req("GET", "/after", "X-Client-User: admin\r\n")),
    ("pipeline-ok-error-ok", "200 400", "GET /s###/first",
     req("GET", "/first", close=False) + req("GET", "/bad", "Content-Length: 1, 2\r\n", close=False)
     + req("GET", "/third")),
    ("pipeline-after-413", "413", "",
     req("POST", "/big", "Content-Length: 5000\r\n", "x" * 5000, close=False) + req("GET", "/after")),
    ("get-with-smuggled-body", "200", "GET /s###/gb",
     req("GET", "/gb", f"Content-Length: {len(SMUG)}\r\n", SMUG)),

    # --- HTTP versions, targets
    ("http10-keep-alive", "200|200 200", None,
     req("GET", "/k1", "Connection: keep-alive\r\n", version="HTTP/1.0", close=False)
     + req("GET", "/k2", version="HTTP/1.0", close=False), {"nochunked": True}),
    ("http10-chunked-response", "200", "GET /s###/chunked-resp",
     req("GET", "/chunked-resp", version="HTTP/1.0", close=False), {"nochunked": True}),
    ("http10-post", "200", "POST /s###/p10",
     req("POST", "/p10", "Content-Length: 5\r\n", "hello", version="HTTP/1.0", close=False), {"cl": "5", "nochunked": True}),
    ("http11-chunked-response", "200", "GET /s###/chunked-resp", req("GET", "/chunked-resp")),
    ("host-missing", "400", "", req("GET", "/a", host=False)),
    ("host-twice", "400", "", req("GET", "/a", "Host: y\r\n")),
    ("absolute-form", "400", "", "GET http://x/s###/a HTTP/1.1\r\n" + H + C + "\r\n"),
    ("authority-form", "400", "", "CONNECT x:443 HTTP/1.1\r\n" + H + C + "\r\n"),
    ("target-space", "400", "", "GET /s###/a b HTTP/1.1\r\n" + H + C + "\r\n"),
    ("target-non-ascii", "400", "", "GET /s###/\xff\xfe HTTP/1.1\r\n" + H + C + "\r\n"),
    ("target-ctl", "400", "", "GET /s###/\x01 HTTP/1.1\r\n" + H + C + "\r\n"),
    ("request-line-double-space", "400", "", "GET  /s###/a HTTP/1.1\r\n" + H + C + "\r\n"),
    ("request-line-tab", "400", "", "GET\t/s###/a HTTP/1.1\r\n" + H + C + "\r\n"),
    ("version-1.2", "505", "", req("GET", "/a", version="HTTP/1.2")),
    ("version-2.0", "505", "", req("GET", "/a", version="HTTP/2.0")),
    ("version-lowercase", "400", "", req("GET", "/a", version="http/1.1")),
    ("version-0.9", "505", "", req("GET", "/a", version="HTTP/0.9")),

    # --- Expect
    ("expect-100-over-max", "413", "", req("POST", "/a", "Content-Length: 100000\r\nExpect: 100-continue\r\n")),
    ("expect-100-small", "100 200|200", "POST /s###/ex",
     req("POST", "/ex", "Content-Length: 5\r\nExpect: 100-continue\r\n", "hello"), {"cl": "5"}),
    ("body-over-max", "413", "", req("POST", "/a", "Content-Length: 5000\r\n", "x" * 5000)),

    # --- identity and forwarding headers nobody may forge
    ("identity-underscore", "200", "GET /s###/u", req("GET", "/u", "X_Client_User: admin\r\n")),
    ("identity-mixed-roles", "200", "GET /s###/r", req("GET", "/r", "x-client_roles: admin\r\n")),
    ("identity-upper", "200", "GET /s###/up", req("GET", "/up", "X-CLIENT-USER: admin\r\nX-CLIENT-ROLES: admin\r\n")),
    ("identity-all-four", "200", "GET /s###/f",
     req("GET", "/f", "X-Client-User: admin\r\nX_Client_Roles: admin\r\nX-Client-Cert-Sha256: 00\r\n"
         "X_CLIENT_CERT_SUBJECT: CN=admin\r\nX-Client-Other: 1\r\nx_client_: 1\r\n")),
    ("identity-after-body-headers", "200", "POST /s###/ab",
     post("/ab", "hello", "X-Client-User: admin\r\n"), {"cl": "5"}),
    ("identity-in-connection", "200", "GET /s###/conn",
     req("GET", "/conn", "Connection: X-Client-User, X-Client-Roles, X-Forwarded-For\r\n")),
    ("xff-spoof", "200", "GET /s###/xff", req("GET", "/xff", "X-Forwarded-For: 6.6.6.6\r\nX-Forwarded-Proto: http\r\n")),
    ("xff-underscore", "200", "GET /s###/xffu", req("GET", "/xffu", "X_Forwarded_For: 6.6.6.6\r\nx_forwarded_proto: http\r\n")),
    ("hop-by-hop-upgrade", "200 200", "GET /s###/upg,GET /s###/upg2",
     req("GET", "/upg", "Upgrade: websocket\r\nConnection: Upgrade, X-Hop\r\nX-Hop: 1\r\nKeep-Alive: 5\r\n"
         "Proxy-Authorization: x\r\nProxy-Connection: keep-alive\r\nTE: trailers\r\n",
         close=False) + req("GET", "/upg2")),
    # --- a backend that answers with bytes beyond its response (http.server and
    # node send a whole second response): that backend connection must not be
    # reused: the next request on it, and four more clients, each get their
    # own answer, never that one
    ("backend-extra-bytes", "200 200",
     "GET /s###/extra,GET /s###/after,GET /s###/after,GET /s###/after,GET /s###/after,GET /s###/after",
     req("GET", "/extra", close=False) + req("GET", "/after"), {"followups": 4}),
]
