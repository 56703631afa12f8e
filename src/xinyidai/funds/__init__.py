"""The funds capability (see DESIGN.md); grows with its issue."""
