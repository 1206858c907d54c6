"""Field mappings from source systems to the canonical model, as YAML data."""
