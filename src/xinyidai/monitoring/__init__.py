"""The monitoring capability (see DESIGN.md); grows with its issue."""
