"""test_jwt.py: JWT access control against the real binary, with tokens minted by a real
library (python3-jwt) for every algorithm, the attack list, roles and permissions,
/auth/sign, refresh-token rotation with reuse detection, and revocation across workers
and restarts."""
import base64
import json
import os
import shutil
import signal
import tempfile
import time
import unittest

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from harness import Streamd

SECRET = "s" * 40
SIGNING = "k" * 48
ADMIN = "admin-token-" + "z" * 30


def b64(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def pem_public(key):
    return key.public_key().public_bytes(serialization.Encoding.PEM,
                                         serialization.PublicFormat.SubjectPublicKeyInfo)


def jwk_of(key, kid, alg):
    d = json.loads(jwt.algorithms.get_default_algorithms()[alg].to_jwk(key.public_key()))
    d["kid"] = kid
    d["alg"] = alg
    d["use"] = "sig"
    return d


def hs256_raw(header, payload, key):
    """HS256 by hand, with any key (PyJWT refuses a PEM as an HMAC secret)."""
    import hashlib
    import hmac as hm
    signing = b64(json.dumps(header).encode()) + "." + b64(json.dumps(payload).encode())
    return signing + "." + b64(hm.new(key, signing.encode(), hashlib.sha256).digest())


def claims(**kw):
    now = int(time.time())
    c = {"sub": "alice", "exp": now + 300, "iat": now, "roles": ["user"]}
    c.update(kw)
    return {k: v for k, v in c.items() if v is not None}


class KeysMixin:
    @classmethod
    def make_keys(cls):
        cls.rsa = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        cls.p256 = ec.generate_private_key(ec.SECP256R1())
        cls.p384 = ec.generate_private_key(ec.SECP384R1())
        cls.p521 = ec.generate_private_key(ec.SECP521R1())
        cls.ed = ed25519.Ed25519PrivateKey.generate()
        cls.kdir = tempfile.mkdtemp()
        os.chmod(cls.kdir, 0o755)
        with open(os.path.join(cls.kdir, "signing.key"), "w") as f:
            f.write(SIGNING)
        os.chmod(os.path.join(cls.kdir, "signing.key"), 0o600)


class InteropTest(unittest.TestCase, KeysMixin):
    @classmethod
    def setUpClass(cls):
        cls.make_keys()
        keys = [jwk_of(cls.rsa, "rsa-rs256", "RS256"), jwk_of(cls.rsa, "rsa-rs384", "RS384"),
                jwk_of(cls.rsa, "rsa-rs512", "RS512"), jwk_of(cls.rsa, "rsa-ps256", "PS256"),
                jwk_of(cls.rsa, "rsa-ps384", "PS384"), jwk_of(cls.rsa, "rsa-ps512", "PS512"),
                jwk_of(cls.p256, "ec256", "ES256"), jwk_of(cls.p384, "ec384", "ES384"),
                jwk_of(cls.p521, "ec521", "ES512"), jwk_of(cls.ed, "ed", "EdDSA"),
                {"kty": "oct", "kid": "hs-new", "alg": "HS512", "k": b64(b"n" * 64)},
                {"kty": "oct", "kid": "hs-old", "k": b64(b"o" * 40)},
                {"kty": "RSA", "kid": "enc", "use": "enc", "n": "AQAB", "e": "AQAB"}]
        with open(os.path.join(cls.kdir, "jwks.json"), "w") as f:
            json.dump({"keys": keys}, f)
        cls.s = Streamd(workers=2, extra='jwt_jwks "%s/jwks.json";\njwt_signing_key "%s";\n'
                        'admin_token "%s";\naccess_token_query on;\n'
                        % (cls.kdir, os.path.join(cls.kdir, "signing.key"), ADMIN)).start()

    @classmethod
    def tearDownClass(cls):
        problems = cls.s.cleanup()
        shutil.rmtree(cls.kdir)
        if problems:
            raise AssertionError(problems)

    def stream(self, token, path="/stream/chord.mp3"):
        return self.s.request(path, headers={"Authorization": "Bearer " + token})

    def test_every_algorithm_from_pyjwt(self):
        cases = [("RS256", self.rsa, "rsa-rs256"), ("RS384", self.rsa, "rsa-rs384"),
                 ("RS512", self.rsa, "rsa-rs512"), ("PS256", self.rsa, "rsa-ps256"),
                 ("PS384", self.rsa, "rsa-ps384"), ("PS512", self.rsa, "rsa-ps512"),
                 ("ES256", self.p256, "ec256"), ("ES384", self.p384, "ec384"),
                 ("ES512", self.p521, "ec521"), ("EdDSA", self.ed, "ed"),
                 ("HS512", b"n" * 64, "hs-new"), ("HS256", b"o" * 40, "hs-old"),
                 ("HS384", b"o" * 40, "hs-old")]
        for alg, key, kid in cases:
            tok = jwt.encode(claims(), key, algorithm=alg, headers={"kid": kid})
            r = self.stream(tok)
            self.assertEqual(r.status, 200, "%s: %s" % (alg, r.body))
            self.assertEqual(len(r.body), os.path.getsize(os.path.join(self.s.audio,
                                                                         "chord.mp3")))
            # HEAD, ranges and the query parameter work with tokens too
            r = self.s.request("/stream/chord.mp3", headers={"Authorization": "Bearer " + tok,
                                                              "Range": "bytes=0-9"})
            self.assertEqual((r.status, len(r.body)), (206, 10), alg)

    def test_access_token_query(self):
        tok = jwt.encode(claims(), self.ed, algorithm="EdDSA", headers={"kid": "ed"})
        self.assertEqual(self.s.request("/stream/chord.mp3?access_token=" + tok).status, 200)
        r = self.s.request("/stream/chord.mp3?access_token=" + tok[:-3])
        self.assertEqual(r.status, 401)
        self.assertNotIn(tok[:40], r.body.decode())

    def test_attacks(self):
        good = jwt.encode(claims(), self.p256, algorithm="ES256", headers={"kid": "ec256"})
        h, p, sg = good.split(".")
        now = int(time.time())
        rsa_pem = pem_public(self.rsa)
        cases = {
            "alg none": b64(b'{"alg":"none","typ":"JWT"}') + "." + p + ".",
            "alg none with sig": b64(b'{"alg":"none","kid":"ec256"}') + "." + p + "." + sg,
            "HS256 keyed with the RSA public key": hs256_raw(
                {"alg": "HS256", "kid": "rsa-rs256"}, claims(), rsa_pem),
            "RS256 on an EC key": jwt.encode(claims(), self.rsa, algorithm="RS256",
                                             headers={"kid": "ec256"}),
            "PS256 on an RS256-only key": jwt.encode(claims(), self.rsa, algorithm="PS256",
                                                     headers={"kid": "rsa-rs256"}),
            "unknown crit": jwt.encode(claims(), self.p256, algorithm="ES256",
                                       headers={"kid": "ec256", "crit": ["exp"]}),
            "missing kid, several keys": jwt.encode(claims(), self.p256, algorithm="ES256"),
            "unknown kid": jwt.encode(claims(), self.p256, algorithm="ES256",
                                      headers={"kid": "nope"}),
            "kid of an encryption key": jwt.encode(claims(), self.rsa, algorithm="RS256",
                                                   headers={"kid": "enc"}),
            "expired": jwt.encode(claims(exp=now - 120), self.p256, algorithm="ES256",
                                  headers={"kid": "ec256"}),
            "not yet valid": jwt.encode(claims(nbf=now + 600), self.p256, algorithm="ES256",
                                        headers={"kid": "ec256"}),
            "issued in the future": jwt.encode(claims(iat=now + 600), self.p256,
                                               algorithm="ES256", headers={"kid": "ec256"}),
            "no exp": jwt.encode(claims(exp=None), self.p256, algorithm="ES256",
                                 headers={"kid": "ec256"}),
            "exp as string": jwt.encode(claims(exp=str(now + 100)), self.p256,
                                        algorithm="ES256", headers={"kid": "ec256"}),
            "tampered payload": h + "." + b64(json.dumps(claims(roles=["admin"])).encode()) +
            "." + sg,
            "tampered signature": h + "." + p + "." + ("A" if sg[0] != "A" else "B") + sg[1:],
            "truncated": good[:len(good) // 2],
            "two parts": h + "." + p,
            "four parts": good + ".x",
            "padded base64": h + "=." + p + "." + sg,
            "stray characters": h + "." + p + "." + sg[:10] + "*" + sg[11:],
            "oversized": jwt.encode(claims(pad="x" * 9000), self.p256, algorithm="ES256",
                                    headers={"kid": "ec256"}),
            "non-JSON payload": h + "." + b64(b"not json at all") + "." + sg,
            "payload not an object": h + "." + b64(b"[1,2,3]") + "." + sg,
            "nested huge JSON": h + "." + b64(b'{"a":' + b"[" * 5000 + b"]" * 5000 + b"}") +
            "." + sg,
            "duplicate claims": h + "." + b64(b'{"sub":"a","exp":9999999999,"exp":1}') + "." + sg,
            "refresh token for access": jwt.encode(claims(typ="refresh", jti="r1"),
                                                   SIGNING.encode(), algorithm="HS256"),
            "empty": "",
            "garbage": "a.b.c",
        }
        for name, tok in cases.items():
            if tok is None:
                continue
            r = self.stream(tok)
            self.assertEqual(r.status, 401, "%s: %s" % (name, r.body))
            www = r.header("WWW-Authenticate")
            self.assertTrue(www.startswith("Bearer"), name)
            if tok:
                self.assertIn('error="invalid_token"', www, name)
                self.assertEqual(r.json()["error"], "invalid_token", name)
            if len(tok) > 20:
                self.assertNotIn(tok[-20:], r.body.decode() + www, name)
        # the server is fine afterwards
        self.assertEqual(self.stream(good).status, 200)

    def test_hmac_confusion_with_pem(self):
        """An HMAC token whose secret is the RSA public key, on a PEM-configured server."""
        d = tempfile.mkdtemp()
        with open(os.path.join(d, "pub.pem"), "wb") as f:
            f.write(pem_public(self.rsa))
        s = Streamd(workers=1, extra='jwt_public_key "%s/pub.pem";\n' % d).start()
        try:
            ok = jwt.encode(claims(), self.rsa, algorithm="RS256")
            self.assertEqual(s.request("/stream/chord.mp3", headers={
                "Authorization": "Bearer " + ok}).status, 200)
            # forge: sign HS256 with the PEM text as the secret (needs a raw HMAC)
            import hashlib
            import hmac as hm
            head = b64(b'{"alg":"HS256","typ":"JWT"}')
            body = b64(json.dumps(claims(roles=["admin"])).encode())
            sig = b64(hm.new(pem_public(self.rsa), (head + "." + body).encode(),
                             hashlib.sha256).digest())
            r = s.request("/stream/chord.mp3", headers={
                "Authorization": "Bearer " + head + "." + body + "." + sig})
            self.assertEqual(r.status, 401)
        finally:
            s.cleanup()
            shutil.rmtree(d)

    def test_roles_and_permissions(self):
        def tok(**kw):
            return jwt.encode(claims(**kw), self.ed, algorithm="EdDSA", headers={"kid": "ed"})
        self.assertEqual(self.stream(tok(roles=["guest"])).status, 403)
        r = self.stream(tok(roles=["guest"]))
        self.assertIn('error="insufficient_scope"', r.header("WWW-Authenticate"))
        self.assertEqual(r.json()["error"], "insufficient_scope")
        self.assertEqual(self.stream(tok(roles=[])).status, 403)
        self.assertEqual(self.stream(tok(roles=["premium"])).status, 200)
        self.assertEqual(self.stream(tok(roles=None, permissions=["stream"])).status, 200)
        self.assertEqual(self.stream(tok(roles=["nosuchrole"])).status, 403)
        admin = lambda t: self.s.request("/admin/stats", headers={"Authorization": "Bearer " + t})
        self.assertEqual(admin(tok(roles=["user"])).status, 403)
        self.assertEqual(admin(tok(roles=["admin"])).status, 200)
        self.assertEqual(admin(tok(roles=["moderator"])).status, 200)
        self.assertEqual(admin(tok(roles=["user"], permissions=["view_analytics"])).status, 200)
        self.assertEqual(admin(ADMIN).status, 200)
        self.assertEqual(self.stream(tok(roles="user")).status, 401)     # not an array

    def test_auth_sign(self):
        t = jwt.encode(claims(), self.ed, algorithm="EdDSA", headers={"kid": "ed"})
        r = self.s.request("/auth/sign", method="POST", headers={
            "Authorization": "Bearer " + t, "Content-Type": "application/json"},
            body=json.dumps({"path": "subfolder/Frühlings Lied.mp3", "expires_in": 60}))
        self.assertEqual(r.status, 200, r.body)
        j = r.json()
        self.assertTrue(j["url"].startswith("/stream/subfolder/Fr%C3%BChlings%20Lied.mp3?"))
        self.assertLessEqual(j["expires_in"], 60)
        self.assertEqual(self.s.request(j["url"]).status, 200)
        bad = [({"path": "../etc/passwd"}, 400), ({"path": "notes.txt"}, 400), ({}, 400),
               ({"path": "missing.mp3"}, 404)]
        for body, want in bad:
            r = self.s.request("/auth/sign", method="POST", headers={
                "Authorization": "Bearer " + t}, body=json.dumps(body))
            self.assertEqual(r.status, want, body)
        r = self.s.request("/auth/sign", method="POST", body=json.dumps({"path": "chord.mp3"}))
        self.assertEqual(r.status, 401)
        g = jwt.encode(claims(roles=["guest"]), self.ed, algorithm="EdDSA", headers={"kid": "ed"})
        r = self.s.request("/auth/sign", method="POST", headers={"Authorization": "Bearer " + g},
                           body=json.dumps({"path": "chord.mp3"}))
        self.assertEqual(r.status, 403)
        r = self.s.request("/auth/sign", method="POST", headers={"Authorization": "Bearer " + t},
                           body="{not json")
        self.assertEqual(r.status, 400)
        self.assertEqual(self.s.request("/auth/sign", headers={
            "Authorization": "Bearer " + t}).status, 405)
        # a link never outlives the token
        short = jwt.encode(claims(exp=int(time.time()) + 20), self.ed, algorithm="EdDSA",
                           headers={"kid": "ed"})
        r = self.s.request("/auth/sign", method="POST", headers={
            "Authorization": "Bearer " + short}, body=json.dumps({"path": "chord.mp3"}))
        self.assertLessEqual(r.json()["expires_in"], 21)


class RefreshTest(unittest.TestCase, KeysMixin):
    def setUp(self):
        self.make_keys()
        self.s = Streamd(workers=2, extra='jwt_signing_key "%s";\n'
                         % os.path.join(self.kdir, "signing.key")).start()

    def tearDown(self):
        problems = self.s.cleanup()
        shutil.rmtree(self.kdir)
        self.assertEqual(problems, "")

    def refresh(self, token, form=False):
        if form:
            return self.s.request("/auth/refresh", method="POST", body="refresh_token=" + token,
                                  headers={"Content-Type": "application/x-www-form-urlencoded"})
        return self.s.request("/auth/refresh", method="POST",
                              body=json.dumps({"refresh_token": token}),
                              headers={"Content-Type": "application/json"})

    def first_refresh(self, jti="r-0", fam="fam-1"):
        return jwt.encode(claims(typ="refresh", jti=jti, fam=fam, exp=int(time.time()) + 3600,
                                 roles=["premium"]), SIGNING.encode(), algorithm="HS256")

    def use(self, access, n=12):
        """Status codes over n fresh connections (both workers)."""
        return {self.s.request("/stream/chord.mp3", headers={
            "Authorization": "Bearer " + access}).status for _ in range(n)}

    def test_rotation_and_reuse_detection(self):
        r0 = self.first_refresh()
        a = self.refresh(r0)
        self.assertEqual(a.status, 200, a.body)
        j = a.json()
        self.assertEqual(j["token_type"], "Bearer")
        self.assertGreater(j["expires_in"], 0)
        # streamd's tokens validate in a real library
        dec = jwt.decode(j["access_token"], SIGNING.encode(), algorithms=["HS256"])
        self.assertEqual((dec["sub"], dec["roles"], dec["fam"]), ("alice", ["premium"], "fam-1"))
        self.assertGreater(dec["exp"], time.time())
        dref = jwt.decode(j["refresh_token"], SIGNING.encode(), algorithms=["HS256"])
        self.assertEqual(dref["typ"], "refresh")
        self.assertNotEqual(dref["jti"], "r-0")
        self.assertEqual(jwt.get_unverified_header(j["refresh_token"])["typ"], "refresh+jwt")
        self.assertEqual(self.use(j["access_token"]), {200})
        # a refresh token is not an access token, and vice versa
        self.assertEqual(self.use(j["refresh_token"], 2), {401})
        self.assertEqual(self.refresh(j["access_token"]).status, 401)
        # rotate again (form-encoded this time)
        b = self.refresh(j["refresh_token"], form=True)
        self.assertEqual(b.status, 200)
        jb = b.json()
        # the first refresh token comes back: theft. The whole family dies, everywhere.
        r = self.refresh(r0)
        self.assertEqual(r.status, 401)
        self.assertIn("reuse", r.json()["message"])
        time.sleep(0.2)
        self.assertEqual(self.refresh(jb["refresh_token"]).status, 401)
        self.assertEqual(self.use(jb["access_token"]), {401})
        self.assertEqual(self.use(j["access_token"]), {401})
        m = self.s.request("/metrics").body.decode()
        self.assertIn('streamd_auth_failures_total{reason="refresh_reuse"} 1', m)

    def test_refresh_races_on_two_workers(self):
        import threading
        r0 = self.first_refresh(jti="race", fam="fam-race")
        results = []
        barrier = threading.Barrier(8)

        def go():
            barrier.wait()
            results.append(self.refresh(r0).status)

        ts = [threading.Thread(target=go) for _ in range(8)]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        self.assertEqual(sorted(results).count(200), 1, results)

    def test_revocation_everywhere_and_after_restart(self):
        j = self.refresh(self.first_refresh()).json()
        acc = j["access_token"]
        self.assertEqual(self.use(acc), {200})
        r = self.s.request("/auth/revoke", method="POST", body=json.dumps({"token": acc}))
        self.assertEqual(r.status, 200)
        self.assertGreaterEqual(r.json()["revoked"], 1)
        time.sleep(0.05)
        self.assertEqual(self.use(acc, 20), {401})          # every worker, at once
        self.assertEqual(self.refresh(j["refresh_token"]).status, 401)  # its family too
        # an external token revoked by jti, by a system_admin
        other = jwt.encode(claims(jti="ext-1", roles=["user"]), SIGNING.encode(),
                           algorithm="HS256")
        self.assertEqual(self.use(other, 2), {200})
        boss = jwt.encode(claims(roles=["admin"], jti="boss"), SIGNING.encode(),
                          algorithm="HS256")
        self.assertEqual(self.s.request("/auth/revoke", method="POST",
                                        body=json.dumps({"jti": "ext-1"})).status, 401)
        plain = jwt.encode(claims(jti="plain", roles=["user"]), SIGNING.encode(),
                           algorithm="HS256")
        self.assertEqual(self.s.request("/auth/revoke", method="POST", headers={
            "Authorization": "Bearer " + plain}, body=json.dumps({"jti": "ext-1"})).status, 403)
        self.assertEqual(self.s.request("/auth/revoke", method="POST", headers={
            "Authorization": "Bearer " + boss}, body=json.dumps({"jti": "ext-1"})).status, 200)
        self.assertEqual(self.use(other, 6), {401})
        self.assertEqual(self.s.request("/auth/revoke", method="POST",
                                        body="{}").status, 400)
        # restart with the same database: still revoked
        time.sleep(0.5)
        self.assertEqual(self.s.stop(), 0)
        self.s.start()
        self.assertEqual(self.use(acc, 4), {401})
        self.assertEqual(self.use(other, 4), {401})
        self.assertEqual(self.use(plain, 2), {200})

    def test_refresh_errors(self):
        self.assertEqual(self.refresh("garbage").status, 401)
        r = self.s.request("/auth/refresh", method="POST", body=json.dumps({}))
        self.assertEqual(r.status, 400)
        # a refresh token not signed by streamd's key
        other = jwt.encode(claims(typ="refresh", jti="x"), b"q" * 40, algorithm="HS256")
        self.assertEqual(self.refresh(other).status, 401)
        # expired
        old = jwt.encode(claims(typ="refresh", jti="y", exp=int(time.time()) - 100),
                         SIGNING.encode(), algorithm="HS256")
        self.assertEqual(self.refresh(old).status, 401)
        # too large a body
        r = self.s.request("/auth/refresh", method="POST", body="x" * 100000)
        self.assertEqual(r.status, 413)


if __name__ == "__main__":
    unittest.main()
