"""test_hardening.py: rate limiting across workers, client addresses behind proxies, CORS,
security headers, request size limits, slow clients and max_connections."""
import http.client
import os
import re
import socket
import threading
import time
import unittest

from harness import Streamd, status_of


class RateLimitTest(unittest.TestCase):
    def test_limit_holds_across_workers(self):
        s = Streamd(workers=2, extra="rate_limit stream 5r/s burst=10;\n").start()
        try:
            url = s.signed("chord.mp3")
            # new connections land on both workers (SO_REUSEPORT hashing)
            admitted, refused = 0, 0
            t0 = time.time()
            statuses = []
            while time.time() - t0 < 2.0:
                c = http.client.HTTPConnection("127.0.0.1", s.port, timeout=5)
                c.request("HEAD", url)
                r = c.getresponse()
                r.read()
                c.close()
                statuses.append(r.status)
                if r.status == 200:
                    admitted += 1
                elif r.status == 429:
                    refused += 1
                    last = r
            elapsed = time.time() - t0
            # burst + 1 at once, then 5 per second (one refill of slack)
            expected = 11 + 5 * elapsed
            self.assertLessEqual(admitted, expected + 1, statuses)
            self.assertGreaterEqual(admitted, expected - 5 - 1, statuses)
            self.assertGreater(refused, 0)
            self.assertEqual(set(statuses), {200, 429})
            secs = int(last.getheader("Retry-After"))
            self.assertGreaterEqual(secs, 1)
            self.assertRegex(last.getheader("RateLimit-Policy"), r'^"stream";q=\d+;w=1$')
            self.assertRegex(last.getheader("RateLimit"), r'^"stream";r=0;t=\d+$')
            m = s.request("/metrics").body.decode()
            self.assertIn('streamd_rate_limited_total{class="stream"} %d' % refused, m)
            # other classes are not limited
            self.assertEqual(s.request("/health").status, 200)
            time.sleep(1.2)
            self.assertEqual(s.request(url, method="HEAD").status, 200)
        finally:
            self.assertEqual(s.cleanup(), "")

    def test_allow_list_and_dry_run(self):
        s = Streamd(workers=1, extra="rate_limit stream 1r/s;\nrate_limit_allow 127.0.0.0/8;\n")
        s.start()
        try:
            self.assertEqual({s.get("chord.mp3", method="HEAD").status for _ in range(10)}, {200})
        finally:
            s.cleanup()
        s = Streamd(workers=1, extra="rate_limit stream 1r/s;\nrate_limit_dry_run on;\n").start()
        try:
            self.assertEqual({s.get("chord.mp3", method="HEAD").status for _ in range(10)}, {200})
            m = s.request("/metrics").body.decode()
            self.assertRegex(m, r'streamd_rate_limited_dry_run_total\{class="stream"\} (9|8)\b')
        finally:
            s.cleanup()

    def test_flood_of_addresses_keeps_abuser(self):
        """Behind a trusted proxy, many new client addresses must not wash out a limited one."""
        s = Streamd(workers=2, extra="rate_limit stream 1r/m burst=2;\nrate_limit_table 64;\n"
                    "trusted_proxies 127.0.0.1;\n").start()
        try:
            url = s.signed("chord.mp3")
            abuser = {"X-Forwarded-For": "203.0.113.7"}
            st = [s.request(url, method="HEAD", headers=abuser).status for _ in range(5)]
            self.assertEqual(st, [200, 200, 200, 429, 429])
            for i in range(600):
                s.request(url, method="HEAD",
                          headers={"X-Forwarded-For": "198.51.%d.%d" % (i // 250, i % 250)})
            self.assertEqual(s.request(url, method="HEAD", headers=abuser).status, 429)
        finally:
            s.cleanup()

    def test_client_connection_limit(self):
        s = Streamd(workers=2, extra="max_client_connections 4;\n").start()
        try:
            socks = [socket.create_connection(("127.0.0.1", s.port)) for _ in range(4)]
            time.sleep(0.2)
            extra = socket.create_connection(("127.0.0.1", s.port))
            extra.settimeout(3)
            extra.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
            self.assertEqual(extra.recv(100), b"")          # closed at once
            extra.close()
            for c in socks:
                c.close()
            time.sleep(0.3)
            self.assertEqual(s.request("/health").status, 200)
        finally:
            s.cleanup()


class ProxyTest(unittest.TestCase):
    def access_lines(self, s):
        time.sleep(0.3)
        with open(s.access_log) as f:
            return [l.split(" ", 1)[0] for l in f if "/stream/" in l]

    def test_trusted_and_untrusted(self):
        s = Streamd(workers=1, extra="trusted_proxies 127.0.0.1 10.0.0.0/8;\n").start()
        try:
            url = s.signed("chord.mp3")
            s.request(url, headers={"X-Forwarded-For": "198.51.100.1"})
            s.request(url, headers={"X-Forwarded-For": "198.51.100.2, 10.1.2.3"})
            s.request(url, headers={"X-Forwarded-For": "1.1.1.1, 198.51.100.3, 10.0.0.1"})
            s.request(url, headers={"X-Forwarded-For": "garbage"})
            s.request(url)
            s.request(url, headers={"X-Forwarded-For": "2001:db8::5"})
            self.assertEqual(self.access_lines(s), ["198.51.100.1", "198.51.100.2",
                                                    "198.51.100.3", "127.0.0.1", "127.0.0.1",
                                                    "2001:db8::5"])
        finally:
            s.cleanup()
        # untrusted peer: spoofing is ignored
        s = Streamd(workers=1, extra="trusted_proxies 10.0.0.0/8;\n").start()
        try:
            s.request(s.signed("chord.mp3"), headers={"X-Forwarded-For": "6.6.6.6",
                                                      "X-Real-IP": "6.6.6.6",
                                                      "Forwarded": "for=6.6.6.6"})
            self.assertEqual(self.access_lines(s), ["127.0.0.1"])
        finally:
            s.cleanup()

    def test_x_real_ip_and_forwarded(self):
        s = Streamd(workers=1, extra="trusted_proxies 127.0.0.1;\nreal_ip_header X-Real-IP;\n")
        s.start()
        try:
            s.request(s.signed("chord.mp3"), headers={"X-Real-IP": "192.0.2.9",
                                                      "X-Forwarded-For": "6.6.6.6"})
            self.assertEqual(self.access_lines(s), ["192.0.2.9"])
        finally:
            s.cleanup()
        s = Streamd(workers=1, extra="trusted_proxies 127.0.0.1;\nreal_ip_header Forwarded;\n")
        s.start()
        try:
            s.request(s.signed("chord.mp3"), headers={
                "Forwarded": 'for=192.0.2.60;proto=http;by=203.0.113.43, for="[2001:db8:cafe::17]:4711"'})
            s.request(s.signed("chord.mp3"), headers={"Forwarded": "for=unknown"})
            self.assertEqual(self.access_lines(s), ["2001:db8:cafe::17", "127.0.0.1"])
        finally:
            s.cleanup()


class CorsAndHeadersTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.s = Streamd(workers=1, extra="allowed_origins https://player.example "
                        "http://localhost:3000;\n").start()

    @classmethod
    def tearDownClass(cls):
        cls.s.cleanup()

    def test_preflight(self):
        r = self.s.request("/stream/chord.mp3", method="OPTIONS", headers={
            "Origin": "https://player.example", "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "range, authorization"})
        self.assertEqual(r.status, 204)
        self.assertEqual(r.header("Access-Control-Allow-Origin"), "https://player.example")
        self.assertIn("GET", r.header("Access-Control-Allow-Methods"))
        allow = r.header("Access-Control-Allow-Headers").lower()
        for h in ("range", "authorization", "if-range"):
            self.assertIn(h, allow)
        self.assertIn("Origin", r.header("Vary"))
        r = self.s.request("/stream/chord.mp3", method="OPTIONS", headers={
            "Origin": "https://evil.example", "Access-Control-Request-Method": "GET"})
        self.assertIsNone(r.header("Access-Control-Allow-Origin"))
        self.assertIsNone(r.header("Access-Control-Allow-Methods"))
        r = self.s.request("/auth/sign", method="OPTIONS", headers={
            "Origin": "http://localhost:3000", "Access-Control-Request-Method": "POST"})
        self.assertIn("POST", r.header("Access-Control-Allow-Methods"))

    def test_actual_requests(self):
        r = self.s.get("chord.mp3", headers={"Origin": "https://player.example",
                                              "Range": "bytes=0-9"})
        self.assertEqual(r.status, 206)
        self.assertEqual(r.header("Access-Control-Allow-Origin"), "https://player.example")
        expose = r.header("Access-Control-Expose-Headers")
        for h in ("Content-Range", "Content-Length", "Accept-Ranges", "ETag"):
            self.assertIn(h, expose)
        self.assertIn("Origin", r.header("Vary"))
        r = self.s.get("chord.mp3", headers={"Origin": "https://evil.example"})
        self.assertEqual(r.status, 200)
        self.assertIsNone(r.header("Access-Control-Allow-Origin"))
        self.assertIsNone(r.header("Access-Control-Expose-Headers"))
        r = self.s.request("/stream/chord.mp3", headers={"Origin": "https://player.example"})
        self.assertEqual(r.status, 401)       # errors carry CORS too, so players can read them
        self.assertEqual(r.header("Access-Control-Allow-Origin"), "https://player.example")

    def test_wildcard_from_environment(self):
        s = Streamd(workers=1, env={"ALLOWED_ORIGINS": "*"}).start()
        try:
            r = s.get("chord.mp3", headers={"Origin": "https://any.example"})
            self.assertEqual(r.header("Access-Control-Allow-Origin"), "*")
        finally:
            s.cleanup()

    def test_security_headers(self):
        media = self.s.get("chord.mp3")
        json_ = self.s.request("/health")
        err = self.s.request("/nope")
        for r in (media, json_, err):
            self.assertEqual(r.header("X-Content-Type-Options"), "nosniff")
            self.assertEqual(r.header("Referrer-Policy"), "no-referrer")
            self.assertIsNotNone(r.header("Cross-Origin-Resource-Policy"))
            self.assertEqual(r.header("Server"), "streamd")
        self.assertIsNone(media.header("Content-Security-Policy"))
        self.assertEqual(media.header("Cross-Origin-Resource-Policy"), "cross-origin")
        for r in (json_, err):
            self.assertIn("default-src 'none'", r.header("Content-Security-Policy"))
        s = Streamd(workers=1, extra="server_tokens on;\n").start()
        try:
            self.assertRegex(s.request("/health").header("Server"), r"^streamd/\d+\.\d+")
        finally:
            s.cleanup()


class LimitsTest(unittest.TestCase):
    def test_sizes(self):
        s = Streamd(workers=1).start()
        try:
            worker = s.workers()[0]
            long_uri = "/stream/" + "a" * 9000 + ".mp3"
            r = s.raw(("GET %s HTTP/1.1\r\nHost: x\r\n\r\n" % long_uri).encode())
            self.assertEqual(status_of(r), 414)
            r = s.raw(b"GET /health HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 20000 + b"\r\n\r\n")
            self.assertEqual(status_of(r), 431)
            many = b"".join(b"X-H%d: v\r\n" % i for i in range(150))
            r = s.raw(b"GET /health HTTP/1.1\r\nHost: x\r\n" + many + b"\r\n")
            self.assertEqual(status_of(r), 431)
            r = s.raw(b"POST /auth/refresh HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n" +
                      b"x" * 100000)
            self.assertEqual(status_of(r), 413)
            r = s.raw(b"POST /auth/refresh HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n"
                      b"Content-Length: 3\r\n\r\nabc")
            self.assertIn(status_of(r), (400,))
            # RFC 9112 3.2: Host is required in HTTP/1.1 and may appear once.
            r = s.raw(b"GET /health HTTP/1.1\r\nConnection: close\r\n\r\n")
            self.assertEqual(status_of(r), 400, r[:200])
            self.assertIn(b"Host", r)
            r = s.raw(b"GET /health HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n")
            self.assertEqual(status_of(r), 400, r[:200])
            self.assertIn(b"Connection: close", r)
            r = s.raw(b"GET /health HTTP/1.0\r\n\r\n")
            self.assertEqual(status_of(r), 200, r[:200])
            r = s.raw(b"GET /health HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n"
                      b"Content-Length: 0\r\n\r\n")
            self.assertEqual(status_of(r), 400, r[:200])
            r = s.raw(b"BREW /health HTTP/1.1\r\nHost: x\r\n\r\n")
            self.assertIn(status_of(r), (400, 405, 501))
            r = s.raw(b"garbage\r\n\r\n")
            self.assertEqual(status_of(r), 400)
            self.assertEqual(s.workers(), [worker])          # the worker lives on
            self.assertEqual(s.request("/health").status, 200)
        finally:
            self.assertEqual(s.cleanup(), "")

    def test_keepalive_limits_and_timeouts(self):
        s = Streamd(workers=1, extra="keepalive_requests 3;\nkeepalive_timeout 1s;\n"
                    "client_header_timeout 1s;\n").start()
        try:
            c = http.client.HTTPConnection("127.0.0.1", s.port, timeout=5)
            for i in range(3):
                c.request("GET", "/health")
                r = c.getresponse()
                r.read()
            self.assertEqual(r.getheader("Connection"), "close")
            c.close()
            # an idle keep-alive connection is closed after keepalive_timeout
            k = socket.create_connection(("127.0.0.1", s.port))
            k.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
            k.settimeout(5)
            k.recv(4096)
            t0 = time.time()
            self.assertEqual(k.recv(4096), b"")
            self.assertLess(time.time() - t0, 3)
            # a slow header is cut after client_header_timeout, however it dribbles
            sl = socket.create_connection(("127.0.0.1", s.port))
            sl.settimeout(5)
            t0 = time.time()
            closed = False
            for ch in b"GET /health HTTP/1.1\r\nHost: x\r\n":
                try:
                    sl.sendall(bytes([ch]))
                except OSError:
                    closed = True
                    break
                time.sleep(0.1)
                if time.time() - t0 > 4:
                    break
            if not closed:
                try:
                    closed = sl.recv(100) == b""
                except OSError:
                    closed = True
            self.assertTrue(closed)
            self.assertLess(time.time() - t0, 4)
            m = s.request("/metrics").body.decode()
            self.assertRegex(m, r'streamd_timeouts_total\{kind="header"\} [1-9]')
        finally:
            s.cleanup()

    def test_slow_connections_do_not_starve(self):
        s = Streamd(workers=2, extra="client_header_timeout 20s;\n").start()
        socks = []
        try:
            for i in range(1000):
                c = socket.socket()
                c.setblocking(False)
                try:
                    c.connect(("127.0.0.1", s.port))
                except BlockingIOError:
                    pass
                socks.append(c)
            time.sleep(0.5)
            for c in socks[:500]:
                try:
                    c.send(b"GET /hea")
                except OSError:
                    pass
            t0 = time.time()
            r = s.get("chord.mp3", timeout=5)
            self.assertEqual(r.status, 200)
            self.assertLess(time.time() - t0, 1.0)
            d = s.request("/health/detailed").json()
            self.assertGreaterEqual(d["checks"]["connections"]["open"], 900)
        finally:
            for c in socks:
                c.close()
            s.cleanup()

    def test_max_connections_pauses_accepting(self):
        s = Streamd(workers=2, extra="max_connections 20;\n").start()
        socks = []
        try:
            for i in range(20):
                socks.append(socket.create_connection(("127.0.0.1", s.port)))
            time.sleep(0.3)
            # the 21st is accepted by the kernel but not served until one closes
            extra = socket.create_connection(("127.0.0.1", s.port))
            extra.settimeout(0.8)
            extra.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
            with self.assertRaises(socket.timeout):
                extra.recv(100)
            for c in socks[:5]:
                c.close()
            extra.settimeout(5)
            self.assertEqual(status_of(extra.recv(100)), 200)
            extra.close()
            for w in s.workers():
                with open("/proc/%d/stat" % w) as f:
                    cpu = sum(int(x) for x in f.read().split(")")[1].split()[11:13])
                self.assertLess(cpu, 200)       # no spinning while paused (clock ticks)
        finally:
            for c in socks:
                c.close()
            s.cleanup()


if __name__ == "__main__":
    unittest.main()
