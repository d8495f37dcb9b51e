"""Turn page bytes into text: HTTP header charset, then <meta> charset, then detection.

Shared by the archive readers and the HTTP fetcher so a page decodes the same whether it was
fetched live or read back from a WARC.
"""

from __future__ import annotations

import codecs
import re

_META_CHARSET = re.compile(
    rb"""<meta[^>]+?charset\s*=\s*["']?\s*([a-zA-Z0-9_\-:.]+)""", re.IGNORECASE)
_HEADER_CHARSET = re.compile(r"""charset\s*=\s*["']?([a-zA-Z0-9_\-:.]+)""", re.IGNORECASE)
_XML_DECL = re.compile(rb"""^<\?xml[^>]+encoding\s*=\s*["']([a-zA-Z0-9_\-:.]+)""")
#: Pages rarely mean these literally; browsers treat them as their supersets.
_ALIASES = {"iso-8859-1": "cp1252", "latin-1": "cp1252", "latin1": "cp1252", "ascii": "cp1252",
            "us-ascii": "cp1252", "gb2312": "gb18030", "gbk": "gb18030", "x-gbk": "gb18030",
            "utf8": "utf-8", "shift-jis": "shift_jis", "x-sjis": "shift_jis"}
_BOMS = ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF32_LE, "utf-32"),
         (codecs.BOM_UTF32_BE, "utf-32"), (codecs.BOM_UTF16_LE, "utf-16"),
         (codecs.BOM_UTF16_BE, "utf-16"))
_SNIFF_BYTES = 4096
#: Codecs Python knows that are no document charset: they fail on ordinary pages with a plain
#: ``UnicodeError`` (``undefined``), turn them into garbage in quadratic time (``punycode``:
#: seconds for 200 KB) or read escape sequences into them (``unicode-escape``, ``utf-7``).
_NOT_DOCUMENT_CHARSETS = frozenset({"undefined", "punycode", "idna", "unicode-escape",
                                    "raw-unicode-escape", "utf-7"})


def normalize_charset(name: str | None) -> str | None:
    """A Python codec name for a declared charset, or None when it is no text charset Python
    knows (bytes-to-bytes codecs like ``base64`` and the ``_NOT_DOCUMENT_CHARSETS``)."""
    if not name:
        return None
    name = name.strip().strip("\"'").lower()
    name = _ALIASES.get(name, name)
    try:
        codec = codecs.lookup(name)
    except LookupError:
        return None
    if codec.name in _NOT_DOCUMENT_CHARSETS or not isinstance(codec.decode(b"")[0], str):
        return None
    return codec.name


def header_charset(content_type: str | None) -> str | None:
    """The charset parameter of a Content-Type header value."""
    if not content_type:
        return None
    match = _HEADER_CHARSET.search(content_type)
    return normalize_charset(match.group(1)) if match else None


def declared_charset(body: bytes) -> str | None:
    """The charset a document declares about itself: BOM, XML declaration or <meta>."""
    for bom, codec in _BOMS:
        if body.startswith(bom):
            return codec
    head = body[:_SNIFF_BYTES]
    match = _XML_DECL.match(head) or _META_CHARSET.search(head)
    return normalize_charset(match.group(1).decode("ascii", "replace")) if match else None


def detect_charset(body: bytes) -> str:
    """Best guess for undeclared bytes: UTF-8 when valid, else charset-normalizer, else cp1252."""
    try:
        body.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError:
        pass
    from charset_normalizer import from_bytes

    best = from_bytes(body[:200_000]).best()
    return normalize_charset(best.encoding) if best is not None else "cp1252"


def decode_document(body: bytes, content_type: str | None = None) -> tuple[str, str]:
    """Decode a fetched or archived HTML/XML body; returns ``(text, charset_used)``.

    Order: a BOM, the HTTP header charset, the document's own declaration, then detection. A
    declared charset that does not fit the bytes (a common server misconfiguration) falls
    through to the next candidate instead of producing mojibake; the final fallback replaces
    undecodable bytes rather than failing, so one bad byte never loses a page.
    """
    candidates = []
    for bom, codec in _BOMS:
        if body.startswith(bom):
            candidates.append(codec)
    candidates += [header_charset(content_type), declared_charset(body)]
    for codec in candidates:
        if codec is None:
            continue
        try:
            return body.decode(codec), codec
        except (UnicodeError, LookupError):  # a codec may raise plain UnicodeError
            continue
    codec = detect_charset(body)
    return body.decode(codec, errors="replace"), codec
