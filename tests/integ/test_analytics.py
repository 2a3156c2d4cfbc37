"""test_analytics.py: the batched SQLite queue, listening sessions, /metrics, /health,
/health/detailed and /admin/stats against the real binary."""
import gzip
import http.client
import json
import os
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import tempfile
import threading
import time
import unittest

from harness import AUDIO, Streamd, fd_count

ADMIN = "adm-" + "x" * 40


def rows(db, sql, *args):
    c = sqlite3.connect(db, timeout=10)
    try:
        return c.execute(sql, args).fetchall()
    finally:
        c.close()


def fetch_many(s, n, files=("chord.mp3", "pluck.ogg", "sweep.flac", "tone-440.wav")):
    """n requests (some ranged), each on its own connection; total body bytes received."""
    total = 0
    for i in range(n):
        rel = files[i % len(files)]
        headers = {"Range": "bytes=%d-%d" % (i, i + 999)} if i % 3 == 0 else {}
        r = s.get(rel, headers=headers)
        assert r.status in (200, 206), r.status
        total += len(r.body)
    return total


class QueueTest(unittest.TestCase):
    def test_exact_rows_after_sigterm(self):
        s = Streamd(workers=2, extra="analytics_flush 200ms;\n").start()
        try:
            sent = fetch_many(s, 300)
            self.assertEqual(s.stop(), 0)
            got = rows(s.db, "SELECT count(*), sum(bytes) FROM requests")[0]
            self.assertEqual(got, (300, sent))
            statuses = dict(rows(s.db, "SELECT status, count(*) FROM requests GROUP BY 1"))
            self.assertEqual(statuses, {200: 200, 206: 100})
        finally:
            s.cleanup()

    def test_exact_rows_across_reload_and_worker_kill(self):
        s = Streamd(workers=2).start()
        try:
            sent = fetch_many(s, 120)
            s.send_signal(signal.SIGHUP)            # the collector restarts, old workers go
            sent += fetch_many(s, 120)
            time.sleep(1.5)
            sent += fetch_many(s, 60)
            time.sleep(0.5)                         # the workers have handed over their records
            for w in s.workers():
                os.kill(w, signal.SIGKILL)
            time.sleep(1)
            sent += fetch_many(s, 60)
            self.assertEqual(s.stop(), 0)
            self.assertEqual(rows(s.db, "SELECT count(*), sum(bytes) FROM requests")[0],
                             (360, sent))
        finally:
            s.cleanup()

    def test_records_wait_while_collector_is_away(self):
        s = Streamd(workers=2).start()
        try:
            col = s.collector()
            os.kill(col, signal.SIGSTOP)
            sent = fetch_many(s, 100)           # serving goes on
            time.sleep(0.3)
            m = s.request("/metrics").body.decode()
            depth = int(re.search(r"^streamd_analytics_queue_depth (\d+)", m, re.M).group(1))
            os.kill(col, signal.SIGCONT)
            time.sleep(1.5)                      # it commits what waited
            os.kill(col, signal.SIGKILL)         # then dies: what comes meanwhile waits
            sent += fetch_many(s, 20)
            time.sleep(1.5)
            self.assertIsNotNone(s.collector())
            self.assertNotEqual(s.collector(), col)
            self.assertEqual(s.stop(), 0)
            self.assertEqual(rows(s.db, "SELECT count(*), sum(bytes) FROM requests")[0],
                             (120, sent))
            self.assertIn("streamd_analytics_dropped_total 0", m)
            self.assertGreaterEqual(depth, 0)
        finally:
            s.cleanup()

    def test_row_contents_and_database_url(self):
        d = tempfile.mkdtemp()
        db = os.path.join(d, "other.db")
        s = Streamd(workers=1, env={"DATABASE_URL": "sqlite:" + db}).start()
        try:
            r = s.get("subfolder/Frühlings Lied.mp3",
                      headers={"User-Agent": "TestPlayer/1.0", "Referer": "https://app.example/p",
                               "Range": "bytes=100-1099"})
            self.assertEqual(r.status, 206)
            s.request("/stream/chord.mp3")              # 401 is recorded too
            self.assertEqual(s.stop(), 0)
            rs = rows(db, "SELECT client, path, status, bytes, range_start, range_end, "
                      "file_size, user_agent, referrer, aborted, head, duration_us "
                      "FROM requests_v ORDER BY id")
            self.assertEqual(len(rs), 2)
            size = os.path.getsize(os.path.join(AUDIO, "subfolder/Frühlings Lied.mp3"))
            self.assertEqual(rs[0][:11], ("127.0.0.1", "subfolder/Frühlings Lied.mp3", 206, 1000,
                                          100, 1099, size, "TestPlayer/1.0",
                                          "https://app.example/p", 0, 0))
            self.assertGreater(rs[0][11], 0)
            self.assertEqual(rs[1][2], 401)
            self.assertFalse(os.path.exists(s.db))
            self.assertEqual(rows(db, "PRAGMA user_version")[0][0], 1)
            self.assertEqual(rows(db, "PRAGMA journal_mode")[0][0], "wal")
        finally:
            s.cleanup()
            shutil.rmtree(d)


class SessionTest(unittest.TestCase):
    def test_scripted_player(self):
        d = tempfile.mkdtemp()
        os.chmod(d, 0o755)
        data = os.urandom(2 << 20)
        with open(os.path.join(d, "song.mp3"), "wb") as f:
            f.write(data)
        s = Streamd(workers=2, audio=d, extra="session_idle 30s;\n").start()
        try:
            url = s.signed("song.mp3")
            ua = "ScriptedPlayer/2.0"
            # open: the player asks for everything and reads the first 256 KiB
            sock = socket.create_connection(("127.0.0.1", s.port))
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
            sock.sendall(("GET %s HTTP/1.1\r\nHost: x\r\nUser-Agent: %s\r\nRange: bytes=0-\r\n"
                          "\r\n" % (url, ua)).encode())
            got = b""
            while len(got) < 300000:
                got += sock.recv(65536)
            sock.close()                        # seek: the player drops the connection
            time.sleep(0.2)
            # seek 1 and seek 2: two ranged requests read to their end
            r1 = s.request(url, headers={"User-Agent": ua, "Range": "bytes=1000000-1099999"})
            r2 = s.request(url, headers={"User-Agent": ua, "Range": "bytes=1900000-"})
            self.assertEqual((r1.status, r2.status), (206, 206))
            # another listener on the same file is another session
            s.request(url, headers={"User-Agent": "Other/1", "Range": "bytes=0-99"})
            time.sleep(1.5)
            self.assertEqual(s.stop(), 0)
            ss = rows(s.db, "SELECT requests, seeks, bytes, max_offset, covered, file_size, "
                      "completion, user_agent, path FROM sessions_v ORDER BY id")
            self.assertEqual(len(ss), 2, ss)
            ss = [x for x in ss if x[7] == ua]
            self.assertEqual(len(ss), 1)
            req, seeks, nbytes, max_off, covered, size, comp, sua, path = ss[0]
            first = rows(s.db, "SELECT bytes FROM requests WHERE user_agent = ? AND "
                         "range_start = 0", ua)[0][0]
            self.assertEqual((req, seeks, size, sua, path), (3, 2, len(data), ua, "song.mp3"))
            self.assertEqual(nbytes, first + 100000 + (len(data) - 1900000))
            self.assertEqual(max_off, len(data))
            self.assertEqual(covered, first + 100000 + (len(data) - 1900000))
            self.assertAlmostEqual(comp, covered / len(data), places=6)
            self.assertTrue(first >= 256 * 1024, first)
            # records of two workers arrive in any order: look at the player's own rows
            mine = rows(s.db, "SELECT range_start, aborted, session_id FROM requests "
                        "WHERE user_agent = ? ORDER BY range_start", ua)
            self.assertEqual([m[0] for m in mine], [0, 1000000, 1900000])
            self.assertEqual([m[1] for m in mine], [1, 0, 0])
            self.assertEqual(len({m[2] for m in mine}), 1)
        finally:
            s.cleanup()
            shutil.rmtree(d)


class MetricsTest(unittest.TestCase):
    def test_metrics_sums_and_promtool(self):
        s = Streamd(workers=2).start()
        try:
            before = s.request("/metrics").body.decode()
            sent = 0
            for i in range(40):
                r = s.get("chord.mp3")
                sent += len(r.body)
            for i in range(10):
                r = s.get("pluck.ogg", headers={"Range": "bytes=0-99"})
                sent += len(r.body)
            for i in range(5):
                s.request("/stream/chord.mp3")                      # 401
            s.request(s.signed("chord.mp3", expires=1))             # 410
            text = s.request("/metrics").body.decode()

            def val(t, name, labels=""):
                m = re.search(r"^%s%s (\S+)$" % (re.escape(name), re.escape(labels)), t, re.M)
                return float(m.group(1)) if m else 0.0

            self.assertEqual(val(text, "streamd_http_requests_total",
                                 '{route="stream",code="200"}'), 40)
            self.assertEqual(val(text, "streamd_http_requests_total",
                                 '{route="stream",code="206"}'), 10)
            self.assertEqual(val(text, "streamd_http_requests_total",
                                 '{route="stream",code="401"}'), 5)
            self.assertEqual(val(text, "streamd_auth_failures_total",
                                 '{reason="signature_missing"}'), 5)
            self.assertEqual(val(text, "streamd_auth_failures_total",
                                 '{reason="signature_expired"}'), 1)
            body = val(text, "streamd_http_response_body_bytes_total", '{route="stream"}')
            # error bodies count too: strip them
            self.assertGreaterEqual(body, sent)
            self.assertLess(body - sent, 6 * 200)
            self.assertEqual(val(text, "streamd_http_range_requests_total"), 10)
            self.assertEqual(val(text, "streamd_http_request_duration_seconds_count",
                                 '{route="stream"}'), 56)
            self.assertGreater(val(text, "streamd_open_file_cache_hits_total"), 0)
            self.assertEqual(val(text, "streamd_workers_alive"), 2)
            self.assertEqual(val(text, "streamd_workers_configured"), 2)
            self.assertIn('streamd_build_info{version="', text)
            self.assertGreater(val(text, "process_start_time_seconds"), 1.7e9)
            with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as f:
                f.write(text)
            r = subprocess.run(["promtool", "check", "metrics"], input=text,
                               capture_output=True, text=True)
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
            os.unlink(f.name)
            r = s.request("/metrics")
            self.assertTrue(r.header("Content-Type").startswith("text/plain; version=0.0.4"))
            self.assertEqual(before.count("# TYPE"), text.count("# TYPE"))
        finally:
            self.assertEqual(s.cleanup(), "")


class HealthTest(unittest.TestCase):
    def test_health(self):
        s = Streamd(workers=2).start()
        try:
            r = s.request("/health")
            j = r.json()
            self.assertEqual(j["status"], "ok")
            self.assertIn("version", j)
            self.assertIsInstance(j["uptime_s"], int)
            self.assertEqual(r.header("Content-Type"), "application/json")
            h = s.request("/health", method="HEAD")
            self.assertEqual((h.status, h.body), (200, b""))
            self.assertEqual(s.request("/health", method="POST").status, 405)
            d = s.request("/health/detailed").json()
            self.assertEqual(d["status"], "ok")
            c = d["checks"]
            self.assertTrue(c["audio_root"]["readable"])
            self.assertGreater(c["disk"]["free_bytes"], 0)
            self.assertTrue(c["database"]["writable"])
            self.assertGreater(c["database"]["size_bytes"], 0)
            self.assertTrue(c["collector"]["alive"])
            self.assertEqual((c["workers"]["alive"], c["workers"]["configured"]), (2, 2))
            self.assertIn("load1", c["load"])
            self.assertGreater(c["memory"]["master_rss_bytes"], 0)
            self.assertEqual(len(c["memory"]["workers"]), 2)
            self.assertGreater(c["memory"]["workers"][0]["rss_bytes"], 0)
            self.assertGreaterEqual(c["connections"]["open"], 1)
        finally:
            self.assertEqual(s.cleanup(), "")

    def test_detailed_fails_without_audio_root(self):
        d = tempfile.mkdtemp()
        os.chmod(d, 0o755)
        s = Streamd(workers=1, audio=d).start()
        try:
            self.assertEqual(s.request("/health/detailed").status, 200)
            shutil.rmtree(d)
            r = s.request("/health/detailed")
            self.assertEqual(r.status, 503)
            self.assertEqual(r.json()["status"], "fail")
            self.assertEqual(r.json()["checks"]["audio_root"]["status"], "fail")
            self.assertEqual(s.request("/health").status, 200)     # liveness stays cheap
        finally:
            s.cleanup()

    def test_detailed_fails_with_read_only_database(self):
        s = Streamd(workers=1).start()
        try:
            s.get("chord.mp3")
            time.sleep(1.5)
            os.chmod(s.db, 0o444)
            time.sleep(1.5)
            r = s.request("/health/detailed")
            self.assertEqual(r.status, 503)
            self.assertFalse(r.json()["checks"]["database"]["writable"])
            os.chmod(s.db, 0o644)
            time.sleep(1.5)
            self.assertEqual(s.request("/health/detailed").status, 200)
        finally:
            s.cleanup()

    def test_health_allow(self):
        s = Streamd(workers=1, extra="health_allow 10.0.0.0/8;\n")
        s.start(wait=False)
        try:
            time.sleep(1)
            for p in ("/health", "/health/detailed", "/metrics"):
                r = s.request(p)
                self.assertEqual(r.status, 403, p)
            self.assertEqual(s.get("chord.mp3").status, 200)
        finally:
            s.cleanup()


class AdminTest(unittest.TestCase):
    def test_deferred_reply_and_the_connection(self):
        """/admin/stats answers later (the collector); the client may half-close, leave or
        send its next request meanwhile."""
        s = Streamd(workers=1, extra='admin_token "%s";\n' % ADMIN).start()
        try:
            worker = s.workers()[0]
            s.get("chord.mp3")
            req = ("GET /admin/stats HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n"
                   "\r\n" % ADMIN).encode()
            # half-closed right after the request: the answer still comes, then EOF
            data = s.raw(req, shut_wr=True)
            self.assertTrue(data.startswith(b"HTTP/1.1 200 "), data[:100])
            # the next request pipelined while the answer is pending: both answered
            c = socket.create_connection(("127.0.0.1", s.port), timeout=10)
            c.sendall(req + b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
            data = b""
            while data.count(b"HTTP/1.1 200 ") < 2:
                chunk = c.recv(65536)
                if not chunk:
                    break
                data += chunk
            c.close()
            self.assertEqual(data.count(b"HTTP/1.1 200 "), 2, data[:300])
            self.assertIn(b'"status"', data)
            # gone before the answer: nothing breaks, nothing leaks
            fds = fd_count(worker)
            for i in range(20):
                c = socket.create_connection(("127.0.0.1", s.port), timeout=10)
                c.sendall(req)
                c.close()
            time.sleep(1)
            self.assertLessEqual(fd_count(worker), fds)
            self.assertEqual(s.workers(), [worker])
            r = s.request("/admin/stats", headers={"Authorization": "Bearer " + ADMIN})
            self.assertEqual(r.status, 200)
        finally:
            self.assertEqual(s.cleanup(), "")

    def test_admin_stats(self):
        s = Streamd(workers=2, extra='admin_token "%s";\n' % ADMIN).start()
        try:
            for i in range(6):
                s.get("chord.mp3", headers={"User-Agent": "ua-%d" % (i % 2)})
            for i in range(3):
                s.get("pluck.ogg")
            s.request("/stream/chord.mp3")
            self.assertEqual(s.request("/admin/stats").status, 401)
            r = s.request("/admin/stats", headers={"Authorization": "Bearer wrong"})
            self.assertEqual(r.status, 401)
            self.assertIn("invalid_token", r.header("WWW-Authenticate"))
            self.assertEqual(s.request("/admin/stats?token=wrong").status, 401)
            self.assertEqual(s.request("/admin/nothing", headers={
                "Authorization": "Bearer " + ADMIN}).status, 404)
            r = s.request("/admin/stats", headers={"Authorization": "Bearer " + ADMIN})
            self.assertEqual(r.status, 200, r.body)
            j = r.json()
            t = j["totals"]
            self.assertEqual(t["requests"], 10)
            self.assertEqual(t["errors"], 1)
            self.assertEqual(t["sessions"], 3)          # chord x2 user agents, pluck x1
            self.assertEqual(t["unique_listeners"], 3)  # the pluck client sent no agent
            self.assertEqual(j["top_tracks"][0]["path"], "chord.mp3")
            self.assertEqual(j["top_tracks"][0]["sessions"], 2)
            self.assertEqual(j["top_tracks"][1]["path"], "pluck.ogg")
            self.assertEqual(j["status_codes"], {"200": 9, "401": 1})
            self.assertEqual(sum(h["requests"] for h in j["hourly"]), 10)
            self.assertRegex(j["hourly"][0]["hour"], r"^\d{4}-\d\d-\d\dT\d\d:00:00Z$")
            self.assertIn("active_streams", j["now"])
            self.assertIn("concurrent_listeners", j["now"])
            self.assertEqual(j["completion"]["ge_95"], 3)
            self.assertAlmostEqual(j["completion"]["rate"], 1.0)
            # ?token= works too, and a period in the past is empty
            j = s.request("/admin/stats?token=%s&from=2001-01-01&to=2001-01-02" % ADMIN).json()
            self.assertEqual(j["totals"]["requests"], 0)
            now = int(time.time())
            j = s.request("/admin/stats?token=%s&from=%d&to=%d&limit=1" %
                          (ADMIN, now - 60, now + 60)).json()
            self.assertEqual(j["totals"]["requests"], 10)
            self.assertEqual(len(j["top_tracks"]), 1)
            for bad in ("from=yesterday", "from=10&to=5", "limit=0", "limit=x", "from=1&from=2"):
                self.assertEqual(s.request("/admin/stats?token=%s&%s" % (ADMIN, bad)).status,
                                 400, bad)
            # gzip when accepted
            r = s.request("/admin/stats", headers={"Authorization": "Bearer " + ADMIN,
                                                   "Accept-Encoding": "gzip, deflate"})
            self.assertEqual(r.header("Content-Encoding"), "gzip")
            self.assertEqual(json.loads(gzip.decompress(r.body))["totals"]["requests"], 10)
            self.assertIn("Accept-Encoding", r.header("Vary"))
            r = s.request("/admin/stats", headers={"Authorization": "Bearer " + ADMIN,
                                                   "Accept-Encoding": "gzip;q=0"})
            self.assertIsNone(r.header("Content-Encoding"))
        finally:
            self.assertEqual(s.cleanup(), "")

    def test_admin_stats_without_collector(self):
        s = Streamd(workers=1, extra='admin_token "%s";\n' % ADMIN).start()
        try:
            os.kill(s.collector(), signal.SIGSTOP)
            t0 = time.time()
            r = s.request("/admin/stats?token=" + ADMIN, timeout=30)
            self.assertEqual(r.status, 503)
            self.assertLess(time.time() - t0, 15)
            self.assertEqual(s.get("chord.mp3").status, 200)
            os.kill(s.collector(), signal.SIGCONT)
        finally:
            s.cleanup()


if __name__ == "__main__":
    unittest.main()
