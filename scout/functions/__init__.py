"""Azure Functions triggers: thin blueprints that parse input, call the job, shape the response.

Modules here import only ``azure.functions`` and light scout modules at import time; job code (and
with it duckdb, pandas, numpy, pyodbc) is imported inside the handlers.
"""
