"""The policies capability (see DESIGN.md); grows with its issue."""
