#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""grafana_check: checks a live collector's /grafana endpoints (76-health-grafana).

usage: grafana_check.py URL DASHBOARD_DIR HOST CONTAINER

Every panel target of every dashboard JSON (payload variables $host and
$container replaced by HOST and CONTAINER) is sent to POST /grafana/query
as Grafana would and must come back with data: a time series with at least
one point, or a table with at least one row. Every template variable query
goes to /grafana/variable and must list values. Then the other endpoints
(/, /metrics, /metric-payload-options, /variable, /tag-keys, /tag-values,
/search, /annotations) and the rejections (bad JSON, wrong types, missing
fields, too many targets, oversize body, wrong method) are checked. Python
3 standard library only; exits 1 with the first failure.
"""
import glob
import json
import sys
import time
import urllib.error
import urllib.request

URL, DASH_DIR, HOST, CONTAINER = sys.argv[1:5]
VARS = {"$host": HOST, "$container": CONTAINER}


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
    for k, v in VARS.items():
        text = text.replace(k, v)
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


def check_dashboards():
    n = 0
    for path in sorted(glob.glob(DASH_DIR + "/*.json")):
        dash = json.load(open(path))
        for var in dash.get("templating", {}).get("list", []):
            q = var["query"]
            payload = json.loads(subst(q["query"])) if q.get("format") == "json" \
                else subst(q["query"])
            values = ok("/variable", {"payload": payload, "range": grafana_range()})
            if not values or not all("__value" in v for v in values):
                raise SystemExit("%s: variable %s: %s" % (path, var["name"], values))
            names = [v["__value"] for v in values]
            want = VARS["$" + var["name"]]
            if want not in names:
                raise SystemExit("%s: variable %s lacks %s: %s"
                                 % (path, var["name"], want, names))
        for panel in dash["panels"]:
            for t in panel.get("targets", []):
                tgt = {"refId": t["refId"], "target": t["target"],
                       "payload": subst(t.get("payload") or ""),
                       "datasource": t.get("datasource")}
                body = {"panelId": panel["id"], "range": grafana_range(),
                        "intervalMs": 1000, "maxDataPoints": 500,
                        "targets": [tgt]}
                reply = ok("/query", body)
                if not has_data(reply):
                    raise SystemExit("%s: panel '%s' target %s %s: no data: %s"
                                     % (path, panel["title"], t["target"],
                                        tgt["payload"], str(reply)[:300]))
                n += 1
    print("dashboard targets with data: %d" % n)
    return n


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
        ["time", "host", "container", "stream", "message"], t
    assert all("ERROR" in row[4] and row[1] == HOST for row in t["rows"]), t
    times = [row[0] for row in t["rows"]]
    assert times == sorted(times, reverse=True), times
    r = ok("/query", {"range": grafana_range(), "intervalMs": 60000,
                      "targets": [{"target": "logs:count", "refId": "A"}]})
    hosts = {s["target"]: s for s in r}
    assert HOST in hosts, r
    # 40 lines in the last minutes, counted per minute: the buckets add up
    assert sum(v for v, _ in hosts[HOST]["datapoints"]) == 40, hosts[HOST]
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
    assert ok("/tag-keys", {}) == [{"type": "string", "text": "host"},
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
    bad("/metric-payload-options", {"name": "host"}, "no metric")
    bad("/variable", {"payload": {"target": "cities"}}, "unknown variable")
    bad("/tag-values", {}, "no key")
    big = b'{"targets":[],"pad":"' + b"x" * (1 << 20) + b'"}'
    bad("/query", big, "body over 1 MiB")
    code, _ = post("/query", None, method="GET")
    assert code == 405, code
    code, _ = post("/nope", {})
    assert code == 404, code


def main():
    check_endpoints()
    check_query_shapes()
    check_rejections()
    n = check_dashboards()
    assert n >= 15, n
    print("grafana: all checks passed")


if __name__ == "__main__":
    try:
        main()
    except AssertionError as e:
        import traceback
        traceback.print_exc()
        raise SystemExit("assertion failed: %s" % e)
