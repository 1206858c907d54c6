"""Great Expectations suites declared as YAML data."""
