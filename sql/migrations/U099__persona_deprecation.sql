DELETE FROM registry.lifecycle WHERE step = N'deprecation';
