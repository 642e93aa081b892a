"""The text files of a G2PW model folder: label set, dictionaries and pinyin spellings.

Layout of the official ``G2PWModel_1.1`` folder (what each file means here):

- ``POLYPHONIC_CHARS.txt``: one ``char<TAB>bopomofo+tone`` line per reading of each polyphonic
  character. The model's output classes ("labels") are the sorted distinct readings; a character's
  allowed labels are its readings; its ``char_id`` is its index among the sorted characters.
- ``MONOPHONIC_CHARS.txt``: ``char<TAB>bopomofo+tone``, the one reading of other characters.
- ``bopomofo_to_pinyin_wo_tune_dict.json``: toneless bopomofo → toneless pinyin.
- ``config.py`` (optional here): read for ``use_mask`` and ``use_char_phoneme`` only, as literals,
  never executed. With ``use_char_phoneme`` labels are ``"char bopomofo"`` pairs.

Optional extras in the same folder: ``polyphonic.rep`` / ``polyphonic-fix.rep`` (the reference's
word-reading table, ``word: ['pin1', 'yin1']`` per line, the second overriding the first) and
``STCharacters.txt`` (an OpenCC-format simplified → traditional character table: the model was
trained on traditional text, and the reference converts simplified text before asking it).
"""

from __future__ import annotations

import ast
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from gpt_sovits.errors import CheckpointError

POLYPHONIC_FILE = "POLYPHONIC_CHARS.txt"
MONOPHONIC_FILE = "MONOPHONIC_CHARS.txt"
BOPOMOFO_FILE = "bopomofo_to_pinyin_wo_tune_dict.json"
CONFIG_FILE = "config.py"
WORD_TABLE_FILES = ("polyphonic.rep", "polyphonic-fix.rep")
S2T_FILE = "STCharacters.txt"

# The reference converter drops these from the model's polyphone set (they are then read by the
# monophonic dictionary or pypinyin, whose 一/不 readings the tone sandhi expects) and these from
# the monophonic dictionary.
NOT_POLYPHONIC = frozenset("一不和咋嗲剖差攢倒難奔勁拗肖瘙誒泊听噢")
NOT_MONOPHONIC = frozenset("似攢")
_TONES = frozenset("12345")


@dataclass(frozen=True)
class G2PWTables:
    """Everything the reader needs from the folder's text files."""

    labels: tuple[str, ...]  # model output classes, in output order
    label_pinyin: tuple[str | None, ...]  # label → toned pinyin ("hang2"); None when unmappable
    char_labels: Mapping[str, tuple[int, ...]]  # polyphonic char → its allowed labels
    char_ids: Mapping[str, int]  # polyphonic char → the model's char id
    polyphonic: frozenset[str]  # the characters the model is asked about
    monophonic: Mapping[str, str]  # char → toned pinyin
    words: Mapping[str, tuple[str, ...]]  # word-reading corrections (empty when not provided)
    to_traditional: Mapping[str, str]  # simplified → traditional (empty when not provided)
    use_mask: bool


def _lines(path: Path) -> list[tuple[int, str]]:
    try:
        text = path.read_text("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise CheckpointError(f"cannot read G2PW file {path}: {exc}") from exc
    return [(n, line.strip()) for n, line in enumerate(text.splitlines(), 1) if line.strip()]


def _char_pairs(path: Path) -> list[tuple[str, str]]:
    pairs = []
    for number, line in _lines(path):
        fields = line.split("\t")
        if len(fields) != 2 or len(fields[0]) != 1 or fields[1][-1:] not in _TONES:
            raise CheckpointError(f"{path} line {number}: expected 'char<TAB>bopomofo+tone', got {line!r}")
        pairs.append((fields[0], fields[1]))
    return pairs


def read_config(path: Path) -> dict[str, object]:
    """Top-level literal assignments of a ``config.py`` (``{}`` when absent); never executed."""
    if not path.is_file():
        return {}
    try:
        tree = ast.parse(path.read_text("utf-8"), filename=str(path))
    except (OSError, UnicodeDecodeError, SyntaxError) as exc:
        raise CheckpointError(f"cannot parse G2PW config {path}: {exc}") from exc
    values: dict[str, object] = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            try:
                values[node.targets[0].id] = ast.literal_eval(node.value)
            except ValueError:
                continue  # computed settings are not ones this reader uses
    return values


def _pinyin_spellings(path: Path) -> dict[str, str]:
    try:
        raw = json.loads(path.read_text("utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CheckpointError(f"cannot read G2PW file {path}: {exc}") from exc
    if not isinstance(raw, dict) or not all(isinstance(v, str) for v in raw.values()):
        raise CheckpointError(f"{path} must be a JSON object of bopomofo → pinyin strings")
    return {str(k): v for k, v in raw.items()}


def bopomofo_to_pinyin(bopomofo: str, spellings: Mapping[str, str]) -> str | None:
    """``"ㄏㄤ2"`` → ``"hang2"`` (ü written ``v``, as pypinyin's TONE3 style does); None if unknown."""
    base = spellings.get(bopomofo[:-1])
    if not base or bopomofo[-1:] not in _TONES:
        return None
    return base.replace("ü", "v") + bopomofo[-1]


def read_word_table(path: Path) -> dict[str, tuple[str, ...]]:
    """A ``word: ['pin1', 'yin1']`` table; word entries not one reading per character are dropped."""
    table: dict[str, tuple[str, ...]] = {}
    for number, line in _lines(path):
        word, sep, value = line.partition(":")
        try:
            readings = ast.literal_eval(value.strip()) if sep else None
        except (ValueError, SyntaxError):
            readings = None
        if not isinstance(readings, list) or not all(isinstance(r, str) for r in readings):
            raise CheckpointError(f"{path} line {number}: expected \"word: ['pin1', ...]\", got {line!r}")
        word = word.strip()
        spelled = tuple(r.replace("ü", "v") for r in readings)
        if len(word) == 1 and spelled:
            table[word] = spelled[:1]  # a character's entry: its first reading is the one used
        elif len(spelled) == len(word):  # a reading per character, or the alignment would break
            table[word] = spelled
    return table


def read_s2t_table(path: Path) -> dict[str, str]:
    """An OpenCC character table (``简<TAB>簡 [alternatives]``): the first single-char target."""
    table: dict[str, str] = {}
    for _, line in _lines(path):
        source, _, targets = line.partition("\t")
        first = targets.split(" ")[0] if targets else ""
        if len(source) == 1 and len(first) == 1:
            table[source] = first
    return table


def load_tables(folder: Path) -> G2PWTables:
    """Parse the folder's text files (their presence was checked by the caller)."""
    config = read_config(folder / CONFIG_FILE)
    use_char_phoneme = bool(config.get("use_char_phoneme", False))
    pairs = _char_pairs(folder / POLYPHONIC_FILE)
    if not pairs:
        raise CheckpointError(f"{folder / POLYPHONIC_FILE} lists no polyphonic characters")
    spellings = _pinyin_spellings(folder / BOPOMOFO_FILE)
    keys = [f"{char} {reading}" if use_char_phoneme else reading for char, reading in pairs]
    labels = tuple(sorted(set(keys)))
    index = {label: i for i, label in enumerate(labels)}
    char_labels: dict[str, list[int]] = {}
    for (char, _), key in zip(pairs, keys, strict=True):
        char_labels.setdefault(char, []).append(index[key])
    chars = sorted(char_labels)
    monophonic = {
        char: pinyin
        for char, reading in _char_pairs(folder / MONOPHONIC_FILE)
        if char not in NOT_MONOPHONIC and (pinyin := bopomofo_to_pinyin(reading, spellings)) is not None
    }
    words: dict[str, tuple[str, ...]] = {}
    for name in WORD_TABLE_FILES:
        if (folder / name).is_file():
            words.update(read_word_table(folder / name))
    s2t = read_s2t_table(folder / S2T_FILE) if (folder / S2T_FILE).is_file() else {}
    return G2PWTables(
        labels=labels,
        label_pinyin=tuple(bopomofo_to_pinyin(label.split(" ")[-1], spellings) for label in labels),
        char_labels={char: tuple(ids) for char, ids in char_labels.items()},
        char_ids={char: i for i, char in enumerate(chars)},
        polyphonic=frozenset(chars) - NOT_POLYPHONIC,
        monophonic=monophonic,
        words=words,
        to_traditional=s2t,
        use_mask=bool(config.get("use_mask", True)),
    )
