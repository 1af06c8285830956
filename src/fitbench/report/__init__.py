"""Reports of a comparison: one offline HTML file (plotly inlined), Markdown + PNG, CSV, JSON, terminal tables."""

from .static import markdown, print_comparison, write_outputs

__all__ = ["markdown", "print_comparison", "write_outputs", "write_html", "render_html"]


def __getattr__(name: str):
    if name in ("write_html", "render_html"):
        from . import html

        return getattr(html, name)
    raise AttributeError(name)
