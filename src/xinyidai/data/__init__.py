"""Department data: source catalogue, ingestion, lake, quality, masking, the synthetic city."""
