#!/usr/bin/env python3
"""Writes the binary seed inputs of the fuzz targets (the text seeds are checked in as they are).

Run from anywhere: python3 tests/fuzz/make_seeds.py. It rewrites only the files it names:
  attach/corpus/fuzz_attach_frame/*      attach frame streams
  dnsproxy/corpus/fuzz_dns_message/*     DNS queries and answers in wire format
  images/corpus/fuzz_layer_unpack/*      layer descriptions in layer_unpack_fuzzer.cpp's encoding
"""
import gzip
import io
import os
import struct
import tarfile

HERE = os.path.dirname(os.path.abspath(__file__))


def write(subdir, name, data):
    path = os.path.join(HERE, subdir, name)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)


# ---- attach frames: [type:1][len:4 BE][payload]; the fuzz input starts with a chunk-size byte.
def frame_data(b):
    return b"\x00" + struct.pack(">I", len(b)) + b


def frame_resize(rows, cols):
    return b"\x01" + struct.pack(">IHH", 4, rows, cols)


ATTACH = "attach/corpus/fuzz_attach_frame"
write(ATTACH, "data-ls", b"\x03" + frame_data(b"ls -la\r"))
write(ATTACH, "resize-then-data", b"\x01" + frame_resize(24, 80) + frame_data(b"echo hi\r") + frame_data(b"\x04"))
write(ATTACH, "split-every-byte", b"\x00" + frame_data(b"abc") + frame_resize(50, 200) + frame_data(b""))
write(ATTACH, "partial-frame", b"\x07" + frame_data(b"complete") + b"\x00\x00\x00\x00\x10part")
write(ATTACH, "unknown-type", b"\x02" + frame_data(b"x") + b"\x02\x00\x00\x00\x01y")
write(ATTACH, "oversized", b"\x05" + b"\x00\x00\x10\x00\x01")
write(ATTACH, "bad-resize-len", b"\x04" + b"\x01\x00\x00\x00\x03abc")
write(ATTACH, "detach-keys", b"\x0f" + frame_data(b"\x10\x11"))


# ---- DNS wire messages.
def name(text):
    out = b""
    for label in text.strip(".").split("."):
        if label:
            out += bytes([len(label)]) + label.encode()
    return out + b"\x00"


def header(ident, flags, qd=1, an=0, ns=0, ar=0):
    return struct.pack(">HHHHHH", ident, flags, qd, an, ns, ar)


def question(qname, qtype=1, qclass=1):
    return name(qname) + struct.pack(">HH", qtype, qclass)


def rr(owner, rtype, ttl, rdata, rclass=1):
    return owner + struct.pack(">HHIH", rtype, rclass, ttl, len(rdata)) + rdata


OPT_DO = rr(b"\x00", 41, 0x00008000, b"", rclass=1232)  # EDNS, DO bit in the TTL field
PTR_QNAME = b"\xc0\x0c"  # compression pointer to the question name
DNS = "dnsproxy/corpus/fuzz_dns_message"
write(DNS, "query-a", header(0x1234, 0x0100) + question("example.com"))
write(DNS, "query-aaaa-edns-do", header(0x2345, 0x0100, ar=1) + question("www.example.org", 28) + OPT_DO)
write(DNS, "query-service-name", header(7, 0x0100) + question("db.shop"))
write(DNS, "query-two-questions", header(8, 0x0100, qd=2) + question("a.example") + question("b.example"))
write(DNS, "query-status-opcode", header(9, 0x1000) + question("example.com"))
write(DNS, "answer-a-compressed",
      header(0x1234, 0x8180, an=2) + question("example.com")
      + rr(PTR_QNAME, 1, 300, bytes([93, 184, 216, 34])) + rr(PTR_QNAME, 1, 120, bytes([93, 184, 216, 35])))
write(DNS, "answer-cname-chain",
      header(0x4444, 0x8180, an=2) + question("www.example.com")
      + rr(PTR_QNAME, 5, 3600, name("example.com")) + rr(name("example.com"), 1, 60, bytes([1, 2, 3, 4])))
soa = name("ns.example.com") + name("host.example.com") + struct.pack(">IIIII", 2024010101, 7200, 900, 1209600, 300)
write(DNS, "answer-nxdomain-soa",
      header(0x5555, 0x8183, ns=1) + question("nope.example.com") + rr(name("example.com"), 6, 900, soa))
write(DNS, "answer-nodata-soa-edns",
      header(0x5556, 0x8180, ns=1, ar=1) + question("example.com", 28) + rr(name("example.com"), 6, 60, soa) + OPT_DO)
write(DNS, "answer-truncated", header(0x6666, 0x8380) + question("big.example.com", 16))
write(DNS, "answer-txt",
      header(0x7777, 0x8180, an=1) + question("example.com", 16) + rr(PTR_QNAME, 16, 30, b"\x0bhello world"))
write(DNS, "answer-servfail", header(0x8888, 0x8182) + question("broken.example"))
write(DNS, "pointer-loop", header(1, 0x8180, an=1) + b"\xc0\x0c\x00\x01\x00\x01" + rr(b"\xc0\x0c", 1, 1, b"\x01\x02\x03\x04"))
write(DNS, "short-header", b"\x12\x34\x01\x00\x00\x01")

# ---- layer descriptions (see layer_unpack_fuzzer.cpp). Mode byte: bits 0-1 compression
# (0 none, 1 gzip, 2 zstd, 3 raw bytes), bit 2 GNU format. Components are indexes into the
# fuzzer's piece table.
A, B, C, DEV, UP, DOT, EMPTY, D, WH_A, OPQ, WH_META, WH_EMPTY, WH_DOT, _, WH_B, E = range(16)
REG, DIR, SYM, HARD, CHR, BLK, FIFO = range(7)


def path(*parts, absolute=False, slash=False):
    flags = (1 if absolute else 0) | (2 if slash else 0) | ((len(parts) - 1) << 2)
    return bytes([flags]) + bytes(parts)


def entry(kind, p, target=path(A), perm=0o644, uid=0, gid=0, major=0, minor=0, xattr=0, content=b""):
    return (bytes([kind]) + p + target + struct.pack(">H", perm) + bytes([uid, gid, 1, major, minor, xattr])
            + struct.pack(">H", len(content)) + content)


LAYER = "images/corpus/fuzz_layer_unpack"
write(LAYER, "tree-gzip", b"\x01" + entry(DIR, path(A), perm=0o755) + entry(REG, path(A, B), content=b"hello\n")
      + entry(SYM, path(C), target=path(A, B)) + entry(HARD, path(D), target=path(A, B))
      + entry(REG, path(A, E), perm=0o4755, uid=1, gid=2, content=b"#!/bin/sh\n"))
write(LAYER, "tree-zstd-xattrs", b"\x02" + entry(DIR, path(A), perm=0o700, xattr=1)
      + entry(REG, path(A, B), xattr=3, content=b"\x01\x00\x00\x02" + b"\x00" * 16)
      + entry(DIR, path(C), xattr=2) + entry(REG, path(C, D), xattr=4, content=b"x"))
write(LAYER, "whiteouts", b"\x00" + entry(DIR, path(A), perm=0o755) + entry(REG, path(A, B), content=b"b")
      + entry(REG, path(WH_B), content=b"") + entry(REG, path(A, OPQ)) + entry(REG, path(A, WH_META))
      + entry(REG, path(WH_A)) + entry(REG, path(WH_EMPTY)))
write(LAYER, "devices", b"\x04" + entry(DIR, path(DEV), perm=0o755) + entry(CHR, path(DEV, A), major=1, minor=3)
      + entry(BLK, path(DEV, B), major=7, minor=0) + entry(FIFO, path(C)) + entry(CHR, path(D), major=1, minor=5))
write(LAYER, "escape-dotdot", b"\x00" + entry(REG, path(UP, A), content=b"out"))
write(LAYER, "escape-absolute", b"\x00" + entry(REG, path(A, absolute=True), content=b"out"))
write(LAYER, "escape-symlink-dir", b"\x01" + entry(SYM, path(A), target=path(UP, UP))
      + entry(REG, path(A, B), content=b"through the link"))
write(LAYER, "escape-symlink-root", b"\x00" + entry(SYM, path(A), target=path(DEV, absolute=True))
      + entry(REG, path(A, B), content=b"x"))
write(LAYER, "escape-hardlink", b"\x00" + entry(HARD, path(A), target=path(UP, UP, B)))
write(LAYER, "root-entry-and-dots", b"\x04" + entry(DIR, path(DOT, slash=True), perm=0o755)
      + entry(DIR, path(DOT, A, EMPTY, B, slash=True)) + entry(REG, path(DOT, A, B, C), content=b"c"))
write(LAYER, "replace-dir-with-file", b"\x00" + entry(DIR, path(A)) + entry(REG, path(A, B))
      + entry(REG, path(A), content=b"now a file") + entry(DIR, path(A)))


def raw_layer(compress):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        info = tarfile.TarInfo("etc/")
        info.type = tarfile.DIRTYPE
        info.mode = 0o755
        tar.addfile(info)
        data = b"root:x:0:0:root:/root:/bin/sh\n"
        info = tarfile.TarInfo("etc/passwd")
        info.size = len(data)
        info.pax_headers = {"SCHILY.xattr.user.rdfz": "1"}
        tar.addfile(info, io.BytesIO(data))
        info = tarfile.TarInfo("bin/sh")
        info.type = tarfile.SYMTYPE
        info.linkname = "busybox"
        tar.addfile(info)
    raw = buf.getvalue()
    return gzip.compress(raw, mtime=0) if compress else raw


write(LAYER, "raw-tar", b"\x03" + raw_layer(False))
write(LAYER, "raw-tar-gzip", b"\x03" + raw_layer(True))
