"""Data quality: rules derived from the catalogue plus cross-source checks, run daily over the lake."""
