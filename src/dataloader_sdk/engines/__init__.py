"""Delta engines: ``delta_rs`` (embedded, no JVM) and ``spark`` (pyspark + delta-spark)."""
