"""One module per page. Each declares ``PAGE`` (registered for the navigation) and ``router``;
:func:`plugins.hrbridge_pages.app.create_app` includes every module found here."""
