"""SQL as a DBA reads it: the T-SQL lint every statement passes (migrations and runtime alike) and the
rendering of every statement the app can send."""
