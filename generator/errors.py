"""The project's exception types. No MkDocs import here: the plugin converts them once."""

from __future__ import annotations


class GeneratorError(Exception):
    """Base class: a problem the user can fix. The message names the file or option."""


class ConfigError(GeneratorError):
    """A bad option value (plugin option, CLI flag, environment variable)."""


class DataError(GeneratorError):
    """A dataset or an image that cannot be read or is not usable."""


class ModelError(GeneratorError):
    """A checkpoint or weights file that does not fit TinyVGG, or is unsafe to load."""


class CacheError(GeneratorError):
    """The cache directory cannot be used (read-only, full, locked by a dead process...)."""


class ShortcodeError(GeneratorError):
    """An unknown figure, value or parameter in a Markdown shortcode."""


class FigureSpecError(ShortcodeError):
    """A figure spec that names no real figure: unknown kind, image, layer, neuron or hyperparameter.

    Raised by the catalogue and by every renderer. A ShortcodeError, so a bad `figure` shortcode is
    reported with its page and line like any other shortcode mistake."""


class FontError(GeneratorError):
    """A figure needs a font that is not installed (the Chinese figures need Noto Sans CJK)."""
