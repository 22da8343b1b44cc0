"""Register an exported raw layer (ifo_pipeline.export) as tables in a Spark session, and
build the dbt project on it there (the `spark` target, session method).

    python -m ifo_pipeline.export.spark PARQUET_DIR MARTS_DIR

registers PARQUET_DIR's tables, runs `dbt build --target spark` in this process's session,
and writes every mart to MARTS_DIR/<mart>.parquet (for the parity test, or for a region's
own use). A region with a cluster uses the thrift or Databricks target instead (README).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

DBT_PROJECT = Path(__file__).resolve().parents[2] / "dbt_project"


def spark_session(warehouse_dir: Path):
    """A local Spark session whose catalog and tables live under `warehouse_dir`."""
    from pyspark.sql import SparkSession

    warehouse_dir.mkdir(parents=True, exist_ok=True)
    # The session method's own builder asks for Hive support; its Derby metastore goes here.
    os.environ.setdefault("SPARK_LOCAL_DIRS", str(warehouse_dir / "tmp"))
    return (
        SparkSession.builder.master("local[2]")
        .appName("ifo-pipeline")
        .config("spark.sql.warehouse.dir", str(warehouse_dir / "tables"))
        .config("spark.driver.extraJavaOptions", f"-Dderby.system.home={warehouse_dir}")
        .config("spark.sql.shuffle.partitions", "2")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.session.timeZone", "UTC")
        .enableHiveSupport()
        .getOrCreate()
    )


def register_raw_tables(spark, directory: Path) -> list[str]:
    """Each `directory/<schema>/<table>/` as the table `<schema>.<table>` (Parquet, external)."""
    registered = []
    for schema_dir in sorted(p for p in directory.iterdir() if p.is_dir()):
        spark.sql(f"CREATE DATABASE IF NOT EXISTS {schema_dir.name}")
        for table_dir in sorted(p for p in schema_dir.iterdir() if p.is_dir()):
            name = f"{schema_dir.name}.{table_dir.name}"
            spark.sql(f"DROP TABLE IF EXISTS {name}")
            spark.sql(f"CREATE TABLE {name} USING parquet LOCATION '{table_dir.resolve()}'")
            if any(p.name.startswith("year=") for p in table_dir.iterdir()):
                spark.sql(f"MSCK REPAIR TABLE {name}")  # find the year folders
            registered.append(name)
    return registered


def build_on_spark(parquet_dir: Path, marts_dir: Path, work_dir: Path) -> int:
    """Register, build, export the marts. Returns dbt's exit code (0: every node built)."""
    from dbt.cli.main import dbtRunner

    spark = spark_session(work_dir)
    register_raw_tables(spark, parquet_dir)
    result = dbtRunner().invoke(
        [
            "build",
            "--target",
            "spark",
            "--project-dir",
            str(DBT_PROJECT),
            "--profiles-dir",
            str(DBT_PROJECT),
            "--target-path",
            str(work_dir / "dbt-target"),
            "--log-path",
            str(work_dir / "dbt-logs"),
        ]
    )
    if not result.success:
        return 1
    marts_dir.mkdir(parents=True, exist_ok=True)
    for row in spark.sql("SHOW TABLES IN marts").collect():
        spark.table(f"marts.{row.tableName}").coalesce(1).write.mode("overwrite").parquet(
            str(marts_dir / row.tableName)
        )
    return 0


if __name__ == "__main__":
    parquet, marts = Path(sys.argv[1]), Path(sys.argv[2])
    work = Path(sys.argv[3]) if len(sys.argv) > 3 else marts.parent / "spark-work"
    sys.exit(build_on_spark(parquet, marts, work))
