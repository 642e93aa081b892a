"""The G2PW sentence reader: sentence → one TONE3 syllable (or the character itself) per character.

Per run of Chinese characters, as the reference converter does:

1. a run found whole in the word table (``polyphonic.rep``) takes the table's readings;
2. otherwise the run is converted to traditional characters (when a table is provided), and
   - polyphonic characters are predicted by the model, all of the run's in one session run
     (argmax over the character's own labels);
   - characters of the monophonic dictionary take its reading;
   - every other character takes pypinyin's reading of the run, i.e. the same reading as
     without G2PW (a predicted label without a pinyin spelling: pypinyin's reading of the char).

Then, when a word table is provided, each jieba word of the sentence is corrected: a word in the
table takes its readings, otherwise each character in the table takes its first reading. Tone
sandhi and erhua are applied afterwards by :mod:`g2p_zh`, as for pypinyin readings.
"""

from __future__ import annotations

import re

import numpy as np
from pypinyin import Style, lazy_pinyin

from gpt_sovits.text.g2pw_features import CharTokenizer, Query, build_inputs
from gpt_sovits.text.g2pw_model import G2PWSession
from gpt_sovits.text.g2pw_tables import G2PWTables
from gpt_sovits.text.segmenter import cut_with_pos
from gpt_sovits.text.tone_sandhi import pre_merge

# pypinyin's notion of a Chinese character run (the reference segments text the same way).
_HAN_RUN = re.compile(r"([\u3007\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+)")


def _pypinyin(text: str) -> list[str]:
    readings: list[str] = lazy_pinyin(text, style=Style.TONE3, neutral_tone_with_five=True)
    if len(readings) != len(text):  # never for a Chinese run; keep one reading per character
        readings = [lazy_pinyin(c, style=Style.TONE3, neutral_tone_with_five=True)[0] for c in text]
    return readings


class G2PWReader:
    """A :data:`~gpt_sovits.text.g2p_zh.SentenceReader` backed by a local G2PW model."""

    def __init__(self, tables: G2PWTables, tokenizer: CharTokenizer, session: G2PWSession) -> None:
        self.tables = tables
        self.tokenizer = tokenizer
        self.session = session

    def __call__(self, sentence: str) -> list[str]:
        readings: list[str] = []
        for i, part in enumerate(_HAN_RUN.split(sentence)):
            readings += self.read_run(part) if i % 2 else list(part)
        if self.tables.words:
            readings = self._correct_words(sentence, readings)
        return readings

    def read_run(self, run: str) -> list[str]:
        """Readings of one run of Chinese characters (steps 1–2 of the module docstring)."""
        tables = self.tables
        whole = tables.words.get(run)
        if whole is not None:
            return list(whole)
        readings = _pypinyin(run)
        text = "".join(tables.to_traditional.get(c, c) for c in run)
        asked = [i for i, char in enumerate(text) if char in tables.polyphonic]
        for i, char in enumerate(text):
            if char not in tables.polyphonic and char in tables.monophonic:
                readings[i] = tables.monophonic[char]
        if asked:
            for i, label in zip(asked, self.predict(text, asked), strict=True):
                # A label without a spelling falls back to the character's own pypinyin reading.
                readings[i] = tables.label_pinyin[label] or _pypinyin(run[i])[0]
        return readings

    def predict(self, text: str, asked: list[int]) -> list[int]:
        """The chosen label of each asked character of ``text`` (one session run)."""
        tables = self.tables
        token_ids, first_token = self.tokenizer.encode(text)
        queries = [
            Query(first_token[i], tables.char_ids[text[i]], tables.char_labels[text[i]]) for i in asked
        ]
        probs = self.session.predict(
            build_inputs(self.tokenizer, token_ids, queries, len(tables.labels), tables.use_mask)
        )
        return [q.allowed[int(np.argmax(probs[row, list(q.allowed)]))] for row, q in enumerate(queries)]

    def _correct_words(self, sentence: str, readings: list[str]) -> list[str]:
        words = self.tables.words
        corrected = list(readings)
        offset = 0
        for word, pos in pre_merge(cut_with_pos(sentence)):
            end = offset + len(word)
            if pos != "eng":
                if word in words:
                    corrected[offset:end] = words[word]
                else:
                    for i, char in enumerate(word, offset):
                        if char in words:
                            corrected[i] = words[char][0]
            offset = end
        return corrected
