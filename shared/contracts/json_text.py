"""JSON text of event fields as pydantic writes it. Services that write
millions of payloads per import format them as strings with it, because
building each event's model was a large share of their work."""

from json.encoder import encode_basestring


def json_string(value: str | None) -> str:
    """Return ``value`` as a JSON string, non-ASCII characters as they are,
    as ``model_dump_json`` writes it. None gives ``null``."""
    return "null" if value is None else encode_basestring(value)
