"""Typed hyper-parameters of the T2S decoder, read from a checkpoint's ``config`` dict."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError, model_validator

# Rows of the phone embedding per released symbol table; the version follows from it.
PHONE_VOCAB_BY_VERSION: dict[str, int] = {"v1": 512, "v2": 732}


class T2SConfig(BaseModel):
    """Architecture sizes of ``Text2SemanticDecoder`` (the ``model`` section of the s1 config).

    ``linear_units`` is carried for round-tripping only: the feed-forward width is always
    ``4 * hidden_dim`` in the official model, and the checkpoints rely on that.
    """

    model_config = ConfigDict(frozen=True, extra="ignore")

    vocab_size: int = 1025
    phoneme_vocab_size: int = 732
    embedding_dim: int = 512
    hidden_dim: int = 512
    head: int = 16
    n_layer: int = 24
    linear_units: int = 2048
    dropout: float = 0.0
    EOS: int = 1024
    # From the ``data`` section: the official early stop is 50 tokens per second of audio.
    max_sec: int = 54

    @model_validator(mode="after")
    def _consistent(self) -> T2SConfig:
        """Reject sizes the official architecture cannot have."""
        if self.embedding_dim != self.hidden_dim:
            raise ValueError(f"embedding_dim {self.embedding_dim} != hidden_dim {self.hidden_dim}")
        if self.hidden_dim % self.head:
            raise ValueError(f"hidden_dim {self.hidden_dim} is not divisible by head {self.head}")
        if self.vocab_size - 1 != self.EOS:
            raise ValueError(f"EOS {self.EOS} must be vocab_size - 1 = {self.vocab_size - 1}")
        if min(self.vocab_size, self.phoneme_vocab_size, self.hidden_dim, self.head, self.n_layer) <= 0:
            raise ValueError("sizes must be positive")
        return self

    @property
    def head_dim(self) -> int:
        """Width of one attention head."""
        return self.hidden_dim // self.head

    @property
    def ffn_dim(self) -> int:
        """Feed-forward width (fixed at four times the model width)."""
        return 4 * self.hidden_dim

    @property
    def early_stop_num(self) -> int:
        """The official cap on generated ids (50 per second of ``max_sec``)."""
        return 50 * self.max_sec

    @property
    def version(self) -> str | None:
        """Model version implied by the phone vocabulary (``None`` when unknown)."""
        for version, rows in PHONE_VOCAB_BY_VERSION.items():
            if rows == self.phoneme_vocab_size:
                return version
        return None

    @classmethod
    def from_checkpoint_config(cls, config: dict[str, Any]) -> T2SConfig:
        """Build from a checkpoint's whole config dict (sections ``model`` and ``data``).

        Raises ``ValueError`` with a readable reason when sections or keys are missing or wrong.
        """
        model = config.get("model")
        if not isinstance(model, dict):
            raise ValueError("config has no 'model' section")
        data = config.get("data")
        values = dict(model)
        if isinstance(data, dict) and "max_sec" in data:
            values["max_sec"] = data["max_sec"]
        try:
            return cls.model_validate(values)
        except ValidationError as err:
            raise ValueError(f"invalid model config: {err}") from err

    def to_checkpoint_config(self) -> dict[str, Any]:
        """The whole config dict the official tools write (s1 yaml layout, this model's sizes)."""
        return {
            "train": {
                "seed": 1234,
                "epochs": 20,
                "batch_size": 8,
                "save_every_n_epoch": 1,
                "precision": "16-mixed",
                "gradient_clip": 1.0,
            },
            "optimizer": {
                "lr": 0.01,
                "lr_init": 1e-05,
                "lr_end": 0.0001,
                "warmup_steps": 2000,
                "decay_steps": 40000,
            },
            "data": {"max_eval_sample": 8, "max_sec": self.max_sec, "num_workers": 4, "pad_val": self.EOS},
            "model": {
                "vocab_size": self.vocab_size,
                "phoneme_vocab_size": self.phoneme_vocab_size,
                "embedding_dim": self.embedding_dim,
                "hidden_dim": self.hidden_dim,
                "head": self.head,
                "linear_units": self.linear_units,
                "n_layer": self.n_layer,
                "dropout": self.dropout,
                "EOS": self.EOS,
                "random_bert": 0,
            },
            "inference": {"top_k": 15},
        }
