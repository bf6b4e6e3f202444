"""Normalizing the labels written in real reports, so templates can match them.

Real labels mix full- and half-width forms (`（一）`/`(一)`, `１２`), carry spaces and
line breaks inside words (`规 章`, `本年新<br>制作数量`), come from traditional-character
mirror sites (`規范性文件`, `第二十條`), and have typos the template must still find.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from opencc import OpenCC

# Traditional → simplified (mirror sites publish traditional copies: 規范性文件, 第二十條).
_T2S = OpenCC("t2s")


def to_simplified(text: str) -> str:
    return _T2S.convert(text)


# Kangxi radicals (⼀ ⽇ ⾏, which some PDF fonts print for 一 日 行) and full-width ASCII
# (１、：) folded with one C-level translate: NFKC of a whole page is slow.
_COMPAT = {cp: unicodedata.normalize("NFKC", chr(cp))
           for cp in [*range(0x2E80, 0x2EF4), *range(0x2F00, 0x2FD6), *range(0xFF01, 0xFF5F)]
           if unicodedata.normalize("NFKC", chr(cp)) != chr(cp)}


_COMPAT_CHARS = re.compile("[\u2e80-\u2ef3\u2f00-\u2fd5\uff01-\uff5e]")
_RADICALS = re.compile("[\u2e80-\u2ef3\u2f00-\u2fd5]")


def fold_compat(text: str) -> str:
    """A short line with full-width ASCII or Kangxi radicals, folded."""
    return text.translate(_COMPAT) if _COMPAT_CHARS.search(text) else text


def fold_radicals(text: str) -> str:
    """A long text folded only when it holds Kangxi radicals (rare: some PDF fonts);
    full-width punctuation, in every Chinese page, is left to the patterns that read it."""
    return text.translate(_COMPAT) if _RADICALS.search(text) else text


# Typos and variants seen in real reports, mapped onto the template's words.
_VARIANTS: tuple[tuple[str, str], ...] = (
    ("现在行有效", "现行有效"),
    ("结转下一年度", "结转下年度"),
    ("第二十条(", "第二十条第("),
)

_SPACE = re.compile(r"[\s\u3000\u00a0\u200b\ufeff]+")


@lru_cache(maxsize=65536)
def normalize(text: str) -> str:
    """Fold width, drop whitespace, simplify characters, fix known variants."""
    text = unicodedata.normalize("NFKC", text)  # full-width digits, brackets, letters
    text = to_simplified(text)
    text = _SPACE.sub("", text)
    text = text.replace("“", "").replace("”", "").replace('"', "")
    text = text.replace("〔", "(").replace("〕", ")").replace("【", "(").replace("】", ")")
    text = text.replace("，", ",").replace("：", ":").replace("；", ";")
    for wrong, right in _VARIANTS:
        text = text.replace(wrong, right)
    return text


def normalize_keep_spaces(text: str) -> str:
    """Width folded and whitespace runs made one space; characters kept as written
    (a title or agency name stays traditional on a traditional mirror)."""
    return _SPACE.sub(" ", unicodedata.normalize("NFKC", text)).strip()


_NUMBERING = re.compile(r"^(?:[一二三四五六七八九十]+[、.．]|\([一二三四五六七八九十]+\)|\d{1,2}[、.．)](?!\d))")


def strip_numbering(label: str) -> str:
    """`(一)予以公开` → `予以公开`; `3.其他` → `其他` (on a normalized label)."""
    prev = None
    while prev != label:
        prev = label
        label = _NUMBERING.sub("", label)
    return label


def matches(label: str, keys: tuple[str, ...], not_keys: tuple[str, ...] = ()) -> bool:
    """True when a normalized label contains any key and none of the not_keys."""
    return any(k in label for k in keys) and not any(k in label for k in not_keys)
