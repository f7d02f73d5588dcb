"""SuperSearch with runaway parameters (issue 19 #13): 1,500 ``product=`` values or a 60 KB value (the longest URL httpx sends) used to end in
a 500; now a 400 with a message, and the collector keeps answering."""

from __future__ import annotations

from urllib.parse import urlencode


def test_runaway_supersearch_requests_are_400_with_a_message(http, collector):
    url = f"{collector.base_url}/api/SuperSearch/"
    many = urlencode([("product", f"P{i}") for i in range(1500)])
    r = http.get(f"{url}?{many}")
    assert r.status_code == 400, r.text[:500]
    assert "terms and words" in r.text
    long_value = http.get(url, params={"signature": "~" + "x" * 60_000})
    assert long_value.status_code == 400, long_value.text[:500]
    assert "characters long" in long_value.text
    # still answering, and a request inside the bounds works
    ok = http.get(url, params={"product": [f"P{i}" for i in range(50)], "platform": "Windows"})
    assert ok.status_code == 200 and ok.json()["total"] == 0
