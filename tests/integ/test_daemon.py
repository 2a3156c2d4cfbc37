"""test_daemon.py: streamd as a daemon: reloads under load, crashes, signals, the pid
file, daemon mode, privilege drop, systemd notification and socket activation, the unit
files, nginx in front, logrotate, man pages and `make install`."""
import http.client
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import unittest

from harness import (AUDIO, BIN, ROOT, Streamd, alive, children_of, comm, fd_count,
                     free_port, rss_kb, sign_path)


class Load(threading.Thread):
    """A client that keeps requesting (bounded in count and time) and counts failures."""

    def __init__(self, s, targets, seconds=30, limit=20000):
        super().__init__(daemon=True)
        self.s, self.targets = s, targets
        self.end = time.time() + seconds
        self.limit = limit
        self.ok = 0
        self.failures = []
        self.stop_flag = False

    def run(self):
        i = 0
        while not self.stop_flag and time.time() < self.end and i < self.limit:
            target = self.targets[i % len(self.targets)]
            i += 1
            try:
                port, path = target() if callable(target) else (self.s.port, target)
                c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
                c.request("GET", path)
                r = c.getresponse()
                r.read()
                c.close()
                if r.status != 200:
                    self.failures.append((path, r.status))
                else:
                    self.ok += 1
            except Exception as e:                      # noqa: BLE001
                self.failures.append((target, repr(e)))


def master_fds_rss(pid):
    return fd_count(pid), rss_kb(pid)


class ReloadTest(unittest.TestCase):
    def test_reload_under_load(self):
        s = Streamd(workers=2)
        port2 = free_port()
        base = s.conf_text
        s.start()
        try:
            url = s.signed("chord.mp3", lifetime=600)
            load = Load(s, [url, "/health"], seconds=60)
            load.start()
            time.sleep(0.5)
            gen1 = set(s.workers())
            variants = [
                base.replace("workers 2;", "workers 3;"),
                base + "listen 127.0.0.1:%d;\n" % port2,
                base.replace("workers 2;", "workers 1;") + "listen 127.0.0.1:%d;\n" % port2,
                base,
            ]
            for i in range(24):
                if i == 4:
                    # after one round the socket set is as large as it gets (a reload to
                    # fewer workers keeps the extra sockets): growth from here is a leak
                    fds0, rss0 = master_fds_rss(s.pid)
                s.write_conf(variants[i % len(variants)])
                s.send_signal(signal.SIGHUP)
                time.sleep(0.35)
            load.stop_flag = True
            load.join(30)
            self.assertEqual(load.failures, [], "failed requests during reloads")
            self.assertGreater(load.ok, 100)
            # the last config is the base one: 2 workers, no second port
            time.sleep(1.5)
            workers = s.workers()
            self.assertEqual(len(workers), 2, workers)
            self.assertFalse(set(workers) & gen1, "old generation still running")
            with self.assertRaises(OSError):
                socket.create_connection(("127.0.0.1", port2), timeout=1).close()
            fds1, rss1 = master_fds_rss(s.pid)
            self.assertLessEqual(fds1, fds0, "master descriptors grew over 20 reloads")
            self.assertLessEqual(fds1, 16)
            self.assertLess(rss1 - rss0, 2048, "master RSS grew by %d KB" % (rss1 - rss0))
            self.assertIn("configuration reloaded", s.logs())
            # a listen address added by reload serves
            s.write_conf(base + "listen 127.0.0.1:%d;\n" % port2)
            s.send_signal(signal.SIGHUP)
            time.sleep(1)
            c = http.client.HTTPConnection("127.0.0.1", port2, timeout=5)
            c.request("GET", url)
            self.assertEqual(c.getresponse().status, 200)
            c.close()
        finally:
            self.assertEqual(s.cleanup(), "")

    def test_reload_changes_key(self):
        s = Streamd(workers=2).start()
        try:
            old = s.signed("chord.mp3")
            self.assertEqual(s.request(old).status, 200)
            newkey = "n" * 40
            s.write_conf(s.conf_text.replace('secret_key "%s"' % s.key,
                                             'secret_key "%s"' % newkey))
            s.send_signal(signal.SIGHUP)
            time.sleep(1.5)
            self.assertEqual(s.request(old).status, 403)
            self.assertEqual(s.request(s.signed("chord.mp3", key=newkey)).status, 200)
        finally:
            self.assertEqual(s.cleanup(), "")

    def test_reload_broken_config(self):
        s = Streamd(workers=2).start()
        try:
            good = s.conf_text
            workers = s.workers()
            s.write_conf(good + "\nworkers 2;\n")           # duplicate directive
            s.send_signal(signal.SIGHUP)
            time.sleep(1)
            self.assertEqual(s.get("chord.mp3").status, 200)
            self.assertEqual(sorted(s.workers()), sorted(workers))
            logs = s.logs()
            self.assertRegex(logs, r"reload failed.*%s:\d+: \"workers\" directive is duplicate"
                             % re.escape(s.conf))
            s.write_conf(good + "\nbogus_directive on;\n")
            s.send_signal(signal.SIGHUP)
            time.sleep(1)
            self.assertRegex(s.logs(), r"%s:\d+: unknown directive \"bogus_directive\""
                             % re.escape(s.conf))
            self.assertEqual(s.get("chord.mp3").status, 200)
            r = s.request("/metrics")
            self.assertIn("streamd_reload_failures_total 2", r.body.decode())
        finally:
            self.assertEqual(s.cleanup(), "")

    def test_static_settings_logged(self):
        s = Streamd(workers=1).start()
        try:
            s.write_conf(s.conf_text + "rate_limit_table 1024;\n")
            s.send_signal(signal.SIGHUP)
            time.sleep(1)
            self.assertIn('"rate_limit_table" cannot change without a restart', s.logs())
        finally:
            s.cleanup()


class CrashTest(unittest.TestCase):
    def test_worker_killed_is_replaced(self):
        s = Streamd(workers=2).start()
        try:
            url = s.signed("chord.mp3")
            w = s.workers()
            load = Load(s, [url], seconds=4)
            load.start()
            time.sleep(0.3)
            os.kill(w[0], signal.SIGKILL)
            t0 = time.time()
            while time.time() - t0 < 1.0:
                now = s.workers()
                if len(now) == 2 and w[0] not in now:
                    break
                time.sleep(0.02)
            self.assertEqual(len(s.workers()), 2)
            self.assertNotIn(w[0], s.workers())
            self.assertLess(time.time() - t0, 1.0)
            self.assertIn(w[1], s.workers())                # the other one was untouched
            load.join(10)
            # only requests in flight on the killed worker may fail
            self.assertLessEqual(len(load.failures), 2, load.failures)
            self.assertRegex(s.logs(), r"worker 0 \(pid %d\) killed by signal 9" % w[0])
            self.assertIn("streamd_worker_restarts_total 1", s.request("/metrics").body.decode())
        finally:
            self.assertEqual(s.cleanup(), "")

    def test_crash_loop_backs_off(self):
        s = Streamd(workers=1).start()
        try:
            pids = set()
            for _ in range(4):
                w = s.workers()
                if w:
                    pids.add(w[0])
                    os.kill(w[0], signal.SIGKILL)
                time.sleep(0.15)
            self.assertIn("after a back-off", s.logs())
            time.sleep(3)
            self.assertEqual(len(s.workers()), 1)
            self.assertEqual(s.get("chord.mp3").status, 200)
        finally:
            s.cleanup()

    def test_master_killed_workers_exit(self):
        s = Streamd(workers=2).start()
        kids = children_of(s.pid)
        self.assertGreaterEqual(len(kids), 3)
        os.kill(s.pid, signal.SIGKILL)
        s.proc.wait()
        deadline = time.time() + 5
        while time.time() < deadline and any(alive(k) for k in kids):
            time.sleep(0.05)
        self.assertFalse([k for k in kids if alive(k)], "children outlived the master")
        probe = socket.socket()
        probe.bind(("127.0.0.1", s.port))           # the port is free again
        probe.close()
        s.cleanup()


class SignalTest(unittest.TestCase):
    def test_sigterm_finishes_slow_download(self):
        d = tempfile.mkdtemp()
        os.chmod(d, 0o755)
        data = os.urandom(3 << 20)
        with open(os.path.join(d, "big.mp3"), "wb") as f:
            f.write(data)
        s = Streamd(audio=d, workers=1).start()
        try:
            sock = socket.socket()
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            sock.connect(("127.0.0.1", s.port))
            sock.sendall(("GET %s HTTP/1.1\r\nHost: x\r\n\r\n" % s.signed("big.mp3")).encode())
            got = b""
            while len(got) < 200000:
                got += sock.recv(8192)
            s.send_signal(signal.SIGTERM)
            time.sleep(0.3)
            # no new connections once stopping...
            with self.assertRaises(OSError):
                c = socket.create_connection(("127.0.0.1", s.port), timeout=1)
                c.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
                if not c.recv(100):
                    raise OSError("closed")
            # ...but the download in flight completes, slowly
            while True:
                chunk = sock.recv(65536)
                if not chunk:
                    break
                got += chunk
                time.sleep(0.001)
            sock.close()
            body = got.split(b"\r\n\r\n", 1)[1]
            self.assertEqual(body, data)
            self.assertEqual(s.proc.wait(30), 0)
        finally:
            s.cleanup()
            shutil.rmtree(d)

    def test_sigquit_stops_now(self):
        s = Streamd(workers=2).start()
        self.assertEqual(s.stop(signal.SIGQUIT, timeout=10), 0)
        s.cleanup()

    def test_sigusr1_reopens_logs(self):
        s = Streamd(workers=2).start()
        try:
            self.assertEqual(s.get("chord.mp3").status, 200)
            time.sleep(0.2)
            os.rename(s.access_log, s.access_log + ".1")
            os.rename(s.error_log, s.error_log + ".1")
            s.send_signal(signal.SIGUSR1)
            time.sleep(0.5)
            for _ in range(4):
                self.assertEqual(s.get("pluck.ogg").status, 200)
            time.sleep(0.3)
            self.assertTrue(os.path.exists(s.access_log))
            with open(s.access_log) as f:
                lines = f.read().splitlines()
            self.assertGreaterEqual(len(lines), 4)
            self.assertIn("/stream/pluck.ogg", lines[-1])
            self.assertRegex(lines[-1], r'^127\.0\.0\.1 - - \[.+\] "GET /stream/pluck\.ogg\?'
                             r'expires=\d+&sig=[0-9a-f]+ HTTP/1\.1" 200 \d+ "-" "[^"]*" '
                             r'\d+\.\d{3}$')
            with open(s.access_log + ".1") as f:
                self.assertIn("chord.mp3", f.read())
            self.assertTrue(os.path.exists(s.error_log))
            self.assertIn("reopening log files", open(s.error_log + ".1").read())
        finally:
            self.assertEqual(s.cleanup(), "")


class ProcessTest(unittest.TestCase):
    def test_pid_file_and_second_instance(self):
        s = Streamd(workers=1).start()
        try:
            with open(s.pid_file) as f:
                self.assertEqual(int(f.read()), s.pid)
            # same pid file, another port: refused with a clear message
            s2 = Streamd(workers=1)
            s2.write_conf(s2.conf_text.replace(s2.pid_file, s.pid_file))
            s2.start(wait=False)
            self.assertEqual(s2.proc.wait(10), 1)
            self.assertIn("already running (pid %d)" % s.pid, s2.logs())
            s2.cleanup()
            # same port, no pid file: refused, not silently sharing the port
            s3 = Streamd(workers=1, port=s.port)
            s3.write_conf(s3.conf_text.replace('pid_file "%s";' % s3.pid_file, ""))
            s3.start(wait=False)
            self.assertEqual(s3.proc.wait(10), 1)
            self.assertIn("Address already in use", s3.logs())
            s3.cleanup()
        finally:
            self.assertEqual(s.stop(), 0)
            self.assertFalse(os.path.exists(s.pid_file), "pid file left behind")
            s.cleanup()

    def test_daemon_mode(self):
        s = Streamd(workers=1)
        r = subprocess.run([BIN, "-d", "-c", s.conf], env=s.env, timeout=20)
        self.assertEqual(r.returncode, 0)
        with open(s.pid_file) as f:
            pid = int(f.read())
        try:
            self.assertTrue(alive(pid))
            with open("/proc/%d/stat" % pid) as f:
                st = f.read().split(")")[1].split()
            self.assertNotEqual(int(st[1]), os.getpid())            # reparented
            self.assertNotEqual(int(st[3]), os.getsid(0))           # a session of its own
            self.assertNotEqual(int(st[3]), pid)                    # but not its leader
            self.assertEqual(os.readlink("/proc/%d/cwd" % pid), "/")
            self.assertEqual(os.readlink("/proc/%d/fd/0" % pid), "/dev/null")
            self.assertEqual(s.get("chord.mp3").status, 200)
        finally:
            os.kill(pid, signal.SIGTERM)
            for _ in range(100):
                if not alive(pid):
                    break
                time.sleep(0.05)
            self.assertFalse(alive(pid))
            s.cleanup()
        # a daemon that cannot start says why, and exits 1
        bad = Streamd(workers=1, port=s.port)
        blocker = socket.socket()
        blocker.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        blocker.bind(("127.0.0.1", bad.port))
        blocker.listen()
        r = subprocess.run([BIN, "-d", "-c", bad.conf], env=bad.env, timeout=20,
                           capture_output=True, text=True)
        blocker.close()
        self.assertEqual(r.returncode, 1)
        self.assertIn("Address already in use", r.stderr)
        bad.cleanup()

    @unittest.skipUnless(os.geteuid() == 0, "needs root")
    def test_privilege_drop(self):
        d = tempfile.mkdtemp()
        os.chmod(d, 0o755)
        shutil.copy(os.path.join(AUDIO, "chord.mp3"), d)
        os.chmod(os.path.join(d, "chord.mp3"), 0o644)
        s = Streamd(workers=2, audio=d, user_root=False)
        dbdir = os.path.join(s.dir, "db")
        s.write_conf(s.conf_text.replace(s.db, os.path.join(dbdir, "streamd.db")) +
                     "user nobody;\n")
        s.start()
        try:
            nobody = pwd.getpwnam("nobody").pw_uid
            self.assertEqual(os.stat("/proc/%d" % s.pid).st_uid, 0)
            kids = children_of(s.pid)
            self.assertEqual(len(kids), 3)

            def uids(k):
                with open("/proc/%d/status" % k) as f:
                    return set(int(u) for u in re.search(
                        r"^Uid:\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)", f.read(), re.M).groups())

            # a child drops root once it has opened its files: wait for all of them
            deadline = time.time() + 5
            while time.time() < deadline and any(uids(k) != {nobody} for k in kids):
                time.sleep(0.05)
            for k in kids:
                self.assertEqual(uids(k), {nobody}, comm(k))
            self.assertEqual(s.get("chord.mp3").status, 200)
            # the log files belong to the workers' user, so they can reopen them
            self.assertEqual(os.stat(s.access_log).st_uid, nobody)
            time.sleep(1.5)
            self.assertTrue(os.path.exists(os.path.join(dbdir, "streamd.db")))
        finally:
            self.assertEqual(s.cleanup(), "")
            shutil.rmtree(d)

    @unittest.skipUnless(os.geteuid() == 0, "needs root")
    def test_refuses_root_workers_in_service(self):
        s = Streamd(workers=1, user_root=False)
        try:
            r = subprocess.run([BIN, "-d", "-c", s.conf], env=s.env, timeout=20,
                               capture_output=True, text=True)
            self.assertEqual(r.returncode, 1)
            self.assertIn('refusing to run workers as root: set "user"', r.stderr)
            r = subprocess.run([BIN, "-f", "-c", s.conf], env=dict(s.env,
                               NOTIFY_SOCKET="/nonexistent"), timeout=20,
                               capture_output=True, text=True)
            self.assertEqual(r.returncode, 1)
            # in the foreground it runs, and says so
            s.start()
            self.assertIn("workers run as root", s.logs())
        finally:
            s.cleanup()

    def test_config_test_flag(self):
        s = Streamd()
        r = subprocess.run([BIN, "-t", "-c", s.conf], capture_output=True, text=True, env=s.env)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("test is successful", r.stderr)
        line = (s.conf_text + "\n\n").count("\n") + 1
        s.write_conf(s.conf_text + "\n\nlisten nowhere;\n")
        r = subprocess.run([BIN, "-t", "-c", s.conf], capture_output=True, text=True, env=s.env)
        self.assertEqual(r.returncode, 1)
        self.assertIn("%s:%d: listen: " % (s.conf, line), r.stderr)
        r = subprocess.run([BIN, "-V"], capture_output=True, text=True)
        self.assertEqual(r.returncode, 0)
        self.assertRegex(r.stdout, r"^streamd \d+\.\d+\.\d+")
        r = subprocess.run([BIN, "-x"], capture_output=True, text=True)
        self.assertEqual(r.returncode, 1)
        self.assertIn("usage:", r.stderr)
        s.cleanup()

    def test_load_spread_across_workers(self):
        s = Streamd(workers=2).start()
        try:
            for _ in range(400):
                c = socket.create_connection(("127.0.0.1", s.port))
                c.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                while c.recv(4096):
                    pass
                c.close()
            d = s.request("/health/detailed").json()
            counts = [w["connections_accepted"] for w in d["checks"]["memory"]["workers"]]
            self.assertEqual(len(counts), 2)
            self.assertGreater(min(counts), 400 * 0.25, counts)
        finally:
            s.cleanup()


class SystemdTest(unittest.TestCase):
    def unit_dir(self):
        d = tempfile.mkdtemp()
        with open(os.path.join(ROOT, "etc/systemd/streamd.service")) as f:
            text = f.read().replace("@SBINDIR@", os.path.dirname(BIN))
        if os.path.basename(BIN) != "streamd":
            text = text.replace(os.path.dirname(BIN) + "/streamd", BIN)
        with open(os.path.join(d, "streamd.service"), "w") as f:
            f.write(text)
        shutil.copy(os.path.join(ROOT, "etc/systemd/streamd.socket"), d)
        return d

    def test_units_verify(self):
        d = self.unit_dir()
        r = subprocess.run(["systemd-analyze", "verify", "--man=no",
                            os.path.join(d, "streamd.service"),
                            os.path.join(d, "streamd.socket")], capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertEqual(r.stderr.strip(), "")
        shutil.rmtree(d)

    def test_notify_protocol(self):
        d = tempfile.mkdtemp()
        path = os.path.join(d, "notify")
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        sock.bind(path)
        sock.settimeout(15)
        s = Streamd(workers=2, env={"NOTIFY_SOCKET": path})
        s.start(wait=False)
        msgs = []

        def expect(key):
            while True:
                m = sock.recv(4096).decode()
                msgs.append(m)
                if key in m.split("\n"):
                    return m

        try:
            m = expect("READY=1")
            self.assertIn("MAINPID=%d" % s.pid, m)
            self.assertEqual(s.request("/health").status, 200)   # ready means serving
            s.send_signal(signal.SIGHUP)
            m = expect("RELOADING=1")
            mono = int(re.search(r"MONOTONIC_USEC=(\d+)", m).group(1))
            self.assertLess(abs(mono - time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000),
                            10_000_000)
            expect("READY=1")
            s.send_signal(signal.SIGTERM)
            expect("STOPPING=1")
            self.assertEqual(s.proc.wait(20), 0)
            flat = [l for m in msgs for l in m.split("\n")]
            order = [l for l in flat if l in ("READY=1", "RELOADING=1", "STOPPING=1")]
            self.assertEqual(order, ["READY=1", "RELOADING=1", "READY=1", "STOPPING=1"])
            self.assertTrue(any(l.startswith("STATUS=") for l in flat))
        finally:
            s.cleanup()
            sock.close()
            shutil.rmtree(d)

    def test_watchdog(self):
        d = tempfile.mkdtemp()
        path = os.path.join(d, "notify")
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        sock.bind(path)
        sock.settimeout(5)
        s = Streamd(workers=1, env={"NOTIFY_SOCKET": path, "WATCHDOG_USEC": "600000"})
        s.start(wait=False)
        try:
            seen = 0
            end = time.time() + 3
            while time.time() < end:
                if "WATCHDOG=1" in sock.recv(4096).decode():
                    seen += 1
            self.assertGreaterEqual(seen, 4)
        finally:
            s.cleanup()
            sock.close()
            shutil.rmtree(d)

    def test_socket_activation(self):
        for reuseport in (True, False):
            lsock = socket.socket()
            lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if reuseport:
                lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
            lsock.bind(("127.0.0.1", 0))
            lsock.listen(128)
            port = lsock.getsockname()[1]
            s = Streamd(workers=2)          # its own listen directive is replaced
            cmd = "LISTEN_FDS=1 LISTEN_PID=$$ exec %s -f -c %s 3<&%d" % (BIN, s.conf,
                                                                           lsock.fileno())
            out = open(os.path.join(s.dir, "stdout.log"), "ab")
            s.proc = subprocess.Popen(["sh", "-c", cmd], pass_fds=(lsock.fileno(),),
                                      env=s.env, stdout=out, stderr=subprocess.STDOUT)
            lsock.close()
            try:
                s.port = port
                s.wait_ready()
                self.assertEqual(s.get("chord.mp3").status, 200)
                self.assertIn("from the service manager", s.logs())
            finally:
                s.cleanup()
                out.close()


class NginxTest(unittest.TestCase):
    def test_through_nginx(self):
        if shutil.which("nginx") is None and not os.path.exists("/usr/sbin/nginx"):
            self.skipTest("nginx missing")
        d = tempfile.mkdtemp()
        os.chmod(d, 0o755)
        big = os.urandom(5 << 20)
        with open(os.path.join(d, "big.mp3"), "wb") as f:
            f.write(big)
        shutil.copy(os.path.join(AUDIO, "chord.mp3"), d)
        s = Streamd(audio=d, workers=2, extra="trusted_proxies 127.0.0.1;\n").start()
        nport = free_port()
        ndir = tempfile.mkdtemp()
        with open(os.path.join(ROOT, "etc/nginx/streamd.conf")) as f:
            site = f.read()
        site = site.replace("127.0.0.1:8082", "127.0.0.1:%d" % s.port)
        site = re.sub(r"listen 80;", "listen 127.0.0.1:%d;" % nport, site)
        site = re.sub(r"\s*listen \[::\]:80;", "", site)
        site = site.replace("/var/log/nginx/streamd.access.log",
                            os.path.join(ndir, "access.log"))
        with open(os.path.join(ndir, "site.conf"), "w") as f:
            f.write(site)
        with open(os.path.join(ndir, "nginx.conf"), "w") as f:
            f.write("""daemon off; master_process on; worker_processes 1;
pid %(d)s/nginx.pid; error_log %(d)s/error.log;
events { worker_connections 256; }
http {
  client_body_temp_path %(d)s/body; proxy_temp_path %(d)s/proxy;
  fastcgi_temp_path %(d)s/fcgi; uwsgi_temp_path %(d)s/uwsgi; scgi_temp_path %(d)s/scgi;
  include %(d)s/site.conf;
}
""" % {"d": ndir})
        ng = subprocess.Popen(["nginx", "-c", os.path.join(ndir, "nginx.conf")],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            for _ in range(100):
                try:
                    socket.create_connection(("127.0.0.1", nport), timeout=1).close()
                    break
                except OSError:
                    time.sleep(0.05)

            def via(path, headers=None):
                c = http.client.HTTPConnection("127.0.0.1", nport, timeout=30)
                c.request("GET", path, headers=headers or {})
                r = c.getresponse()
                body = r.read()
                c.close()
                return r, body

            url = s.signed("big.mp3")
            r, body = via(url)
            self.assertEqual(r.status, 200)
            self.assertEqual(body, big)
            r, body = via(url, {"Range": "bytes=1000-200999"})
            self.assertEqual(r.status, 206)
            self.assertEqual(body, big[1000:201000])
            self.assertEqual(r.getheader("Content-Range"), "bytes 1000-200999/%d" % len(big))
            r, body = via(url, {"Range": "bytes=-10"})
            self.assertEqual(body, big[-10:])
            etag = r.getheader("ETag")
            r, body = via(url, {"If-None-Match": etag})
            self.assertEqual(r.status, 304)
            r, body = via(url, {"Range": "bytes=0-9", "If-Range": etag})
            self.assertEqual(r.status, 206)
            r, body = via(url, {"Range": "bytes=0-9", "If-Range": '"stale"'})
            self.assertEqual((r.status, len(body)), (200, len(big)))
            r, body = via(s.signed("chord.mp3"), {"Range": "bytes=0-1,5-6"})
            self.assertEqual(r.status, 206)
            self.assertIn("multipart/byteranges", r.getheader("Content-Type"))
            # the client address behind the proxy is the real one
            time.sleep(0.3)
            with open(s.access_log) as f:
                self.assertTrue(all(l.startswith("127.0.0.1 ") for l in f if l.strip()))
        finally:
            ng.terminate()
            ng.wait(10)
            s.cleanup()
            shutil.rmtree(d)
            shutil.rmtree(ndir)


class MakeRunTest(unittest.TestCase):
    def test_make_run_prints_a_working_url(self):
        """The newcomer's path: run-dev.sh (what `make run` runs) in a copy of the tree."""
        d = tempfile.mkdtemp()
        p = None
        try:
            for sub in ("etc", "audio", "contrib"):
                shutil.copytree(os.path.join(ROOT, sub), os.path.join(d, sub))
            port = free_port()
            env = dict(os.environ, STREAM_SERVER_PORT=str(port))
            for k in ("NOTIFY_SOCKET", "LISTEN_FDS", "LISTEN_PID", "SECRET_KEY", "AUDIO_DIR"):
                env.pop(k, None)
            p = subprocess.Popen(["sh", "contrib/run-dev.sh", BIN], cwd=d, env=env,
                                 stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            url = None
            for _ in range(5):
                line = p.stdout.readline()
                m = re.search(r"curl .*'(http://127\.0\.0\.1:%d/stream/[^']+)'" % port, line)
                if m:
                    url = m.group(1)
                    break
            self.assertIsNotNone(url, "no curl line printed")
            body = None
            for _ in range(100):
                try:
                    r = subprocess.run(["curl", "-sf", url], capture_output=True, timeout=10)
                    if r.returncode == 0:
                        body = r.stdout
                        break
                except subprocess.TimeoutExpired:
                    pass
                time.sleep(0.1)
            with open(os.path.join(ROOT, "audio", "subfolder", "Frühlings Lied.mp3"), "rb") as f:
                self.assertEqual(body, f.read())
            p.send_signal(signal.SIGTERM)
            self.assertEqual(p.wait(30), 0)
        finally:
            if p is not None:
                if p.poll() is None:
                    p.kill()
                p.stdout.close()
            shutil.rmtree(d)


class FilesTest(unittest.TestCase):
    def test_man_pages_lint_clean(self):
        for page in ("man/streamd.8", "man/streamd.conf.5", "man/streamd-analytics.7"):
            r = subprocess.run(["mandoc", "-Tlint", "-W", "warning", os.path.join(ROOT, page)],
                               capture_output=True, text=True)
            self.assertEqual(r.returncode, 0, page + r.stdout + r.stderr)
            self.assertEqual(r.stdout + r.stderr, "", page)

    def test_cli_flags_documented(self):
        with open(os.path.join(ROOT, "man/streamd.8")) as f:
            page = f.read()
        for flag in ("c", "d", "f", "h", "t", "V"):
            self.assertIn(".It Fl %s" % flag, page)
        self.assertIn(".It Cm sign", page)
        for sig in ("SIGHUP", "SIGTERM", "SIGQUIT", "SIGUSR1"):
            self.assertIn(sig, page)
        for sect in ("SYNOPSIS", "OPTIONS", "SIGNALS", "FILES", "ENVIRONMENT", "EXIT STATUS",
                     "EXAMPLES", "SEE ALSO"):
            self.assertIn(".Sh " + sect, page)

    def test_init_script_and_logrotate(self):
        r = subprocess.run(["sh", "-n", os.path.join(ROOT, "etc/init.d/streamd")])
        self.assertEqual(r.returncode, 0)
        with open(os.path.join(ROOT, "etc/init.d/streamd")) as f:
            text = f.read()
        for word in ("### BEGIN INIT INFO", "start)", "stop)", "reload|force-reload)",
                     "restart)", "status)", "configtest)"):
            self.assertIn(word, text)
        if shutil.which("logrotate"):
            r = subprocess.run(["logrotate", "-d", os.path.join(ROOT, "etc/logrotate.d/streamd")],
                               capture_output=True, text=True)
            self.assertEqual(r.returncode, 0, r.stderr)
        with open(os.path.join(ROOT, "etc/logrotate.d/streamd")) as f:
            self.assertIn("USR1", f.read())

    def test_init_script_drives_daemon(self):
        s = Streamd(workers=1)
        d = tempfile.mkdtemp()
        script = os.path.join(d, "streamd.init")
        with open(os.path.join(ROOT, "etc/init.d/streamd")) as f:
            text = f.read().replace("@SBINDIR@/streamd", BIN)
        text = text.replace("CONF=/etc/streamd/streamd.conf", "CONF=" + s.conf)
        text = text.replace("PIDFILE=/run/streamd/streamd.pid", "PIDFILE=" + s.pid_file)
        text = text.replace("[ -r /etc/default/streamd ] && . /etc/default/streamd", "")
        with open(script, "w") as f:
            f.write(text)
        try:
            run = lambda *a: subprocess.run(["sh", script] + list(a), capture_output=True,
                                            text=True, env=s.env, timeout=60)
            self.assertEqual(run("configtest").returncode, 0)
            self.assertEqual(run("start").returncode, 0)
            self.assertEqual(run("status").returncode, 0)
            self.assertEqual(s.get("chord.mp3").status, 200)
            self.assertEqual(run("reload").returncode, 0)
            self.assertEqual(run("restart").returncode, 0)
            self.assertEqual(s.get("chord.mp3").status, 200)
            self.assertEqual(run("stop").returncode, 0)
            self.assertEqual(run("status").returncode, 3)
        finally:
            run("stop")
            s.cleanup()
            shutil.rmtree(d)

    def test_make_install(self):
        dest = tempfile.mkdtemp()
        r = subprocess.run(["make", "-C", ROOT, "--no-print-directory", "install",
                            "DESTDIR=" + dest, "PREFIX=/usr/local"],
                           capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        for p in ("usr/local/sbin/streamd", "usr/local/share/man/man8/streamd.8",
                  "usr/local/share/man/man5/streamd.conf.5",
                  "usr/local/share/man/man7/streamd-analytics.7",
                  "etc/streamd/streamd.conf", "etc/init.d/streamd",
                  "etc/logrotate.d/streamd", "usr/local/lib/systemd/system/streamd.service",
                  "usr/local/lib/systemd/system/streamd.socket"):
            self.assertTrue(os.path.exists(os.path.join(dest, p)), p)
        with open(os.path.join(dest, "usr/local/lib/systemd/system/streamd.service")) as f:
            self.assertIn("ExecStart=/usr/local/sbin/streamd -f", f.read())
        with open(os.path.join(dest, "etc/streamd/streamd.conf")) as f:
            conf = f.read()
        self.assertIn("user streamd;", conf)
        self.assertIn("audio_root /srv/streamd/audio;", conf)
        self.assertNotIn("../", conf.split("# Browser")[0].replace("../audio", ""))
        shutil.rmtree(dest)


if __name__ == "__main__":
    unittest.main()
