// smuggle_backend.js PORT LOGFILE - a Node.js `http` backend for the
// gateway's smuggling test (loopback only). Logs one JSON line per request it
// parsed, with the same fields as smuggle_backend.py ("user"/"roles" join
// every value of headers whose name, "_" read as "-", is x-client-user /
// x-client-roles), and one {"err", "raw"} line per request llhttp refused.
// Answers 200 "ok TARGET\n"; .../chunked-resp gets it chunked; .../extra
// gets its answer followed by a whole second response on the same socket.
'use strict';
const http = require('http');
const fs = require('fs');

const port = Number(process.argv[2]);
const fd = fs.openSync(process.argv[3], 'a');
const log = (o) => { o.be = 'node'; fs.writeSync(fd, JSON.stringify(o) + '\n'); };
const HOP = ['keep-alive', 'upgrade', 'te', 'trailer', 'proxy-authorization', 'proxy-connection', 'expect',
	'transfer-encoding', 'x-hop'];
const norm = (n) => n.trim().toLowerCase().replace(/_/g, '-');
const joined = (raw, want) => {
	const v = [];
	for (let i = 0; i < raw.length; i += 2) if (norm(raw[i]) === want) v.push(raw[i + 1].trim());
	return v.length ? v.join(',') : null;
};

const srv = http.createServer({ keepAliveTimeout: 30000 }, (req, res) => {
	let n = 0;
	req.on('data', (c) => { n += c.length; });
	req.on('end', () => {
		const raw = req.rawHeaders;
		const xc = new Set();
		for (let i = 0; i < raw.length; i += 2) if (norm(raw[i]).startsWith('x-client-')) xc.add(norm(raw[i]));
		log({
			method: req.method, path: req.url, user: joined(raw, 'x-client-user'),
			roles: joined(raw, 'x-client-roles'), xff: joined(raw, 'x-forwarded-for'),
			xfp: joined(raw, 'x-forwarded-proto'), cl: req.headers['content-length'] ?? null,
			te: req.headers['transfer-encoding'] ?? null, body: n, xc: [...xc].sort(),
			hop: [...new Set(raw.filter((x, i) => i % 2 === 0 && HOP.includes(x.toLowerCase())).map((x) => x.toLowerCase()))].sort(),
		});
		const body = Buffer.from('ok ' + req.url + '\n', 'latin1');
		if (req.url.includes('/chunked-resp')) {
			res.writeHead(200);
			res.write(body.subarray(0, 2));
			res.end(body.subarray(2));
		} else if (req.url.includes('/extra')) {
			res.socket.write(Buffer.concat([Buffer.from(`HTTP/1.1 200 OK\r\nContent-Length: ${body.length}\r\n\r\n`), body,
				Buffer.from('HTTP/1.1 200 OK\r\nContent-Length: 9\r\nX-Smuggled: yes\r\n\r\nsmuggled\n')]));
			res.socket.end();
		} else {
			res.writeHead(200, { 'Content-Length': body.length });
			res.end(body);
		}
	});
});
srv.on('clientError', (err, sock) => {
	if (err.code && err.code.startsWith('HPE_'))
		log({ err: err.code, raw: (err.rawPacket || Buffer.alloc(0)).toString('latin1').slice(0, 200) });
	if (sock.writable) sock.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
	else sock.destroy();
});
srv.listen(port, '127.0.0.1');
