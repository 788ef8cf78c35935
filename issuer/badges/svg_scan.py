"""A safe, bounded pass over an SVG document: what baking and unbaking need to know, and nothing rendered.

The parse goes through defusedxml, which refuses entity declarations (billion
laughs, XXE) and external references. A plain ``<!DOCTYPE svg PUBLIC …>`` is
allowed: 1EdTech's own baked samples carry one, and expat never fetches it.
No tree is built: a streaming target checks each element as it arrives, so
deep or huge documents are refused at the limit, and it records the byte
offsets that let ``bake_svg`` edit the source text without re-serialising it
(re-serialising would lose CDATA, comments and the author's prefixes).

Active content is refused outright: a badge is shown to people, and an SVG
with ``<script>``, an ``on…`` event attribute, a ``javascript:`` URL or a
``foreignObject`` (HTML inside SVG) is not one we want to hold or re-serve.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from xml.etree.ElementTree import ParseError

from defusedxml.common import DefusedXmlException
from defusedxml.ElementTree import DefusedXMLParser

from issuer.badges.errors import BakingError

SVG_NAMESPACE = "http://www.w3.org/2000/svg"
#: OB 3.0 "Baked Badge": the namespace of ``<openbadges:credential>``.
OB_NAMESPACE = "https://purl.imsglobal.org/ob/v3p0"
CREDENTIAL_TAG = f"{{{OB_NAMESPACE}}}credential"

MAX_ELEMENTS = 100_000
MAX_DEPTH = 256
#: Elements that run code or embed another document type, in any namespace.
ACTIVE_ELEMENTS = frozenset({"script", "foreignobject", "handler", "iframe", "embed", "object"})
#: Attributes that hold a URL a browser may follow or an animation may write into one.
URL_ATTRIBUTES = frozenset({"href", "src", "to", "from", "values", "by"})
#: Browsers drop ASCII whitespace and control characters from URLs, so "java\tscript:" still runs.
_IGNORED_IN_URLS = re.compile(r"[\x00-\x20]+")
_LEADING_IGNORED = "".join(map(chr, range(0x21)))


@dataclass(slots=True)
class FoundCredential:
    """One ``<openbadges:credential>``: where its start tag begins and what it holds."""

    start: int
    verify: str | None
    text: str = ""
    #: Offset of the end event: a "</" for a start/end pair; not meaningful for an empty-element tag.
    end_event: int = -1


@dataclass(slots=True)
class SvgScan:
    """The root element's position and prefix declarations, and every credential element."""

    root_start: int = -1
    root_prefixes: dict[str, str] = field(default_factory=dict)
    credentials: list[FoundCredential] = field(default_factory=list)


def _local(name: str) -> str:
    return name.rsplit("}", 1)[-1].lower()


def _is_script_url(value: str) -> bool:
    head = value.lstrip(_LEADING_IGNORED)[:64]
    return _IGNORED_IN_URLS.sub("", head).lower().startswith(("javascript:", "vbscript:"))


class _Target:
    """Receives parse events (ElementTree's target protocol) and refuses what is not a plain picture."""

    def __init__(self) -> None:
        self.parser: DefusedXMLParser | None = None
        self.scan = SvgScan()
        self._depth = 0
        self._elements = 0
        self._inside: FoundCredential | None = None
        self._text: list[str] = []

    def _offset(self) -> int:
        # Byte offset of the event's "<" in the UTF-8 (or declared-encoding) input.
        if self.parser is None:  # pragma: no cover - scan_svg always wires it
            raise RuntimeError("the SVG scanner has no parser")
        return int(self.parser.parser.CurrentByteIndex)

    def start_ns(self, prefix: str, uri: str) -> None:
        if self._depth == 0:
            self.scan.root_prefixes[prefix] = uri

    def start(self, tag: str, attrib: dict[str, str]) -> None:
        self._elements += 1
        self._depth += 1
        if self._elements > MAX_ELEMENTS:
            raise BakingError(f"the SVG has more than {MAX_ELEMENTS:,} elements")
        if self._depth > MAX_DEPTH:
            raise BakingError(f"the SVG nests elements deeper than {MAX_DEPTH} levels")
        if _local(tag) in ACTIVE_ELEMENTS:
            raise BakingError(f"the SVG contains a script or embedded document (<{_local(tag)}>), which is refused")
        for name, value in attrib.items():
            if _local(name).startswith("on"):
                raise BakingError(f"the SVG contains an event handler attribute ({_local(name)}), which is refused")
            if _local(name) in URL_ATTRIBUTES and _is_script_url(value):
                raise BakingError("the SVG contains a script URL (javascript:), which is refused")
        if self._depth == 1:
            if tag != f"{{{SVG_NAMESPACE}}}svg":
                raise BakingError("not an SVG image (the root element is not <svg> in the SVG namespace)")
            self.scan.root_start = self._offset()
            return
        if self._inside is not None:
            raise BakingError("the openbadges:credential element has child elements")
        if tag == CREDENTIAL_TAG:
            self._inside = FoundCredential(start=self._offset(), verify=attrib.get("verify"))
            self._text = []

    def end(self, tag: str) -> None:
        self._depth -= 1
        if tag == CREDENTIAL_TAG and self._inside is not None:
            self._inside.text = "".join(self._text)
            self._inside.end_event = self._offset()
            self.scan.credentials.append(self._inside)
            self._inside = None

    def data(self, text: str) -> None:
        if self._inside is not None:
            self._text.append(text)

    def close(self) -> SvgScan:
        return self.scan


def scan_svg(source: bytes | str) -> SvgScan:
    """Parse ``source`` safely and report its root and credential elements.

    ``str`` input is parsed as Unicode (offsets then refer to its UTF-8
    encoding); ``bytes`` honour the XML declaration's encoding.

    Raises:
        BakingError: not well-formed, not an SVG, entities or external
            references, active content, or over the size limits.
    """
    target = _Target()
    parser = DefusedXMLParser(target=target, forbid_dtd=False, forbid_entities=True, forbid_external=True)
    # defusedxml builds on the pure-Python XMLParser, whose ``.parser`` is the expat parser with its offsets.
    target.parser = parser
    try:
        parser.feed(source)
        parser.close()
    except DefusedXmlException:
        raise BakingError("the SVG declares entities or external references, which are refused") from None
    except ParseError as error:
        raise BakingError(f"the SVG is not well-formed XML ({error})") from None
    except (ValueError, LookupError) as error:
        if isinstance(error, BakingError):
            raise
        # e.g. an unknown encoding in the XML declaration
        raise BakingError(f"the SVG cannot be read ({error})") from None
    if target.scan.root_start < 0:
        raise BakingError("not an SVG image (no root element)")
    return target.scan
