"""harness.py: start the real streamd binary on a free loopback port with a configuration
written by the test, and talk to it the way clients do.

Every test gets its own temporary directory (config, logs, database, pid file) and its own
port. Signed URLs are computed here with Python's hmac module, independently of streamd.
"""
import hashlib
import hmac
import http.client
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.parse

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BIN = os.environ.get("STREAMD_BIN", os.path.join(ROOT, "streamd"))
AUDIO = os.path.join(ROOT, "audio")
SANITIZE = os.environ.get("SANITIZE", "0") == "1"


def free_port():
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def sign_path(key, path, expires):
    """The scheme of sign.h: hex(HMAC-SHA256(key, path|expires))."""
    msg = ("%s|%d" % (path, expires)).encode()
    return hmac.new(key.encode() if isinstance(key, str) else key, msg,
                    hashlib.sha256).hexdigest()


def quote_path(path):
    return urllib.parse.quote(path, safe="/-._~")


def children_of(pid):
    out = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d) as f:
                st = f.read()
        except OSError:
            continue
        ppid = int(st[st.rindex(")") + 2:].split()[1])
        if ppid == pid:
            out.append(int(d))
    return sorted(out)


def proc_cmdline(pid):
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as f:
            return f.read().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def comm(pid):
    try:
        with open("/proc/%d/comm" % pid) as f:
            return f.read().strip()
    except OSError:
        return ""


def rss_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def fd_count(pid):
    return len(os.listdir("/proc/%d/fd" % pid))


def alive(pid):
    try:
        os.kill(pid, 0)
    except OSError:
        return False
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().split(")")[1].split()[0] != "Z"
    except OSError:
        return False


class Response:
    def __init__(self, status, reason, headers, body):
        self.status = status
        self.reason = reason
        self.headers = headers          # list of (name, value)
        self.body = body

    def header(self, name):
        name = name.lower()
        for k, v in self.headers:
            if k.lower() == name:
                return v
        return None

    def headers_all(self, name):
        return [v for k, v in self.headers if k.lower() == name.lower()]

    def json(self):
        import json
        return json.loads(self.body.decode())


class Streamd:
    """One streamd instance. extra: directives appended to the generated config."""

    def __init__(self, extra="", workers=1, audio=None, key=None, env=None, user_root=True,
                 database=True, port=None):
        self.dir = tempfile.mkdtemp(prefix="streamd-test-")
        os.chmod(self.dir, 0o755)
        self.port = port or free_port()
        self.key = key or os.urandom(24).hex()
        self.audio = audio or AUDIO
        self.env = dict(os.environ)
        for k in ("STREAM_SERVER_PORT", "AUDIO_DIR", "SECRET_KEY", "MAX_FILE_SIZE",
                  "MAX_RANGE_SIZE", "DATABASE_URL", "ALLOWED_ORIGINS", "NOTIFY_SOCKET",
                  "LISTEN_FDS", "LISTEN_PID"):
            self.env.pop(k, None)
        if SANITIZE:
            self.env.setdefault("ASAN_OPTIONS",
                                "detect_leaks=1:abort_on_error=0:log_path=" +
                                os.path.join(self.dir, "asan"))
            self.env.setdefault("UBSAN_OPTIONS", "print_stacktrace=1:log_path=" +
                                os.path.join(self.dir, "ubsan"))
        if env:
            self.env.update(env)
        self.conf = os.path.join(self.dir, "streamd.conf")
        self.error_log = os.path.join(self.dir, "error.log")
        self.access_log = os.path.join(self.dir, "access.log")
        self.pid_file = os.path.join(self.dir, "streamd.pid")
        self.db = os.path.join(self.dir, "streamd.db")
        lines = [
            "listen 127.0.0.1:%d;" % self.port,
            "workers %s;" % workers,
            'audio_root "%s";' % self.audio,
            'secret_key "%s";' % self.key,
            'error_log "%s";' % self.error_log,
            'access_log "%s";' % self.access_log,
            'pid_file "%s";' % self.pid_file,
            "log_level info;",
            "shutdown_timeout 10s;",
        ]
        if database:
            lines.append('database "%s";' % self.db)
        else:
            lines.append("analytics off;")
        if user_root and os.geteuid() == 0:
            lines.append("user root;")
        self.write_conf("\n".join(lines) + "\n" + extra)
        self.proc = None

    def write_conf(self, text):
        with open(self.conf, "w") as f:
            f.write(text)
        self.conf_text = text

    def start(self, wait=True, args=None, timeout=15):
        if getattr(self, "out", None) is not None:
            self.out.close()
        self.out = open(os.path.join(self.dir, "stdout.log"), "ab")
        cmd = [BIN, "-f", "-c", self.conf] + (args or [])
        self.proc = subprocess.Popen(cmd, stdout=self.out, stderr=subprocess.STDOUT,
                                     env=self.env, close_fds=True)
        if wait:
            self.wait_ready(timeout)
        return self

    def wait_ready(self, timeout=15):
        end = time.time() + timeout
        while time.time() < end:
            if self.proc.poll() is not None:
                raise RuntimeError("streamd exited with %d:\n%s" % (self.proc.returncode,
                                                                    self.logs()))
            try:
                r = self.request("/health", timeout=2)
                if r.status == 200:
                    return
            except OSError:
                pass
            time.sleep(0.05)
        raise RuntimeError("streamd did not become ready:\n" + self.logs())

    @property
    def pid(self):
        return self.proc.pid

    def workers(self):
        """Pids of the worker processes (comm "streamd-worker")."""
        return [p for p in children_of(self.pid) if comm(p) == "streamd-worker"]

    def collector(self):
        for p in children_of(self.pid):
            if comm(p) == "streamd-collect":
                return p
        return None

    def send_signal(self, sig):
        os.kill(self.pid, sig)

    def stop(self, sig=signal.SIGTERM, timeout=40):
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else None
        os.kill(self.proc.pid, sig)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise

    def cleanup(self):
        try:
            self.stop()
        except Exception:
            pass
        problems = self.sanitizer_reports()
        if getattr(self, "out", None) is not None:
            self.out.close()
        shutil.rmtree(self.dir, ignore_errors=True)
        return problems

    def sanitizer_reports(self):
        text = ""
        for name in os.listdir(self.dir):
            if name.startswith("asan") or name.startswith("ubsan"):
                with open(os.path.join(self.dir, name), errors="replace") as f:
                    text += f.read()
        logs = self.logs()
        for pat in ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:"):
            if pat in logs:
                text += logs
                break
        return text

    def logs(self):
        text = ""
        for name in ("error.log", "stdout.log"):
            p = os.path.join(self.dir, name)
            if os.path.exists(p):
                with open(p, errors="replace") as f:
                    text += f.read()
        return text

    # ------------------------------------------------------------------ requests

    def signed(self, path, lifetime=3600, expires=None, key=None):
        exp = expires if expires is not None else int(time.time()) + lifetime
        sig = sign_path(key or self.key, path, exp)
        return "/stream/%s?expires=%d&sig=%s" % (quote_path(path), exp, sig)

    def request(self, target, method="GET", headers=None, body=None, timeout=30, conn=None):
        c = conn or http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        c.request(method, target, body=body, headers=headers or {})
        r = c.getresponse()
        data = r.read()
        resp = Response(r.status, r.reason, r.getheaders(), data)
        if conn is None:
            c.close()
        return resp

    def get(self, path, **kw):
        return self.request(self.signed(path), **kw)

    def raw(self, data, timeout=10, read=True, shut_wr=False):
        """Send raw bytes, return the raw answer (until close or timeout). shut_wr:
        half-close after sending, as some clients do."""
        s = socket.create_connection(("127.0.0.1", self.port), timeout=timeout)
        s.sendall(data)
        if shut_wr:
            s.shutdown(socket.SHUT_WR)
        out = b""
        if read:
            try:
                while True:
                    chunk = s.recv(65536)
                    if not chunk:
                        break
                    out += chunk
            except socket.timeout:
                pass
        s.close()
        return out


def status_of(raw):
    m = re.match(rb"HTTP/1\.[01] (\d{3})", raw)
    return int(m.group(1)) if m else None
