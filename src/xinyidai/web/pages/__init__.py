"""Browser pages (Jinja2, zh-CN by default), one module per area."""
