"""The declarative mapping language: YAML files -> validated -> node trees -> generated code, in a catalog."""
