#!/usr/bin/env python3
"""Test vectors of logseal's sealed format, version 1 (docs/FORMAT.md §16).

Every value here is computed from the specification in docs/FORMAT.md with
Python's standard library (hashlib, hmac, json, base64, ipaddress) and the
`cryptography` package (Ed25519, AES-256-GCM), independently of the Rust
code. `core/tests/format_vectors.rs` checks the Rust implementation
against the JSON this script writes: that is the cross-implementation
check.

    scripts/setup-python.sh
    .venv/bin/python docs/vectors/generate.py           # (re)writes format-v1.json
    .venv/bin/python docs/vectors/generate.py --check   # exit 1 if the file differs

The output is deterministic: every key, salt, nonce and timestamp is fixed,
and Ed25519 signatures are deterministic (RFC 8032).
"""

import argparse
import base64
import datetime
import hashlib
import hmac
import ipaddress
import json
import re
import struct
import sys
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives import serialization

OUT = Path(__file__).resolve().parent / "format-v1.json"


# --------------------------------------------------------------------------
# Primitives


def sha256(*parts):
    h = hashlib.sha256()
    for p in parts:
        h.update(p)
    return h.digest()


def hmac256(key, *parts):
    m = hmac.new(key, digestmod=hashlib.sha256)
    for p in parts:
        m.update(p)
    return m.digest()


def hx(b):
    return b.hex()


def b64(b):
    return base64.b64encode(b).decode("ascii")


def canonical_json(value):
    """§9.2: keys sorted, no insignificant whitespace, non-ASCII as UTF-8,
    control characters escaped as \\b \\t \\n \\f \\r or \\u00xx."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


# --------------------------------------------------------------------------
# §4 Records and the canonical encoding

FORMAT_CODES = {"combined": 1, "common": 2, "json": 3}


def u32(n):
    return struct.pack(">I", n)


def enc_bytes(b):
    return u32(len(b)) + b


def enc_opt(value, enc):
    return b"\x00" if value is None else b"\x01" + enc(value)


def enc_opt_str(s):
    return enc_opt(s, lambda v: enc_bytes(v.encode("utf-8")))


def enc_ip(text):
    ip = ipaddress.ip_address(text)
    return (b"\x04" if ip.version == 4 else b"\x06") + ip.packed


def canonical(r):
    """The canonical encoding of a record given in its JSON form (§4, §12)."""
    out = struct.pack(">Q", r["seq"])
    out += struct.pack(">q", r["received_at"])
    out += enc_bytes(r["source"].encode("utf-8"))
    out += enc_opt(r["format"], lambda f: bytes([FORMAT_CODES[f]]))
    out += enc_opt(r["time"], lambda t: struct.pack(">qi", t["utc_micros"], t["offset_secs"]))
    out += enc_opt(r["client_ip"], enc_ip)
    out += enc_opt_str(r["method"])
    out += enc_opt_str(r["url"])
    out += enc_opt_str(r["url_path"])
    out += enc_opt_str(r["protocol"])
    out += enc_opt(r["status"], lambda s: struct.pack(">H", s))
    out += enc_opt(r["bytes_sent"], lambda b: struct.pack(">Q", b))
    out += enc_opt(r["duration_us"], lambda d: struct.pack(">Q", d))
    out += enc_opt_str(r["referer"])
    out += enc_opt_str(r["user_agent"])
    out += enc_opt_str(r["user_id"])
    out += enc_opt_str(r["request_id"])
    out += enc_opt_str(r["host"])
    out += enc_bytes(base64.b64decode(r["raw"]))
    out += enc_opt_str(r["parse_error"])
    return out


FIELDS = [
    "seq", "received_at", "source", "format", "time", "client_ip", "method", "url", "url_path", "protocol",
    "status", "bytes_sent", "duration_us", "referer", "user_agent", "user_id", "request_id", "host", "raw",
    "parse_error",
]


def record(**fields):
    """A record in its JSON form; `raw` given as bytes."""
    r = {name: None for name in FIELDS}
    r.update(fields)
    r["raw"] = b64(r["raw"])
    return r


def url_path(url):
    return url.split("?", 1)[0]


# --------------------------------------------------------------------------
# §5 Commitments, leaves, chain


def salt(salt_key, seq):
    return hmac256(salt_key, b"salt", struct.pack(">Q", seq))


def commitment(salt_value, canonical_bytes):
    return hmac256(salt_value, b"logseal/record/v1", canonical_bytes)


def leaf_hash(data):
    return sha256(b"\x00", data)


def chain_next(prev, leaf):
    return sha256(b"logseal/chain/v1", prev, leaf)


def genesis(origin):
    return sha256(b"logseal/genesis/v1", origin.encode("utf-8"))


# --------------------------------------------------------------------------
# RFC 6962 §2.1 (RFC 9162 §2.1), written from the RFC's definitions


def node_hash(left, right):
    return sha256(b"\x01", left, right)


def split(n):
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def mth(leaves):
    if not leaves:
        return sha256()
    if len(leaves) == 1:
        return leaves[0]
    k = split(len(leaves))
    return node_hash(mth(leaves[:k]), mth(leaves[k:]))


def inclusion_path(m, leaves):
    if len(leaves) <= 1:
        return []
    k = split(len(leaves))
    if m < k:
        return inclusion_path(m, leaves[:k]) + [mth(leaves[k:])]
    return inclusion_path(m - k, leaves[k:]) + [mth(leaves[:k])]


def subproof(m, leaves, b):
    n = len(leaves)
    if m == n:
        return [] if b else [mth(leaves)]
    k = split(n)
    if m <= k:
        return subproof(m, leaves[:k], b) + [mth(leaves[k:])]
    return subproof(m - k, leaves[k:], False) + [mth(leaves[:k])]


def consistency_proof(m, leaves):
    return subproof(m, leaves, True)


# --------------------------------------------------------------------------
# §8 Blind index


def ip_tag(index_key, text):
    ip = ipaddress.ip_address(text)
    if ip.version == 6 and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return hmac256(index_key, b"logseal/ip_tag/v1", ip.packed)[:8]


def user_tag(index_key, user_id):
    """§8.1: the pseudonym of a user id (separator ending in a newline)."""
    return hmac256(index_key, b"logseal/user-tag/v1\n", user_id.encode("utf-8"))[:8]


def client_prefix(text):
    """§8.2: the /24 (IPv4, also IPv4-mapped) or /48 (IPv6) network, as text."""
    ip = ipaddress.ip_address(text)
    if ip.version == 6 and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if ip.version == 4:
        a, b, c, _ = ip.packed
        return "%d.%d.%d.0/24" % (a, b, c)
    network = ipaddress.IPv6Network((int(ip) >> 80 << 80, 48))
    # RFC 5952 §4 as in §7.3: lowercase, longest (leftmost) run of 2+ zero fields as ::
    return network.network_address.compressed + "/48"


# --------------------------------------------------------------------------
# §7 Rendering

MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
EPOCH = datetime.datetime(1970, 1, 1)


def rfc3339_utc(micros):
    t = EPOCH + datetime.timedelta(microseconds=micros)
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + "%06dZ" % t.microsecond


def clf_time(t):
    offset = t["offset_secs"]
    local = EPOCH + datetime.timedelta(seconds=t["utc_micros"] // 1_000_000 + offset)
    sign = "-" if offset < 0 else "+"
    a = abs(offset)
    return "%02d/%s/%04d:%02d:%02d:%02d %s%02d%02d" % (
        local.day, MONTHS[local.month - 1], local.year, local.hour, local.minute, local.second,
        sign, a // 3600, a % 3600 // 60,
    )


def clf_time_representable(t):
    if t["utc_micros"] % 1_000_000 != 0 or t["offset_secs"] % 60 != 0 or abs(t["offset_secs"]) > 23 * 3600 + 59 * 60:
        return False
    local = t["utc_micros"] // 1_000_000 + t["offset_secs"]
    return -62_167_219_200 <= local <= 253_402_300_799


def escape(text):
    out = []
    for b in text.encode("utf-8"):
        if b in (0x22, 0x5C) or b < 0x20 or b >= 0x7F:
            out.append("\\x%02X" % b)
        else:
            out.append(chr(b))
    return "".join(out)


def render(r):
    """§7: the line, or None when the record has none."""
    if r["parse_error"] is not None or r["format"] not in ("combined", "common"):
        return None
    combined = r["format"] == "combined"
    if r["duration_us"] is not None or r["request_id"] is not None or r["host"] is not None:
        return None
    if not combined and (r["referer"] is not None or r["user_agent"] is not None):
        return None
    if r["time"] is None or not clf_time_representable(r["time"]):
        return None
    if r["status"] is None or r["status"] > 999 or r["client_ip"] is None:
        return None
    ip = ipaddress.ip_address(r["client_ip"])
    if ip.version == 4:
        line = str(ip)
    elif ip.ipv4_mapped is not None:
        line = "::ffff:" + str(ip.ipv4_mapped)  # RFC 5952 §5: mixed notation for IPv4-mapped addresses
    else:
        line = ip.compressed  # RFC 5952 §4: lowercase, longest (leftmost) run of 2+ zero fields as ::
    line += " - "
    user = r["user_id"]
    if user is None:
        line += "-"
    elif user == "-" or " [" in user:
        return None
    else:
        line += escape(user)
    line += " [" + clf_time(r["time"]) + '] "'
    m, u, p = r["method"], r["url"], r["protocol"]
    if m is None and u is None and p is None and r["url_path"] is None:
        line += "-"
    elif m is not None and u is not None and p is not None:
        if r["url_path"] != url_path(u) or any(" " in x for x in (m, u, p)):
            return None
        line += escape(m) + " " + escape(u) + " " + escape(p)
    else:
        return None
    line += '" %03d ' % r["status"]
    line += "-" if r["bytes_sent"] is None else str(r["bytes_sent"])
    if combined:
        for field in (r["referer"], r["user_agent"]):
            if field == "-":
                return None
            line += ' "' + ("-" if field is None else escape(field)) + '"'
    return line.encode("ascii")


# --------------------------------------------------------------------------
# §10 Checkpoints (C2SP tlog-checkpoint, signed-note, cosignature/v1)


def key_id(name, alg, pubkey):
    return struct.unpack(">I", sha256(name.encode("utf-8"), b"\n", bytes([alg]), pubkey)[:4])[0]


def checkpoint_body(origin, size, root, heartbeat):
    ext = "logseal/v1 paused\n" if heartbeat is None else "logseal/v1 heartbeat=%d\n" % heartbeat
    return ("%s\n%d\n%s\n" % (origin, size, b64(root)) + ext).encode("utf-8")


def cosignature_message(timestamp, body):
    return b"cosignature/v1\ntime %d\n" % timestamp + body


def sign_checkpoint(seed, name, body, timestamp):
    sk = Ed25519PrivateKey.from_private_bytes(seed)
    pub = sk.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    plain = struct.pack(">I", key_id(name, 0x01, pub)) + sk.sign(body)
    cosig = (
        struct.pack(">I", key_id(name, 0x04, pub))
        + struct.pack(">Q", timestamp)
        + sk.sign(cosignature_message(timestamp, body))
    )
    dash = "\u2014 ".encode("utf-8")
    return (
        body
        + b"\n"
        + dash + name.encode() + b" " + b64(plain).encode() + b"\n"
        + dash + name.encode() + b" " + b64(cosig).encode() + b"\n"
    )


# --------------------------------------------------------------------------
# §14 Local key provider


def local_wrap(master_key, master_key_id, nonce, key, context):
    sealed = AESGCM(master_key).encrypt(nonce, key, master_key_id.encode("utf-8") + context)
    return b64(nonce + sealed)


def salt_key_context(origin, file_index):
    return ("\nlogseal/salt-key/v1\n%s\n%d" % (origin, file_index)).encode("utf-8")


# --------------------------------------------------------------------------
# The vectors


def build():
    v = {
        "format": "logseal-test-vectors",
        "version": 1,
        "description": "Test vectors of the logseal sealed format v1, computed independently in Python by "
        "docs/vectors/generate.py from docs/FORMAT.md; checked against the Rust implementation by "
        "core/tests/format_vectors.rs. Byte strings are lowercase hex unless a field says base64; "
        "records are in the evidence-bundle JSON form (FORMAT.md §12, raw in base64).",
    }

    # (a) The canonical encoding of the record pinned in core/src/canonical.rs.
    pinned = record(
        seq=7, received_at=1_700_000_000_000_000, source="file:a.log", format="combined",
        time={"utc_micros": 1_699_999_999_000_000, "offset_secs": -25_200}, client_ip="192.0.2.1",
        method="GET", url="/a?b", url_path="/a", protocol="HTTP/1.1", status=200, bytes_sent=512,
        user_agent="curl/8", raw=b"raw line",
    )
    v["canonical"] = [{"name": "pinned record of core/src/canonical.rs", "record": pinned,
                       "canonical_hex": hx(canonical(pinned))}]

    # (b) Salt, commitment, leaf, genesis and one chain step (the inputs of core/src/commit.rs's test).
    key42 = bytes([0x42]) * 32
    s5 = salt(key42, 5)
    c = commitment(s5, b"canonical bytes")
    g = genesis("example.org/logs/s1")
    v["commitment"] = [{
        "salt_key": hx(key42), "seq": 5, "canonical_hex": hx(b"canonical bytes"), "origin": "example.org/logs/s1",
        "salt": hx(s5), "commitment": hx(c), "leaf": hx(leaf_hash(c)), "genesis": hx(g),
        "chain_next": hx(chain_next(g, leaf_hash(c))),
    }]
    s7 = salt(key42, 7)
    c7 = commitment(s7, canonical(pinned))
    v["commitment"].append({
        "salt_key": hx(key42), "seq": 7, "canonical_hex": hx(canonical(pinned)), "origin": "example.org/logs/s1",
        "salt": hx(s7), "commitment": hx(c7), "leaf": hx(leaf_hash(c7)), "genesis": hx(g),
        "chain_next": hx(chain_next(g, leaf_hash(c7))),
    })

    # (c) ip_tag.
    index_key = bytes([0x5A]) * 32
    v["ip_tag"] = {
        "index_key": hx(index_key),
        "cases": [
            {"ip": ip, "tag": hx(ip_tag(index_key, ip)), "note": note}
            for ip, note in [
                ("192.0.2.1", "IPv4: the 4 octets"),
                ("::ffff:192.0.2.1", "IPv4-mapped IPv6: tagged as the IPv4 address it maps"),
                ("2001:db8::1", "IPv6: the 16 octets"),
                ("::192.0.2.1", "IPv4-compatible IPv6 is not mapped: 16 octets"),
                ("::1", "IPv6 loopback"),
            ]
        ],
    }

    # (c') user_tag under the same key (§8.1) and client_prefix (§8.2).
    v["user_tag"] = {
        "index_key": hx(index_key),
        "cases": [
            {"user_id": u, "tag": hx(user_tag(index_key, u)), "note": note}
            for u, note in [
                ("alice", "ASCII"),
                ("alice ", "a trailing space is part of the id"),
                ("", "the empty user id has a tag"),
                ("jürgen@example.com", "UTF-8 bytes"),
                ("\u0001\u0002\u0003\u0004", "the 4 bytes of 1.2.3.4 (not that address's ip_tag)"),
            ]
        ],
    }
    v["client_prefix"] = [
        {"ip": ip, "prefix": client_prefix(ip), "note": note}
        for ip, note in [
            ("203.0.113.77", "IPv4: /24"),
            ("0.0.0.0", "IPv4: /24 of the unspecified address"),
            ("255.255.255.255", "IPv4: /24, three octets"),
            ("::ffff:203.0.113.77", "IPv4-mapped IPv6: the /24 of the IPv4 address it maps"),
            ("2001:db8:1:ffff::5", "IPv6: /48"),
            ("2001:db8:abcd:12::1", "IPv6: /48"),
            ("2001:0:0:1::", "IPv6: the zero fields after the first become ::"),
            ("0:0:1::2", "IPv6: leading zero fields as ::"),
            ("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "IPv6: the longest prefix text"),
            ("::192.0.2.1", "IPv4-compatible IPv6 is not mapped: ::/48"),
            ("::1", "IPv6 loopback: ::/48"),
        ]
    ]

    # (d) RFC 6962 roots and proofs over the classic 8 test leaves.
    data = [b"", b"\x00", b"\x10", b"\x20\x21", b"\x30\x31", b"\x40\x41\x42\x43",
            b"\x50\x51\x52\x53\x54\x55\x56\x57", bytes(range(0x60, 0x70))]
    leaves = [leaf_hash(d) for d in data]
    v["merkle"] = {
        "leaf_data_hex": [hx(d) for d in data],
        "leaf_hashes": [hx(l) for l in leaves],
        "roots": [{"size": n, "root": hx(mth(leaves[:n]))} for n in range(0, 9)],
        "inclusion": [
            {"index": i, "size": n, "proof": [hx(h) for h in inclusion_path(i, leaves[:n])]}
            for (i, n) in [(0, 1), (0, 8), (5, 8), (6, 7), (2, 3), (4, 5)]
        ],
        "consistency": [
            {"old": m, "new": n, "proof": [hx(h) for h in consistency_proof(m, leaves[:n])]}
            for (m, n) in [(1, 8), (3, 8), (4, 8), (6, 8), (2, 5), (7, 7)]
        ],
    }

    # (h) Rendering (§7).
    renderable = [
        record(seq=0, received_at=0, source="t", format="combined",
               time={"utc_micros": 1_763_999_999_000_000, "offset_secs": 3600}, client_ip="192.0.2.1",
               method="GET", url="/index.html?q=1", url_path="/index.html", protocol="HTTP/1.1", status=200,
               bytes_sent=1043, user_agent="curl/8.5.0", raw=b""),
        record(seq=0, received_at=0, source="t", format="combined",
               time={"utc_micros": 971_211_336_000_000, "offset_secs": -25_200}, client_ip="2001:db8::1",
               method="POST", url="/login", url_path="/login", protocol="HTTP/2.0", status=302,
               referer="https://example.org/", user_agent='Mozilla/5.0 "x" \\ caf\u00e9\t', user_id="b\u00f6b",
               raw=b""),
        record(seq=0, received_at=0, source="t", format="common",
               time={"utc_micros": 0, "offset_secs": -(23 * 3600 + 59 * 60)}, client_ip="10.0.0.7",
               status=400, bytes_sent=0, raw=b""),
        record(seq=0, received_at=0, source="t", format="combined",
               time={"utc_micros": 1_000_000_000_000_000, "offset_secs": 19_800}, client_ip="198.51.100.2",
               method="GET", url="/", url_path="/", protocol="HTTP/1.0", status=7, bytes_sent=0, user_id="",
               referer="", raw=b""),
    ]

    for text in ["::ffff:192.0.2.1", "::192.0.2.1", "2001:db8:0:0:1:0:0:1", "2001:db8:0:1:1:1:1:1",
                 "2001:DB8::A", "fe80::", "::"]:
        renderable.append(dict(renderable[0], client_ip=text))

    def unrenderable(why, **changes):
        r = dict(renderable[0])
        r.update(changes)
        return {"why": why, "record": r, "line": None}

    v["render"] = [{"why": "renders", "record": r, "line": b64(render(r))} for r in renderable] + [
        unrenderable("json lines are never rendered", format="json"),
        unrenderable("no format", format=None),
        unrenderable("a parse error", parse_error="x"),
        unrenderable("duration has no place in the line", duration_us=120),
        unrenderable("request_id has no place in the line", request_id="abc"),
        unrenderable("host has no place in the line", host="example.org"),
        unrenderable("common has no user agent", format="common"),
        unrenderable("sub-second time", time={"utc_micros": 1_763_999_999_000_001, "offset_secs": 0}),
        unrenderable("offset not whole minutes", time={"utc_micros": 1_763_999_999_000_000, "offset_secs": 30}),
        unrenderable("offset beyond 23:59", time={"utc_micros": 1_763_999_999_000_000, "offset_secs": 86_400}),
        unrenderable("no time", time=None),
        unrenderable("no client address", client_ip=None),
        unrenderable("no status", status=None),
        unrenderable("status above 999", status=1000),
        unrenderable("user is exactly -", user_id="-"),
        unrenderable("user contains ' ['", user_id="a [b"),
        unrenderable("referer is exactly -", referer="-"),
        unrenderable("url_path is not url up to its first ?", url_path="/other"),
        unrenderable("only some of method, url, protocol", protocol=None),
        unrenderable("a space in the url", url="/a b", url_path="/a b"),
    ]
    for case in v["render"]:
        if case["why"] == "renders":
            assert render(case["record"]) is not None
        else:
            assert render(case["record"]) is None, case["why"]

    # A stream of two files: records, leaves, roots, chain, manifests, checkpoints, a proof bundle.
    deployment = "logseal.test/d1"
    stream = "s1"
    origin = deployment + "/" + stream
    seed = bytes(range(32))
    pii_key = bytes([0x33]) * 32

    def rendered(r):
        r = dict(r)
        r["raw"] = b64(render(r))
        return r

    t0 = 1_764_000_000_000_000
    files = [
        {
            "salt_key": bytes([0x10]) * 32,
            "records": [
                rendered(record(seq=0, received_at=t0, source="file:access.log", format="combined",
                                time={"utc_micros": t0 - 2_000_000, "offset_secs": 3600}, client_ip="192.0.2.1",
                                method="GET", url="/index.html?q=1", url_path="/index.html", protocol="HTTP/1.1",
                                status=200, bytes_sent=1043, user_agent="curl/8.5.0", raw=b"")),
                rendered(record(seq=1, received_at=t0, source="file:access.log", format="combined",
                                time={"utc_micros": t0 - 1_000_000, "offset_secs": -25_200},
                                client_ip="2001:db8::1", method="POST", url="/login", url_path="/login",
                                protocol="HTTP/2.0", status=302, referer="https://example.org/",
                                user_agent='Mozilla/5.0 "x"', user_id="bob", raw=b"")),
                record(seq=2, received_at=t0 + 1, source="file:access.log", format="combined",
                       raw=b"\xff\xfe not utf-8", parse_error="invalid utf-8 at byte 0"),
            ],
            "nonce": bytes(range(12)),
            "data_key": "v1/s1/data/000000000000-0a1b2c3d.parquet",
            "data_bytes": b"stand-in for the encrypted Parquet bytes of file 0",
        },
        {
            "salt_key": bytes([0x20]) * 32,
            "records": [
                record(seq=3, received_at=t0 + 30_000_000, source="file:access.json", format="json",
                       time={"utc_micros": t0 + 29_123_456, "offset_secs": 0}, client_ip="::ffff:192.0.2.1",
                       method="GET", url="/api?x=1", url_path="/api", protocol="HTTP/1.1", status=200,
                       bytes_sent=2, duration_us=120_000, request_id="r-1", host="tenant.example",
                       raw=b'{"remote_addr":"::ffff:192.0.2.1","status":200}'),
            ],
            "nonce": bytes(range(12, 24)),
            "data_key": "v1/s1/data/000000000001-00c0ffee.parquet",
            "data_bytes": b"stand-in for the encrypted Parquet bytes of file 1",
        },
    ]
    chain = genesis(origin)
    manifests = []
    stream_files = []
    for k, f in enumerate(files):
        chain_in = chain
        leaves_k = []
        canon = []
        for r in f["records"]:
            cb = canonical(r)
            canon.append(cb)
            leaf = leaf_hash(commitment(salt(f["salt_key"], r["seq"]), cb))
            leaves_k.append(leaf)
            chain = chain_next(chain, leaf)
        records = f["records"]
        times = [r["time"]["utc_micros"] for r in records if r["time"] is not None]
        received = [r["received_at"] for r in records]
        raw_stored = sum(1 for r in records if render(r) != base64.b64decode(r["raw"]))
        manifest = {
            "format": "logseal-manifest",
            "version": 1,
            "origin": origin,
            "stream": stream,
            "file_index": k,
            "seq_first": records[0]["seq"],
            "seq_last": records[-1]["seq"],
            "count": len(records),
            "event_time": {"min": rfc3339_utc(min(times)), "max": rfc3339_utc(max(times))} if times else None,
            "received_at": {"min": rfc3339_utc(min(received)), "max": rfc3339_utc(max(received))},
            "data": {"key": f["data_key"], "size": len(f["data_bytes"]), "sha256": hx(sha256(f["data_bytes"]))},
            "orphans": [],
            "merkle_root": hx(mth(leaves_k)),
            "chain_in": hx(chain_in),
            "chain_out": hx(chain),
            "keys": {"provider": "local", "base": "logseal-base", "pii": "logseal-pii", "index": "logseal-index"},
            "salt_key_wrapped": local_wrap(pii_key, "logseal-pii", f["nonce"], f["salt_key"],
                                           salt_key_context(origin, k)),
            "raw_stored": raw_stored,
            "parse_errors": sum(1 for r in records if r["parse_error"] is not None),
            "created_at": rfc3339_utc(t0 + (k + 1) * 30_000_000 + 500_000),
            "writer": "logseal 0.1.0",
        }
        mbytes = canonical_json(manifest)
        manifests.append(mbytes)
        stream_files.append({
            "file_index": k,
            "salt_key": hx(f["salt_key"]),
            "chain_in": hx(chain_in),
            "records": [
                {"record": r, "canonical_hex": hx(cb), "salt": hx(salt(f["salt_key"], r["seq"])), "leaf": hx(l),
                 "raw_stored": render(r) != base64.b64decode(r["raw"])}
                for r, cb, l in zip(records, canon, leaves_k)
            ],
            "merkle_root": hx(mth(leaves_k)),
            "chain_out": hx(chain),
            "manifest": mbytes.decode("utf-8"),
            "manifest_leaf": hx(leaf_hash(mbytes)),
            "salt_key_unwrap": {
                "note": "checked in Python only: the local key provider lives in logseal-store",
                "pii_master_key": hx(pii_key),
                "aad_hex": hx(b"logseal-pii" + salt_key_context(origin, k)),
            },
        })
        # The wrap round-trips (a self-check of this script).
        blob = base64.b64decode(manifest["salt_key_wrapped"])
        assert AESGCM(pii_key).decrypt(blob[:12], blob[12:], b"logseal-pii" + salt_key_context(origin, k)) == f["salt_key"]

    manifest_leaves = [leaf_hash(m) for m in manifests]
    sk = Ed25519PrivateKey.from_private_bytes(seed)
    pub = sk.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    ts = 1_764_000_000
    checkpoints = []
    for number, (size, heartbeat, timestamp) in enumerate([(1, 60, ts), (2, 60, ts + 30), (2, None, ts + 31)]):
        body = checkpoint_body(origin, size, mth(manifest_leaves[:size]), heartbeat)
        checkpoints.append({
            "number": number,
            "key": "v1/s1/checkpoints/%012d.ckpt" % number,
            "size": size,
            "root": hx(mth(manifest_leaves[:size])),
            "heartbeat": heartbeat,
            "timestamp": timestamp,
            "body": body.decode("utf-8"),
            "cosignature_message": cosignature_message(timestamp, body).decode("utf-8"),
            "note": sign_checkpoint(seed, deployment, body, timestamp).decode("utf-8"),
        })
    v["stream"] = {
        "deployment": deployment,
        "stream": stream,
        "origin": origin,
        "genesis": hx(genesis(origin)),
        "signing_seed": hx(seed),
        "public_key": hx(pub),
        "key_id_ed25519": "%08x" % key_id(deployment, 0x01, pub),
        "key_id_cosignature_v1": "%08x" % key_id(deployment, 0x04, pub),
        "vkey": "%s+%08x+%s" % (deployment, key_id(deployment, 0x01, pub), b64(b"\x01" + pub)),
        "skey": "PRIVATE+KEY+%s+%08x+%s" % (deployment, key_id(deployment, 0x01, pub), b64(b"\x01" + seed)),
        "files": stream_files,
        "manifest_log_root": hx(mth(manifest_leaves)),
        "checkpoints": checkpoints,
        "consistency_0_to_1": [hx(h) for h in consistency_proof(1, manifest_leaves)],
    }

    # Evidence bundle for seq 1 (file 0) against checkpoint 1.
    f0 = stream_files[0]
    leaves0 = [bytes.fromhex(r["leaf"]) for r in f0["records"]]
    bundle = {
        "format": "logseal-proof",
        "version": 1,
        "record": files[0]["records"][1],
        "salt": f0["records"][1]["salt"],
        "record_index": 1,
        "record_proof": [hx(h) for h in inclusion_path(1, leaves0)],
        "manifest": manifests[0].decode("utf-8"),
        "manifest_proof": [hx(h) for h in inclusion_path(0, manifest_leaves)],
        "checkpoint": checkpoints[1]["note"],
    }
    good = canonical_json(bundle) + b"\n"

    def variant(why, kind, **changes):
        b = dict(bundle)
        b.update(changes)
        return {"why": why, "error_kind": kind, "bytes": b64(canonical_json(b) + b"\n")}

    other_salt = bytearray(bytes.fromhex(bundle["salt"]))
    other_salt[0] ^= 1
    v["proof_bundle"] = {
        "valid": {"bytes": b64(good), "seq": 1, "file_index": 0, "checkpoint_size": 2, "timestamp": ts + 30},
        "invalid": [
            {"why": "not canonical: a space after a colon", "error_kind": "malformed",
             "bytes": b64(good.replace(b'"version":1', b'"version": 1'))},
            {"why": "no final newline", "error_kind": "malformed", "bytes": b64(good[:-1])},
            variant("another salt", "bad_proof", salt=hx(bytes(other_salt))),
            variant("record index does not match seq", "bad_proof", record_index=0),
            variant("an extra proof element", "bad_proof", record_proof=bundle["record_proof"] + [hx(leaves0[0])]),
            variant("a missing proof element", "bad_proof", record_proof=bundle["record_proof"][:-1]),
            variant("the manifest proof of another position", "bad_proof", manifest_proof=[]),
            variant("a checkpoint that does not cover the manifest", "bad_proof", checkpoint=checkpoints[0]["note"]),
            variant("a changed record field", "bad_proof", record=dict(bundle["record"], status=303)),
            variant("version 2", "unsupported_version", version=2),
        ],
    }

    # (e) Manifest canonical form: accepted and refused byte strings.
    m0 = json.loads(manifests[0])
    escaped = dict(m0, writer='logseal 0.1.0 "q" \\ caf\u00e9 \u2014 \u0001\u001f\u007f\n/')
    v["manifest"] = {
        "canonical": [
            {"why": "file 0 of the stream vectors", "bytes": manifests[0].decode("utf-8"),
             "leaf": hx(leaf_hash(manifests[0]))},
            {"why": "string escaping: quote, backslash, non-ASCII, control characters, DEL, slash",
             "bytes": canonical_json(escaped).decode("utf-8"), "leaf": hx(leaf_hash(canonical_json(escaped)))},
        ],
        "refused": [
            {"why": "insignificant whitespace", "error_kind": "malformed",
             "bytes": json.dumps(m0, sort_keys=True, indent=1, ensure_ascii=False)},
            {"why": "keys not sorted", "error_kind": "malformed",
             "bytes": json.dumps(dict(reversed(list(m0.items()))), separators=(",", ":"), ensure_ascii=False)},
            {"why": "non-ASCII escaped as \\u", "error_kind": "malformed",
             "bytes": json.dumps(escaped, sort_keys=True, separators=(",", ":"), ensure_ascii=True)},
            {"why": "slash escaped", "error_kind": "malformed",
             "bytes": canonical_json(escaped).decode("utf-8").replace("/", "\\/", 1)},
            {"why": "an integer written as a float", "error_kind": "malformed",
             "bytes": canonical_json(m0).decode("utf-8").replace('"count":3', '"count":3.0')},
            {"why": "an unknown field", "error_kind": "malformed", "bytes": canonical_json(dict(m0, extra=1)).decode()},
            {"why": "a missing field", "error_kind": "malformed",
             "bytes": canonical_json({k: x for k, x in m0.items() if k != "writer"}).decode()},
            {"why": "unknown version", "error_kind": "unsupported_version",
             "bytes": canonical_json(dict(m0, version=2)).decode()},
            {"why": "not a manifest", "error_kind": "malformed",
             "bytes": canonical_json(dict(m0, format="other")).decode()},
        ],
    }
    return v


REPO = Path(__file__).resolve().parents[2]


def pinned_rust():
    """The values pinned in the Rust unit tests, read from their source
    (core/src/canonical.rs `encoding_vector_is_stable`, core/src/commit.rs
    `commitment_vector_is_stable`), to be compared, not copied: a
    disagreement shows."""
    canonical_rs = (REPO / "core/src/canonical.rs").read_text()
    body = canonical_rs[canonical_rs.index("let expected = concat!("):]
    body = body[: body.index(");")]
    hex_parts = re.findall(r'"([0-9a-f]*)"', body)
    commit_rs = (REPO / "core/src/commit.rs").read_text()
    const = dict(re.findall(r'const (\w+): &str = "([0-9a-f]{64})";', commit_rs))
    return {
        "canonical": "".join(hex_parts),
        "salt": const["SALT_5"],
        "commitment": const["COMMITMENT"],
        "leaf": const["LEAF"],
        "genesis": const["GENESIS"],
        "chain_next": const["HEAD"],
        # RFC 6962 root of the classic 8 test leaves (transparency-dev testonly).
        "root8": "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
    }


def cross_check(v):
    """Compares with values pinned elsewhere; returns the disagreements."""
    problems = []
    pinned = pinned_rust()
    if v["canonical"][0]["canonical_hex"] != pinned["canonical"]:
        problems.append("canonical encoding differs from core/src/canonical.rs")
    c = v["commitment"][0]
    for name in ("salt", "commitment", "leaf", "genesis", "chain_next"):
        if c[name] != pinned[name]:
            problems.append("%s differs from core/src/commit.rs" % name)
    if v["merkle"]["roots"][8]["root"] != pinned["root8"]:
        problems.append("RFC 6962 root of 8 leaves differs from the published value")
    return problems


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="compare with the file on disk instead of writing")
    args = parser.parse_args()
    v = build()
    problems = cross_check(v)
    for p in problems:
        print("generate.py: DISAGREEMENT: " + p, file=sys.stderr)
    text = json.dumps(v, indent=1, ensure_ascii=False) + "\n"
    if args.check:
        if OUT.read_text(encoding="utf-8") != text:
            print("generate.py: %s is not what this script generates" % OUT, file=sys.stderr)
            return 1
        print("generate.py: %s is up to date" % OUT, file=sys.stderr)
    else:
        OUT.write_text(text, encoding="utf-8")
        print("generate.py: wrote %s" % OUT, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
