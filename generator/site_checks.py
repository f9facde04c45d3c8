"""What the plugin needs of the MkDocs site it runs in, checked in on_config before any training, so a
misconfigured site fails at once with one error that names the option and the fix."""

from __future__ import annotations

from mkdocs.config.defaults import MkDocsConfig
from mkdocs.plugins import BasePlugin

from generator.errors import ConfigError

TABBED = "pymdownx.tabbed"
TABBED_YAML = """\
  markdown_extensions:
    - pymdownx.tabbed:
        alternate_style: true"""


def extension_name(name: str) -> str:
    """'markdown.extensions.tables:TableExtension' -> 'tables'; 'pymdownx.tabbed' stays."""
    return name.partition(":")[0].removeprefix("markdown.extensions.")


def check_explore_extensions(config: MkDocsConfig) -> None:
    """The explore pages put each layer in a content tab (pymdownx.tabbed). Their tables need `tables`,
    which MkDocs always enables. Material styles only the alternate tab markup."""
    names = {extension_name(str(n)): str(n) for n in config.markdown_extensions}
    if TABBED not in names:
        raise ConfigError(
            f"explore_pages: the explore pages show each layer in a content tab, which needs the "
            f"Markdown extension {TABBED}; add these lines to mkdocs.yml (or set explore_pages: "
            f"false):\n{TABBED_YAML}"
        )
    options = config.mdx_configs.get(names[TABBED]) or {}
    if config.theme.name == "material" and not options.get("alternate_style"):
        raise ConfigError(
            f"explore_pages: Material styles content tabs only with alternate_style; set it "
            f"in mkdocs.yml:\n{TABBED_YAML}"
        )


def check_plugin_order(config: MkDocsConfig, ours: BasePlugin) -> None:
    """mkdocs-macros renders every page as a Jinja template. Listed before tinyvgg it reads our shortcodes
    first: `{{ figure input }}` is a Jinja syntax error, and `{{ samples }}` an undefined variable that
    silently renders as nothing. Listed after tinyvgg it only sees the shortcodes' output."""
    for name, plugin in config.plugins.items():
        if plugin is ours:
            return
        if not type(plugin).__module__.startswith("mkdocs_macros"):
            continue
        opts = getattr(plugin, "config", {}) or {}
        if opts.get("j2_variable_start_string") not in (None, "", "{{") or opts.get("render_by_default") is False:
            continue  # macros uses other markers, or renders only the pages that ask for it
        raise ConfigError(
            f"plugins: {name} (mkdocs-macros) is listed before tinyvgg, so it reads the "
            "{{ figure ... }} shortcodes as Jinja and fails or drops them; list tinyvgg before "
            f"{name} under plugins in mkdocs.yml (or give macros other markers with "
            "j2_variable_start_string and j2_variable_end_string)"
        )
