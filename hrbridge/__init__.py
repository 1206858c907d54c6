"""hrbridge: AI interviewing wired into the enterprise HR data flow, on Apache Airflow."""

__version__ = "0.1.0"
