"""Build-time generator for the TinyVGG explainer site.

The pipeline runs one way: datasets -> train -> probe -> render -> cache -> (MkDocs plugin).
Nothing below ``plugin`` and ``cli`` imports them.
"""

__version__ = "0.1.0"
