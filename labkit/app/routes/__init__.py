"""The lab API's routers, one module per concern."""
