"""Text frontend: turns zh/en text into the v2 phone symbols and ids the models were trained on.

The one entry point is :func:`gpt_sovits.text.frontend.text_to_phones`; the modules below it each do
one job (normalisation, grapheme-to-phoneme, language runs, sentence cuts).
"""

from __future__ import annotations
