"""A griffe extension that reads Keras-style `Example:` sections.

Keras docstrings end with `Example:`, a blank line and `>>>` lines at the
docstring's own indentation. Google-style parsing wants an `Examples:`
title directly followed by an indented block, so without help the doctest
lines render as nested block quotes. This rewrites such sections before
parsing; mkdocs.yml loads it for the API reference.
"""

import re

import griffe

_TITLE = re.compile(r"^Examples?:\s*$")
_NEXT_SECTION = re.compile(r"^[A-Z][A-Za-z ]*:\s*$")


def keras_examples(text):
    """Returns `text` with its Keras `Example:` sections indented."""
    lines = text.splitlines()
    out = []
    i = 0
    while i < len(lines):
        start = i + 1
        while start < len(lines) and not lines[start].strip():
            start += 1
        if _TITLE.match(lines[i]) and start < len(lines):
            if lines[start].startswith(">>>"):
                out.append("Examples:")
                end = start
                while end < len(lines) and not _NEXT_SECTION.match(lines[end]):
                    out.append("    " + lines[end] if lines[end] else "")
                    end += 1
                i = end
                continue
        out.append(lines[i])
        i += 1
    return "\n".join(out)


class KerasStyleExamples(griffe.Extension):
    """Indents the doctest lines of Keras-style `Example:` sections."""

    def on_object(self, *, obj, **kwargs):
        if obj.docstring is not None:
            obj.docstring.value = keras_examples(obj.docstring.value)
