"""The market capability (see DESIGN.md); grows with its issue."""
