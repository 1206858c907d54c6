-- Databases for the hrbridge hub and the employee archive, next to Airflow's own.
CREATE DATABASE hrbridge_hub OWNER airflow;
CREATE DATABASE hrbridge_archive OWNER airflow;
