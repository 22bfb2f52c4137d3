"""Adapters hide the AutoML library's API; one module per major version (pycaret3 today)."""
