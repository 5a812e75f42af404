"""Legacy → medallion: the legacy store/product database (``legacy.*``) copied into silver in keyset batches,
verified, contracted behind compatibility views, rolled back; gold daily aggregates refreshed incrementally.

Order of dependence: ``store`` (bookkeeping and the SQL shared by the steps) ← ``backfill``, ``verify``,
``contract``, ``gold``, ``health`` ← ``job`` (recorded runs) ← ``cli`` and ``scout.functions.medallion``.
"""
