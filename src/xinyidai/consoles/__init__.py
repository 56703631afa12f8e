"""Consoles: the government's financing statistics, the operator's one-screen monitoring, sub-platforms
and the enterprise's home — read models over every capability below (see DESIGN.md, issue #9)."""
