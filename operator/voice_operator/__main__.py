"""Allows ``python -m voice_operator``."""

from voice_operator.cli import main

main()
