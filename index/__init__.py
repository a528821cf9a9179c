"""Turns document files into embedded, stored chunks."""
