"""Text as it enters the services: what is printed is what was checked.

`clean` returns data whose every string (and dict key) is NFC-normalised with
harmless invisible characters removed, plus errors for characters that would
make the printed text differ from the checked text (bidi controls reorder it,
other format characters hide it) or that cannot be written to a Word document
at all (C0/C1 controls, lone surrogates, noncharacters).
Run it first; every later check then sees the text the page will show.
"""
from __future__ import annotations

import functools
import re
import unicodedata

from shared.problems import FieldError

__all__ = ["clean", "control_character_errors", "pointer_token", "walk_strings"]


# --- character classes ----------------------------------------------------------

# Invisible and meaningless in a Chinese document: dropped silently. They are
# also what an attacker inserts to split a phrase the checks look for.
_REMOVABLE = frozenset(
    [0x00AD,            # soft hyphen
     0x034F,            # combining grapheme joiner
     0x180E,            # Mongolian vowel separator (formerly a space)
     0x200B, 0x200C, 0x200D,           # zero-width space, non-joiner, joiner
     0x2060, 0x2061, 0x2062, 0x2063, 0x2064,   # word joiner, invisible math operators
     0xFEFF,            # byte order mark / zero-width no-break space
     0xE0001]           # language tag
    + list(range(0xFE00, 0xFE10))      # variation selectors 1-16
    + list(range(0xE0020, 0xE0080))    # tag characters
)
# Ideographic variation selectors pick a glyph variant of the Han character
# before them (a name's exact form); anywhere else they change nothing.
_IVS = range(0xE0100, 0xE01F0)

# Bidirectional controls: the page would show the text in another order than
# the checks read it (U+202E turns "证听请申不" into "不申请听证" on screen).
_BIDI = frozenset([0x061C, 0x200E, 0x200F, *range(0x202A, 0x202F), *range(0x2066, 0x206A)])


def _is_forbidden_control(ch: str) -> bool:
    cp = ord(ch)
    if cp < 0x20:
        return ch not in "\t\n\r"
    # Lone surrogates (JSON allows "\ud800") and noncharacters cannot be
    # written to a Word document's XML at all.
    return (cp == 0x7F or 0x80 <= cp <= 0x9F or 0xD800 <= cp <= 0xDFFF
            or 0xFDD0 <= cp <= 0xFDEF or (cp & 0xFFFE) == 0xFFFE)


def _is_han(ch: str) -> bool:
    return unicodedata.name(ch, "").startswith(("CJK UNIFIED IDEOGRAPH", "CJK COMPATIBILITY IDEOGRAPH"))


def pointer_token(key: str) -> str:
    """JSON Pointer escaping (RFC 6901), so a key containing "/" keeps the path unambiguous."""
    return key.replace("~", "~0").replace("/", "~1")


def _codes(chars: list[str]) -> str:
    return "、".join(dict.fromkeys(f"U+{ord(ch):04X}" for ch in chars))


# --- control characters (no cleaning) ------------------------------------------------

def _control_message(text: str, what: str) -> str | None:
    found = [ch for ch in text if _is_forbidden_control(ch)]
    if not found:
        return None
    return f"{what}含有不可见控制字符或无效字符（{_codes(found)}），请删除后重试。"


def walk_strings(value, path: str, visit, keys: bool = False) -> None:
    """Call visit(text, path, is_key) for every string under `value` (and dict keys when `keys`)."""
    if isinstance(value, str):
        visit(value, path, False)
    elif isinstance(value, dict):
        for key, child in value.items():
            child_path = f"{path}/{pointer_token(str(key))}"
            if keys and isinstance(key, str):
                visit(key, child_path, True)
            walk_strings(child, child_path, visit, keys)
    elif isinstance(value, (list, tuple)):
        for i, child in enumerate(value):
            walk_strings(child, f"{path}/{i}", visit, keys)


def control_character_errors(value, path: str = "data") -> list[FieldError]:
    """Errors for every string (and dict key) under `value` holding C0 (except TAB, LF, CR), DEL or C1
    controls, lone surrogates or noncharacters."""
    errors: list[FieldError] = []

    def visit(text: str, here: str, is_key: bool) -> None:
        msg = _control_message(text, "字段名" if is_key else "")
        if msg:
            errors.append(FieldError(here, msg))

    walk_strings(value, path, visit, keys=True)
    return errors


# --- clean -------------------------------------------------------------------------------

@functools.cache
def _needs_attention() -> re.Pattern:
    """Every character `_clean_text` acts on, as one class: controls, surrogates,
    noncharacters, removable and variation-selector characters, bidi controls, and the
    format characters (Cf) of this Python's Unicode data (found once: 0.1 s)."""
    def ranges(points: set[int]) -> str:
        out, run = [], None
        for cp in sorted(points):
            if run and cp == run[1] + 1:
                run[1] = cp
                continue
            if run:
                out.append(run)
            run = [cp, cp]
        out.append(run)
        return "".join(f"\\U{a:08x}-\\U{b:08x}" if a != b else f"\\U{a:08x}" for a, b in out)
    points = {*range(0x20), 0x7F, *range(0x80, 0xA0), *range(0xD800, 0xE000), *range(0xFDD0, 0xFDF0),
              *(plane | low for plane in range(0, 0x110000, 0x10000) for low in (0xFFFE, 0xFFFF)),
              *_REMOVABLE, *_IVS, *_BIDI,
              *(cp for cp in range(0x110000) if unicodedata.category(chr(cp)) == "Cf")} - {0x09, 0x0A, 0x0D}
    return re.compile(f"[{ranges(points)}]")


def _clean_text(text: str) -> tuple[str, list[str], list[str], list[str]]:
    """(cleaned text, forbidden controls, bidi controls, other format characters)."""
    if not _needs_attention().search(text):
        # Nearly every string: nothing to drop or refuse, one regex scan in C instead of a
        # Python step per character (a third of the generator's checks of a request).
        nfc = unicodedata.normalize("NFC", text)
        if nfc == text or not _needs_attention().search(nfc):
            return nfc, [], [], []
    controls = [ch for ch in text if _is_forbidden_control(ch)]
    if controls:
        # NFC cannot run over lone surrogates; the text is refused anyway.
        return text, controls, [], []
    kept: list[str] = []
    bidi: list[str] = []
    hidden: list[str] = []
    for ch in unicodedata.normalize("NFC", text):
        cp = ord(ch)
        if cp in _REMOVABLE or (cp in _IVS and not (kept and _is_han(kept[-1]))):
            continue
        if cp in _BIDI:
            bidi.append(ch)
        elif unicodedata.category(ch) == "Cf":
            # E.g. interlinear annotation marks (U+FFF9-FFFB) hide text on screen.
            hidden.append(ch)
        kept.append(ch)
    return "".join(kept), controls, bidi, hidden


def _text_errors(text: str, here: str, what: str) -> tuple[str, list[FieldError]]:
    cleaned, controls, bidi, hidden = _clean_text(text)
    errors = []
    if controls:
        errors.append(FieldError(here, f"{what}含有不可见控制字符或无效字符（{_codes(controls)}），请删除后重试。"))
    if bidi:
        errors.append(FieldError(
            here, f"{what}含有改变文字显示顺序的双向控制字符（{_codes(bidi)}），打印出的文字会与校验的文字不一致，请删除后重试。"))
    if hidden:
        errors.append(FieldError(here, f"{what}含有不可见的格式字符（{_codes(hidden)}），请删除后重试。"))
    return cleaned, errors


def clean(value, path: str = "data"):
    """(value with every string and key NFC-normalised and harmless invisible characters removed,
    errors naming each field that holds a bidi control, another hiding format character, a control
    character, a lone surrogate or a noncharacter). Non-string leaves are returned unchanged."""
    errors: list[FieldError] = []

    def walk(node, here: str):
        if isinstance(node, str):
            cleaned, errs = _text_errors(node, here, "")
            errors.extend(errs)
            return cleaned
        if isinstance(node, dict):
            result = {}
            for key, child in node.items():
                child_path = f"{here}/{pointer_token(str(key))}"
                if isinstance(key, str):
                    new_key, errs = _text_errors(key, child_path, "字段名")
                    errors.extend(errs)
                    if (new_key != key and new_key in node) or new_key in result:
                        errors.append(FieldError(child_path, f"字段名“{new_key}”重复（去除不可见字符后与另一字段相同）。"))
                        continue
                    key = new_key
                result[key] = walk(child, f"{here}/{pointer_token(str(key))}")
            return result
        if isinstance(node, list):
            return [walk(child, f"{here}/{i}") for i, child in enumerate(node)]
        if isinstance(node, tuple):
            return tuple(walk(child, f"{here}/{i}") for i, child in enumerate(node))
        return node

    return walk(value, path), errors
