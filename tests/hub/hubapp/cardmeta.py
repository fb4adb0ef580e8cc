"""The YAML metadata block at the top of a README.md (a model card), as the Hub's `cardData`.

Python's standard library has no YAML parser; this reads the subset model cards use: nested
mappings by indentation, block lists (`- item`, also of mappings), flow lists (`[a, b]`),
plain and quoted scalars, numbers, booleans and null. Anything else gives None (no
cardData), never an exception."""
import json
import re

_INT = re.compile(r"^[-+]?[0-9]+$")
_FLOAT = re.compile(r"^[-+]?([0-9]+\.[0-9]*|\.[0-9]+)([eE][-+]?[0-9]+)?$")


class _Unsupported(Exception):
    pass


def card_data(readme: bytes):
    """The metadata of a README (a dict), or None when there is none or it is not readable."""
    try:
        text = readme.decode("utf-8")
    except UnicodeDecodeError:
        return None
    lines = text.split("\n")
    if not lines or lines[0].rstrip() != "---":
        return None
    try:
        end = next(i for i in range(1, len(lines)) if lines[i].rstrip() == "---")
    except StopIteration:
        return None
    block = [ln.rstrip() for ln in lines[1:end]
             if ln.strip() and not ln.lstrip().startswith("#")]
    if len(block) > 10000:
        return None
    try:
        value, rest = _node(block, 0, _indent(block[0]) if block else 0)
    except (_Unsupported, IndexError, ValueError):
        return None
    return value if isinstance(value, dict) and rest == len(block) else None


def _indent(line):
    return len(line) - len(line.lstrip(" "))


def _node(lines, pos, indent):
    """A mapping or a list starting at lines[pos] with this indent -> (value, next pos)."""
    if pos >= len(lines):
        return None, pos
    if lines[pos].lstrip().startswith("- ") or lines[pos].strip() == "-":
        return _list(lines, pos, indent)
    return _mapping(lines, pos, indent)


def _mapping(lines, pos, indent, first=None):
    out = {}
    while pos < len(lines) or first is not None:
        if first is not None:
            text, first = first, None
        else:
            if _indent(lines[pos]) < indent:
                break
            if _indent(lines[pos]) > indent:
                raise _Unsupported(lines[pos])
            text = lines[pos].strip()
            pos += 1
        key, sep, rest = text.partition(":")
        if not sep or not key.strip():
            raise _Unsupported(text)
        key, rest = _scalar(key.strip()), rest.strip()
        if rest:
            out[key] = _value(rest)
        elif pos < len(lines) and (_indent(lines[pos]) > indent or
                                   lines[pos].lstrip().startswith("- ")):
            out[key], pos = _node(lines, pos, _indent(lines[pos]))
        else:
            out[key] = None
    return out, pos


def _list(lines, pos, indent):
    out = []
    while (pos < len(lines) and _indent(lines[pos]) == indent
           and lines[pos].lstrip().startswith("-")):
        item = lines[pos].strip()[1:].strip()
        pos += 1
        if not item:
            value, pos = _node(lines, pos, _indent(lines[pos])) if pos < len(lines) else (None, pos)
        elif not item.startswith(("'", '"', "[")) and re.match(r"^[^:]+:( |$)", item):
            # "- key: value" starts a mapping whose other keys are indented past the dash
            value, pos = _mapping(lines, pos, indent + 2, first=item)
        else:
            value = _value(item)
        out.append(value)
    return out, pos


def _value(text):
    if text.startswith("[") and text.endswith("]"):
        inner = text[1:-1].strip()
        return [_scalar(x.strip()) for x in inner.split(",")] if inner else []
    if text.startswith("{"):
        raise _Unsupported(text)
    return _scalar(text)


def _scalar(text):
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
        return json.loads(text) if text[0] == '"' else text[1:-1].replace("''", "'")
    if text in ("true", "True"):
        return True
    if text in ("false", "False"):
        return False
    if text in ("null", "~", "Null"):
        return None
    if _INT.match(text):
        return int(text)
    if _FLOAT.match(text):
        return float(text)
    if text.startswith(("&", "*", "!", "|", ">")):
        raise _Unsupported(text)  # anchors, aliases, tags, block scalars
    return text
