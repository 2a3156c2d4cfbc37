"""test_stream.py: GET|HEAD /stream/<path> against the real binary: bytes, ranges,
conditional requests, credentials, path confinement, the file cache, big files with flat
memory, clients that leave early, and `streamd sign`."""
import email.parser
import hashlib
import http.client
import os
import random
import re
import shutil
import socket
import subprocess
import tempfile
import time
import unittest

from harness import (AUDIO, BIN, SANITIZE, Streamd, fd_count, quote_path, rss_kb, sign_path,
                     status_of)

TYPES = {".mp3": "audio/mpeg", ".ogg": "audio/ogg", ".opus": "audio/ogg",
         ".flac": "audio/flac", ".wav": "audio/wav"}


def sample_files():
    out = []
    for d, _, files in os.walk(AUDIO):
        for f in files:
            full = os.path.join(d, f)
            out.append(os.path.relpath(full, AUDIO))
    return sorted(out)


def parse_multipart(content_type, body):
    msg = email.parser.BytesParser().parsebytes(
        b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + body)
    parts = []
    for p in msg.get_payload():
        parts.append((p["Content-Range"], p.get_payload(decode=True)))
    return parts


class StreamTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.s = Streamd(workers=2).start()

    @classmethod
    def tearDownClass(cls):
        problems = cls.s.cleanup()
        if problems:
            raise AssertionError("sanitizer reports:\n" + problems)

    def data(self, rel):
        with open(os.path.join(AUDIO, rel), "rb") as f:
            return f.read()

    def test_samples_decode(self):
        self.assertGreaterEqual(len(sample_files()), 5)
        for rel in sample_files():
            r = subprocess.run(["ffprobe", "-v", "error", "-show_entries",
                                "format=duration", "-of", "csv=p=0",
                                os.path.join(AUDIO, rel)], capture_output=True, text=True)
            self.assertEqual(r.returncode, 0, rel + r.stderr)
            self.assertGreater(float(r.stdout.strip()), 0.5, rel)

    def test_full_files_byte_exact(self):
        for rel in sample_files():
            r = self.s.get(rel)
            self.assertEqual(r.status, 200, rel)
            self.assertEqual(r.body, self.data(rel), rel)
            self.assertEqual(r.header("Content-Type"), TYPES[os.path.splitext(rel)[1]])
            self.assertEqual(r.header("Accept-Ranges"), "bytes")
            self.assertEqual(int(r.header("Content-Length")), len(self.data(rel)))
            self.assertTrue(r.header("ETag").startswith('"'))
            self.assertIsNotNone(r.header("Last-Modified"))
            self.assertEqual(r.header("X-Content-Type-Options"), "nosniff")

    def test_random_ranges_byte_exact(self):
        rnd = random.Random(7)
        files = sample_files()
        conn = http.client.HTTPConnection("127.0.0.1", self.s.port, timeout=10)
        for _ in range(300):
            rel = rnd.choice(files)
            data = self.data(rel)
            a = rnd.randrange(len(data))
            b = rnd.randrange(a, len(data))
            r = self.s.request(self.s.signed(rel), headers={"Range": "bytes=%d-%d" % (a, b)},
                               conn=conn)
            self.assertEqual(r.status, 206)
            self.assertEqual(r.body, data[a:b + 1])
            self.assertEqual(r.header("Content-Range"), "bytes %d-%d/%d" % (a, b, len(data)))
        conn.close()

    def test_suffix_open_and_clamped_ranges(self):
        rel = "chord.mp3"
        data = self.data(rel)
        n = len(data)
        cases = [("bytes=-100", n - 100, n - 1), ("bytes=100-", 100, n - 1),
                 ("bytes=0-", 0, n - 1), ("bytes=%d-%d" % (n - 10, n + 1000), n - 10, n - 1),
                 ("bytes=-%d" % (n + 50), 0, n - 1), ("BYTES = 5-9", 5, 9),
                 ("bytes=0-0", 0, 0)]
        for spec, a, b in cases:
            r = self.s.get(rel, headers={"Range": spec})
            self.assertEqual(r.status, 206, spec)
            self.assertEqual(r.body, data[a:b + 1], spec)
            self.assertEqual(r.header("Content-Range"), "bytes %d-%d/%d" % (a, b, n), spec)

    def test_multipart_ranges(self):
        rel = "sweep.flac"
        data = self.data(rel)
        n = len(data)
        r = self.s.get(rel, headers={"Range": "bytes=0-99, 1000-1999,-50"})
        self.assertEqual(r.status, 206)
        ct = r.header("Content-Type")
        self.assertTrue(ct.startswith("multipart/byteranges; boundary="), ct)
        self.assertEqual(int(r.header("Content-Length")), len(r.body))
        parts = parse_multipart(ct, r.body)
        self.assertEqual(len(parts), 3)
        want = [(0, 99), (1000, 1999), (n - 50, n - 1)]
        for (cr, payload), (a, b) in zip(parts, want):
            self.assertEqual(cr, "bytes %d-%d/%d" % (a, b, n))
            self.assertEqual(payload, data[a:b + 1])
        # one satisfiable range among unsatisfiable ones: a plain 206
        r = self.s.get(rel, headers={"Range": "bytes=%d-, 10-19" % (n + 5)})
        self.assertEqual(r.status, 206)
        self.assertEqual(r.body, data[10:20])

    def test_unsatisfiable_and_ignored_ranges(self):
        rel = "chord.mp3"
        n = len(self.data(rel))
        r = self.s.get(rel, headers={"Range": "bytes=%d-" % n})
        self.assertEqual(r.status, 416)
        self.assertEqual(r.header("Content-Range"), "bytes */%d" % n)
        r = self.s.get(rel, headers={"Range": "bytes=-0"})
        self.assertEqual(r.status, 416)
        for bad in ("bytes=abc", "bytes=5-1", "items=0-10", "bytes=1-2-3", "bytes="):
            r = self.s.get(rel, headers={"Range": bad})
            self.assertEqual(r.status, 200, bad)
            self.assertEqual(len(r.body), n)

    def test_head_same_headers_no_body(self):
        for rel in ("chord.mp3", "subfolder/Frühlings Lied.mp3"):
            url = self.s.signed(rel)
            g = self.s.request(url)
            h = self.s.request(url, method="HEAD")
            self.assertEqual(h.status, 200)
            self.assertEqual(h.body, b"")
            for name in ("Content-Type", "Content-Length", "ETag", "Last-Modified",
                         "Accept-Ranges"):
                self.assertEqual(h.header(name), g.header(name), name)
            # max-age counts down to the URL's expiry: the two may straddle a second
            ages = [int(re.match(r"private, max-age=(\d+)$", r.header("Cache-Control")).group(1))
                    for r in (g, h)]
            self.assertLessEqual(abs(ages[0] - ages[1]), 1, ages)
            hr = self.s.request(url, method="HEAD", headers={"Range": "bytes=0-9"})
            self.assertEqual(hr.status, 206)
            self.assertEqual(hr.header("Content-Length"), "10")
        # raw HEAD: nothing after the header block
        raw = self.s.raw(("HEAD %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n" %
                          self.s.signed("chord.mp3")).encode())
        self.assertTrue(raw.endswith(b"\r\n\r\n"), raw[-40:])

    def test_conditional(self):
        url = self.s.signed("pluck.ogg")
        r = self.s.request(url)
        etag, lm = r.header("ETag"), r.header("Last-Modified")
        self.assertEqual(self.s.request(url, headers={"If-None-Match": etag}).status, 304)
        self.assertEqual(self.s.request(url, headers={"If-None-Match": "W/" + etag}).status, 304)
        self.assertEqual(self.s.request(url, headers={"If-None-Match": '"x", ' + etag}).status,
                         304)
        self.assertEqual(self.s.request(url, headers={"If-None-Match": "*"}).status, 304)
        self.assertEqual(self.s.request(url, headers={"If-None-Match": '"nope"'}).status, 200)
        nm = self.s.request(url, headers={"If-Modified-Since": lm})
        self.assertEqual(nm.status, 304)
        self.assertEqual(nm.body, b"")
        self.assertEqual(nm.header("ETag"), etag)
        self.assertEqual(self.s.request(url, headers={
            "If-Modified-Since": "Thu, 01 Jan 1998 00:00:00 GMT"}).status, 200)
        # If-None-Match wins over If-Modified-Since
        self.assertEqual(self.s.request(url, headers={
            "If-None-Match": '"nope"', "If-Modified-Since": lm}).status, 200)
        self.assertEqual(self.s.request(url, headers={"If-Match": '"nope"'}).status, 412)
        self.assertEqual(self.s.request(url, headers={"If-Match": etag}).status, 200)
        self.assertEqual(self.s.request(url, headers={
            "If-Unmodified-Since": "Thu, 01 Jan 1998 00:00:00 GMT"}).status, 412)
        # If-Range: same validator -> 206, changed -> 200 with everything
        r = self.s.request(url, headers={"Range": "bytes=0-9", "If-Range": etag})
        self.assertEqual(r.status, 206)
        r = self.s.request(url, headers={"Range": "bytes=0-9", "If-Range": '"old"'})
        self.assertEqual(r.status, 200)
        self.assertEqual(len(r.body), len(self.data("pluck.ogg")))
        r = self.s.request(url, headers={"Range": "bytes=0-9", "If-Range": lm})
        self.assertEqual(r.status, 206)
        r = self.s.request(url, headers={"Range": "bytes=0-9",
                                         "If-Range": "Thu, 01 Jan 1998 00:00:00 GMT"})
        self.assertEqual(r.status, 200)

    def test_credentials(self):
        rel = "chord.mp3"
        path = "/stream/" + rel
        now = int(time.time())
        good = sign_path(self.s.key, rel, now + 60)
        cases = [
            (path, 401),
            (path + "?expires=%d" % (now + 60), 400),
            (path + "?sig=" + good, 400),
            (path + "?expires=abc&sig=" + good, 400),
            (path + "?expires=%d&sig=%s" % (now + 60, good[:-2]), 400),
            (path + "?expires=%d&sig=%s" % (now + 60, "g" * 64), 400),
            (path + "?expires=%d&sig=%s&sig=%s" % (now + 60, good, good), 400),
            (path + "?expires=%d&sig=%s" % (now + 61, good), 403),
            (path + "?expires=%d&sig=%s" % (now + 60, sign_path("x" * 40, rel, now + 60)), 403),
            ("/stream/pluck.ogg?expires=%d&sig=%s" % (now + 60, good), 403),
            (path + "?expires=%d&sig=%s" % (now - 5, sign_path(self.s.key, rel, now - 5)), 410),
            (path + "?expires=%d&sig=%s" % (now + 60, good), 200),
            (path + "?expires=%d&sig=%s" % (now + 60, good.upper()), 200),
            (path + "?expires=%d&sig=%s&x=1" % (now + 60, good), 200),
        ]
        for target, want in cases:
            r = self.s.request(target)
            self.assertEqual(r.status, want, target)
            if want >= 400:
                j = r.json()
                self.assertIn("error", j)
                self.assertIn("message", j)
                self.assertEqual(r.header("Content-Type"), "application/json")
        r = self.s.request(path)
        self.assertTrue(r.header("WWW-Authenticate").startswith("Bearer"))
        # an expired link with a forged MAC is 403, not 410
        r = self.s.request(path + "?expires=%d&sig=%s" % (now - 5, "0" * 64))
        self.assertEqual(r.status, 403)

    def test_traversal_and_confinement(self):
        attempts = ["../etc/passwd", "..%2fetc%2fpasswd", "%2e%2e/%2e%2e/etc/passwd",
                    "subfolder/../../etc/passwd", "subfolder/%2E%2E/chord.mp3",
                    "./chord.mp3", ".hidden.mp3", "subfolder/.x.mp3", "a\\b.mp3",
                    "a%5cb.mp3", "chord.mp3%00.txt", "%00", "/etc/passwd.mp3",
                    "subfolder//chord.mp3", "subfolder/", "", "chord.mp3/",
                    "%c0%ae%c0%ae/etc/passwd.mp3", "%ff.mp3", "x%0a.mp3"]
        for a in attempts:
            raw_path = a
            decoded = None
            try:
                import urllib.parse
                decoded = urllib.parse.unquote(a, errors="strict")
            except Exception:
                pass
            # unsigned
            r = self.s.raw(("GET /stream/%s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
                            % raw_path).encode())
            self.assertIn(status_of(r), (400, 404), a)
            # signed for exactly that path: still not served
            if decoded is not None:
                exp = int(time.time()) + 60
                sig = sign_path(self.s.key, decoded, exp)
                r = self.s.raw(("GET /stream/%s?expires=%d&sig=%s HTTP/1.1\r\nHost: x\r\n"
                                "Connection: close\r\n\r\n" % (raw_path, exp, sig)).encode())
                self.assertIn(status_of(r), (400, 404), a)
        # symlinks: inside the root served, out of it not
        d = tempfile.mkdtemp()
        try:
            os.chmod(d, 0o755)
            shutil.copy(os.path.join(AUDIO, "chord.mp3"), os.path.join(d, "in.mp3"))
            os.symlink("in.mp3", os.path.join(d, "link-in.mp3"))
            outside = tempfile.mkdtemp()
            shutil.copy(os.path.join(AUDIO, "chord.mp3"), os.path.join(outside, "out.mp3"))
            os.symlink(os.path.join(outside, "out.mp3"), os.path.join(d, "link-out.mp3"))
            os.symlink("/etc", os.path.join(d, "etcdir"))
            with open(os.path.join(d, "notes.txt"), "w") as f:
                f.write("text")
            os.mkfifo(os.path.join(d, "fifo.mp3"))
            os.mkdir(os.path.join(d, "dir.mp3"))
            s2 = Streamd(audio=d).start()
            try:
                self.assertEqual(s2.get("in.mp3").status, 200)
                self.assertEqual(s2.get("link-in.mp3").status, 200)
                self.assertEqual(s2.get("link-out.mp3").status, 404)
                self.assertEqual(s2.get("etcdir/passwd").status, 404)
                self.assertEqual(s2.get("notes.txt").status, 404)
                self.assertEqual(s2.get("fifo.mp3").status, 404)
                self.assertEqual(s2.get("dir.mp3").status, 404)
                self.assertEqual(s2.get("missing.mp3").status, 404)
                self.assertEqual(s2.get("in.MP3").status, 404)   # no such file, case kept
            finally:
                self.assertEqual(s2.cleanup(), "")
            shutil.rmtree(outside)
        finally:
            shutil.rmtree(d)

    def test_methods_and_keepalive(self):
        url = self.s.signed("chord.mp3")
        for m in ("POST", "PUT", "DELETE", "PATCH"):
            r = self.s.request(url, method=m)
            self.assertEqual(r.status, 405, m)
            self.assertIn("GET", r.header("Allow"))
        conn = http.client.HTTPConnection("127.0.0.1", self.s.port, timeout=10)
        conn.connect()
        sock = conn.sock
        for _ in range(20):
            r = self.s.request(url, conn=conn)
            self.assertEqual(r.status, 200)
        self.assertIs(conn.sock, sock)      # the same TCP connection throughout
        conn.close()

    def test_unknown_route(self):
        r = self.s.request("/nope")
        self.assertEqual(r.status, 404)
        self.assertEqual(r.json()["error"], "not_found")

    def test_sign_cli_matches_python_hmac(self):
        for rel in ("chord.mp3", "subfolder/Frühlings Lied.mp3"):
            out = subprocess.run([BIN, "sign", "-c", self.s.conf, "-e", "120", rel],
                                 capture_output=True, text=True, check=True).stdout.strip()
            self.assertTrue(out.startswith("/stream/" + quote_path(rel) + "?expires="), out)
            q = dict(p.split("=") for p in out.split("?", 1)[1].split("&"))
            exp = int(q["expires"])
            self.assertTrue(time.time() + 100 < exp <= time.time() + 121)
            self.assertEqual(q["sig"], sign_path(self.s.key, rel, exp))
            r = self.s.request(out)
            self.assertEqual(r.status, 200)
            self.assertEqual(r.body, self.data(rel))
        bad = subprocess.run([BIN, "sign", "-c", self.s.conf, "../x.mp3"], capture_output=True)
        self.assertEqual(bad.returncode, 1)


class FilesOnDiskTest(unittest.TestCase):
    def setUp(self):
        self.d = tempfile.mkdtemp()
        os.chmod(self.d, 0o755)

    def tearDown(self):
        shutil.rmtree(self.d, ignore_errors=True)

    def test_file_changed_on_disk(self):
        p = os.path.join(self.d, "a.mp3")
        with open(p, "wb") as f:
            f.write(b"A" * 1000)
        s = Streamd(audio=self.d).start()
        try:
            r1 = s.get("a.mp3")
            self.assertEqual(r1.body, b"A" * 1000)
            # rewritten in place, other size
            with open(p, "wb") as f:
                f.write(b"B" * 1500)
            r2 = s.get("a.mp3")
            self.assertEqual(r2.body, b"B" * 1500)
            self.assertNotEqual(r1.header("ETag"), r2.header("ETag"))
            self.assertEqual(s.get("a.mp3", headers={"If-None-Match": r1.header("ETag")}).status,
                             200)
            # replaced by rename (atomic deploy), same size
            tmp = os.path.join(self.d, "a.tmp")
            with open(tmp, "wb") as f:
                f.write(b"C" * 1500)
            os.rename(tmp, p)
            r3 = s.get("a.mp3")
            self.assertEqual(r3.body, b"C" * 1500)
            self.assertNotEqual(r3.header("ETag"), r2.header("ETag"))
            # deleted
            os.unlink(p)
            self.assertEqual(s.get("a.mp3").status, 404)
            # an empty file
            open(os.path.join(self.d, "empty.mp3"), "wb").close()
            r = s.get("empty.mp3")
            self.assertEqual((r.status, r.body, r.header("Content-Length")), (200, b"", "0"))
        finally:
            self.assertEqual(s.cleanup(), "")

    def test_size_limits(self):
        with open(os.path.join(self.d, "big.mp3"), "wb") as f:
            f.write(os.urandom(300 * 1024))
        s = Streamd(audio=self.d, extra="max_file_size 200k;\n").start()
        try:
            r = s.get("big.mp3")
            self.assertEqual(r.status, 403)
            self.assertEqual(r.json()["error"], "file_too_large")
        finally:
            s.cleanup()
        data = open(os.path.join(self.d, "big.mp3"), "rb").read()
        s = Streamd(audio=self.d, extra="max_range_size 100k;\n").start()
        try:
            r = s.get("big.mp3", headers={"Range": "bytes=0-"})
            self.assertEqual(r.status, 206)
            self.assertEqual(r.header("Content-Range"), "bytes 0-102399/%d" % len(data))
            self.assertEqual(r.body, data[:102400])
            r = s.get("big.mp3", headers={"Range": "bytes=1000-250000"})
            self.assertEqual(r.header("Content-Range"), "bytes 1000-103399/%d" % len(data))
            self.assertEqual(r.body, data[1000:103400])
            r = s.get("big.mp3")                    # no Range: the whole file
            self.assertEqual((r.status, r.body), (200, data))
        finally:
            self.assertEqual(s.cleanup(), "")

    def test_sparse_gigabyte_flat_memory_and_disconnects(self):
        p = os.path.join(self.d, "huge.wav")
        size = 1 << 30
        with open(p, "wb") as f:
            f.truncate(size)
        s = Streamd(audio=self.d, extra="max_file_size 2g;\nmax_range_size 2g;\n").start()
        try:
            worker = s.workers()[0]
            base_rss = rss_kb(worker)
            base_fds = fd_count(worker)
            sock = socket.create_connection(("127.0.0.1", s.port))
            sock.sendall(("GET %s HTTP/1.1\r\nHost: x\r\n\r\n" % s.signed("huge.wav")).encode())
            got, peak = 0, base_rss
            h = hashlib.sha256()
            header = b""
            while b"\r\n\r\n" not in header:
                header += sock.recv(4096)
            head, rest = header.split(b"\r\n\r\n", 1)
            self.assertIn(b"Content-Length: %d" % size, head)
            got = len(rest)
            while got < size:
                chunk = sock.recv(1 << 20)
                if not chunk:
                    break
                if chunk.count(0) != len(chunk):
                    self.fail("non-zero byte in a sparse file")
                got += len(chunk)
                if got % (64 << 20) < len(chunk):
                    peak = max(peak, rss_kb(worker))
            sock.close()
            self.assertEqual(got, size)
            self.assertLess(peak - base_rss, 32 * 1024, "worker RSS grew by %d KB" %
                            (peak - base_rss))
            # clients that leave mid-transfer free everything
            for _ in range(20):
                c = socket.create_connection(("127.0.0.1", s.port))
                c.sendall(("GET %s HTTP/1.1\r\nHost: x\r\n\r\n" %
                           s.signed("huge.wav")).encode())
                c.recv(65536)
                c.close()
            time.sleep(0.5)
            self.assertTrue(s.get("huge.wav", headers={"Range": "bytes=0-9"}).status == 206)
            time.sleep(0.3)
            self.assertLessEqual(fd_count(worker), base_fds + 2)
            self.assertLess(rss_kb(worker) - base_rss, 32 * 1024)
            self.assertEqual(s.workers()[0], worker)    # never crashed
        finally:
            self.assertEqual(s.cleanup(), "")


def read_head(sock, buf=b""):
    """The header block of a response from sock (after buf): (head, bytes after it)."""
    while b"\r\n\r\n" not in buf:
        chunk = sock.recv(65536)
        if not chunk:
            raise EOFError("closed in the header")
        buf += chunk
    head, rest = buf.split(b"\r\n\r\n", 1)
    return head, rest


def read_response(sock, buf=b""):
    """One HTTP/1.1 response with Content-Length from sock: (status, headers, body, rest)."""
    head, buf = read_head(sock, buf)
    lines = head.decode("latin-1").split("\r\n")
    headers = dict((k.lower(), v.strip()) for k, v in (l.split(":", 1) for l in lines[1:]))
    n = int(headers.get("content-length", "0"))
    while len(buf) < n:
        chunk = sock.recv(1 << 20)
        if not chunk:
            raise EOFError("closed in the body after %d of %d bytes" % (len(buf), n))
        buf += chunk
    return int(lines[0].split()[1]), headers, buf[:n], buf[n:]


class ConnectionIOTest(unittest.TestCase):
    """The socket layer beneath evhttp (sockio.cpp): what clients do with a connection."""

    @classmethod
    def setUpClass(cls):
        cls.d = tempfile.mkdtemp()
        os.chmod(cls.d, 0o755)
        cls.big = os.urandom(6 << 20)
        with open(os.path.join(cls.d, "big.mp3"), "wb") as f:
            f.write(cls.big)
        with open(os.path.join(cls.d, "small.mp3"), "wb") as f:
            f.write(cls.big[:3000])
        cls.s = Streamd(audio=cls.d, workers=1, extra="send_timeout 1s;\n").start()

    @classmethod
    def tearDownClass(cls):
        problems = cls.s.cleanup()
        shutil.rmtree(cls.d, ignore_errors=True)
        assert problems == "", problems

    def req(self, name, extra=""):
        return ("GET %s HTTP/1.1\r\nHost: x\r\n%s\r\n" % (self.s.signed(name), extra)).encode()

    def test_pipelined_requests_in_one_packet(self):
        sock = socket.create_connection(("127.0.0.1", self.s.port), timeout=10)
        sock.sendall(self.req("small.mp3") + self.req("big.mp3", "Range: bytes=10-19\r\n") +
                     self.req("small.mp3") + b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
        st, h, body, rest = read_response(sock)
        self.assertEqual((st, body), (200, self.big[:3000]))
        st, h, body, rest = read_response(sock, rest)
        self.assertEqual((st, body, h["content-range"]), (206, self.big[10:20],
                                                         "bytes 10-19/%d" % len(self.big)))
        st, h, body, rest = read_response(sock, rest)
        self.assertEqual((st, body), (200, self.big[:3000]))
        st, h, body, rest = read_response(sock, rest)
        self.assertEqual(st, 200)
        self.assertIn(b'"status"', body)
        sock.close()

    def test_pipelining_client_that_does_not_read_is_held_at_a_bound(self):
        """Reading stops at the input bound (sockio's read_high); the rest waits in TCP."""
        # this class's server cuts a stalled reader after 1 s (send_timeout), and any
        # server closes after keepalive_requests: neither here
        s = Streamd(audio=self.d, workers=1,
                    extra="send_timeout 60s;\nkeepalive_requests 1000000;\n").start()
        self.addCleanup(lambda: self.assertEqual(s.cleanup(), ""))
        with open(os.path.join(self.d, "tiny.mp3"), "wb") as f:
            f.write(b"0123456789")
        worker = s.workers()[0]
        base = rss_kb(worker)
        one = ("GET %s HTTP/1.1\r\nHost: x\r\n\r\n" % s.signed("tiny.mp3")).encode()
        blob = one * 2000
        sock = socket.create_connection(("127.0.0.1", s.port), timeout=10)
        sock.setblocking(False)
        sent, stalls, pos = 0, 0, 0
        while stalls < 3 and sent < (256 << 20):
            try:
                k = sock.send(blob[pos:])       # may take part: go on from there
                sent += k
                pos = (pos + k) % len(blob)
                stalls = 0
            except BlockingIOError:
                stalls += 1
                time.sleep(0.3)
        # held: the kernel's buffers plus the bound, not everything a client can send
        self.assertLess(sent, 64 << 20, "the server kept reading")
        if not SANITIZE:        # AddressSanitizer's quarantine keeps freed memory
            self.assertLess(rss_kb(worker) - base, 32 << 10)
        # and every response comes, in order, once the client reads: more requests than
        # the bound holds, so reading resumes after evhttp consumed the held ones
        sock.setblocking(True)
        sock.settimeout(10)
        rest = b""
        n = sent // len(one)
        for _ in range(n):
            st, h, body, rest = read_response(sock, rest)
            self.assertEqual((st, body), (200, b"0123456789"))
        sock.close()

    def test_half_close_after_request_gets_whole_response(self):
        for extra in ("", "Range: bytes=0-99\r\n"):
            sock = socket.create_connection(("127.0.0.1", self.s.port), timeout=10)
            sock.sendall(self.req("big.mp3", extra) + self.req("small.mp3"))
            sock.shutdown(socket.SHUT_WR)
            st, h, body, rest = read_response(sock)
            self.assertEqual(body, self.big if not extra else self.big[:100])
            st, h, body, rest = read_response(sock, rest)
            self.assertEqual(body, self.big[:3000])
            # both answered, then the server closes
            self.assertEqual(rest + sock.recv(100), b"")
            sock.close()

    def test_request_dribbled_byte_by_byte(self):
        sock = socket.create_connection(("127.0.0.1", self.s.port), timeout=10)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        for i, ch in enumerate(self.req("small.mp3")):
            sock.send(bytes([ch]))
            if i % 16 == 0:
                time.sleep(0.002)
        st, h, body, rest = read_response(sock)
        self.assertEqual((st, body), (200, self.big[:3000]))
        sock.close()

    def test_large_request_head(self):
        # a 12 KB header (under max_header_size) read in more than one piece
        pad = "X-Pad: " + "p" * 12000 + "\r\n"
        sock = socket.create_connection(("127.0.0.1", self.s.port), timeout=10)
        sock.sendall(self.req("small.mp3", pad) + self.req("small.mp3"))
        for i in range(2):
            st, h, body, rest = read_response(sock, rest if i else b"")
            self.assertEqual((st, body), (200, self.big[:3000]))
        sock.close()

    def test_stalled_reader_cut_by_send_timeout(self):
        def send_timeouts():
            m = self.s.request("/metrics").body.decode()
            return int(re.search(r'streamd_timeouts_total\{kind="send"\} (\d+)', m).group(1))
        self.s.get("big.mp3", headers={"Range": "bytes=0-0"})    # in the open-file cache
        before = send_timeouts()
        worker = self.s.workers()[0]
        fds = fd_count(worker)
        sock = socket.create_connection(("127.0.0.1", self.s.port), timeout=10)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.sendall(self.req("big.mp3"))
        # reads nothing: the server's socket fills up, and 1 s later it gives up
        deadline = time.time() + 10
        while send_timeouts() == before and time.time() < deadline:
            time.sleep(0.2)
        self.assertEqual(send_timeouts(), before + 1)
        deadline = time.time() + 5      # the /metrics connections close as well
        while fd_count(worker) > fds and time.time() < deadline:
            time.sleep(0.1)
        self.assertLessEqual(fd_count(worker), fds)
        sock.close()
        self.assertEqual(self.s.get("small.mp3").status, 200)

    def test_header_block_well_formed(self):
        """Every response's header lines are name: value, each name once (see http_out_lines)."""
        cases = [self.req("small.mp3"), self.req("big.mp3", "Range: bytes=5-9\r\n"),
                 self.req("big.mp3", "Range: bytes=0-1,5-9\r\n"),
                 b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n",
                 b"GET /stream/nope.mp3 HTTP/1.1\r\nHost: x\r\n\r\n"]
        etag = None
        for i, raw in enumerate(cases + [None]):
            if raw is None:
                raw = self.req("small.mp3", "If-None-Match: %s\r\n" % etag)
            sock = socket.create_connection(("127.0.0.1", self.s.port), timeout=10)
            sock.sendall(raw)
            head, _ = read_head(sock)
            sock.close()
            lines = head.decode("latin-1").split("\r\n")
            self.assertRegex(lines[0], r"^HTTP/1\.1 \d{3} ")
            names = []
            for line in lines[1:]:
                self.assertRegex(line, r"^[A-Za-z][A-Za-z0-9-]*: [^\r\n]*$")
                names.append(line.split(":", 1)[0].lower())
            self.assertEqual(len(names), len(set(names)), lines)
            for need in ("date", "server", "x-content-type-options", "referrer-policy",
                         "cross-origin-resource-policy"):
                self.assertIn(need, names, lines)
            if i == 0:
                etag = [l for l in lines if l.lower().startswith("etag:")][0].split(": ", 1)[1]
                for need in ("etag", "last-modified", "cache-control", "accept-ranges",
                             "content-type", "content-length"):
                    self.assertIn(need, names, lines)
            if i == 5:
                self.assertIn(" 304 ", lines[0])
                self.assertIn("etag", names)

    def test_slow_reader_within_send_timeout_gets_everything(self):
        sock = socket.create_connection(("127.0.0.1", self.s.port), timeout=10)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
        sock.sendall(self.req("big.mp3", "Range: bytes=0-1048575\r\n"))
        head, buf = read_head(sock)
        while len(buf) < 1 << 20:       # 1 MB at ~2 MB/s, 0.3 s pauses: never 1 s idle
            chunk = sock.recv(65536)
            if not chunk:
                break
            buf += chunk
            time.sleep(0.03)
        sock.close()
        self.assertEqual(buf, self.big[:1 << 20])


if __name__ == "__main__":
    unittest.main()
