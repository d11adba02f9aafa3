#!/usr/bin/env python3
"""The project's corpus with its bodies sent Transfer-Encoding: chunked, through `bulwark policy test`.

Every corpus request with a body is sent as it is, then with its Content-Length replaced by
Transfer-Encoding: chunked and its body cut three ways: one chunk (a client streaming a body of
unknown length), sqlmap's --chunked (chunks of 1 to 9 bytes, none holding a whole SQL keyword,
each size line with a random five-letter extension, as sqlmap writes them), and chunks of 10 to
60 bytes. Prints how many attacks and benign requests each way dropped: a guard that reads the
body as the application does drops the same requests whatever the cut.

  python3 bench/chunked.py [--bulwark build/bulwark] [--policy policies/web.json]
                           [--corpus build/tests/corpus]

Run as root (`policy test` loads the XDP program). The cuts are seeded: a rerun sends the same.
"""
import argparse
import json
import os
import random
import re
import subprocess
import tempfile

KEYWORDS = re.compile(
    r"\b(SELECT|UPDATE|INSERT|DELETE|UNION|FROM|WHERE|AND|OR|ORDER|GROUP|SLEEP|CONCAT|EXEC)\b", re.I
)
CUTS = ("one chunk", "sqlmap --chunked", "10-60 bytes")


def chunk(body: bytes, how: str, rng: random.Random) -> bytes:
    out, i = [], 0
    while i < len(body):
        if how == "one chunk":
            n = len(body)
        elif how == "10-60 bytes":
            n = rng.randint(10, 60)
        else:
            n = rng.randint(1, 9)
            while n > 1 and KEYWORDS.search(body[i : i + n].decode("latin-1")):
                n -= 1
        while i + n < len(body) and 0x80 <= body[i + n] < 0xC0:
            n += 1  # whole characters, as sqlmap cuts its text: a request stays UTF-8
        part = body[i : i + n]
        i += len(part)
        ext = ""
        if how == "sqlmap --chunked":
            ext = ";" + "".join(rng.choice("abcdefghijkLMNOPQ0123456789") for _ in range(5))
        out.append(f"{len(part):x}{ext}\r\n".encode() + part + b"\r\n")
    return b"".join(out) + b"0\r\n\r\n"


def drops(bulwark: str, policy: str, requests: list) -> int:
    with tempfile.NamedTemporaryFile("w", suffix=".jsonl", delete=False) as f:
        for i, r in enumerate(requests):
            f.write(json.dumps({"id": str(i), "request": r.decode("utf-8", "surrogateescape")}) + "\n")
    try:
        out = subprocess.run(
            [bulwark, "policy", "test", "--policy", policy, "--jsonl", "--json", f.name],
            capture_output=True, check=False).stdout
        return sum(v["verdict"] == "drop" for v in json.loads(out))
    finally:
        os.unlink(f.name)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--bulwark", default="build/bulwark")
    ap.add_argument("--policy", default="policies/web.json")
    ap.add_argument("--corpus", default="build/tests/corpus")
    args = ap.parse_args()
    rng = random.Random(7)
    print(f"{'corpus requests with a body':<30} {'requests':>8} " + " ".join(f"{c:>17}" for c in ("as sent",) + CUTS))
    for kind in ("attacks", "benign"):
        sent, cut = [], {c: [] for c in CUTS}
        for line in open(os.path.join(args.corpus, kind + ".jsonl"), encoding="utf-8"):
            req = json.loads(line)["request"].encode("utf-8", "surrogateescape")
            head, sep, body = req.partition(b"\r\n\r\n")
            if not sep or not body:
                continue
            sent.append(req)
            te = re.sub(rb"(?im)^content-length: *\d+", b"Transfer-Encoding: chunked", head)
            if te == head:
                te += b"\r\nTransfer-Encoding: chunked"
            for c in CUTS:
                cut[c].append(te + sep + chunk(body, c, rng))
        row = [drops(args.bulwark, args.policy, sent)] + [drops(args.bulwark, args.policy, cut[c]) for c in CUTS]
        print(f"{kind + ' dropped':<30} {len(sent):>8} " + " ".join(f"{n:>17}" for n in row))


if __name__ == "__main__":
    main()
