#!/usr/bin/python3
"""bench.py: streamd against nginx on the same files, on the same machine, in one run.

  make bench                      (or: python3 bench/bench.py [--quick] [--runs N])

1. A deterministic corpus (200 files of 1-8 MB, 200 of 4 KB; AES-CTR keystream of a fixed
   seed, so every run serves the same bytes) in a temporary directory, never committed:
   $TMPDIR/streamd-bench-corpus (or --corpus / BENCH_CORPUS), made on the first run and
   reused while every file has its size.
2. nginx (Debian package) with its own configuration: 2 workers, sendfile, keep-alive,
   access log off, and secure_link checking an expiring signed URL on every request, so
   that both servers do equivalent authentication work. Two variants, tcp_nopush on and
   off; each scenario is compared with the better of the two.
3. streamd: 2 workers, access log off, analytics on (and off for scenario e).
4. Correctness first (byte-exact bodies, 206 + Content-Range), then wrk runs, servers
   alternating (A B A B ...), each scenario RUNS times; medians and the streamd/nginx ratio.
   The ratio per round, median (min-max), divides the two runs of each round: the machine
   drifts by 10-20 % over minutes, which moves the medians of both servers but cancels in
   a round.
   After each run the script waits until the server uses no more CPU (streamd's collector
   committing that run's records), so no run is slowed by another's deferred work; that
   work is charged to its server in the "CPU us per request" rows.

Scenarios: (a) small: signed GET of random 4 KB files, req/s; (b) range: 64 KiB windows at
random offsets of random large files, req/s; (c) full: whole large files, MB/s and server
CPU time per MB (workers' utime+stime from /proc); (d) 1,000 keep-alive connections, idle
and active: RSS per worker; (e) streamd with analytics on vs off; (f) JWT bearer tokens vs
signed URLs, and validations per second; (g) the collector's sustained records per second
into SQLite (bench/collector_bench.cpp, one core).

Prints one table and writes it to bench/results/<date>.md.

  python3 bench/bench.py --callgrind   instructions per request (a worker) and per record
                                       (the collector) under valgrind: the machine's 10-20 %
                                       drift does not touch these, so they measure a change
"""
import argparse
import datetime
import hashlib
import http.client
import os
import random
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import hmac
import base64

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
BIN = os.environ.get("STREAMD_BIN", os.path.join(ROOT, "streamd"))
KEY = "bench-key-" + "0123456789abcdef" * 2
JWT_SECRET = "bench-jwt-secret-" + "x" * 32
NGINX_SECRET = "bench-nginx-secret"
SEED = "streamd-bench-corpus-v1"
CONNS = 64
DURATION = 6


def log(*a):
    print(*a, file=sys.stderr, flush=True)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


# --------------------------------------------------------------------------- corpus

def make_corpus(d):
    """Files named by index; content from an AES-128-CTR keystream of SEED + name."""
    rnd = random.Random(SEED)
    big = [("big/%03d.mp3" % i, rnd.randint(1 << 20, 8 << 20)) for i in range(200)]
    small = [("small/%03d.mp3" % i, 4096) for i in range(200)]
    os.makedirs(os.path.join(d, "big"), exist_ok=True)
    os.makedirs(os.path.join(d, "small"), exist_ok=True)
    for name, size in big + small:
        path = os.path.join(d, name)
        if os.path.exists(path) and os.path.getsize(path) == size:
            continue
        key = hashlib.sha256((SEED + name).encode()).hexdigest()[:32]
        with open(path, "wb") as out:
            enc = subprocess.Popen(["openssl", "enc", "-aes-128-ctr", "-K", key, "-iv", "0" * 32,
                                    "-nosalt"], stdin=subprocess.PIPE, stdout=out)
            zero = bytes(1 << 20)
            left = size
            while left > 0:
                n = min(left, len(zero))
                enc.stdin.write(zero[:n])
                left -= n
            enc.stdin.close()
            enc.wait()
    return big, small


# --------------------------------------------------------------------------- servers

class Server:
    def __init__(self, name):
        self.name = name
        self.proc = None
        self.port = free_port()

    def worker_pids(self):
        out = []
        for d in os.listdir("/proc"):
            if not d.isdigit():
                continue
            try:
                with open("/proc/%s/stat" % d) as f:
                    st = f.read()
            except OSError:
                continue
            if int(st[st.rindex(")") + 2:].split()[1]) == self.proc.pid:
                out.append(int(d))
        return out

    def cpu_ticks(self):
        total = 0
        for p in self.worker_pids():
            try:
                with open("/proc/%d/stat" % p) as f:
                    v = f.read().split(")")[1].split()
                total += int(v[11]) + int(v[12])
            except OSError:
                pass
        return total

    def rss_kb(self):
        out = []
        for p in self.worker_pids():
            try:
                with open("/proc/%d/comm" % p) as f:
                    if f.read().strip() == "streamd-collect":
                        continue            # not a worker
            except OSError:
                continue
            try:
                with open("/proc/%d/status" % p) as f:
                    for line in f:
                        if line.startswith("VmRSS:"):
                            out.append(int(line.split()[1]))
            except OSError:
                pass
        return out

    def wait(self):
        for _ in range(200):
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(self.name + " did not start")

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()


class Streamd(Server):
    def __init__(self, corpus, work, analytics=True, workers=2, prefix=()):
        super().__init__("streamd" + ("" if analytics else " (analytics off)"))
        self.dir = tempfile.mkdtemp(dir=work)
        conf = os.path.join(self.dir, "streamd.conf")
        with open(conf, "w") as f:
            f.write("""listen 127.0.0.1:%d;
workers %d;
audio_root "%s";
secret_key "%s";
max_file_size 100m;
max_range_size 100m;
error_log "%s/error.log";
log_level warn;
access_log off;
database "%s/streamd.db";
analytics %s;
open_file_cache max=1024 valid=60s;
keepalive_requests 100000;
jwt_secret "%s";
max_connections 20000;
%s
""" % (self.port, workers, corpus, KEY, self.dir, self.dir, "on" if analytics else "off",
                JWT_SECRET, "user root;" if os.geteuid() == 0 else ""))
        self.proc = subprocess.Popen(list(prefix) + [BIN, "-f", "-c", conf], stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        self.wait()

    def url(self, path):
        exp = int(time.time()) + 7200
        sig = hmac.new(KEY.encode(), ("%s|%d" % (path, exp)).encode(), hashlib.sha256).hexdigest()
        return "/stream/%s?expires=%d&sig=%s" % (urllib.parse.quote(path), exp, sig)


class Nginx(Server):
    def __init__(self, corpus, work, nopush):
        super().__init__("nginx (tcp_nopush %s)" % ("on" if nopush else "off"))
        self.dir = tempfile.mkdtemp(dir=work)
        conf = os.path.join(self.dir, "nginx.conf")
        with open(conf, "w") as f:
            f.write("""daemon off;
worker_processes 2;
pid %(d)s/nginx.pid;
error_log %(d)s/error.log warn;
worker_rlimit_nofile 20000;
events { worker_connections 10000; }
http {
    access_log off;
    sendfile on;
    tcp_nopush %(nopush)s;
    tcp_nodelay on;
    keepalive_timeout 75s;
    keepalive_requests 100000;
    open_file_cache max=1024 inactive=60s;
    open_file_cache_valid 60s;
    types { audio/mpeg mp3; }
    client_body_temp_path %(d)s/body;
    proxy_temp_path %(d)s/proxy;
    fastcgi_temp_path %(d)s/fcgi;
    uwsgi_temp_path %(d)s/uwsgi;
    scgi_temp_path %(d)s/scgi;
    server {
        listen 127.0.0.1:%(port)d reuseport;
        location /stream/ {
            alias %(corpus)s/;
            secure_link $arg_md5,$arg_expires;
            secure_link_md5 "$secure_link_expires$uri %(secret)s";
            if ($secure_link = "") { return 403; }
            if ($secure_link = "0") { return 410; }
        }
    }
}
""" % {"d": self.dir, "nopush": "on" if nopush else "off", "port": self.port,
       "corpus": corpus, "secret": NGINX_SECRET})
        self.proc = subprocess.Popen(["nginx", "-c", conf], stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        self.wait()

    def url(self, path):
        exp = int(time.time()) + 7200
        uri = "/stream/" + urllib.parse.quote(path)
        digest = hashlib.md5(("%d%s %s" % (exp, "/stream/" + path, NGINX_SECRET)).encode()).digest()
        md5 = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
        return "%s?md5=%s&expires=%d" % (uri, md5, exp)


# --------------------------------------------------------------------------- checks

def get(port, target, headers=None):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    c.request("GET", target, headers=headers or {})
    r = c.getresponse()
    body = r.read()
    c.close()
    return r, body


def check(server, corpus, big, small):
    """Byte-exact bodies and correct 206 answers before anything is timed."""
    rnd = random.Random(1)
    for name, size in rnd.sample(small, 10) + rnd.sample(big, 4):
        with open(os.path.join(corpus, name), "rb") as f:
            data = f.read()
        r, body = get(server.port, server.url(name))
        if r.status != 200 or body != data:
            raise RuntimeError("%s: wrong body for %s (%d)" % (server.name, name, r.status))
        if size <= 65536:
            continue
        o = rnd.randrange(0, size - 65536)
        r, body = get(server.port, server.url(name), {"Range": "bytes=%d-%d" % (o, o + 65535)})
        want = "bytes %d-%d/%d" % (o, o + 65535, size)
        if r.status != 206 or body != data[o:o + 65536] or r.getheader("Content-Range") != want:
            raise RuntimeError("%s: wrong range for %s" % (server.name, name))


# --------------------------------------------------------------------------- wrk

LUA = r"""
local entries = {}
local f = assert(io.open(os.getenv("BENCH_URLS")))
for line in f:lines() do
  local url, size = line:match("^(%S+)%s+(%d+)$")
  entries[#entries + 1] = { url, tonumber(size) }
end
f:close()
local ranged = os.getenv("BENCH_RANGE") == "1"
local token = os.getenv("BENCH_TOKEN")
local counter = 0
function setup(thread)
  counter = counter + 1
  thread:set("id", counter)
end
function init(args)
  math.randomseed(os.time() * 1000 + id)
end
function request()
  local e = entries[math.random(#entries)]
  if ranged then
    local o = math.random(0, e[2] - 65537)
    return wrk.format("GET", e[1], { Range = "bytes=" .. o .. "-" .. (o + 65535) })
  end
  if token and token ~= "" then
    return wrk.format("GET", e[1], { Authorization = "Bearer " .. token })
  end
  return wrk.format("GET", e[1])
end
"""


def parse_size(v, unit):
    mul = {"B": 1, "KB": 1024, "MB": 1 << 20, "GB": 1 << 30}[unit]
    return float(v) * mul


def parse_ms(v):
    m = re.match(r"([\d.]+)(us|ms|s|m)", v)
    n, u = float(m.group(1)), m.group(2)
    return n * {"us": 0.001, "ms": 1, "s": 1000, "m": 60000}[u]


def wrk_output(port, urlfile, ranged, threads, conns, secs, work, token=""):
    """wrk's report for SECS seconds of the bench.lua requests (URLFILE) against PORT."""
    lua = os.path.join(work, "bench.lua")
    if not os.path.exists(lua):
        with open(lua, "w") as f:
            f.write(LUA)
    env = dict(os.environ, BENCH_URLS=urlfile, BENCH_RANGE="1" if ranged else "0",
               BENCH_TOKEN=token)
    return subprocess.run(["wrk", "-t%d" % threads, "-c%d" % conns, "-d%ds" % secs,
                           "--latency", "-s", lua, "http://127.0.0.1:%d" % port], env=env,
                          capture_output=True, text=True).stdout


def wrk(server, urlfile, ranged, conns, secs, work, token=""):
    cpu0 = server.cpu_ticks()
    t0 = time.time()
    out = wrk_output(server.port, urlfile, ranged, 2, conns, secs, work, token)
    wall = time.time() - t0
    cpu = (server.cpu_ticks() - cpu0) / os.sysconf("SC_CLK_TCK")
    res = {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))}
    # Work a server defers (streamd's collector committing the run's records) is done
    # before the next run starts, so that it is charged to this server and never slows
    # the next one down; it is counted in cpu_all.
    settle(server)
    res["cpu_all"] = (server.cpu_ticks() - cpu0) / os.sysconf("SC_CLK_TCK")
    reqs = res["rps"] * secs
    res["cpu_us_per_req"] = 1e6 * res["cpu_all"] / reqs if reqs else 0
    m = re.search(r"([\d.]+)([KMG]?B) read", out)
    res["bytes"] = parse_size(m.group(1), m.group(2)) if m else 0
    res["mbps"] = res["bytes"] / (1 << 20) / wall
    lat = dict(re.findall(r"^\s+(50|99)%\s+(\S+)", out, re.M))
    res["p50"] = parse_ms(lat["50"]) if "50" in lat else 0
    res["p99"] = parse_ms(lat["99"]) if "99" in lat else 0
    errs = 0
    m = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if m:
        errs += int(m.group(1))
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    if m:
        errs += sum(int(x) for x in m.groups())
    res["errors"] = errs
    res["cpu_per_mb"] = cpu / (res["bytes"] / (1 << 20)) if res["bytes"] else 0
    return res


def settle(server, limit=60):
    """Until the server's processes use no more CPU (0.3 s without a tick)."""
    end = time.time() + limit
    last = server.cpu_ticks()
    while time.time() < end:
        time.sleep(0.3)
        now = server.cpu_ticks()
        if now == last:
            return
        last = now


def write_urls(server, entries, path):
    with open(path, "w") as f:
        for name, size in entries:
            f.write("%s %d\n" % (server.url(name), size))


# --------------------------------------------------------------------------- scenarios

def hold_connections(server, n, active):
    """n keep-alive connections; if active, each makes a request first. RSS per worker."""
    socks = []
    for i in range(n):
        s = socket.create_connection(("127.0.0.1", server.port))
        socks.append(s)
    if active:
        target = server.url("small/000.mp3")
        for s in socks:
            s.sendall(("GET %s HTTP/1.1\r\nHost: x\r\n\r\n" % target).encode())
        for s in socks:
            got = b""
            while b"\r\n\r\n" not in got or len(got.split(b"\r\n\r\n", 1)[1]) < 4096:
                chunk = s.recv(65536)
                if not chunk:
                    break
                got += chunk
    time.sleep(0.5)
    rss = server.rss_kb()
    for s in socks:
        s.close()
    return rss


def b64u(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def hs256(payload, key):
    import json
    signing = b64u(b'{"alg":"HS256","typ":"JWT"}') + "." + b64u(json.dumps(payload).encode())
    return signing + "." + b64u(hmac.new(key, signing.encode(), hashlib.sha256).digest())


def build_tool(name):
    """build/NAME from bench/NAME.cpp and the daemon's modules (build/libstreamd.a)."""
    exe = os.path.join(ROOT, "build", name)
    subprocess.run("g++ -std=c++17 -O2 -D_GNU_SOURCE -I%s/include $(pkg-config --cflags "
                   "libcjson) -o %s %s/bench/%s.cpp %s/build/libstreamd.a $(pkg-config "
                   "--libs libevent openssl sqlite3 libcjson zlib)" % (ROOT, exe, ROOT, name,
                                                                       ROOT),
                   shell=True, check=True)
    return exe


def collector_rate():
    """Records per second the collector's path (decode, sessions, SQLite) sustains on one
    core, with build/collector_bench: 200,000 records, a transaction per 1,000."""
    r = subprocess.run([build_tool("collector_bench"), "200000", "1000"], capture_output=True,
                       text=True, check=True)
    m = re.search(r"= (\d+) records/s", r.stdout)
    return float(m.group(1)) if m else 0.0


def jwt_bench(work):
    """HS256 and ES256 validations per second with build/jwt_bench."""
    exe = build_tool("jwt_bench")
    out = []
    tok = hs256({"sub": "b", "exp": int(time.time()) + 3600}, JWT_SECRET.encode())
    r = subprocess.run([exe, "hs", JWT_SECRET, tok, "300000"], capture_output=True, text=True,
                       check=True)
    out.append(("HS256", float(r.stdout)))
    try:
        import jwt as pyjwt
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import ec
        key = ec.generate_private_key(ec.SECP256R1())
        pem = os.path.join(work, "es256.pem")
        with open(pem, "wb") as f:
            f.write(key.public_key().public_bytes(serialization.Encoding.PEM,
                    serialization.PublicFormat.SubjectPublicKeyInfo))
        tok = pyjwt.encode({"sub": "b", "exp": int(time.time()) + 3600}, key, algorithm="ES256")
        r = subprocess.run([exe, "pem", pem, tok, "20000"], capture_output=True, text=True,
                           check=True)
        out.append(("ES256", float(r.stdout)))
    except ImportError:
        log("python3-jwt missing: no ES256 figure")
    return out


def wait_drained(server, limit=60):
    """Until streamd's analytics queue is empty (at most limit seconds)."""
    end = time.time() + limit
    while time.time() < end:
        try:
            r, body = get(server.port, "/metrics")
            m = re.search(rb"^streamd_analytics_queue_depth (\d+)", body, re.M)
            if m and int(m.group(1)) == 0:
                return
        except OSError:
            pass
        time.sleep(0.5)


def callgrind_counts(corpus, work, big, small):
    """Instructions per request in a worker and per record in the collector (callgrind).

    Wall-clock ratios on this VM drift by 10-20 %; instruction counts do not, so a change
    to a per-request cost is measured here. streamd (one worker) runs under callgrind
    twice per scenario, 3 s and 9 s of wrk -t1 -c8; the difference of the two runs'
    counts divided by the difference of their requests leaves out start-up and shutdown.
    """
    if shutil.which("valgrind") is None:
        log("callgrind: valgrind missing (apt-get install valgrind)")
        return []
    rows = []
    for title, kind, ranged in (("small 4 KB GET", small, False),
                                ("range 64 KiB windows", big, True)):
        points = []
        for secs in (3, 9):
            out = tempfile.mkdtemp(dir=work)
            sd = Streamd(corpus, work, workers=1, prefix=(
                "valgrind", "--tool=callgrind", "--callgrind-out-file=%s/cg.%%p" % out))
            try:
                urls = os.path.join(work, "cg-%s.urls" % sd.port)
                write_urls(sd, kind, urls)
                txt = wrk_output(sd.port, urls, ranged, 1, 8, secs, work)
                n = int(re.search(r"(\d+) requests in", txt).group(1))
                time.sleep(3)                   # the collector commits what it got
            finally:
                sd.stop()
            counts = {}
            for name in os.listdir(out):
                with open(os.path.join(out, name), errors="replace") as f:
                    text = f.read()
                m = re.search(r"^totals: (\d+)", text, re.M)
                if m is None:
                    continue
                if " stream_handle(" in text:
                    counts["worker"] = int(m.group(1))
                elif " collector_main(" in text:
                    counts["collector"] = int(m.group(1))
            points.append((n, counts))
        (n1, c1), (n2, c2) = points
        w = (c2["worker"] - c1["worker"]) / max(1, n2 - n1)
        c = (c2.get("collector", 0) - c1.get("collector", 0)) / max(1, n2 - n1)
        log("  callgrind %s: %.0f instructions per request (worker), %.0f per record "
            "(collector), %d/%d requests" % (title, w, c, n1, n2))
        rows.append((title, w, c))
    return rows


def median(xs):
    return statistics.median(xs) if xs else 0


def paired(a_runs, b_runs, metric, digits=2):
    """The ratio a/b of each round (the two ran within one round, so a drift of the
    machine slower than a round cancels), as "median (min-max)"."""
    ratios = [a[metric] / b[metric] for a, b in zip(a_runs, b_runs) if b[metric]]
    if not ratios:
        return ""
    return "%.*f (%.*f-%.*f)" % (digits, median(ratios), digits, min(ratios), digits, max(ratios))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--secs", type=int, default=DURATION)
    ap.add_argument("--quick", action="store_true", help="1 run of 3 s (smoke)")
    ap.add_argument("--callgrind", action="store_true",
                    help="only instructions per request and per record, under callgrind")
    ap.add_argument("--corpus", default=os.environ.get("BENCH_CORPUS", os.path.join(
        tempfile.gettempdir(), "streamd-bench-corpus")))
    args = ap.parse_args()
    if args.quick:
        args.runs, args.secs = 1, 3
    work = tempfile.mkdtemp(prefix="streamd-bench-")
    os.chmod(work, 0o755)
    log("corpus: %s" % args.corpus)
    big, small = make_corpus(args.corpus)
    if args.callgrind:
        try:
            for title, w, c in callgrind_counts(args.corpus, work, big, small):
                print("%s: %.0f instructions per request (worker), %.0f per record "
                      "(collector)" % (title, w, c))
        finally:
            shutil.rmtree(work, ignore_errors=True)
        return
    servers = {}
    results = {}
    try:
        sd = Streamd(args.corpus, work)
        sd_off = Streamd(args.corpus, work, analytics=False)
        ng_on = Nginx(args.corpus, work, True)
        ng_off = Nginx(args.corpus, work, False)
        all_servers = [sd, ng_on, ng_off, sd_off]
        for s in all_servers:
            check(s, args.corpus, big, small)
        log("correctness: byte-exact bodies and ranges from all servers")
        # everything in the page cache, so no server pays for the first reads
        for name, _ in big + small:
            with open(os.path.join(args.corpus, name), "rb") as f:
                while f.read(1 << 20):
                    pass
        urls = {}
        for s in all_servers:
            for kind, entries in (("small", small), ("big", big)):
                p = os.path.join(work, "%s-%d.urls" % (kind, s.port))
                write_urls(s, entries, p)
                urls[(s.port, kind)] = p

        scenarios = [("a. small 4 KB GET (req/s)", "small", False, CONNS, "rps"),
                     ("b. range 64 KiB windows (req/s)", "big", True, CONNS, "rps"),
                     ("c. full files (MB/s)", "big", False, 16, "mbps")]
        for title, kind, ranged, conns, metric in scenarios:
            runs = {s.name: [] for s in all_servers}
            for s in all_servers:           # warm-up, not counted
                wrk(s, urls[(s.port, kind)], ranged, conns, 1, work)
            for i in range(args.runs):
                for s in (sd, ng_on, sd_off, ng_off) if i % 2 == 0 else (ng_off, sd_off, ng_on, sd):
                    runs[s.name].append(wrk(s, urls[(s.port, kind)], ranged, conns, args.secs,
                                            work))
                    log("  %-30s %-26s %s=%.1f p99=%.2fms err=%d" % (
                        title[:30], s.name, metric, runs[s.name][-1][metric],
                        runs[s.name][-1]["p99"], runs[s.name][-1]["errors"]))
            results[title] = (metric, runs)

        # d. memory with 1000 connections, once the collector has caught up
        wait_drained(sd)
        rss = {}
        for s in (sd, ng_on):
            rss[s.name] = {"idle": hold_connections(s, 1000, False),
                           "active": hold_connections(s, 1000, True)}

        # f. JWT: validations per second, and streaming with a bearer token vs signed URLs
        jwt_rows = jwt_bench(work)
        collector_rps = collector_rate()
        plain = os.path.join(work, "plain.urls")
        with open(plain, "w") as f:
            for name, size in small:
                f.write("/stream/%s %d\n" % (name, size))
        tok = hs256({"sub": "bench", "exp": int(time.time()) + 7200, "roles": ["user"]},
                    JWT_SECRET.encode())
        jwt_runs, url_runs = [], []
        for i in range(args.runs):
            url_runs.append(wrk(sd, urls[(sd.port, "small")], False, CONNS, args.secs, work))
            jwt_runs.append(wrk(sd, plain, False, CONNS, args.secs, work, tok))
            log("  f. small GET: signed URL %.0f req/s, JWT bearer %.0f req/s (err %d)" % (
                url_runs[-1]["rps"], jwt_runs[-1]["rps"], jwt_runs[-1]["errors"]))

    finally:
        for s in servers.values():
            s.stop()
        for s in ("sd", "sd_off", "ng_on", "ng_off"):
            if s in locals():
                locals()[s].stop()
        shutil.rmtree(work, ignore_errors=True)

    # ------------------------------------------------------------------ table
    rows = []
    header = ("| scenario | streamd | nginx (best) | ratio | ratio per round | "
              "streamd p50 / p99 ms | nginx p50 / p99 ms | errors |")
    rows.append(header)
    rows.append("|---|---|---|---|---|---|---|---|")
    for title, (metric, runs) in results.items():
        s_runs = runs["streamd"]
        best_name = max(("nginx (tcp_nopush on)", "nginx (tcp_nopush off)"),
                        key=lambda n: median([r[metric] for r in runs[n]]))
        n_runs = runs[best_name]
        sv = median([r[metric] for r in s_runs])
        nv = median([r[metric] for r in n_runs])
        errors = sum(r["errors"] for n in runs for r in runs[n])
        rows.append("| %s | %.1f | %.1f (%s) | %.2f | %s | %.2f / %.2f | %.2f / %.2f | %d |" % (
            title, sv, nv, best_name.split("(")[1].rstrip(")"), sv / nv if nv else 0,
            paired(s_runs, n_runs, metric),
            median([r["p50"] for r in s_runs]), median([r["p99"] for r in s_runs]),
            median([r["p50"] for r in n_runs]), median([r["p99"] for r in n_runs]), errors))
        if metric == "rps":
            rows.append("| %s server CPU us per request, analytics drained | %.1f | %.1f | %.2f "
                        "| | | | |" % (title[:2], median([r["cpu_us_per_req"] for r in s_runs]),
                                     median([r["cpu_us_per_req"] for r in n_runs]),
                                     median([r["cpu_us_per_req"] for r in s_runs]) /
                                     max(1e-9, median([r["cpu_us_per_req"] for r in n_runs]))))
        if metric == "mbps":
            rows.append("| c. server CPU s per GB sent | %.2f | %.2f | %.2f | | | | |" % (
                1024 * median([r["cpu_per_mb"] for r in s_runs]),
                1024 * median([r["cpu_per_mb"] for r in n_runs]),
                median([r["cpu_per_mb"] for r in s_runs]) /
                max(1e-9, median([r["cpu_per_mb"] for r in n_runs]))))
    for kind in ("idle", "active"):
        s_rss = rss["streamd"][kind]
        n_rss = rss["nginx (tcp_nopush on)"][kind]
        rows.append("| d. 1000 %s keep-alive: RSS per worker (MB) | %s | %s | %.2f | | | | |" % (
            kind, " / ".join("%.1f" % (x / 1024) for x in s_rss),
            " / ".join("%.1f" % (x / 1024) for x in n_rss),
            max(s_rss) / max(1, max(n_rss))))
    for title, (metric, runs) in results.items():
        on = median([r[metric] for r in runs["streamd"]])
        off = median([r[metric] for r in runs["streamd (analytics off)"]])
        rows.append("| e. analytics on/off: %s | %.1f | %.1f (off) | %.3f | %s | | | |" % (
            title.split(" (")[0][3:], on, off, on / off if off else 0,
            paired(runs["streamd"], runs["streamd (analytics off)"], metric, 3)))
        if metric == "rps":
            con = median([r["cpu_us_per_req"] for r in runs["streamd"]])
            coff = median([r["cpu_us_per_req"] for r in runs["streamd (analytics off)"]])
            rows.append("| e. analytics on/off: %s, CPU us per request | %.1f | %.1f (off) | "
                        "%.3f | | | | |" % (title.split(" (")[0][3:], con, coff,
                                          con / coff if coff else 0))
    su, sj = median([r["rps"] for r in url_runs]), median([r["rps"] for r in jwt_runs])
    rows.append("| f. small GET, JWT bearer vs signed URL (req/s) | %.1f (JWT) | %.1f (URL) "
                "| %.2f | %s | | | %d |" % (sj, su, sj / su if su else 0,
                                            paired(jwt_runs, url_runs, "rps"),
                                            sum(r["errors"] for r in jwt_runs)))
    for name, v in jwt_rows:
        rows.append("| f. JWT validations per second, %s (one core) | %.0f | | | | | | |" % (
            name, v))
    rows.append("| g. collector: records per second into SQLite (one core, 1,000 per "
                "transaction) | %.0f | | | | | | |" % collector_rps)
    table = "\n".join(rows)
    print(table)
    info = subprocess.run([BIN, "-V"], capture_output=True, text=True).stdout.strip()
    nginx_v = subprocess.run(["nginx", "-v"], capture_output=True, text=True).stderr.strip()
    day = datetime.date.today().isoformat()
    os.makedirs(os.path.join(HERE, "results"), exist_ok=True)
    with open(os.path.join(HERE, "results", day + ".md"), "w") as f:
        f.write("# streamd vs nginx, %s\n\n%s; %s; %d CPUs; wrk -t2, %d s per run, %d runs "
                "per server and scenario, alternating; medians.\n\n%s\n" % (
                    day, info, nginx_v, os.cpu_count(), args.secs, args.runs, table))


if __name__ == "__main__":
    main()
