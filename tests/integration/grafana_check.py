#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""grafana_check: checks a live collector's /grafana endpoints (76-health-grafana).

usage: grafana_check.py URL DASHBOARD_DIR HOST CONTAINER
       grafana_check.py --capped URL

Every dashboard JSON is checked statically (valid JSON, the datasource a
dashboard variable ${DS} declared in __inputs, every panel and variable
using it) and live: every panel target, annotation query and template
variable (${DS}, $host, ${host:glob}, $container replaced as Grafana's
plugin would) is sent to POST /grafana/query or /grafana/variable in the
plugin's request shape (simpod-json-datasource 0.6.x) and must come back
with data. Then the request shapes the plugin sends (ad-hoc filters with
=, !=, =~, !~, =|, multi-value variables, free-form payloads, /variable
with variables, /tag-values with filters), the answers (logs:count honours
q, buckets at multiples of the step), the other endpoints and the
rejections (bad JSON, wrong types, missing fields, too many targets,
oversize body, HEAD and 405 on every route of the API) are checked.
--capped: the collector runs with a tiny --max-scan-bytes; every log
target must answer 422 with an error, never a partial answer. Python 3
standard library only; exits 1 with the first failure.
"""
import glob
import json
import sys
import time
import urllib.error
import urllib.request

if sys.argv[1] == "--capped":
    URL, DASH_DIR, HOST, CONTAINER = sys.argv[2], "", "", ""
else:
    URL, DASH_DIR, HOST, CONTAINER = sys.argv[1:5]
# How the plugin's code mode interpolates: ${host:glob} of one value is
# the value; ${DS} is the datasource variable.
VARS = {"${host:glob}": HOST, "${container:glob}": CONTAINER,
        "${host}": HOST, "${container}": CONTAINER,
        "$host": HOST, "$container": CONTAINER}
DS_TYPE = "simpod-json-datasource"


def post(path, body, method="POST"):
    data = body if body is None or isinstance(body, bytes) \
        else json.dumps(body).encode()
    req = urllib.request.Request(URL + "/grafana" + path, data=data,
                                 method=method,
                                 headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, json.loads(r.read() or b"null")
    except urllib.error.HTTPError as e:
        text = e.read()
        try:
            return e.code, json.loads(text)
        except ValueError:
            return e.code, text.decode(errors="replace")


def ok(path, body):
    code, reply = post(path, body)
    if code != 200:
        raise SystemExit("%s %s: HTTP %s %s" % (path, body, code, reply))
    return reply


def bad(path, body, why, want=400):
    code, reply = post(path, body)
    if code != want or (want == 400 and not (isinstance(reply, dict)
                                              and "error" in reply)):
        raise SystemExit("%s (%s): want %d + JSON error, got %s %s"
                         % (path, why, want, code, str(reply)[:200]))


def subst(text):
    """A code-mode payload: the plugin replaces each variable with its JSON
    text and drops the quotes of a string (cleanMatch), so "$host" gives
    "node1"; ${host:glob} gives the value (several: {a,b})."""
    for k, v in VARS.items():
        text = text.replace(k, v)
    return text


def subst_json(text):
    """A variable query of format "json": JSON.parse of the text with every
    variable replaced by its JSON (json.dumps of the value), so it is
    written unquoted: {"host":$host}."""
    for k, v in VARS.items():
        text = text.replace(k, v if k.endswith(":glob}") else json.dumps(v))
    return text


def grafana_range(minutes=15):
    now = time.time()
    fmt = lambda t: time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(t))
    return {"from": fmt(now - minutes * 60), "to": fmt(now + 60),
            "raw": {"from": "now-%dm" % minutes, "to": "now"}}


def has_data(reply):
    for item in reply:
        if item.get("type") == "table" and item.get("rows"):
            return True
        if item.get("datapoints"):
            return True
    return False


def check_static(path, dash):
    """The datasource is the dashboard variable DS (declared in __inputs
    for imports by hand); every panel, target, variable and annotation
    uses it."""
    ins = dash.get("__inputs", [])
    assert any(i.get("name") == "DS" and i.get("type") == "datasource"
               and i.get("pluginId") == DS_TYPE for i in ins), (path, ins)
    tl = dash.get("templating", {}).get("list", [])
    ds = [v for v in tl if v["name"] == "DS"]
    assert ds and ds[0]["type"] == "datasource" and \
        ds[0]["query"] == DS_TYPE, (path, ds)
    want = {"type": DS_TYPE, "uid": "${DS}"}
    users = [v for v in tl if v["type"] in ("query", "adhoc")]
    users += [p for p in dash["panels"] if p.get("type") != "row"]
    users += [a for a in dash.get("annotations", {}).get("list", [])
              if a.get("builtIn") != 1]
    for u in users:
        assert u.get("datasource") == want, (path, u.get("title", u.get(
            "name")), u.get("datasource"))
        for t in u.get("targets", []):
            assert t.get("datasource") == want, (path, u.get("title"), t)
    ids = [p["id"] for p in dash["panels"]]
    assert len(ids) == len(set(ids)), (path, ids)


def target_body(t, filters=None):
    tgt = {"refId": t.get("refId", "A"), "target": t["target"],
           "editorMode": t.get("editorMode", "code"),
           "payload": subst(t.get("payload") or ""),
           "datasource": {"type": DS_TYPE, "uid": "logq"}}
    body = {"panelId": 1, "range": grafana_range(), "intervalMs": 1000,
            "maxDataPoints": 500, "targets": [tgt],
            "scopedVars": {"__interval": {"text": "1s", "value": "1s"}}}
    if filters is not None:
        body["adhocFilters"] = filters
    return body


def check_dashboards():
    n = 0
    for path in sorted(glob.glob(DASH_DIR + "/*.json")):
        with open(path) as f:
            dash = json.load(f)
        check_static(path, dash)
        for var in dash.get("templating", {}).get("list", []):
            if var["type"] != "query":
                continue
            q = var["query"]
            payload = json.loads(subst_json(q["query"])) \
                if q.get("format") == "json" else {"target": subst(q["query"])}
            values = ok("/variable", {"payload": payload, "range": grafana_range(),
                                      "variables": {"host": {"text": HOST,
                                                             "value": HOST}}})
            if not values or not all("__value" in v for v in values):
                raise SystemExit("%s: variable %s: %s" % (path, var["name"], values))
            names = [v["__value"] for v in values]
            want = VARS["$" + var["name"]]
            if want not in names:
                raise SystemExit("%s: variable %s lacks %s: %s"
                                 % (path, var["name"], want, names))
            n += 1
        targets = [(p["title"], t) for p in dash["panels"]
                   for t in p.get("targets", [])]
        targets += [("annotation " + a["name"], a["target"])
                    for a in dash.get("annotations", {}).get("list", [])
                    if "target" in a]
        for title, t in targets:
            reply = ok("/query", target_body(t))
            if not has_data(reply):
                raise SystemExit("%s: '%s' target %s %s: no data: %s"
                                 % (path, title, t["target"], t.get("payload"),
                                    str(reply)[:300]))
            # every target also takes the ad-hoc filters
            ok("/query", target_body(t, [{"key": "host", "operator": "=~",
                                          "value": ".*", "condition": ""}]))
            n += 1
    print("dashboard targets and variables with data: %d" % n)
    return n


def count_of(reply, host):
    for s in reply:
        if s["target"] == host:
            return sum(v for v, _ in s["datapoints"])
    return 0


def check_buckets(reply, step=None):
    """Every timestamp a multiple of the step, consecutive ones a step
    apart (they used to drift by 1 ms per bucket)."""
    for s in reply:
        ts = [t for _, t in s["datapoints"]]
        if len(ts) < 2:
            continue
        d = step or ts[1] - ts[0]
        assert d > 0 and all(t % d == 0 for t in ts), (s["target"], d, ts[:5])
        if step is None:
            assert all(b - a == d for a, b in zip(ts, ts[1:])), ts[:5]


def check_new_shapes():
    rng = grafana_range()
    q = lambda targets, **kw: ok("/query", dict(range=rng, intervalMs=1000,
                                                maxDataPoints=500,
                                                targets=targets, **kw))
    # logs:count honours q (it used to count every line)
    r = q([{"target": "logs:count", "refId": "A",
            "payload": '{"q":"error","icase":true}'}])
    assert count_of(r, HOST) == 10 * 60 / 2, r     # per minute, 2 s buckets
    r = q([{"target": "logs:count", "refId": "A", "payload": ""}])
    assert count_of(r, HOST) == 40 * 60 / 2, r
    check_buckets(r)
    # range 16 min at 1 s is 961 buckets > 500: the step is 2 s, exactly
    check_buckets(r, 2000)
    r = ok("/query", {"range": rng, "intervalMs": 5000, "maxDataPoints": 500,
                      "targets": [{"target": "host.cpu.user_pct",
                                   "payload": {"host": HOST}}]})
    assert r, r
    check_buckets(r, 5000)
    # ad-hoc filters, every operator (logs only on HOST/CONTAINER)
    def rows(filters, payload=None):
        r = q([{"target": "logs", "refId": "A",
                "payload": payload or {"limit": 1000}}], filters=filters)
        return r[0]["rows"]
    f = lambda k, op, v: {"key": k, "operator": op, "value": v, "condition": ""}
    assert len(rows([])) == 40
    assert len(rows([f("container", "=", CONTAINER)])) == 40
    assert rows([f("container", "!=", CONTAINER)]) == []
    assert len(rows([f("container", "=~", CONTAINER[:2] + ".*")])) == 40
    assert rows([f("container", "=~", CONTAINER[:2])]) == []   # anchored
    assert rows([f("container", "!~", ".*")]) == []
    assert len(rows([f("stream", "=", "stdout")])) == 40
    assert rows([f("stream", "=", "stderr")]) == []
    assert len(rows([f("host", "=", "{%s,elsewhere}" % HOST)])) == 40
    assert len(rows([{"key": "host", "operator": "=|", "value": "x",
                      "values": ["elsewhere", HOST]}])) == 40
    assert rows([f("host", "!=", [HOST, "x"])]) == []
    assert len(rows([f("image", "=~", ".*")])) == 40
    # multi-value variables in the payload, and free-form payload keys
    assert len(rows([], {"host": "{%s,n9}" % HOST, "limit": 100,
                         "note": "ignored"})) == 40
    assert len(rows([], {"host": [HOST], "container": [CONTAINER, "x"],
                         "limit": "100", "icase": "false"})) == 40
    assert rows([], {"host": ["n9"]}) == []
    # /variable as the plugin sends it, /tag-values narrowed by filters
    # a multi-value $host in a JSON variable query arrives as an array
    v = ok("/variable", {"payload": json.loads(
        '{"target":"containers","host":%s}' % json.dumps([HOST, "n9"])),
        "range": rng})
    assert {"__text": CONTAINER, "__value": CONTAINER} in v, v
    v = ok("/variable", {"payload": {"target": "containers",
                                     "host": "{%s,n9}" % HOST, "x": 1},
                         "range": rng, "variables": {"host": {"value": [HOST]}}})
    assert {"__text": CONTAINER, "__value": CONTAINER} in v, v
    keys = [k["text"] for k in ok("/tag-keys", {})]
    # the fixed keys, then the Docker labels of the stored containers
    assert keys == ["host", "container", "image", "stream", "label.app",
                    "label.com.docker.compose.service"], keys
    assert ok("/tag-values", {"key": "label.app"}) == [{"text": "shop"}]
    assert ok("/tag-values", {"key": "label.app", "filters": [
        f("host", "=", "n9")]}) == []
    assert ok("/tag-values", {"key": "label.app", "filters": [
        f("label.app", "=", "other")]}) == [{"text": "shop"}]
    # label filters select records: "" for a container without the label
    svc = "label.com.docker.compose.service"
    assert len(rows([f("label.app", "=", "shop")])) == 40
    assert len(rows([f(svc, "=", ["x", "web"]), f("label.app", "!=", "x")])) == 40
    assert rows([f("label.app", "=", "other")]) == []
    assert rows([f("label.app", "!=", "shop")]) == []
    assert rows([f("label.nope", "!=", "")]) == []
    assert len(rows([f("label.nope", "=", "")])) == 40
    assert rows([f("label.app", "=", "")]) == []
    assert len(rows([f("label.nope", "=~", "")])) == 40
    assert len(rows([f(svc, "=~", "w.b")])) == 40
    r = q([{"target": "logs:count", "refId": "A", "payload": ""}],
          filters=[f("label.app", "=", "shop")])
    assert count_of(r, HOST) == 40 * 60 / 2, r
    r = q([{"target": "logs:count", "refId": "A", "payload": ""}],
          filters=[f("label.app", "=", "other")])
    assert count_of(r, HOST) == 0, r
    # metric series have no labels: a label filter does not hide them
    r = q([{"target": "container.cpu_pct", "refId": "A",
            "payload": {"host": HOST}}], filters=[f("label.app", "=", "x")])
    assert r, r
    tv = ok("/tag-values", {"key": "container", "filters": [
        f("host", "=", "n9")]})
    assert tv == [], tv
    tv = ok("/tag-values", {"key": "container", "filters": [
        f("host", "=", HOST)]})
    assert {"text": CONTAINER} in tv, tv
    assert ok("/tag-values", {"key": "stream"}) == [{"text": "stderr"},
                                                    {"text": "stdout"}]
    assert ok("/tag-values", {"key": "image"}), "no image values"
    bad("/query", {"targets": [], "filters": [f("host", "=~", "a)|(b")]},
        "unbalanced regex")
    bad("/query", {"targets": [{"target": "logs", "payload": {"limit": "x"}}]},
        "limit not a number")


def check_methods():
    """HEAD answers without a body and 405 says Method Not Allowed, on
    every route of the API."""
    gets = ["/health", "/api/v1/logs", "/api/v1/follow", "/api/v1/hosts",
            "/api/v1/containers", "/api/v1/count", "/api/v1/histogram",
            "/api/v1/stats", "/api/v1/metrics", "/api/v1/metrics/query",
            "/api/v1/health", "/grafana/", "/grafana"]
    posts = ["/grafana/query", "/grafana/metrics", "/grafana/search",
             "/grafana/metric-payload-options", "/grafana/variable",
             "/grafana/tag-keys", "/grafana/tag-values",
             "/grafana/annotations"]
    for path in gets:
        req = urllib.request.Request(URL + path, method="HEAD")
        with urllib.request.urlopen(req, timeout=10) as r:
            assert r.status == 200 and r.read() == b"", path
            assert r.headers["Content-Type"].startswith("application/"), path
    for path, m in [(p, "PUT") for p in gets] + [(p, "GET") for p in posts] + \
            [(p, "DELETE") for p in posts] + [("/health", "PATCH"),
                                              ("/api/v1/logs", "OPTIONS")]:
        req = urllib.request.Request(URL + path, method=m, data=b"")
        try:
            urllib.request.urlopen(req, timeout=10)
            raise SystemExit("%s %s: not refused" % (m, path))
        except urllib.error.HTTPError as e:
            assert e.code == 405 and e.reason == "Method Not Allowed", \
                (m, path, e.code, e.reason)
            assert e.headers["Allow"], (m, path)
            assert "error" in json.loads(e.read()), (m, path)


def check_capped():
    """--max-scan-bytes applies to every Grafana log target: a target that
    must read more answers an error the plugin shows (422 {"error":...}),
    never a silent partial answer; one that has its rows first is whole."""
    for t in ({"target": "logs:count", "payload": {"q": "error"}},
              {"target": "logs", "payload": {"q": "-filler -GET -ERROR"}},
              {"target": "logs:count"}):
        code, reply = post("/query", {"range": grafana_range(60),
                                      "targets": [dict(t, refId="Z")]})
        assert code == 422 and "cost limit" in reply["error"], (t, code,
                                                               str(reply)[:300])
        assert reply["error"].startswith("Z: "), reply
    code, reply = post("/annotations", {"range": grafana_range(60),
                                        "annotation": {"query": "-filler -GET -ERROR"}})
    assert code == 422 and "cost limit" in reply["error"], (code,
                                                           str(reply)[:300])
    for q in ("filler", "error"):
        r = ok("/query", {"range": grafana_range(60), "targets": [
            {"target": "logs", "payload": {"q": q, "icase": True,
                                           "limit": 100}}]})
        assert len(r[0]["rows"]) == 100, str(r)[:300]
    print("grafana: capped queries answer 422")


def check_query_shapes():
    r = ok("/query", {"range": grafana_range(), "intervalMs": 60000,
                      "maxDataPoints": 10,
                      "targets": [{"target": "host.cpu.user_pct", "refId": "A",
                                   "payload": {"host": HOST}}]})
    assert len(r) == 1 and r[0]["target"] == HOST, r
    assert 0 < len(r[0]["datapoints"]) <= 10, r
    for v, ts in r[0]["datapoints"]:
        assert isinstance(ts, int) and isinstance(v, (int, float)), r
    # ad-hoc filters narrow every target; the old name works too
    for key in ("filters", "adhocFilters"):
        r = ok("/query", {"range": grafana_range(), "targets": [
            {"target": "container.mem.bytes", "refId": "A"}],
            key: [{"key": "container", "operator": "=", "value": CONTAINER}]})
        assert r and all(s["target"].endswith("/" + CONTAINER) for s in r), r
    r = ok("/query", {"range": grafana_range(), "targets": [
        {"target": "logs", "refId": "A",
         "payload": {"q": "error", "icase": True, "host": HOST, "limit": 3}}]})
    t = r[0]
    assert t["type"] == "table" and len(t["rows"]) == 3, r
    assert [c["text"] for c in t["columns"]] == \
        ["time", "message", "host", "container", "stream"], t
    assert all("ERROR" in row[1] and row[2] == HOST for row in t["rows"]), t
    times = [row[0] for row in t["rows"]]
    assert times == sorted(times, reverse=True), times
    r = ok("/query", {"range": grafana_range(), "intervalMs": 60000,
                      "targets": [{"target": "logs:count", "refId": "A"}]})
    hosts = {s["target"]: s for s in r}
    assert HOST in hosts, r
    # 40 lines in the last minutes, counted per minute: the buckets add up
    assert sum(v for v, _ in hosts[HOST]["datapoints"]) == 40, hosts[HOST]
    check_buckets(r, 60000)
    # a payload host and an ad-hoc host that disagree: nothing
    r = ok("/query", {"targets": [{"target": "logs:count",
                                   "payload": {"host": HOST}}],
                      "filters": [{"key": "host", "operator": "=",
                                   "value": "elsewhere"}]})
    assert r == [], r
    # hidden targets are not answered
    assert ok("/query", {"targets": [{"target": "logs", "hide": True}]}) == []


def check_endpoints():
    req = urllib.request.Request(URL + "/grafana/")
    with urllib.request.urlopen(req, timeout=10) as r:
        assert r.status == 200
    m = ok("/metrics", {})
    values = [x["value"] for x in m]
    for want in ("logs:count", "logs", "host.cpu.user_pct", "container.cpu_pct"):
        assert want in values, values
    assert all("payloads" in x for x in m), m
    s = ok("/search", {"target": ""})
    assert "host.mem.used_pct" in s and "logs:count" in s, s
    hosts = ok("/metric-payload-options", {"metric": "host.cpu.user_pct",
                                          "payload": {}, "name": "host"})
    assert {"label": HOST, "value": HOST} in hosts, hosts
    ctrs = ok("/metric-payload-options", {"metric": "container.cpu_pct",
                                         "payload": {"host": HOST},
                                         "name": "container"})
    assert {"label": CONTAINER, "value": CONTAINER} in ctrs, ctrs
    labels = ok("/metric-payload-options", {"metric": "host.net.rx_bps",
                                           "payload": {"host": HOST},
                                           "name": "label"})
    assert {"label": "eth0", "value": "eth0"} in labels, labels
    lh = ok("/metric-payload-options", {"metric": "logs", "payload": {},
                                       "name": "host"})
    assert {"label": HOST, "value": HOST} in lh, lh
    v = ok("/variable", {"payload": {"target": "hosts"}})
    assert {"__text": HOST, "__value": HOST} in v, v
    v = ok("/variable", {"payload": "metrics"})
    assert {"__text": "host.cpu.user_pct", "__value": "host.cpu.user_pct"} in v
    assert ok("/tag-keys", {})[:2] == [{"type": "string", "text": "host"},
                                       {"type": "string", "text": "container"}]
    tv = ok("/tag-values", {"key": "host"})
    assert {"text": HOST} in tv, tv
    tv = ok("/tag-values", {"key": "container"})
    assert {"text": CONTAINER} in tv, tv
    a = ok("/annotations", {"range": grafana_range(),
                            "annotation": {"name": "errors", "enable": True}})
    assert len(a) == 10, a
    for x in a:
        assert x["annotation"]["name"] == "errors" and "ERROR" in x["text"], x
        assert x["tags"] == [HOST, CONTAINER] and x["title"] == CONTAINER, x
        assert isinstance(x["time"], int), x


def check_rejections():
    bad("/query", b"{not json", "bad JSON")
    bad("/query", b"[]", "not an object")
    bad("/query", {}, "no targets")
    bad("/query", {"targets": [{"target": 5}]}, "target not a string")
    bad("/query", {"targets": [], "maxDataPoints": 10001}, "maxDataPoints")
    bad("/query", {"targets": [{"target": "m"}] * 101}, "101 targets")
    bad("/query", {"targets": [{"target": "logs", "payload": {"q": "\"open"}}]},
        "bad log query")
    bad("/query", {"targets": [], "filters": [{"key": "city", "operator": "=",
                                               "value": "x"}]}, "bad filter")
    bad("/query", {"targets": [], "filters": [{"key": "label.", "operator": "=",
                                               "value": "x"}]}, "label. no key")
    bad("/query", {"targets": [], "filters": [{"key": "host", "operator": "<",
                                               "value": "x"}]}, "bad operator")
    bad("/metric-payload-options", {"name": "host"}, "no metric")
    bad("/variable", {"payload": {"target": "cities"}}, "unknown variable")
    bad("/tag-values", {}, "no key")
    big = b'{"targets":[],"pad":"' + b"x" * (1 << 20) + b'"}'
    bad("/query", big, "body over 1 MiB")
    code, _ = post("/query", None, method="GET")
    assert code == 405, code
    # known payload keys keep their types
    bad("/query", {"targets": [{"target": "logs", "payload": {"host": 5}}]},
        "host not a string")
    code, _ = post("/nope", {})
    assert code == 404, code


def main():
    if sys.argv[1] == "--capped":
        check_capped()
        return
    check_endpoints()
    check_query_shapes()
    check_new_shapes()
    check_rejections()
    check_methods()
    n = check_dashboards()
    assert n >= 20, n
    print("grafana: all checks passed")


if __name__ == "__main__":
    try:
        main()
    except AssertionError as e:
        import traceback
        traceback.print_exc()
        raise SystemExit("assertion failed: %s" % e)
