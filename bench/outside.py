#!/usr/bin/env python3
"""Detection and false positives on text nobody on this project wrote, against ModSecurity + CRS.

Fetches pinned npm packages (npm's registry is reachable from the CI machine; nothing is copied
into the repository), turns their strings into HTTP requests of the shapes a web shop receives,
adds the injection and traversal lists of Debian's wfuzz package, and sends every request
through `bulwark policy test` (the real XDP program, BPF_PROG_TEST_RUN)
and through bench_modsec (ModSecurity 3 + the OWASP CRS at paranoia level 1). Prints one row per
set: how many requests each dropped. Attack sets should be dropped, benign sets passed.

  python3 bench/outside.py [--build build] [--policy policies/web.json] [--cache DIR] [-n N]
                           [--misses SET]

The project's corpus (BUILD/tests/corpus) is sent too, for the peer's figures on it. Run as root
(`policy test` loads the XDP program). Needs npm and node 20.19 or later (faker 10's floor;
Debian 12's nodejs is 18: this machine has NodeSource's 20) and Debian's wfuzz (scripts/setup).
"""
import argparse
import json
import os
import random
import re
import subprocess
import sys
import tarfile
import urllib.parse as up

PACKAGES = {  # name: version, pinned so that a rerun sends the same requests
    "blns": "2.0.4",  # the Big List of Naughty Strings
    "xss-scanner": "0.0.9",  # a scanner's XSS and SQL injection payload lists
    "@faker-js/faker": "10.6.0",  # names, addresses, products, prose in 76 locales
    "rockyou": "1.1.0",  # leaked passwords, as users type them into login forms
    "user-agents": "2.1.198",  # 10,000 real browsers' User-Agents
    "crawler-user-agents": "1.60.0",  # bots' User-Agents, scanners among them
    "dirbuster": "0.4.0",  # directory names a content scanner tries
}

BLNS_ATTACKS = {"Script Injection", "SQL Injection", "Server Code Injection",
                "Command Injection (Ruby)", "XXE Injection (XML)", "File Inclusion",
                "Known CVEs and Vulnerabilities"}

BROWSER = "Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0"


def fetch(cache, name):
    """The package's unpacked directory in the cache, fetched with `npm pack` when missing."""
    version = PACKAGES[name]
    d = os.path.join(cache, f"{name.replace('/', '_')}-{version}")
    if not os.path.isdir(d):
        os.makedirs(cache, exist_ok=True)
        tgz = subprocess.run(["npm", "pack", "--silent", f"{name}@{version}"], cwd=cache,
                             check=True, capture_output=True, text=True).stdout.split()[-1]
        with tarfile.open(os.path.join(cache, tgz)) as t:
            t.extractall(d, filter="data")
        os.remove(os.path.join(cache, tgz))
    return os.path.join(d, "package")


def request(method, target, body=None, ctype=None, ua=BROWSER, extra=""):
    head = (f"{method} {target} HTTP/1.1\r\nHost: shop.example\r\nUser-Agent: {ua}\r\n"
            "Accept: text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8\r\n"
            f"Accept-Language: en-US,en;q=0.5\r\n{extra}")
    if body is None:
        return head + "\r\n"
    return head + f"Content-Type: {ctype}\r\nContent-Length: {len(body.encode())}\r\n\r\n{body}"


def placed(value):
    """A value where users' values go: a query parameter, a form field, a JSON string."""
    return [request("GET", "/search?" + up.urlencode({"q": value, "page": "1"})),
            request("POST", "/comment", up.urlencode({"name": "ana", "comment": value}),
                    "application/x-www-form-urlencoded"),
            request("POST", "/api/v1/items", json.dumps({"name": value, "id": 3}),
                    "application/json")]


def blns(cache):
    text = open(os.path.join(fetch(cache, "blns"), "resources", "blns.txt"),
                encoding="utf-8", errors="replace").read().split("\n")
    section, attacks, benign = None, [], []
    for line in text:
        if line.startswith("#"):
            title = line[1:].strip()
            # A section's title line; its description lines start "Strings which ..." and so on.
            if title and not re.match(r"(?i)(strings?|innocuous|the|regional indicator symbols "
                                      r"can|fonts,)\b", title):
                section = title
            continue
        if line.strip():
            (attacks if section in BLNS_ATTACKS else benign).append(line)
    return attacks, benign


WFUZZ = "/usr/share/wfuzz/wordlist"  # Debian's wfuzz package


def payload_lines(path, encoding):
    """A payload list's lines, blank ones and repeats left out, in the list's order."""
    with open(path, encoding=encoding, errors="replace") as f:
        return list(dict.fromkeys(l.rstrip("\r\n") for l in f if l.strip()))


def wfuzz(name):
    if not os.path.isdir(WFUZZ):
        sys.exit(f"outside.py: {WFUZZ} is missing: apt-get install wfuzz (scripts/setup does)")
    return payload_lines(os.path.join(WFUZZ, name), "latin-1")


def xss_scanner(cache):
    d = os.path.join(fetch(cache, "xss-scanner"), "data")
    return (payload_lines(os.path.join(d, "payload.txt"), "utf-8"),
            payload_lines(os.path.join(d, "payload.sql.txt"), "utf-8"))


FAKER = r"""
const F = await import(process.env.FAKER + '/dist/index.js');
// Every locale with its own data (base has none); a field a locale lacks comes from English.
const locales = Object.keys(F).filter(k => /^faker[A-Z]{2}/.test(k) && k != 'fakerBASE').sort();
const n = +process.env.N, out = [];
for (let i = 0; i < n; i++) {
  const f = F[locales[i % locales.length]];
  f.seed(i);
  F.fakerEN.seed(i);
  const g = fn => { try { return fn(f); } catch { return fn(F.fakerEN); } };
  out.push(JSON.stringify({
    name: g(f => f.person.fullName()), street: g(f => f.location.streetAddress(true)),
    city: g(f => f.location.city()), zip: g(f => f.location.zipCode()),
    email: g(f => f.internet.email()), phone: g(f => f.phone.number()),
    user: g(f => f.internet.username()), password: g(f => f.internet.password({length: 8 + (i % 9)})),
    company: g(f => f.company.name()), product: g(f => f.commerce.productName()),
    desc: g(f => f.commerce.productDescription()),
    comment: g([f => f.lorem.sentence(), f => f.word.words(5), f => f.hacker.phrase(),
                f => f.company.catchPhrase(), f => f.lorem.paragraph()][i % 5]),
  }));
}
console.log(out.join('\n'));
"""


def faker(cache, n, rnd):
    env = dict(os.environ, FAKER=fetch(cache, "@faker-js/faker"), N=str(n))
    lines = subprocess.run(["node", "--input-type=module", "-e", FAKER], env=env, check=True,
                           capture_output=True, text=True).stdout.split("\n")
    forms, apis, searches = [], [], []
    for r in map(json.loads, filter(None, lines)):
        forms.append(request("POST", "/checkout", up.urlencode(
            {k: r[k] for k in ("name", "street", "city", "zip", "email", "phone", "company",
                               "comment")}), "application/x-www-form-urlencoded"))
        apis.append(request("POST", "/api/register", json.dumps(
            {k: r[k] for k in ("user", "password", "email", "name", "product", "desc")},
            ensure_ascii=rnd.random() < 0.5), "application/json"))
        searches.append(request("GET", "/search?" + up.urlencode(
            {"q": rnd.choice([r["product"], r["desc"], r["comment"], r["company"]]),
             "sort": "price"})))
    return forms, apis, searches


def passwords(cache, n, rnd):
    words = open(os.path.join(fetch(cache, "rockyou"), "data", "75.txt"),
                 encoding="latin-1").read().split("\n")
    out = []
    for i, pw in enumerate(rnd.sample([w for w in words if w], n)):
        if i % 2:
            out.append(request("POST", "/login", json.dumps({"username": f"user{i}",
                                                             "password": pw}), "application/json"))
        else:
            out.append(request("POST", "/login", up.urlencode(
                {"login": f"user{i}", "pwd": pw, "remember": "on"}),
                "application/x-www-form-urlencoded"))
    return out


def browsers(cache, n):
    uas = json.load(open(os.path.join(fetch(cache, "user-agents"), "dist", "user-agents.json")))
    return [request("GET", "/", ua=u["userAgent"], extra="Cookie: session=9f8e7d6c5b4a\r\n")
            for u in uas[:n]]


def crawlers(cache):
    bots = json.load(open(os.path.join(fetch(cache, "crawler-user-agents"),
                                       "crawler-user-agents.json")))
    return [request("GET", "/robots.txt", ua=i) for b in bots for i in b.get("instances", [])]


def directories(cache, n, rnd):
    names = [l.strip() for l in open(os.path.join(fetch(cache, "dirbuster"), "lists",
                                                  "directory-list-2.3-medium.txt"),
                                     encoding="latin-1")
             if l.strip() and not l.startswith("#")]
    return [request("GET", "/" + up.quote(d, safe="/~!$&'()*+,;=:@") + "/")
            for d in rnd.sample(names, n)]


def verdicts(cmd, path):
    r = subprocess.run(cmd + [path], capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"outside.py: {' '.join(cmd)} {path}: exit {r.returncode}: {r.stderr.strip()}")
    return json.loads(r.stdout)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", default="build")
    ap.add_argument("--policy", default=os.path.join(os.path.dirname(__file__), "..",
                                                     "policies", "web.json"))
    ap.add_argument("--cache", default=os.path.join(
        os.environ.get("XDG_CACHE_HOME", os.path.expanduser("~/.cache")), "bulwark-outside"))
    ap.add_argument("-n", type=int, default=4000, help="requests per generated benign set")
    ap.add_argument("--misses", help="print the requests of this set that the guard got wrong")
    a = ap.parse_args()
    rnd = random.Random(16)

    blns_attacks, blns_benign = blns(a.cache)
    xss, sqli = xss_scanner(a.cache)
    forms, apis, searches = faker(a.cache, a.n, rnd)
    sets = [  # name, attack (1) or benign (0), requests
        ("blns: injection sections", 1, [r for v in blns_attacks for r in placed(v)]),
        ("xss-scanner: XSS payloads", 1, [r for v in xss for r in placed(v)]),
        ("xss-scanner: SQL payloads", 1, [r for v in sqli for r in placed(v)]),
        ("wfuzz: Injections/SQL.txt", 1, [r for v in wfuzz("Injections/SQL.txt")
                                           for r in placed(v)]),
        ("wfuzz: Injections/XSS.txt", 1, [r for v in wfuzz("Injections/XSS.txt")
                                          for r in placed(v)]),
        ("wfuzz: Injections/XML.txt", 1, [r for v in wfuzz("Injections/XML.txt")
                                          for r in placed(v)]),
        # Traversals are written already encoded, as sent: a query parameter's value, a path.
        ("wfuzz: Injections/Traversal.txt", 1, [r for v in wfuzz("Injections/Traversal.txt")
                                                for r in (request("GET", f"/get?file={v}&x=1"),
                                                          request("GET", "/static/" + v))]),
        ("wfuzz: vulns/dirTraversal-nix.txt", 1,
         [request("GET", f"/get?file={v}&x=1") for v in wfuzz("vulns/dirTraversal-nix.txt")]),
        ("wfuzz: vulns/dirTraversal-win.txt", 1,
         [request("GET", f"/get?file={v}&x=1") for v in wfuzz("vulns/dirTraversal-win.txt")]),
        ("blns: the other sections", 0, [r for v in blns_benign for r in placed(v)]),
        ("faker: checkout forms, 76 locales", 0, forms),
        ("faker: JSON sign-ups", 0, apis),
        ("faker: searches", 0, searches),
        ("rockyou: login forms", 0, passwords(a.cache, a.n, rnd)),
        ("user-agents: browsers", 0, browsers(a.cache, a.n)),
        ("dirbuster: directory names", 0, directories(a.cache, a.n, rnd)),
        ("crawler-user-agents (scanners among them)", -1, crawlers(a.cache)),
    ]
    # The project's own corpus, for the peer's figures on it (bulwark's are tuned on it).
    corpus = os.path.join(a.build, "tests", "corpus")
    if os.path.isdir(corpus):
        by_class = {}
        for line in open(os.path.join(corpus, "attacks.jsonl")):
            r = json.loads(line)
            by_class.setdefault(r["class"], []).append(r["request"])
        sets += [(f"tests/corpus: {c}", 1, rs) for c, rs in sorted(by_class.items())]
        sets.append(("tests/corpus: benign", 0, [json.loads(l)["request"] for l in
                                                 open(os.path.join(corpus, "benign.jsonl"))]))
    work = os.path.join(a.cache, "requests")
    os.makedirs(work, exist_ok=True)
    bulwark = [os.path.join(a.build, "bulwark"), "policy", "test", "--policy", a.policy,
               "--jsonl", "--json"]
    modsec = [os.path.join(a.build, "bench", "bench_modsec")]
    print(f"policy {a.policy}; peer ModSecurity 3 + OWASP CRS (paranoia level 1)\n")
    print("| set | requests | bulwark dropped | ModSecurity + CRS dropped | bulwark / CRS |")
    print("|---|---|---|---|---|")
    for i, (name, kind, reqs) in enumerate(sets):
        path = os.path.join(work, f"{i}.jsonl")
        with open(path, "w") as f:
            f.writelines(json.dumps(r) + "\n" for r in reqs)
        b = verdicts(bulwark, path)
        m = verdicts(modsec, path)
        nb = sum(v["verdict"] == "drop" for v in b)
        nm = sum(v["verdict"] == "drop" for v in m)
        ratio = f"{nb / nm:.2f}" if nm else "-"
        print(f"| {name}{' (attacks)' if kind == 1 else ' (benign)' if kind == 0 else ''} "
              f"| {len(reqs)} | {nb} ({nb / len(reqs):.3f}) | {nm} ({nm / len(reqs):.3f}) "
              f"| {ratio} |")
        if a.misses and a.misses in name:
            for r, v in zip(reqs, b):
                if (v["verdict"] == "drop") != (kind == 1):
                    print("  ", v.get("matched", ""), json.dumps(r)[:300], file=sys.stderr)


if __name__ == "__main__":
    main()
