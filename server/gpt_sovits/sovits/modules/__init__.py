"""Building blocks of the SoVITS synthesizer, one job per module."""
