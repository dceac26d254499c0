"""Untrusted text (an exception's message, a user's name or value) made safe for the places it is shown.

One rule for every sink: :func:`one_line` for a tag, a log or a terminal line (no control characters or
ANSI escape codes, one line, bounded), :func:`markdown_text` for what MLflow renders as markdown (a
run's description, the ``mlflow.note.content`` tag): the same line with HTML and markdown syntax
escaped, so a message shows as the literal text it is and never as a link, an image, a heading or a tag.
Pure: never imports MLflow.
"""

from __future__ import annotations

import re
import unicodedata

#: Longest untrusted text kept in a description, a tag or a terminal line (the rest becomes "…").
MAX_UNTRUSTED_CHARS = 500

#: ANSI escape sequences: CSI (``ESC[2J``), OSC (``ESC]...BEL``) and the two-character ones.
_ANSI = re.compile(r"\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)?|[@-Z\\-_])")
#: Characters markdown (CommonMark and GFM) gives a meaning to inside a line, escaped with a backslash
#: (the rest only matter at the start of a line, which this never is).
_MARKDOWN = re.compile(r"([\\`*_\[\]()#!|~])")
_HTML = (("&", "&amp;"), ("<", "&lt;"), (">", "&gt;"), ('"', "&quot;"))
#: What autolinks hang on (``http://``, ``www.``, an e-mail's ``@``), as character references: rendered as the
#: same characters but never linked. The MLflow UI shows a backslash before ``:`` literally, so no escape there.
_AUTOLINK = ((re.compile(":"), "&#58;"), (re.compile("@"), "&#64;"), (re.compile(r"(?i)\b(www)\."), r"\1&#46;"))


def one_line(text: object, *, limit: int = MAX_UNTRUSTED_CHARS) -> str:
    r"""``text`` as one printable line of at most ``limit`` characters: ANSI codes removed, control and other
    invisible characters (newlines, tabs, ESC, bidirectional overrides) turned into spaces, runs of spaces
    collapsed.

    >>> one_line("boom\x1b[2J\nsecond\tline")
    'boom second line'
    >>> one_line("x" * 10, limit=5)
    'xxxx…'
    """
    text = _ANSI.sub("", str(text))
    text = "".join(" " if unicodedata.category(char)[0] in "CZ" and char != " " else char for char in text)
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit - 1].rstrip() + "…"


def markdown_text(text: object, *, limit: int = MAX_UNTRUSTED_CHARS) -> str:
    r"""``text`` as literal markdown: :func:`one_line`, then HTML and markdown syntax escaped.

    >>> markdown_text('<img src=x> ![a](http://e/x.png) [b](www.e.org) me@e.org')
    '&lt;img src=x&gt; \\!\\[a\\]\\(http&#58;//e/x.png\\) \\[b\\]\\(www&#46;e.org\\) me&#64;e.org'
    """
    line = _MARKDOWN.sub(r"\\\1", one_line(text, limit=limit))
    for char, entity in _HTML:
        line = line.replace(char, entity)
    for pattern, reference in _AUTOLINK:
        line = pattern.sub(reference, line)
    return line
