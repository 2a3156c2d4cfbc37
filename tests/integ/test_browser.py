"""test_browser.py: headless Chromium plays, seeks and rewinds signed /stream URLs.

The page is a local file; an <audio> element loads each track from streamd, plays it,
seeks to 80 %, then back to 2 s. The page reports each step by fetching /health?log=...,
so the access log is the transcript. A long WAV makes Chromium use several range
requests and abandon some of them, as it does for real listeners.
"""
import json
import os
import re
import shutil
import subprocess
import tempfile
import time
import unittest
import urllib.parse

from harness import Streamd, fd_count

PAGE = r"""<!doctype html><html><body><script>
function log(s) {
  fetch(BASE + '/health?log=' + encodeURIComponent(s), {mode: 'no-cors'});
}
function test(url, name) {
  return new Promise((resolve) => {
    const a = new Audio();
    a.muted = true;
    a.preload = 'auto';
    let stage = 0;
    const timer = setTimeout(() => { log(name + ' timeout ' + stage); resolve(); }, 20000);
    a.addEventListener('error', () => {
      log(name + ' error ' + (a.error && a.error.code)); clearTimeout(timer); resolve();
    });
    a.addEventListener('loadedmetadata', () => {
      log(name + ' duration ' + a.duration.toFixed(1));
      a.play().catch(e => log(name + ' play-error ' + e));
    });
    a.addEventListener('timeupdate', () => {
      if (stage === 0 && a.currentTime > 0.5) {
        stage = 1;
        log(name + ' playing');
        a.currentTime = a.duration * 0.8;
      }
    });
    a.addEventListener('seeked', () => {
      log(name + ' seeked ' + Math.round(a.currentTime));
      a.addEventListener('seeked', () => {
        log(name + ' back ' + Math.round(a.currentTime));
        a.pause(); clearTimeout(timer); resolve();
      }, {once: true});
      a.currentTime = 2;
    }, {once: true});
    a.src = url;
  });
}
(async () => {
  for (const [name, url] of TRACKS) await test(url, name);
  log('done');
})();
</script></body></html>
"""


def chromium():
    for name in ("chromium", "chromium-browser", "google-chrome"):
        p = shutil.which(name)
        if p:
            return p
    return None


@unittest.skipIf(chromium() is None, "chromium missing")
@unittest.skipIf(shutil.which("ffmpeg") is None, "ffmpeg missing")
class BrowserTest(unittest.TestCase):
    def setUp(self):
        self.d = tempfile.mkdtemp()
        os.chmod(self.d, 0o755)
        self.audio = os.path.join(self.d, "audio")
        os.mkdir(self.audio)
        os.chmod(self.audio, 0o755)
        for name, seconds in (("song.mp3", 60), ("long set.wav", 600)):
            subprocess.run(["ffmpeg", "-loglevel", "error", "-y", "-f", "lavfi", "-i",
                            "sine=frequency=440:duration=%d" % seconds, "-ac", "2",
                            os.path.join(self.audio, name)], check=True)

    def tearDown(self):
        shutil.rmtree(self.d, ignore_errors=True)

    def test_play_seek_and_rewind(self):
        s = Streamd(workers=2, audio=self.audio, extra="max_file_size 1g;\n").start()
        self.log = s.access_log
        try:
            base = "http://127.0.0.1:%d" % s.port
            tracks = [["mp3", base + s.signed("song.mp3")],
                      ["wav", base + s.signed("long set.wav")]]
            page = os.path.join(self.d, "page.html")
            with open(page, "w") as f:
                f.write(PAGE.replace("BASE", json.dumps(base)).replace(
                    "TRACKS", json.dumps(tracks)))
            profile = os.path.join(self.d, "profile")
            proc = subprocess.Popen([chromium(), "--headless=new", "--no-sandbox",
                                     "--disable-gpu", "--no-first-run",
                                     "--autoplay-policy=no-user-gesture-required",
                                     "--user-data-dir=" + profile, "file://" + page],
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            steps = []
            deadline = time.time() + 90
            try:
                while time.time() < deadline and "done" not in steps:
                    time.sleep(0.5)
                    steps = self.steps()
            finally:
                proc.kill()
                proc.wait()
            self.assertIn("done", steps, steps)
            self.assertIn("mp3 duration 60.0", steps)
            self.assertIn("wav duration 600.0", steps)
            for name, length in (("mp3", 60), ("wav", 600)):
                self.assertIn(name + " playing", steps)
                self.assertIn("%s seeked %d" % (name, round(length * 0.8)), steps)
                self.assertIn(name + " back 2", steps)
            media = [l for l in self.lines() if "/stream/" in l]
            self.assertTrue(media)
            for line in media:
                self.assertRegex(line, r'" (200|206) ')      # no error on the way
            self.assertGreater(sum(1 for l in media if "long%20set.wav" in l), 1,
                               "Chromium made a single request for the long file")
            # the abandoned responses were cleaned up
            time.sleep(1)
            for w in s.workers():
                self.assertLess(fd_count(w), 64)
        finally:
            self.assertEqual(s.cleanup(), "")

    def lines(self):
        try:
            with open(self.log, errors="replace") as f:
                return f.read().splitlines()
        except OSError:
            return []

    def steps(self):
        out = []
        for line in self.lines():
            m = re.search(r"GET /health\?log=(\S+) HTTP", line)
            if m:
                out.append(urllib.parse.unquote(m.group(1)))
        return out


if __name__ == "__main__":
    unittest.main()
