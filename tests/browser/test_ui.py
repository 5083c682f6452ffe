#!/usr/bin/python3
"""test_ui.py - samlog ui in a real browser.

Real samlogd nodes on temporary directories, make run's demo records
(scripts/demo.sh), `samlog ui` serving them, and Debian's chromium driven
headless through chromium-driver (python3-selenium).  What a coordinator
does, in the browser only: record a meeting with a social enterprise, a
decision with its day, its adoption and an action from it; see a
conflict made by two nodes and resolve it; make the year's board report.
Beside that: every page and form answers; the link works once; a foreign
Host header, a missing or wrong CSRF token and a missing session are
refused; no request leaves 127.0.0.1; the page can be used by keyboard.

    tests/browser/test_ui.py BUILD [--screenshots DIR]

Prints cmocka's summary lines (tests/run.sh counts them).  Where chromium
or its driver is missing, every test is skipped with one line saying why.
With --screenshots, saves the main pages at 1280x800 and the report's
first page as PNG files in DIR (make screenshots).
"""
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import traceback
import urllib.error
import urllib.parse
import urllib.request

BUILD = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else "build")
SHOTS = None
if "--screenshots" in sys.argv:
    SHOTS = os.path.abspath(sys.argv[sys.argv.index("--screenshots") + 1])
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
TMP = tempfile.mkdtemp(prefix="samlog-ui-")


def samlog(d, *args, check=True):
    r = subprocess.run([os.path.join(BUILD, "samlog"), "-d", d] + list(args),
                       capture_output=True, text=True, timeout=60)
    if check and r.returncode != 0:
        raise AssertionError("samlog %s: %s%s" % (" ".join(args), r.stdout,
                                                   r.stderr))
    return r.stdout


class Node:
    def __init__(self, name, org):
        self.dir = os.path.join(TMP, name)
        self.log = self.dir + ".log"
        self.listen = "127.0.0.1:0"
        self.proc = None
        r = subprocess.run([os.path.join(BUILD, "samlog"), "-d", self.dir,
                            "--json", "init", "--org", org], check=True,
                           capture_output=True, text=True)
        self.id = json.loads(r.stdout)["node_id"]

    def start(self):
        self.proc = subprocess.Popen(
            [os.path.join(BUILD, "samlogd"), "-d", self.dir, "--listen",
             self.listen, "--foreground"], stderr=open(self.log, "a"))
        for _ in range(500):
            if subprocess.run([os.path.join(BUILD, "samlog"), "-d", self.dir,
                               "status"], capture_output=True).returncode == 0:
                break
            time.sleep(0.02)
        self.listen = json.loads(samlog(self.dir, "status", "--json"))["listen"]

    def stop(self):
        if self.proc is not None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(timeout=60)
            self.proc = None

    def events(self):
        s = json.loads(samlog(self.dir, "status", "--json"))
        return s["events"]


class UI:
    """samlog ui on a node: its URL, port and process."""

    def __init__(self, node):
        self.proc = subprocess.Popen(
            [os.path.join(BUILD, "samlog"), "-d", node.dir, "ui", "--no-open",
             "--json"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            text=True)
        line = self.proc.stdout.readline()
        if not line:
            raise AssertionError("samlog ui printed nothing: " +
                                 self.proc.stderr.read())
        info = json.loads(line)
        self.url = info["url"]
        self.port = info["port"]
        self.base = "http://127.0.0.1:%d" % self.port
        self.app = None         # the pages' secret prefix, once logged in

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        assert self.proc.wait(timeout=30) == 0


def http(url, data=None, headers=None, method=None):
    """(status, body) of one request, without following redirects."""
    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *a, **k):
            return None
    opener = urllib.request.build_opener(NoRedirect)
    body = urllib.parse.urlencode(data).encode() if data is not None else None
    req = urllib.request.Request(url, data=body, headers=headers or {},
                                 method=method)
    try:
        with opener.open(req, timeout=30) as r:
            return r.status, r.read().decode(), dict(r.headers)
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode(), dict(e.headers)


# ---- the browser ---------------------------------------------------------

def browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    opts = webdriver.ChromeOptions()
    for a in ("--headless=new", "--no-sandbox", "--disable-gpu",
              "--window-size=1280,800", "--disable-dev-shm-usage",
              "--no-first-run", "--disable-background-networking",
              "--disable-component-update", "--disable-sync",
              "--disable-default-apps", "--lang=sv-SE",
              "--user-data-dir=" + tempfile.mkdtemp(dir=TMP)):
        opts.add_argument(a)
    opts.binary_location = shutil.which("chromium")
    opts.set_capability("goog:loggingPrefs", {"performance": "ALL"})
    svc = Service(executable_path=shutil.which("chromedriver"))
    return webdriver.Chrome(service=svc, options=opts)


def requested_urls(drv):
    """Every URL the browser asked for since the last call."""
    urls = []
    for entry in drv.get_log("performance"):
        msg = json.loads(entry["message"])["message"]
        if msg.get("method") == "Network.requestWillBeSent":
            urls.append(msg["params"]["request"]["url"])
    return urls


def by_css(drv, css):
    from selenium.webdriver.common.by import By
    return drv.find_element(By.CSS_SELECTOR, css)


def all_css(drv, css):
    from selenium.webdriver.common.by import By
    return drv.find_elements(By.CSS_SELECTOR, css)


def fill(drv, form, values):
    """Fills form's controls: text, date, select (one or several)."""
    from selenium.webdriver.support.ui import Select
    for name, v in values.items():
        el = by_css(drv, "#%s [name='%s']" % (form, name))
        if el.tag_name == "select":
            # An option shows its record's name, and its day where it
            # has one: "Möte (2019-11-20)".
            s = Select(el)
            for one in (v if isinstance(v, list) else [v]):
                opts = [o for o in s.options if o.text == one or
                        o.text.startswith(one + " (")]
                assert opts, "no option %r in %s" % (one, name)
                if not opts[0].is_selected():
                    opts[0].click()
        elif el.get_attribute("type") == "date":
            # A date control takes the day as typed in its locale; set
            # the value the form sends instead.
            drv.execute_script("arguments[0].value = arguments[1]", el, v)
        elif el.get_attribute("type") == "checkbox":
            if bool(v) != el.is_selected():
                el.click()
        else:
            el.clear()
            el.send_keys(v)


def submit(drv, form):
    """Sends form and waits for the page that answers."""
    from selenium.webdriver.support.ui import WebDriverWait
    old = drv.find_element("tag name", "html")
    by_css(drv, "#%s button[type='submit']" % form).click()

    def gone(_):
        # The old page's element is stale once the answer is shown;
        # chromedriver says so in more than one way.
        try:
            old.is_enabled()
            return False
        except Exception:
            return True
    WebDriverWait(drv, 30).until(gone)


def wait_h1(drv, text):
    """Waits for the page whose heading is text (after a click)."""
    for _ in range(100):
        try:
            if by_css(drv, "h1").text == text:
                return
        except Exception:
            pass
        time.sleep(0.05)
    raise AssertionError("no page headed " + text)


def wait_lang(drv, lang):
    """Waits for a page in lang (after the language button)."""
    for _ in range(100):
        try:
            if drv.find_element("tag name", "html").get_attribute(
                    "lang") == lang:
                return
        except Exception:
            pass
        time.sleep(0.05)
    raise AssertionError("no page in " + lang)


def no_error(drv):
    errs = all_css(drv, ".error")
    assert not errs, "the page says: " + errs[0].text


def shot(drv, name):
    if SHOTS:
        os.makedirs(SHOTS, exist_ok=True)
        drv.save_screenshot(os.path.join(SHOTS, name + ".png"))


# ---- the tests -------------------------------------------------------------

class Scene:
    a = None
    b = None
    ui = None
    drv = None


S = Scene()


def setup():
    S.a = Node("a", "Samordningsförbundet")
    S.a.start()
    subprocess.run(["sh", os.path.join(ROOT, "scripts/demo.sh"),
                    os.path.join(BUILD, "samlog"), S.a.dir], check=True,
                   capture_output=True)
    S.ui = UI(S.a)
    S.drv = browser()
    login()


def login():
    """Opens the printed link; the pages' address is where it leads."""
    S.drv.get(S.ui.url)
    S.ui.app = S.drv.current_url
    assert "/s/" in S.ui.app, S.ui.app


def test_login_once():
    drv = S.drv
    assert by_css(drv, "h1").text == "Översikt"
    assert drv.find_element("tag name", "html").get_attribute("lang") == "sv"
    # The link again: refused, in this browser and in any other.
    st, body, _ = http(S.ui.url)
    assert st == 403, st
    assert "once" in body or "used" in body
    st, _, _ = http(S.ui.app + "")
    assert st == 403, st


def test_refusals():
    cookie = {c["name"]: c["value"] for c in S.drv.get_cookies()}
    assert "samlog_session" in cookie
    ck = "samlog_session=" + cookie["samlog_session"]
    # A foreign Host (DNS rebinding): refused before anything else.
    st, _, _ = http(S.ui.app + "", headers={"Host": "evil.example:%d" %
                                              S.ui.port, "Cookie": ck})
    assert st == 421, st
    st, _, _ = http(S.ui.app + "", headers={"Host": "127.0.0.1",
                                              "Cookie": ck})
    assert st == 421, st
    # Outside the secret prefix there is nothing, even with the cookie
    # (which the browser sends to no other path).
    st, _, _ = http(S.ui.base + "/", headers={"Cookie": ck})
    assert st == 404, st
    # The session works from outside the browser too...
    st, body, hd = http(S.ui.app + "", headers={"Cookie": ck})
    assert st == 200, st
    csp = hd.get("Content-Security-Policy", "")
    assert "default-src 'none'" in csp and "frame-ancestors 'none'" in csp
    # ...but a form without the CSRF token, or with a wrong one, is
    # refused and writes nothing.
    before = S.a.events()
    for data in ({"title": "Förfalskat", "date": "2019-05-05"},
                 {"title": "Förfalskat", "date": "2019-05-05",
                  "csrf": "0" * 64}):
        st, _, _ = http(S.ui.app + "new/meeting", data=data,
                        headers={"Cookie": ck})
        assert st == 403, st
    # No session, with the right CSRF token from the page: refused too.
    token = by_css(S.drv, "input[name='csrf']").get_attribute("value")
    st, _, _ = http(S.ui.app + "new/meeting", data={
        "title": "Förfalskat", "date": "2019-05-05", "csrf": token})
    assert st == 403, st
    assert S.a.events() == before
    assert "Förfalskat" not in samlog(S.a.dir, "meeting", "list", "--json")


def test_every_page():
    drv = S.drv
    base = S.ui.app
    for kind in ("org", "contact", "meeting", "decision", "agreement",
                 "action"):
        drv.get(base + "list/" + kind)
        no_error(drv)
        assert all_css(drv, "table tbody tr"), kind
        # The filter form narrows the list (the CLI's own filters).
        drv.get(base + "new/" + kind)
        no_error(drv)
        assert all_css(drv, "#add button[type='submit']"), kind
        # The first record's page: fields, history, a form to change it.
        drv.get(base + "list/" + kind)
        by_css(drv, "table tbody tr td a").click()
        no_error(drv)
        assert all_css(drv, "ol.timeline li"), kind
        assert all_css(drv, "#update"), kind
    drv.get(base + "list/org?municipality=Sollentuna&kind=asf")
    rows = all_css(drv, "table tbody tr")
    assert len(rows) == 1 and "Café Häggvik" in rows[0].text
    drv.get(base + "find?q=café")
    assert "Café Häggvik" in drv.page_source
    drv.get(base + "conflicts")
    no_error(drv)
    drv.get(base + "report")
    no_error(drv)
    # Every label names a control; every control has a label.
    drv.get(base + "new/decision")
    for el in all_css(drv, "#add input:not([type=hidden]), #add select, "
                      "#add textarea"):
        lid = el.get_attribute("id")
        assert all_css(drv, "label[for='%s']" % lid) or \
            el.find_element("xpath", "ancestor::label"), lid


def test_coordinator_flow():
    """A meeting with an ASF, a decision taken there with its day, its
    adoption, and an action from it: in the browser only."""
    drv = S.drv
    base = S.ui.app
    drv.get(base + "new/meeting")
    shot(drv, "new-meeting")
    fill(drv, "add", {"title": "Uppföljning med Värmekällan",
                      "date": "2019-11-20", "type": "avstämning",
                      "org": ["Värmekällan", "Upplands Väsby kommun"],
                      "municipality": "Upplands Väsby"})
    submit(drv, "add")
    no_error(drv)
    assert "Uppföljning med Värmekällan" in by_css(drv, "h1").text
    meeting_url = drv.current_url
    drv.get(base + "new/decision")
    fill(drv, "add", {"title": "Arbetsträningsplatser hos Värmekällan",
                      "text": "Kommunen köper tio arbetsträningsplatser.",
                      "body": "Upplands Väsby kommun",
                      "meeting": "Uppföljning med Värmekällan",
                      "on": "2019-11-20"})
    submit(drv, "add")
    no_error(drv)
    assert "förslag" in drv.page_source or "proposed" in drv.page_source
    fill(drv, "step-adopt", {"minutes": "KS 2019-11-25 § 101",
                             "on": "2019-11-25"})
    submit(drv, "step-adopt")
    no_error(drv)
    src = drv.page_source
    assert "antaget" in src and "KS 2019-11-25 § 101" in src
    assert "2019-11-25" in src
    shot(drv, "decision")
    decision_url = drv.current_url.split("?")[0]
    drv.get(base + "new/action")
    fill(drv, "add", {"title": "Teckna avtal om platserna",
                      "owner": ["Upplands Väsby kommun"],
                      "due": "2020-01-31",
                      "from": "Arbetsträningsplatser hos Värmekällan",
                      "on": "2019-11-25"})
    submit(drv, "add")
    no_error(drv)
    link = by_css(drv, "a[href='r/%s']" % decision_url.rsplit("/", 1)[1])
    assert "Arbetsträningsplatser" in link.text
    # The CLI sees the same, written by this user.
    out = json.loads(samlog(S.a.dir, "decision", "list", "--json"))
    d = [x for x in out if x["title"] ==
         "Arbetsträningsplatser hos Värmekällan"][0]
    assert d["status"] == "adopted" and d["on"] == "2019-11-25"
    assert d["meeting_name"] == "Uppföljning med Värmekällan"
    assert d["author"] == os.environ.get("USER", d["author"])
    drv.get(meeting_url.split("?")[0])
    no_error(drv)
    # The meeting's page leads to what was made from it: the decision
    # (its meeting) and from there the action (its origin).
    refs = by_css(drv, "main").text
    assert "Poster som hänvisar hit" in refs
    assert "Arbetsträningsplatser hos Värmekällan" in refs
    drv.get(decision_url)
    assert "Teckna avtal om platserna" in by_css(drv, "main").text


def visible(drv):
    return by_css(drv, "main").text


def test_plain_words():
    """The page speaks Swedish to a coordinator: steps by what they do,
    a history in words with names and local times, the daemon's
    refusals explained, the search's kinds as words; English labels in
    English; the language button stays on the page."""
    import re
    drv = S.drv
    dec = [d for d in json.loads(samlog(S.a.dir, "decision", "list",
                                        "--json"))
           if d["status"] == "proposed"][0]
    drv.get(S.ui.app + "r/" + dec["id"])
    text = visible(drv)
    legends = [e.text for e in all_css(drv, "legend")]
    assert "Anta beslutet" in legends and "Återremittera" in legends, legends
    for verb in ("adopt", "refer-back", "table", "reject"):
        assert verb not in legends, legends
    buttons = [e.text for e in all_css(drv, "form button")]
    assert "Bordlägg" in buttons, buttons
    # History: what happened in words, names not ids, local times.
    hist = by_css(drv, "ol.timeline").text
    assert "Skapad" in hist and "decision.created" not in hist, hist
    assert not re.search(r"\b[0-9a-hjkmnp-tv-z]{26}\b", hist), hist
    assert not re.search(r"\d{4}-\d\d-\d\dT\d\d:", hist), hist
    assert re.search(r"registrerat \d{4}-\d\d-\d\d \d\d:\d\d", hist), hist
    assert "reason: ;" not in hist and "Titel: " in hist, hist
    # "Save anyway" only after a refusal that it may help.
    assert "Spara ändå" not in text
    # A refused step keeps what was typed and says why in Swedish.
    before = S.a.events()
    fill(drv, "step-adopt", {"minutes": "KS 1999-01-01 § 1",
                             "on": "1999-01-01"})
    submit(drv, "step-adopt")
    err = by_css(drv, ".error").text
    assert "Posten gäller från %s. Välj den dagen eller en senare." % \
        dec["created_on"] in err and "samlogd" in err, err
    # The step is dated; "save anyway" would not help, so it is not
    # offered.
    assert "Spara ändå" not in visible(drv)
    assert by_css(drv, "#step-adopt [name='minutes']").get_attribute(
        "value") == "KS 1999-01-01 § 1"
    assert S.a.events() == before
    # The overview's recent changes in local time.
    drv.get(S.ui.app)
    recent = all_css(drv, "main table")[1].text
    assert not re.search(r"T\d\d:\d\d:\d\d", recent), recent
    # Search: the kind of each record as a word.
    drv.get(S.ui.app + "find?q=Sigtuna")
    cells = [e.text for e in all_css(drv, "main td:last-child")]
    assert "Organisation" in cells and "org" not in cells, cells
    # A name that exists: explained, and now "save anyway" is offered.
    drv.get(S.ui.app + "new/org")
    fill(drv, "add", {"name": "Värmekällan"})
    submit(drv, "add")
    err = by_css(drv, ".error").text
    assert "Det finns redan en post med det namnet" in err, err
    assert "Spara ändå" in visible(drv)
    assert S.a.events() == before
    # A decision taken at a past meeting, its day left empty, takes
    # effect on the meeting's day, so it can be adopted on that day.
    mtg = [m for m in json.loads(samlog(S.a.dir, "meeting", "list",
                                        "--json"))
           if m["title"] == "Kompetens- och arbetsmarknadsnämnden, "
                            "Sollentuna"][0]
    drv.get(S.ui.app + "new/decision")
    assert by_css(drv, "h1").text == "Nytt beslut"
    fill(drv, "add", {"title": "Beslut på nämnden", "text": "Ja.",
                      "meeting": mtg["title"]})
    submit(drv, "add")
    no_error(drv)
    made = [d for d in json.loads(samlog(S.a.dir, "decision", "list",
                                         "--json"))
            if d["title"] == "Beslut på nämnden"][0]
    assert made["created_on"] == mtg["date"], made
    assert by_css(drv, "p.hint").text == "Beslut"
    # The meeting's page says what the decision is to it.
    drv.get(S.ui.app + "r/" + mtg["id"])
    assert "Beslut fattade på mötet" in [e.text for e in all_css(drv, "h3")]
    # The search keeps what was searched for.
    drv.get(S.ui.app + "find?q=Kaf%C3%A9+%26+Sigtuna")
    assert by_css(drv, "#fq").get_attribute("value") == "Kafé & Sigtuna"
    # ... and so does the language button.
    by_css(drv, "form[action='lang'] button").click()
    wait_lang(drv, "en")
    assert by_css(drv, "#fq").get_attribute("value") == "Kafé & Sigtuna"
    by_css(drv, "form[action='lang'] button").click()
    wait_lang(drv, "sv")
    # English: labels in English, and the button comes back here.
    drv.get(S.ui.app + "r/" + dec["id"])
    by_css(drv, "form[action='lang'] button").click()
    wait_lang(drv, "en")
    assert by_css(drv, "h1").text == dec["title"]
    assert drv.current_url.rstrip("/").endswith("r/" + dec["id"])
    labels = [e.text for e in all_css(drv, "#update label")]
    assert "Title" in labels and "Deciding body" in labels, labels
    assert "Adopt the decision" in [e.text for e in all_css(drv, "legend")]
    by_css(drv, "form[action='lang'] button").click()
    wait_lang(drv, "sv")
    assert by_css(drv, "h1").text == dec["title"]


def test_update_changes_only_what_changed():
    """The update form sends what was changed and clears what was
    emptied: nothing else goes into the history."""
    drv = S.drv
    org = [o for o in json.loads(samlog(S.a.dir, "org", "list", "--json"))
           if o["name"] == "Café Häggvik"][0]
    drv.get(S.ui.app + "r/" + org["id"])
    fill(drv, "update", {"status": "aktivt", "sector": ""})
    submit(drv, "update")
    no_error(drv)
    now = json.loads(samlog(S.a.dir, "org", "show", org["id"], "--json"))
    assert now["status"] == "active" and now["sector"] == [], now
    assert now["name"] == org["name"] and now["founded"] == org["founded"]
    last = json.loads(samlog(S.a.dir, "history", org["id"], "--json"))[-1]
    assert sorted(k for k in last["changes"] if k != "on") == \
        ["sector", "status"], last["changes"]
    # Saved again unchanged: nothing is written.
    before = S.a.events()
    submit(drv, "update")
    assert S.a.events() == before


def test_audit_download():
    """The record page's audit link gives the bundle samlog audit
    --check accepts offline."""
    drv = S.drv
    d = [x for x in json.loads(samlog(S.a.dir, "decision", "list", "--json"))
         if x["title"] == "Handlingsplan 2019"][0]
    drv.get(S.ui.app + "r/" + d["id"])
    href = by_css(drv, "a[href^='audit/']").get_attribute("href")
    ck = "samlog_session=" + {c["name"]: c["value"] for c in
                              drv.get_cookies()}["samlog_session"]
    req = urllib.request.Request(href, headers={"Cookie": ck})
    with urllib.request.urlopen(req, timeout=60) as r:
        assert "attachment" in r.headers["Content-Disposition"]
        data = r.read()
    path = os.path.join(TMP, "dl.audit")
    with open(path, "wb") as f:
        f.write(data)
    out = subprocess.run([os.path.join(BUILD, "samlog"), "audit", "--check",
                          path], capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "Handlingsplan 2019" in out.stdout
    st, _, _ = http(S.ui.app + "audit/../../etc/passwd",
                    headers={"Cookie": ck})
    assert st == 404, st


def session(drv):
    """The browser's session cookie and the page's CSRF token."""
    ck = "samlog_session=" + {c["name"]: c["value"] for c in
                              drv.get_cookies()}["samlog_session"]
    drv.get(S.ui.app + "")
    return ck, by_css(drv, "input[name='csrf']").get_attribute("value")


def test_hostile_requests():
    """What a hostile review found, each tried again."""
    a = S.a
    ck, csrf = session(S.drv)
    base = S.ui.app
    # A multipart part without a name: refused, with or without a
    # session, and the server lives on.
    import http.client as hclient
    body = b"--X\r\nContent-Disposition: form-data\r\n\r\nv\r\n--X--\r\n"
    for cookie in ({}, {"Cookie": ck}):
        hc = hclient.HTTPConnection("127.0.0.1", S.ui.port, timeout=30)
        hc.request("POST", urllib.parse.urlsplit(base).path + "new/org", body,
                   dict(cookie, **{
            "Content-Type": "multipart/form-data; boundary=X"}))
        st = hc.getresponse().status
        hc.close()
        assert st in (400, 403, 415), st
    assert http(base + "", headers={"Cookie": ck})[0] == 200
    # A record named after another record's id does not stand in for it.
    dec = [x for x in json.loads(samlog(a.dir, "decision", "list", "--json"))
           if x["title"] == "Handlingsplan 2019"][0]
    samlog(a.dir, "org", "add", "--name", dec["id"], "--force")
    st, page, _ = http(base + "r/" + dec["id"], headers={"Cookie": ck})
    assert st == 200 and "<h1>Handlingsplan 2019</h1>" in page, page[:300]
    # A name is no id: nothing of it reaches the page.
    st, _, _ = http(base + "r/" + urllib.parse.quote('q"><form x'),
                    headers={"Cookie": ck})
    assert st == 404, st
    # Saving a form keeps line breaks, references to archived records
    # and list values holding ';'.
    gone = samlog(a.dir, "org", "add", "--name", "Nedlagd förening",
                  "--force").strip()
    cid = samlog(a.dir, "contact", "add", "--name", "Kim Testsson",
                 "--org", gone, "--notes", "rad ett\nrad två",
                 "--force").strip()
    samlog(a.dir, "org", "archive", gone)
    oid = samlog(a.dir, "org", "add", "--name", "Semikolon AB", "--sector",
                 "a;b", "--sector", "c", "--force").strip()
    S.drv.get(base + "r/" + cid)
    fill(S.drv, "update", {"phone": "0701234567"})
    submit(S.drv, "update")
    no_error(S.drv)
    c = json.loads(samlog(a.dir, "contact", "show", cid, "--json"))
    assert c["org"] == gone and c["notes"] == "rad ett\nrad två", c
    assert c["phone"] == "0701234567"
    S.drv.get(base + "r/" + oid)
    fill(S.drv, "update", {"notes": "ny anteckning"})
    submit(S.drv, "update")
    no_error(S.drv)
    o = json.loads(samlog(a.dir, "org", "show", oid, "--json"))
    assert o["sector"] == ["a;b", "c"] and o["notes"] == "ny anteckning", o
    # Only what the page offers: no archive, no show, no other command.
    before = a.events()
    for verb in ("archive", "show", "add", "list", "adopt"):
        st, _, _ = http(base + "r/%s/%s" % (oid, verb), data={"csrf": csrf},
                        headers={"Cookie": ck})
        assert st == 404, (verb, st)
    # A field no form shows is not taken: unset and org-key.
    st, _, _ = http(base + "r/%s/update" % oid, data={
        "csrf": csrf, "unset": "notes", "org-key": "/etc/passwd",
        "municipality": "Sigtuna"}, headers={"Cookie": ck})
    assert st == 303, st
    o = json.loads(samlog(a.dir, "org", "show", oid, "--json"))
    assert o["notes"] == "ny anteckning" and o["municipality"] == "Sigtuna"
    assert a.events() == before + 1
    # A day that does not exist is refused by the report page.
    st, _, _ = http(base + "report/file?from=2019-02-31&to=2019-12-31",
                    headers={"Cookie": ck})
    assert st == 422, st
    # No daemon: the overview says so (no empty tables), and comes back.
    a.stop()
    st, page, _ = http(base + "", headers={"Cookie": ck})
    assert st == 503 and "samlogd" in page, st
    st, _, _ = http(base + "r/" + oid, headers={"Cookie": ck})
    assert st == 503, st
    a.start()
    assert http(base + "", headers={"Cookie": ck})[0] == 200


def test_hostile_member_data():
    """What a second hostile review found a member's records could do to
    the page, each tried again: a history of hundreds of changes naming
    dozens of records (each looked up once, the newest 200 shown),
    thousands of municipalities (typed, not ticked), list fields full to
    their 64 values (the form still saves)."""
    a = S.a
    drv = S.drv
    lines = [json.dumps({"record": "contact", "name": "Hostil %02d" % i})
             for i in range(64)]
    lines += [json.dumps({"record": "org", "name": "Ort-org %d" % i,
                          "municipality": "Ort %d" % i}) for i in range(120)]
    path = os.path.join(TMP, "hostile.jsonl")
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    samlog(a.dir, "import", path)
    people = [c["id"] for c in json.loads(samlog(a.dir, "contact", "list",
                                                  "--json"))
              if c["name"].startswith("Hostil ")]
    act = samlog(a.dir, "action", "add", "--title", "Många ägare").strip()
    for i in range(205):
        args = []
        for p in people[i % 3 * 20:i % 3 * 20 + 20]:
            args += ["--owner", p]
        samlog(a.dir, "action", "update", act, *args)
    drv.get(S.ui.app + "r/" + act)
    hist = by_css(drv, "ol.timeline")
    assert len(hist.find_elements("css selector", ":scope > li")) == 200
    assert "De 6 äldsta ändringarna visas inte här" in visible(drv)
    assert "Hostil 00" in hist.text and "Hostil 59" in hist.text
    # Many municipalities: a text field, not 120 boxes to tick.
    drv.get(S.ui.app + "report")
    assert not all_css(drv, "#report input[type=checkbox]")
    fill(drv, "report", {"from": "2019-01-01", "to": "2019-12-31",
                         "municipality": "Sigtuna; Ort 7"})
    submit(drv, "report")
    heads = [e.text for e in all_css(drv, "h3")]
    assert "2.1 Sigtuna" in heads and "2.2 Ort 7" in heads, heads
    # A meeting whose lists are full is saved from its page.
    mid = samlog(a.dir, "meeting", "add", "--title", "Fullt möte", "--date",
                 "2019-06-01", *sum([["--with", p] for p in people], []),
                 *sum([["--invited", p] for p in people], [])).strip()
    drv.get(S.ui.app + "r/" + mid)
    fill(drv, "update", {"title": "Fullt möte, ändrat"})
    submit(drv, "update")
    no_error(drv)
    m = json.loads(samlog(a.dir, "meeting", "show", mid, "--json"))
    assert m["title"] == "Fullt möte, ändrat" and len(m["with"]) == 64, m
    samlog(a.dir, "meeting", "archive", mid)
    samlog(a.dir, "action", "archive", act)


def test_refused_input_changes_nothing():
    drv = S.drv
    before = S.a.events()
    drv.get(S.ui.app + "new/meeting")
    fill(drv, "add", {"title": "<script>alert(1)</script>",
                      "date": "1800-01-01"})
    fill(drv, "add", {"org": ["Värmekällan", "Väsbyhem"],
                      "type": "avstämning"})
    submit(drv, "add")
    errs = all_css(drv, ".error")
    assert errs and "1800-01-01" in errs[0].text, drv.page_source[-1500:]
    # What was typed and chosen is kept, escaped, and nothing was
    # written.
    assert by_css(drv, "#add [name='title']").get_attribute("value") == \
        "<script>alert(1)</script>"
    from selenium.webdriver.support.ui import Select
    chosen = [o.text for o in Select(by_css(
        drv, "#add [name='org']")).all_selected_options]
    assert chosen == ["Väsbyhem", "Värmekällan"] or \
        sorted(chosen) == sorted(["Värmekällan", "Väsbyhem"]), chosen
    assert Select(by_css(drv, "#add [name='type']")).first_selected_option \
        .text == "avstämning"
    assert S.a.events() == before
    # The report form keeps its input after a refusal.
    drv.get(S.ui.app + "report")
    fill(drv, "report", {"from": "2019-12-31", "to": "2019-01-01",
                         "format": "Markdown"})
    by_css(drv, "#report input[value='Sigtuna']").click()
    submit(drv, "report")
    assert all_css(drv, ".error")
    assert by_css(drv, "#rf").get_attribute("value") == "2019-12-31"
    assert by_css(drv, "#report input[value='Sigtuna']").is_selected()
    assert Select(by_css(drv, "#rfo")).first_selected_option.text == \
        "Markdown"


class Skip(Exception):
    """A test that cannot run here, and why."""


AXE = os.path.join(ROOT, "build", "axe", "node_modules", "axe-core",
                   "axe.min.js")


def axe_violations(drv):
    """axe-core's WCAG 2.1 A and AA violations on the page shown."""
    with open(AXE) as f:
        drv.execute_script(f.read())
    drv.set_script_timeout(60)
    r = drv.execute_async_script(
        "var done = arguments[arguments.length - 1];"
        "axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a',"
        "'wcag2aa', 'wcag21a', 'wcag21aa']}})"
        ".then(function (r) { done(r.violations); })"
        ".catch(function (e) { done('axe: ' + e); });")
    assert not isinstance(r, str), r
    return ["%s (%s): %s" % (v["id"], v["impact"], v["nodes"][0]["html"])
            for v in r]


def test_accessibility():
    """Every kind of page, in both languages, with and without a refusal
    shown, checked by axe-core against WCAG 2.1 A and AA: labels,
    contrast, names, landmarks, language."""
    if not os.path.exists(AXE):
        raise Skip("axe-core is not installed (scripts/deps.sh test "
                   "installs it from the npm registry)")
    drv = S.drv
    pages = ["", "conflicts", "report", "find?q=Sigtuna",
             "report/file?from=2019-04-01&to=2019-12-31&format=html"]
    for k in ("org", "contact", "meeting", "decision", "agreement",
              "action"):
        pages += ["list/" + k, "new/" + k]
        recs = json.loads(samlog(S.a.dir, k, "list", "--json"))
        pages.append("r/" + recs[0]["id"])
    bad = []
    for lang in ("sv", "en"):
        for page in pages:
            drv.get(S.ui.app + page)
            bad += [page + ": " + v for v in axe_violations(drv)]
        # A refusal shown, with the form again.
        drv.get(S.ui.app + "new/org")
        fill(drv, "add", {"name": "Värmekällan"})
        submit(drv, "add")
        assert all_css(drv, ".error")
        bad += ["refused add: " + v for v in axe_violations(drv)]
        drv.get(S.ui.app)
        by_css(drv, "form[action='lang'] button").click()
        wait_lang(drv, "en" if lang == "sv" else "sv")
    assert not bad, "\n".join(bad)


def test_conflict_resolved():
    drv = S.drv
    a = S.a
    S.b = b = Node("b", "Sigtuna kommun")
    b.start()
    samlog(a.dir, "peer", "add", "b", "--key", b.id, "--addr", b.listen)
    samlog(b.dir, "peer", "add", "a", "--key", a.id, "--addr", a.listen)
    orgs = json.loads(samlog(a.dir, "org", "list", "--json"))
    org = [o for o in orgs if o["name"] == "Värmekällan"][0]["id"]
    kafe = [o for o in orgs if o["name"] == "Kafé Trädgården"][0]["id"]
    for _ in range(300):
        if b.events() >= a.events() - 0:
            break
        time.sleep(0.1)
    base = a.events()
    b.stop()
    samlog(a.dir, "org", "update", org, "--status", "dormant", "--sector",
           "arbetsträning", "--sector", "café")
    samlog(a.dir, "org", "update", kafe, "--notes", "från a")
    S.ui.stop()
    a.stop()
    b.start()
    samlog(b.dir, "org", "update", org, "--status", "closed", "--sector",
           "städ")
    samlog(b.dir, "org", "update", kafe, "--notes", "från b")
    a.start()
    for _ in range(300):
        if a.events() >= base + 4 and b.events() >= base + 4:
            break
        time.sleep(0.1)
    S.ui = UI(a)
    login()
    drv.get(S.ui.app + "conflicts")
    assert "Värmekällan" in drv.page_source
    [e for e in all_css(drv, "table tbody tr td a")
     if e.text == "Värmekällan"][0].click()
    assert all_css(drv, "#resolve")
    shot(drv, "conflict")
    radios = all_css(drv, "#resolve input[type=radio][name='status']")
    choice = [r for r in radios if r.get_attribute("value") == "dormant"]
    assert choice, [r.get_attribute("value") for r in radios]
    # A choice of a list that is none of the branches' is refused, and
    # the form comes back as it was chosen.
    choice[0].click()
    forged = all_css(drv, "#resolve input[name='pick-sector']")[1]
    drv.execute_script("arguments[0].value = '1:0000000000000000'", forged)
    forged.click()
    held = a.events()
    submit(drv, "resolve")
    assert "konkurrerande" in by_css(drv, ".error").text
    assert a.events() == held
    assert [r for r in all_css(drv, "#resolve input[name='status']")
            if r.get_attribute("value") == "dormant"][0].is_selected()
    radios = all_css(drv, "#resolve input[type=radio][name='status']")
    choice = [r for r in radios if r.get_attribute("value") == "dormant"]
    choice[0].click()
    # A list field: each branch's whole list, by name, to choose one.
    lists = all_css(drv, "#resolve input[type=radio][name='pick-sector']")
    texts = [r.find_element("xpath", "..").text for r in lists]
    pick = [r for r, t in zip(lists, texts) if "städ" in t]
    assert len(lists) == 3 and pick, texts
    assert any("arbetsträning, café" in t for t in texts), texts
    pick[0].click()
    submit(drv, "resolve")
    no_error(drv)
    for _ in range(300):
        shown = json.loads(samlog(b.dir, "org", "show", org, "--json"))
        if not shown["conflict"]:
            break
        time.sleep(0.1)
    assert not shown["conflict"] and shown["status"] == "dormant"
    assert shown["sector"] == ["städ"], shown["sector"]
    drv.get(S.ui.app + "conflicts")
    assert "Värmekällan" not in by_css(drv, "main").text
    # A decision another organisation made: no forms that would always
    # be refused, and the page says whose it is.
    theirs = samlog(b.dir, "decision", "add", "--title", "Sigtunas beslut",
                    "--text", "Nej.").strip()
    for _ in range(300):
        if any(d["id"] == theirs for d in json.loads(
                samlog(a.dir, "decision", "list", "--json"))):
            break
        time.sleep(0.1)
    drv.get(S.ui.app + "r/" + theirs)
    assert "bara den organisationen" in visible(drv)
    assert not all_css(drv, "legend") and not all_css(drv, "#update")
    # Keeping every value as it is now also ends a conflict: the value
    # is written again by an edit that has seen both.
    drv.get(S.ui.app + "r/" + kafe)
    now = json.loads(samlog(a.dir, "org", "show", kafe, "--json"))["notes"]
    submit(drv, "resolve")
    no_error(drv)
    shown = json.loads(samlog(a.dir, "org", "show", kafe, "--json"))
    assert not shown["conflict"] and shown["notes"] == now, shown


def test_report():
    drv = S.drv
    drv.get(S.ui.app + "report")
    fill(drv, "report", {"from": "2019-04-01", "to": "2019-12-31",
                         "intro": "# Bakgrund/nulägesbeskrivning\n\n"
                                  "M29 har haft avtal <med> förbundet.\n\n"
                                  "1. Träffa alla ASF.\n2. Stötta kommunerna."})
    submit(drv, "report")
    src = drv.page_source
    # The coordinators' own introduction comes first, as in the seed.
    h2 = [e.text for e in all_css(drv, "h2")]
    assert h2[1:3] == ["Bakgrund/nulägesbeskrivning", "1. Sammanfattning"], h2
    assert "M29 har haft avtal <med> förbundet." in \
        [e.text for e in all_css(drv, "p")]
    assert [e.text for e in all_css(drv, "body > ol li")] == [
        "Träffa alla ASF.", "Stötta kommunerna."]
    for h in ("Sammanfattning", "Uppdragsuppfyllelse", "Sigtuna",
              "Upplands Väsby", "Sollentuna", "Övrigt", "Kommande arbete"):
        assert h in src, h
    # Several municipalities, ticked: those, and the rest as Other.
    drv.get(S.ui.app + "report")
    fill(drv, "report", {"from": "2019-04-01", "to": "2019-12-31"})
    for m in ("Sollentuna", "Sigtuna"):
        by_css(drv, "#report input[value='%s']" % m).click()
    submit(drv, "report")
    heads = [e.text for e in all_css(drv, "h3")]
    assert "2.1 Sigtuna" in heads and "2.2 Sollentuna" in heads, heads
    assert not any("Upplands Väsby" in h for h in heads), heads
    drv.get(S.ui.app + "report")
    fill(drv, "report", {"from": "2019-04-01", "to": "2019-12-31"})
    submit(drv, "report")
    # Its own style applies (allowed by its hash), nothing else does.
    bc = drv.execute_script("return getComputedStyle(document.querySelector"
                            "('table')).borderCollapse")
    assert bc == "collapse", bc
    shot(drv, "report")
    if SHOTS:
        pdf = drv.execute_cdp_cmd("Page.printToPDF", {
            "paperWidth": 8.27, "paperHeight": 11.69,
            "displayHeaderFooter": False})
        import base64
        path = os.path.join(SHOTS, "report.pdf")
        with open(path, "wb") as f:
            f.write(base64.b64decode(pdf["data"]))
        subprocess.run(["pdftoppm", "-png", "-r", "80", "-f", "1", "-l", "1",
                        "-singlefile", path,
                        os.path.join(SHOTS, "report-page1")], check=True)


def test_english_and_keyboard():
    from selenium.webdriver.common.keys import Keys
    drv = S.drv
    drv.get(S.ui.app + "")
    by_css(drv, "form[action='lang'] button").click()
    wait_h1(drv, "Overview")
    assert drv.find_element("tag name", "html").get_attribute("lang") == "en"
    shot(drv, "overview-en")
    by_css(drv, "form[action='lang'] button").click()
    wait_h1(drv, "Översikt")
    shot(drv, "overview")
    # The first Tab reaches the skip link; Enter follows it.
    by_css(drv, "body").send_keys(Keys.TAB)
    active = drv.switch_to.active_element
    assert active.get_attribute("class") == "skip"
    drv.get(S.ui.app + "list/org")
    shot(drv, "organisations")


def test_only_loopback():
    urls = requested_urls(S.drv)
    assert urls, "no requests logged"
    # Over the network (the browser's own chrome:// pages and data: URLs
    # of its controls are not): this server's address only.
    net = [u for u in urls if u.split(":", 1)[0] in ("http", "https", "ws",
                                                    "wss", "ftp")]
    bad = [u for u in net
           if urllib.parse.urlsplit(u).hostname != "127.0.0.1"]
    assert net and not bad, bad[:5]


ONLY = os.environ.get("TEST_FILTER")
TESTS = [test_login_once, test_refusals, test_every_page,
         test_coordinator_flow, test_update_changes_only_what_changed,
         test_audit_download, test_hostile_requests,
         test_refused_input_changes_nothing, test_plain_words,
         test_accessibility,
         test_conflict_resolved, test_report, test_english_and_keyboard,
         test_hostile_member_data,
         test_only_loopback]


def main():
    why = None
    if not shutil.which("chromium") or not shutil.which("chromedriver"):
        why = "chromium or chromium-driver is not installed"
    else:
        try:
            import selenium  # noqa: F401
        except ImportError:
            why = "python3-selenium is not installed"
    print("[==========] Running %d test(s)." % len(TESTS))
    if why:
        for t in TESTS:
            print("[ SKIPPED  ] %s: %s" % (t.__name__, why))
        print("[  PASSED  ] 0 test(s).")
        return 0
    passed, failed = 0, []
    try:
        setup()
    except Exception:
        traceback.print_exc()
        for t in TESTS:
            failed.append(t.__name__)
        print("[  FAILED  ] %d test(s), listed below:" % len(failed))
        cleanup()
        return 1
    for t in TESTS:
        if ONLY and t.__name__ not in ONLY.split(",") and \
                t.__name__ != "test_login_once":
            continue
        print("[ RUN      ] " + t.__name__, flush=True)
        try:
            t()
            print("[       OK ] " + t.__name__, flush=True)
            passed += 1
        except Skip as e:
            print("[ SKIPPED  ] %s: %s" % (t.__name__, e), flush=True)
        except Exception:
            traceback.print_exc(file=sys.stdout)
            print("[  FAILED  ] " + t.__name__, flush=True)
            failed.append(t.__name__)
    cleanup()
    print("[==========] %d test(s) run." % len(TESTS))
    print("[  PASSED  ] %d test(s)." % passed)
    if failed:
        print("[  FAILED  ] %d test(s), listed below:" % len(failed))
        for f in failed:
            print("[  FAILED  ] " + f)
        return 1
    return 0


def cleanup():
    if S.drv is not None:
        S.drv.quit()
    if S.ui is not None:
        try:
            S.ui.stop()
        except Exception:
            pass
    for n in (S.a, S.b):
        if n is not None:
            n.stop()
    if os.environ.get("SAMLOG_KEEP"):
        print("kept " + TMP)
    else:
        shutil.rmtree(TMP, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
