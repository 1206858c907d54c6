"""hrbridge's default YAML configuration, installed as package data (``HRBRIDGE_CONFIG_DIR`` overrides it)."""
