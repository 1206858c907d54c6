"""hrbridge's browser pages, mounted in the Airflow API server under ``/hrbridge``.

One module per page under :mod:`.pages`; they share the layout (``templates/base.html``), the
message catalogue (``messages.yaml``, Simplified Chinese and English) and the permission
dependency (:func:`.access.requires`). :func:`.app.create_app` builds the FastAPI app.
"""
