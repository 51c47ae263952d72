"""One module per page: arrange widgets, call the layers below, nothing more."""
