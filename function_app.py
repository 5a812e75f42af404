"""Scout Jobs on Azure Functions (Python v2 model): every trigger of the product, one blueprint per domain.

Keep this import-light: an import error here makes the host load 0 functions and every route 404.
"""

import azure.functions as func

from scout.functions import exports, jobs, medallion, migrations, montecarlo, registry, results

app = func.FunctionApp(http_auth_level=func.AuthLevel.FUNCTION)

for blueprint in (migrations.bp, jobs.bp, exports.bp, montecarlo.bp, results.bp, medallion.bp, registry.bp):
    app.register_functions(blueprint)
