"""Clinician review dashboard for at-home ketamine titration in chronic pain."""

__version__ = "0.1.0"
