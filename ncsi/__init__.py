"""NCSI — national customer-satisfaction index: survey files to published, defensible rankings."""

__version__ = "0.1.0"
