"""Renderers: pure functions (FigureSpec, RenderContext) -> Rendered, one module per figure family,
plus shared helpers (colors, text/canvas drawing, png and gif encoding)."""
