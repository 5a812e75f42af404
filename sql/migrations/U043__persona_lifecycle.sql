DROP TABLE registry.lifecycle;
