"""The Piccolo app `core`: Qingling's tables and their migrations in migrations/core/."""

from pathlib import Path

from piccolo.conf.apps import AppConfig

from server.core.tables import ALL_TABLES

APP_CONFIG = AppConfig(
    app_name="core",
    migrations_folder_path=str(Path(__file__).resolve().parents[2] / "migrations" / "core"),
    table_classes=list(ALL_TABLES),
    migration_dependencies=[],
    commands=[],
)
