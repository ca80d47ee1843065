"""Cutting a document into overlapping chunks that end where its sentences and paragraphs end.

Pure: text in, chunks out. Each chunk is a slice of the text (`text[start:end]`, so a search hit
can point into the document) of at most `chunk_size` characters, unless one word alone is longer
(then that word is a chunk of its own, never cut). The pieces packed into chunks are whole
paragraphs when they fit, else whole sentences, else runs of words, each at most
`chunk_size - overlap` long so that the overlap always has room. A chunk starts with up to
`overlap` characters from the end of the one before: from a sentence's start when one lies in
that tail, else from a word's.

Sentences end at `.`, `!`, `?` or `…` (closing quotes and brackets included) before a word that
does not start in lower case, and at a line break; not after the abbreviations Portuguese
writing uses (`Sr.`, `Dra.`, `Av.`, `n.`, `etc.`), an initial (`J. Silva`) or a list number.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass

_WORD = re.compile(r"\S+")
_BLANK_LINE = re.compile(r"\n[ \t\r\f\v]*\n")
_CLOSERS = "\"')]}\u00bb\u201d\u2019"  # and closing guillemet and curly quotes
_OPENERS = "\"'([{\u00ab\u201c\u2018"  # and their opening ones
_ENDS = (".", "!", "?", "…")
ABBREVIATIONS = frozenset(
    {"sr", "sra", "srta", "srs", "sras", "dr", "dra", "drs", "prof", "profa", "eng", "av", "r", "n", "nº",
     "no", "núm", "num", "tel", "etc", "ex", "p", "pág", "pg", "pp", "cap", "art", "vol", "obs", "ltda",
     "cia", "s.a", "jr", "st", "vs", "aprox", "máx", "min", "mín", "km", "depto", "dept", "apto", "ap",
     "fl", "fls", "séc", "sec", "gov", "adm", "pe", "e.g", "i.e", "mr", "mrs", "ms", "inc", "co"}
)  # fmt: skip


@dataclass(frozen=True)
class Chunk:
    index: int
    start: int
    end: int
    text: str


@dataclass(frozen=True)
class _Span:
    start: int
    end: int

    @property
    def length(self) -> int:
        return self.end - self.start


def chunk_text(text: str, chunk_size: int, overlap: int = 0) -> list[Chunk]:
    """`text` as chunks (module doc); no chunk for a text of nothing but whitespace."""
    if chunk_size < 1:
        raise ValueError("chunk_size must be at least 1")
    if not 0 <= overlap < chunk_size:
        raise ValueError("overlap must be at least 0 and less than chunk_size")
    words: list[_Span] = []
    sentence_starts: list[int] = []
    pieces: list[_Span] = []
    for paragraph in _paragraphs(text):
        paragraph_words = [
            _Span(m.start(), m.end()) for m in _WORD.finditer(text, paragraph.start, paragraph.end)
        ]
        sentences = _sentences(text, paragraph_words)
        words.extend(paragraph_words)
        sentence_starts.extend(sentence[0].start for sentence in sentences)
        pieces.extend(_pieces(sentences, chunk_size - overlap))
    word_starts = [word.start for word in words]
    chunks: list[Chunk] = []
    first = 0
    start = pieces[0].start if pieces else 0
    while first < len(pieces):
        end = pieces[first].end
        following = first + 1
        while following < len(pieces) and pieces[following].end - start <= chunk_size:
            end = pieces[following].end
            following += 1
        chunks.append(Chunk(len(chunks), start, end, text[start:end]))
        if following < len(pieces):
            start = _overlap_start(
                start, end, pieces[following], chunk_size, overlap, word_starts, sentence_starts
            )
        first = following
    return chunks


def _paragraphs(text: str) -> list[_Span]:
    spans, at = [], 0
    for blank in _BLANK_LINE.finditer(text):
        spans.append(_Span(at, blank.start()))
        at = blank.end()
    spans.append(_Span(at, len(text)))
    return spans


def _sentences(text: str, words: list[_Span]) -> list[list[_Span]]:
    """`words` (one paragraph's) grouped into sentences."""
    sentences: list[list[_Span]] = []
    current: list[_Span] = []
    for position, word in enumerate(words):
        current.append(word)
        following = words[position + 1] if position + 1 < len(words) else None
        if (
            following is None
            or "\n" in text[word.end : following.start]
            or (
                _ends_sentence(text[word.start : word.end])
                and not _starts_lower(text[following.start : following.end])
            )
        ):
            sentences.append(current)
            current = []
    return sentences


def _ends_sentence(word: str) -> bool:
    core = word.rstrip(_CLOSERS)
    if not core.endswith(_ENDS):
        return False
    if core.endswith(".") and not core.endswith(".."):
        stem = core[:-1].lstrip(_OPENERS).lower()
        if stem in ABBREVIATIONS or stem.isdigit() or (len(stem) == 1 and stem.isalpha()):
            return False
    return True


def _starts_lower(word: str) -> bool:
    letter = word.lstrip(_OPENERS)[:1]
    return letter.islower()


def _pieces(sentences: list[list[_Span]], max_length: int) -> list[_Span]:
    """The paragraph whole if it fits in `max_length`, else its sentences, else runs of their words."""
    if not sentences:
        return []
    whole = _Span(sentences[0][0].start, sentences[-1][-1].end)
    if whole.length <= max_length:
        return [whole]
    pieces: list[_Span] = []
    for sentence in sentences:
        if sentence[-1].end - sentence[0].start <= max_length:
            pieces.append(_Span(sentence[0].start, sentence[-1].end))
            continue
        run_start = sentence[0]
        previous = sentence[0]
        for word in sentence[1:]:
            if word.end - run_start.start > max_length:
                pieces.append(_Span(run_start.start, previous.end))
                run_start = word
            previous = word
        pieces.append(_Span(run_start.start, previous.end))
    return pieces


def _overlap_start(
    start: int,
    end: int,
    following: _Span,
    chunk_size: int,
    overlap: int,
    word_starts: list[int],
    sentence_starts: list[int],
) -> int:
    """Where the next chunk starts: in the last `overlap` characters of this one, at a sentence if it can,
    else at a word, as long as the next piece still fits; at that piece when nothing does."""
    earliest = max(end - overlap, following.end - chunk_size, start + 1)
    for starts in (sentence_starts, word_starts):
        candidate = bisect.bisect_left(starts, earliest)
        if candidate < len(starts) and starts[candidate] < end:
            return starts[candidate]
    return following.start
