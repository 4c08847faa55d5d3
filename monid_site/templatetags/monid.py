"""Display filters for the pages: money, JSON, dates, the colour of a status and a run's timeline."""

import datetime
import json
import re

from django import template
from django.utils.html import escape
from django.utils.safestring import mark_safe

from monid_site.money import micros_text

register = template.Library()

NOTHING = "—"
STATUS_CLASSES = {
    "COMPLETED": "ok",
    "READY": "busy",
    "RUNNING": "busy",
    "STOPPING": "busy",
    "STOPPED": "muted",
    "FAILED": "bad",
    "TIME_OUT": "bad",
    "BLOCKED": "bad",
}


@register.filter
def dollars(micros):
    """Integer micro-dollars as "$0.003000"; integer arithmetic only, so no float ever rounds a price."""
    if micros is None or micros == "":
        return NOTHING
    return micros_text(int(micros))


@register.filter
def pretty_json(value):
    return json.dumps(value, indent=2, ensure_ascii=False, default=str)


@register.filter
def status_class(status):
    return STATUS_CLASSES.get(status, "muted")


@register.filter
def http_class(http_status):
    """2xx ok, 3xx muted, 4xx warn (the caller's request), 5xx bad (the provider's fault)."""
    if not http_status:
        return "muted"
    return {2: "ok", 3: "muted", 4: "warn"}.get(int(http_status) // 100, "bad")


@register.filter
def utc(value):
    """Every date on every page in one shape, in UTC whatever the server's zone."""
    if not value:
        return NOTHING
    if isinstance(value, datetime.datetime):
        return value.astimezone(datetime.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    return value.isoformat()


@register.filter
def utc_precise(value):
    """A moment to the millisecond, in UTC: the timeline's steps are often less than a second apart."""
    if not value:
        return NOTHING
    return value.astimezone(datetime.UTC).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3] + " UTC"


@register.filter
def duration(delta):
    """A timedelta as people read it: "8 ms", "2.52 s", "4 min 05 s", "2 h 10 min"."""
    if delta is None:
        return NOTHING
    seconds = delta.total_seconds()
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    if seconds < 60:
        return f"{seconds:.2f} s" if seconds < 10 else f"{seconds:.1f} s"
    minutes, seconds = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {seconds:02d} s"
    return f"{minutes // 60} h {minutes % 60:02d} min"


EVENT_LABELS = {
    "created": "Created",
    "started": "Started at the provider",
    "adopted": "Adopted after a crash",
    "checked": "Checked at the provider",
    "collected": "Collected the results",
    "stop_asked": "Stop asked",
    "resumed": "Resumed by the reconciler",
    "ended": "Ended",
}


@register.filter
def timeline(events):
    """A run's events as the rows of its timeline, each with the time since the one before and since the run was
    created. Consecutive status checks with the same answer share a row, so a long run's page stays short."""
    rows = []
    for event in events:
        last = rows[-1] if rows else None
        if last and event.kind == "checked" and last["kind"] == "checked" and last["detail"] == event.detail:
            last["count"] += 1
            last["until"] = event.at
            continue
        rows.append(
            {
                "kind": event.kind,
                "label": EVENT_LABELS.get(event.kind, event.kind),
                "detail": event.detail,
                "at": event.at,
                "until": event.at,
                "count": 1,
                "gap": event.at - last["until"] if last else None,
                "elapsed": event.at - rows[0]["at"] if rows else datetime.timedelta(0),
            }
        )
    return rows


# The most of an output a page shows, in characters of HTML: what keeps the page of a 10 MB output small (a few
# thousand elements), however the output is shaped. The rest is in the download.
TREE_MAX_CHARS = 200_000
TREE_MAX_STRING = 2_000  # characters of one string value shown
TREE_MAX_DEPTH = 40  # deeper than this, a value is shown as compact JSON text
TREE_OPEN_CHILDREN = 10  # the top level is open; its children too when there are at most this many
# JSON text up to this long is parsed whole; a longer array only item by item, as far as the page can show.
TREE_PARSE_WHOLE = 1_000_000
_JSON_SPACE = re.compile(r"[ \t\n\r]*")


def _array_start(text: str, max_chars: int) -> tuple[list, bool] | None:
    """The first items of the JSON array `text`, about `max_chars` of its text, and whether more follow; None when
    the text is not an array. Parsed one item at a time, so a 10 MB output costs what the page shows of it."""
    i = _JSON_SPACE.match(text).end()
    if not text.startswith("[", i):
        return None
    decoder, items = json.JSONDecoder(), []
    i = start = _JSON_SPACE.match(text, i + 1).end()
    while not text.startswith("]", i):
        item, i = decoder.raw_decode(text, i)
        items.append(item)
        i = _JSON_SPACE.match(text, i).end()
        if text.startswith(",", i):
            i = _JSON_SPACE.match(text, i + 1).end()
        if i - start >= max_chars and not text.startswith("]", i):
            return items, True
    return items, False


class _JsonTree:
    """Renders a JSON value as nested <details> (no JavaScript), escaping every key and value, and stops once
    TREE_MAX_CHARS are written, saying at each open level how many entries it left out."""

    def __init__(self, max_chars: int, top_count: int | None, top_cut: bool):
        self.parts, self.size, self.max_chars = [], 0, max_chars
        # The top level may be the start of a longer array: its length (None: unknown), and whether it was cut.
        self.top_count, self.top_cut = top_count, top_cut
        self.shown, self.cut = 0, False  # of the top level: entries shown, and whether some were left out

    def write(self, *parts: str):
        self.parts.extend(parts)
        self.size += sum(map(len, parts))

    def scalar(self, value):
        if isinstance(value, str):
            text = value[:TREE_MAX_STRING]
            more = len(value) - len(text)
            self.write(
                '<span class="j-str">',
                escape(json.dumps(text, ensure_ascii=False)),
                "</span>",
                f' <span class="j-more">… {more:,} more characters</span>' if more else "",
            )
        elif value is None or isinstance(value, bool):
            self.write('<span class="j-lit">', json.dumps(value), "</span>")
        else:
            self.write('<span class="j-num">', escape(json.dumps(value)), "</span>")

    def value(self, value, label: str, depth: int, open_children: bool):
        if not isinstance(value, (dict, list)) or not value:
            self.write("<li>", label)
            if isinstance(value, (dict, list)):
                self.write('<span class="j-lit">', "{}" if isinstance(value, dict) else "[]", "</span>")
            else:
                self.scalar(value)
            self.write("</li>")
            return
        if depth > TREE_MAX_DEPTH:
            self.write("<li>", label)
            self.scalar(json.dumps(value, ensure_ascii=False)[:TREE_MAX_STRING])
            self.write("</li>")
            return
        is_dict = isinstance(value, dict)
        count = len(value) if depth or self.top_count is None else self.top_count
        more_unknown = depth == 0 and self.top_cut and self.top_count is None
        noun = ("key" if is_dict else "item") + ("" if count == 1 and not more_unknown else "s")
        what = f"{count:,}{'+' if more_unknown else ''} {noun}"
        is_open = depth == 0 or (depth == 1 and open_children)
        self.write(
            "<li>" if depth else "",
            "<details open>" if is_open else "<details>",
            "<summary>",
            label,
            f'<span class="j-count">{{{what}}}</span>' if is_dict else f'<span class="j-count">[{what}]</span>',
            "</summary><ul>",
        )
        shown = 0
        for key, child in value.items() if is_dict else enumerate(value):
            if self.size >= self.max_chars:
                break
            if is_dict:
                child_label = f'<span class="j-key">{escape(json.dumps(key, ensure_ascii=False))}</span>: '
            else:
                child_label = f'<span class="j-idx">{key}</span>: '
            self.value(child, child_label, depth + 1, count <= TREE_OPEN_CHILDREN)
            shown += 1
        if more_unknown or shown < count:
            left = "" if more_unknown else f"{count - shown:,} "
            self.write(
                f'<li class="j-more">… {left}more {"keys" if is_dict else "items"} not shown: '
                "they are in the download</li>"
            )
        if depth == 0:
            self.shown, self.cut = shown, more_unknown or shown < count
        self.write("</ul></details>", "</li>" if depth else "")


class JsonTree:
    """What json_tree gives a template: the HTML; how many entries of the top level it shows, of how many (None:
    not counted), and whether some were left out."""

    def __init__(self, text: str, count: int | None = None, max_chars: int = TREE_MAX_CHARS):
        start = _array_start(text, 4 * max_chars) if len(text) > TREE_PARSE_WHOLE else None
        if start is None:
            value, cut = json.loads(text), False
        else:
            value, cut = start
        # Only a cut array needs `count`; an array's length is what its run counted (result_count).
        top_count = (count if count is not None and count >= len(value) else None) if cut else None
        tree = _JsonTree(max_chars, top_count, cut)
        if isinstance(value, (dict, list)) and value:
            tree.value(value, "", 0, True)
        else:
            tree.scalar(value)
        # Safe: every key and value went through escape() on its way in.
        self.html = mark_safe('<div class="json-tree">' + "".join(tree.parts) + "</div>")
        self.shown, self.cut = tree.shown, tree.cut
        self.total = top_count if cut else (len(value) if isinstance(value, (dict, list)) else None)
        self.hidden = self.total - self.shown if self.total is not None else None
        self.noun = "keys" if isinstance(value, dict) else "items"


@register.simple_tag
def json_tree(text, count=None, max_chars=TREE_MAX_CHARS):
    """{% json_tree run.output_text count=run.result_count as tree %}: a collapsible, escaped view of JSON text
    (an output as the database holds it), cut at max_chars of HTML. `count` is the length of the array the text
    holds, if known: an array longer than TREE_PARSE_WHOLE is only parsed as far as the page shows."""
    return JsonTree(text, count, max_chars)
