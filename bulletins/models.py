"""Bulletins, items, deliveries and comments live here."""
