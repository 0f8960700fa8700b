"""The declarative mapping language: YAML files -> validated -> compiled node trees -> a catalog."""
