"""Settings of the text frontend: one explicit, immutable value passed down by its owner.

The package reads no environment: the server builds a :class:`TextSettings` from its own options
(``--text-cache-dir``, ``--g2pw-model-dir``, ...), calls :meth:`TextSettings.check` at start and
hands it to :class:`gpt_sovits.text.frontend.TextFrontend` (``Synthesizer.load(text_settings=...)``).
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from gpt_sovits.errors import CheckpointError


def _default_cache_dir() -> Path:
    """Per-user temporary folder: jieba's dictionary cache must never land inside the repository."""
    return Path(tempfile.gettempdir()) / "gpt-sovits-text-cache"


class TextSettings(BaseModel):
    """Where the frontend keeps its caches and finds optional model and dictionary files."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    #: jieba's dictionary cache and the compiled Japanese user dictionary.
    cache_dir: Path = Field(default_factory=_default_cache_dir)
    #: Local G2PW model folder; unset (the default) keeps pypinyin readings.
    g2pw_model_dir: Path | None = None
    #: BERT tokenizer folder for G2PW (the reference uses chinese-roberta-wwm-ext-large's);
    #: unset: the model folder itself, when it holds a vocab.txt / tokenizer.json.
    g2pw_tokenizer_dir: Path | None = None
    #: onnxruntime execution provider of the G2PW session.
    g2pw_provider: str = "CPUExecutionProvider"
    #: onnxruntime intra-op threads of the G2PW session (0: onnxruntime's default).
    g2pw_threads: int = Field(default=0, ge=0)
    #: A Japanese user dictionary in the official ``userdict.csv`` (OpenJTalk/MeCab CSV) format.
    ja_user_dict: Path | None = None

    def check(self) -> None:
        """Validate every configured file up front; a :class:`CheckpointError` names field and file.

        Cheap: files are looked at, nothing is loaded (models load on first use or warm-up).
        """
        if self.g2pw_model_dir is not None:
            # Imported here: g2pw imports the zh reader, which needs nothing from this module.
            from gpt_sovits.text.g2pw import model_dir, tokenizer_dir

            tokenizer_dir(model_dir(self.g2pw_model_dir), self.g2pw_tokenizer_dir)
        elif self.g2pw_tokenizer_dir is not None:
            raise CheckpointError(
                f"g2pw_tokenizer_dir is set ({self.g2pw_tokenizer_dir}) but g2pw_model_dir is not: "
                "set both, or neither"
            )
        if self.ja_user_dict is not None:
            from gpt_sovits.text.ja_userdict import check_user_dict

            check_user_dict(self.ja_user_dict)
