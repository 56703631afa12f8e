"""The indicators capability (see DESIGN.md); grows with its issue."""
