"""Segments, invitation exports, contact imports and the representation report live here."""
