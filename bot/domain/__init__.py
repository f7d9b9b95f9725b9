"""Pure rules and types with no I/O: phone numbers, contact query types, CSV row validation, attribute values."""
