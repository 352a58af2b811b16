"""Reusable encoder and decoder networks for the built-in models."""
