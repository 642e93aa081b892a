"""Allows ``python -m voice_server``."""

from voice_server.cli import main

main()
