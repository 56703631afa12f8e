"""The rating capability (see DESIGN.md); grows with its issue."""
