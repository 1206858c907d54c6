"""hrbridge's Airflow DAG files, installed with the package so `hrbridge demo` and deployments find them."""
